"""itx: instruction tuning of Flax language models, sharded with JAX."""

__version__ = "0.1.0"

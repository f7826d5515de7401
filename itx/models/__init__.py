"""The network: a Llama-family decoder as a pure linen module."""

from itx.models.config import ModelConfig
from itx.models.llama import Transformer

__all__ = ["ModelConfig", "Transformer"]

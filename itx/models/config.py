"""The network's hyper-parameters, as a frozen dataclass built from `config.model`."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from itx.models.lora import LoraSpec, spec_from_config

_DTYPES = {"float64": jnp.float64, "float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
REMAT_POLICIES = ("none", "full", "dots")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Shapes and numerics of a Llama-family decoder (Llama, Mistral, Qwen2 map onto it)."""

  vocab_size: int
  d_model: int
  n_layers: int
  n_heads: int
  n_kv_heads: int
  mlp_dim: int
  head_dim: int | None = None
  rope_theta: float = 10000.0
  norm_eps: float = 1e-5
  tie_embeddings: bool = False
  qkv_bias: bool = False
  dtype: str = "float32"
  param_dtype: str = "float32"
  remat: str = "none"
  scan_unroll: int = 1  # layers per scan iteration: more unrolling, faster steps, longer compiles
  family: str = "llama"  # the Hugging Face model_type it maps to (itx.models.families)
  lora: LoraSpec | None = None  # low-rank adapters on the projections (itx.models.lora)

  def __post_init__(self):
    if self.n_heads % self.n_kv_heads:
      raise ValueError(
          f"model.n_heads={self.n_heads} must be a multiple of model.n_kv_heads={self.n_kv_heads}")
    for field in ("dtype", "param_dtype"):
      if getattr(self, field) not in _DTYPES:
        raise ValueError(f"model.{field}={getattr(self, field)!r}: expected one of {sorted(_DTYPES)}")
    if self.remat not in REMAT_POLICIES:
      raise ValueError(f"model.remat={self.remat!r}: expected one of {REMAT_POLICIES}")

  @property
  def head_size(self) -> int:
    return self.head_dim or self.d_model // self.n_heads

  @property
  def compute_dtype(self):
    return _DTYPES[self.dtype]

  @property
  def weight_dtype(self):
    return _DTYPES[self.param_dtype]

  @classmethod
  def from_config(cls, model_cfg, lora_cfg=None) -> "ModelConfig":
    """From `config.model` (and `config.lora`, whose rank 0 means no adapters)."""
    names = {f.name for f in dataclasses.fields(cls)} - {"lora"}
    return cls(**{k: v for k, v in model_cfg.items() if k in names}, lora=spec_from_config(lora_cfg))

  def num_params(self, include_embedding: bool = True) -> int:
    d, h = self.d_model, self.head_size
    attn = d * h * (self.n_heads * 2 + self.n_kv_heads * 2)
    if self.qkv_bias:
      attn += h * (self.n_heads + 2 * self.n_kv_heads)
    layer = attn + 3 * d * self.mlp_dim + 2 * d
    total = self.n_layers * layer + d
    if include_embedding:
      total += self.vocab_size * d * (1 if self.tie_embeddings else 2)
    elif not self.tie_embeddings:
      total += self.vocab_size * d  # the output projection is a matmul, embedding lookup is not
    return total

  def flops_per_token(self, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6 N + 12 L H Q T (PaLM, appendix B)."""
    n = self.num_params(include_embedding=False)
    if self.tie_embeddings:
      n += self.vocab_size * self.d_model
    return 6.0 * n + 12.0 * self.n_layers * self.n_heads * self.head_size * seq_len

"""The network's hyper-parameters, as a frozen dataclass built from `config.model`."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from itx.models.lora import LoraSpec, spec_from_config

_DTYPES = {"float64": jnp.float64, "float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
REMAT_POLICIES = ("none", "full", "dots")
ATTENTION_IMPLEMENTATIONS = ("xla", "cudnn", "splash", "einsum")  # see itx.models.attention
ROPE_SCALINGS = ("none", "linear", "llama3")
MLP_ACTIVATIONS = ("silu", "gelu_tanh")
LAYER_TYPES = ("full_attention", "sliding_attention")  # Hugging Face's names
# The fields that take one of a few values: checked here only (itx.config.validate calls `check_choice`).
CHOICES = {"dtype": tuple(sorted(_DTYPES)), "param_dtype": tuple(sorted(_DTYPES)), "remat": REMAT_POLICIES,
           "attention": ATTENTION_IMPLEMENTATIONS, "rope_scaling": ROPE_SCALINGS, "mlp_activation": MLP_ACTIVATIONS}


def check_choice(field: str, value) -> None:
  """Raises ValueError naming `model.<field>` when `value` is not one of its CHOICES."""
  if value not in CHOICES[field]:
    raise ValueError(f"model.{field}={value!r}: expected one of {CHOICES[field]}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Shapes and numerics of a decoder: Llama, Mistral, Qwen2/3 and Gemma 2/3 map onto it. The fields
after `family` are the options of the families; their defaults are a plain Llama."""

  vocab_size: int         # rows of the embedding and logits, padded (see `vocab_real`)
  d_model: int
  n_layers: int
  n_heads: int
  n_kv_heads: int
  mlp_dim: int
  head_dim: int = 0        # 0: d_model // n_heads
  rope_theta: float = 10000.0
  norm_eps: float = 1e-5
  tie_embeddings: bool = False
  qkv_bias: bool = False
  dtype: str = "float32"   # compute dtype; bfloat16 on TPU/GPU
  param_dtype: str = "float32"
  remat: str = "none"      # none | full | dots
  scan_unroll: int = 1     # layers per scan iteration (n_layers: fully unrolled): faster steps, longer compiles
  attention: str = "xla"   # xla | cudnn (NVIDIA GPUs) | splash (TPUs) | einsum: see itx/models/attention.py
  # the Hugging Face model_type (llama | mistral | qwen2 | qwen3 | gemma2 | gemma3_text, itx.models.families);
  # an hf: init sets it and the family options below from the checkpoint's config.json
  family: str = "llama"
  # Family options (defaults: plain Llama). docs/models.md lists which family has which.
  rope_scaling: str = "none"  # none | linear | llama3 (Llama 3.x), on the full-attention layers
  rope_factor: float = 1.0
  rope_low_freq_factor: float = 1.0    # llama3 only
  rope_high_freq_factor: float = 4.0   # llama3 only
  rope_original_max_len: int = 8192    # llama3 only: the pre-training context length
  rope_local_theta: float = 0.0        # unscaled rope base of sliding-window layers (Gemma 3); 0: as every layer
  qk_norm: bool = False                # RMSNorm of each query and key head before rope (Qwen3, Gemma 3)
  norm_plus_one: bool = False          # every RMSNorm scales by (1 + w), w starting at 0 (Gemma)
  embed_scale: bool = False            # embeddings times sqrt(d_model) (Gemma)
  mlp_activation: str = "silu"         # silu (SwiGLU) | gelu_tanh (GeGLU, Gemma)
  post_norms: bool = False             # RMSNorm of the attention and MLP outputs too (Gemma 2/3)
  attn_logit_softcap: float = 0.0      # scores -> cap * tanh(scores / cap); 0: none (Gemma 2)
  final_logit_softcap: float = 0.0     # the same on the output logits (Gemma 2)
  query_pre_attn_scalar: float = 0.0   # scores scaled by its -1/2 power; 0: by head_dim's (Gemma)
  sliding_window: int = 0              # keys fewer than this many positions back; 0: all (Mistral, Gemma local layers)
  # per layer full_attention | sliding_attention; (): every layer slides when sliding_window > 0
  layer_types: tuple[str, ...] = ()
  vocab_real: int = 0    # derived: the vocabulary before padding (the tokenizer's ids); 0: nothing padded
  lora: LoraSpec | None = None  # low-rank adapters on the projections (itx.models.lora)

  def __post_init__(self):
    if self.n_heads % self.n_kv_heads:
      raise ValueError(
          f"model.n_heads={self.n_heads} must be a multiple of model.n_kv_heads={self.n_kv_heads}")
    for field in CHOICES:
      check_choice(field, getattr(self, field))
    if self.vocab_real > self.vocab_size:
      raise ValueError(f"model.vocab_real={self.vocab_real} exceeds model.vocab_size={self.vocab_size}")
    object.__setattr__(self, "layer_types", tuple(self.layer_types))  # hashable, whatever it was read from
    if self.layer_types:
      if len(self.layer_types) != self.n_layers or set(self.layer_types) - set(LAYER_TYPES):
        raise ValueError(f"model.layer_types={self.layer_types}: expected {self.n_layers} entries "
                         f"from {LAYER_TYPES}")
      if "sliding_attention" in self.layer_types and self.sliding_window <= 0:
        raise ValueError("model.layer_types has sliding_attention layers but model.sliding_window is 0")
    if self.sliding_window < 0:
      raise ValueError(f"model.sliding_window={self.sliding_window}: expected >= 0 (0: no window)")

  @property
  def head_size(self) -> int:
    return self.head_dim or self.d_model // self.n_heads

  @property
  def real_vocab_size(self) -> int:
    """The vocabulary without padding: the rows an exported checkpoint has."""
    return self.vocab_real or self.vocab_size

  @property
  def sliding_layers(self) -> tuple[bool, ...]:
    """Per layer: does it attend through the sliding window?"""
    if self.sliding_window <= 0:
      return (False,) * self.n_layers
    if not self.layer_types:
      return (True,) * self.n_layers
    return tuple(t == "sliding_attention" for t in self.layer_types)

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
    layer = attn + 3 * d * self.mlp_dim + (4 if self.post_norms else 2) * d + (2 * h if self.qk_norm else 0)
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


def option_defaults() -> dict:
  """Every field of ModelConfig that has a default (all but the sizes and `lora`), with it: the model
  section of configs/base.py starts from these, so each default is declared once, here."""
  return {f.name: f.default for f in dataclasses.fields(ModelConfig)
          if f.default is not dataclasses.MISSING and f.name != "lora"}

"""The model families itx maps, keyed by the Hugging Face `model_type`: one entry per family.

An entry says which network runs the family, which transformers class writes it, the options of
ModelConfig the family fixes (Qwen3 always normalises q and k) or reads from its config.json
(Gemma's soft-caps), and the family-specific config.json fields of an export. Everything generic
(sizes, heads, rope, norms) is mapped once in itx.hf.config_map; a new family is one entry here
plus, where its weights are laid out differently, an entry in itx.hf.weights.

Options a family can express are checked both ways: an import sets only them, and an export of a
model with any other non-default option is refused by name (a checkpoint must never claim a
family whose transformers class would compute something else).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import flax.linen as nn

from itx.models.config import ModelConfig, option_defaults
from itx.models.decoder import DecoderLM


class UnsupportedCheckpoint(ValueError):
  """A checkpoint option itx does not implement (named, never silently approximated)."""


# ModelConfig fields that differ between families (the rest are sizes every family has).
ROPE_OPTIONS = ("rope_scaling", "rope_factor", "rope_low_freq_factor", "rope_high_freq_factor",
                "rope_original_max_len")
OPTIONS = ROPE_OPTIONS + (
    "rope_local_theta", "qkv_bias", "qk_norm", "norm_plus_one", "embed_scale", "mlp_activation", "post_norms",
    "attn_logit_softcap", "final_logit_softcap", "query_pre_attn_scalar", "sliding_window", "layer_types")
BASE_FREE = ROPE_OPTIONS + ("mlp_activation",)  # transformers reads these from any family's config.json
_DEFAULTS = {k: v for k, v in option_defaults().items() if k in OPTIONS}


@dataclasses.dataclass(frozen=True)
class Family:
  model_type: str
  architecture: str                          # the transformers class that loads an export
  network: type[nn.Module]
  hf_fields: Callable[[dict, str], dict]      # family-specific itx fields from config.json (or refuses)
  hf_config: Callable[[ModelConfig], dict]    # family-specific config.json fields of an itx model
  fixed: tuple[tuple[str, object], ...] = ()  # options every checkpoint of the family has
  free: tuple[str, ...] = BASE_FREE           # options its config.json sets per checkpoint
  default_rope_theta: float = 10000.0         # when config.json names none
  activation_field: str = "hidden_act"        # the config.json field its transformers MLP reads

  def check_expressible(self, model_cfg: ModelConfig) -> None:
    """Refuses a model whose options this family's checkpoints cannot hold."""
    fixed = dict(self.fixed)
    for name in OPTIONS:
      value, expected = getattr(model_cfg, name), fixed.get(name, _DEFAULTS[name])
      if name not in self.free and value != expected:
        raise UnsupportedCheckpoint(
            f"model.{name}={value!r}: a {self.model_type} checkpoint cannot hold it "
            f"(the family has {name}={expected!r})")


def _refuse_true(cfg: dict, where: str, *names: str) -> None:
  for name in names:
    if cfg.get(name):
      raise UnsupportedCheckpoint(f"{where}: {name}={cfg[name]!r} is not implemented by itx")


def _window_fields(window, layer_types) -> dict:
  """sliding_window / layer_types fields; no window: every layer attends to all keys."""
  if not window:
    return dict(sliding_window=0, layer_types=())
  return dict(sliding_window=int(window), layer_types=tuple(layer_types or ()))


def _window_config(m: ModelConfig, with_layer_types: bool = True) -> dict:
  out = dict(sliding_window=m.sliding_window or None)
  if with_layer_types:
    out["layer_types"] = ["sliding_attention" if s else "full_attention" for s in m.sliding_layers]
  return out


# Llama 3.x: rope scaling (generic), explicit head_dim (generic); no window.
def _llama_fields(cfg: dict, where: str) -> dict:
  _refuse_true(cfg, where, "attention_bias")
  return {}


def _llama_config(m: ModelConfig) -> dict:
  return dict(attention_bias=False, mlp_bias=False)


# Mistral: one window for every layer (transformers' Mistral ignores layer_types).
def _mistral_fields(cfg: dict, where: str) -> dict:
  return _window_fields(cfg.get("sliding_window"), ())


def _mistral_config(m: ModelConfig) -> dict:
  if m.layer_types and not all(m.sliding_layers):
    raise UnsupportedCheckpoint("model.layer_types: a mistral checkpoint slides every layer or none")
  return _window_config(m, with_layer_types=False)


# Qwen2 and Qwen3: a window only with use_sliding_window, on the layers from max_window_layers on.
def _qwen_window(cfg: dict) -> dict:
  if not cfg.get("use_sliding_window"):
    return _window_fields(None, ())
  types = cfg.get("layer_types") or [
      "sliding_attention" if i >= cfg.get("max_window_layers", 28) else "full_attention"
      for i in range(cfg["num_hidden_layers"])]
  return _window_fields(cfg.get("sliding_window"), types)


def _qwen3_fields(cfg: dict, where: str) -> dict:
  _refuse_true(cfg, where, "attention_bias")  # Qwen3 puts it on o_proj too
  return _qwen_window(cfg)


def _qwen_config(m: ModelConfig) -> dict:
  out = dict(use_sliding_window=m.sliding_window > 0, **_window_config(m))
  return out if m.family == "qwen2" else dict(out, attention_bias=False)


# Phi-3: a Llama with fused qkv_proj and gate_up_proj (split on import, fused on export by
# itx.hf.weights); one window for every layer, as Mistral; transformers' Phi-3 knows only the default
# rope and longrope (refused by itx.hf.config_map: itx does not implement its two factor lists).
def _phi3_fields(cfg: dict, where: str) -> dict:
  for field in ("rope_parameters", "rope_scaling"):
    rope_type = (cfg.get(field) or {}).get("rope_type") or (cfg.get(field) or {}).get("type") or "default"
    if rope_type != "default":  # longrope is refused earlier by itx.hf.config_map; linear/llama3 here
      raise UnsupportedCheckpoint(f"{where}: {field} has rope_type {rope_type!r}; a phi3 checkpoint has "
                                  "'default' or 'longrope' and itx implements 'default'")
  return _window_fields(cfg.get("sliding_window"), ())


def _phi3_config(m: ModelConfig) -> dict:
  if m.layer_types and not all(m.sliding_layers):
    raise UnsupportedCheckpoint("model.layer_types: a phi3 checkpoint slides every layer or none")
  return _window_config(m, with_layer_types=False)


# Gemma 2 and 3: (1 + w) norms, sqrt(d) embeddings, GeGLU, post norms, query scaling, local layers.
_GEMMA_FIXED = (("norm_plus_one", True), ("embed_scale", True), ("post_norms", True))
_GEMMA_FREE = BASE_FREE + ("query_pre_attn_scalar", "sliding_window", "layer_types", "final_logit_softcap")


def _gemma_fields(cfg: dict, where: str) -> dict:
  _refuse_true(cfg, where, "attention_bias", "use_bidirectional_attention")
  gemma3 = cfg["model_type"] == "gemma3_text"
  if gemma3 and cfg.get("attn_logit_softcapping"):
    raise UnsupportedCheckpoint(f"{where}: attn_logit_softcapping={cfg['attn_logit_softcapping']} on gemma3_text "
                                "(transformers' Gemma 3 does not apply it; itx will not guess)")
  pattern = cfg.get("sliding_window_pattern", cfg.get("_sliding_window_pattern", 6 if gemma3 else 2))
  types = cfg.get("layer_types") or [
      "sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(cfg["num_hidden_layers"])]
  return dict(
      query_pre_attn_scalar=float(cfg.get("query_pre_attn_scalar", 256)),
      final_logit_softcap=float(cfg.get("final_logit_softcapping") or 0.0),
      attn_logit_softcap=0.0 if gemma3 else float(cfg.get("attn_logit_softcapping") or 0.0),
      **_window_fields(cfg.get("sliding_window"), types))


def _gemma_config(m: ModelConfig) -> dict:
  scalar = m.query_pre_attn_scalar or m.head_size
  return dict(
      attention_bias=False,
      query_pre_attn_scalar=int(scalar) if float(scalar).is_integer() else scalar,  # transformers types it int
      final_logit_softcapping=m.final_logit_softcap or None,
      attn_logit_softcapping=m.attn_logit_softcap or None,
      use_bidirectional_attention=False, **_window_config(m))


FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("llama", "LlamaForCausalLM", DecoderLM, _llama_fields, _llama_config),
    Family("mistral", "MistralForCausalLM", DecoderLM, _mistral_fields, _mistral_config,
           free=BASE_FREE + ("sliding_window", "layer_types")),
    Family("qwen2", "Qwen2ForCausalLM", DecoderLM, lambda cfg, where: _qwen_window(cfg), _qwen_config,
           fixed=(("qkv_bias", True),), free=BASE_FREE + ("sliding_window", "layer_types")),
    Family("qwen3", "Qwen3ForCausalLM", DecoderLM, _qwen3_fields, _qwen_config,
           fixed=(("qk_norm", True),), free=BASE_FREE + ("sliding_window", "layer_types")),
    Family("phi3", "Phi3ForCausalLM", DecoderLM, _phi3_fields, _phi3_config,
           free=("mlp_activation", "sliding_window", "layer_types")),
    Family("gemma2", "Gemma2ForCausalLM", DecoderLM, _gemma_fields, _gemma_config, fixed=_GEMMA_FIXED,
           free=_GEMMA_FREE + ("attn_logit_softcap",), activation_field="hidden_activation"),
    Family("gemma3_text", "Gemma3ForCausalLM", DecoderLM, _gemma_fields, _gemma_config,
           fixed=_GEMMA_FIXED + (("qk_norm", True),), free=_GEMMA_FREE + ("rope_local_theta",),
           default_rope_theta=1_000_000.0, activation_field="hidden_activation"),
)}


def family(model_type: str, where: str = "model.family") -> Family:
  if model_type not in FAMILIES:
    raise UnsupportedCheckpoint(f"{where}: model_type {model_type!r} is not supported (itx maps {sorted(FAMILIES)})")
  return FAMILIES[model_type]


def network(cfg: ModelConfig) -> nn.Module:
  """The linen network of a model config's family."""
  return family(cfg.family).network(cfg)

"""The model families itx maps, keyed by the Hugging Face `model_type`: one entry per family.

An entry says which network runs the family, which transformers class writes it, and the few
family-specific fields read from (and written to) a Hugging Face `config.json`. Everything generic
(sizes, heads, rope base, norms) is mapped once in itx.hf.config_map; a new family is one entry
here plus, where its weights are laid out differently, an entry in itx.hf.weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import flax.linen as nn

from itx.models.config import ModelConfig
from itx.models.decoder import DecoderLM


class UnsupportedCheckpoint(ValueError):
  """A checkpoint option itx does not implement (named, never silently approximated)."""


@dataclasses.dataclass(frozen=True)
class Family:
  model_type: str
  architecture: str                          # the transformers class that loads an export
  network: type[nn.Module]
  hf_fields: Callable[[dict, str], dict]      # family-specific itx fields from config.json (or refuses)
  hf_config: Callable[[ModelConfig], dict]    # family-specific config.json fields of an itx model


def _llama_fields(cfg: dict, where: str) -> dict:
  if cfg.get("attention_bias"):
    raise UnsupportedCheckpoint(f"{where}: attention_bias=true (bias on o_proj too) is not implemented by itx")
  return dict(qkv_bias=False)


def _llama_config(model_cfg: ModelConfig) -> dict:
  if model_cfg.qkv_bias:
    raise UnsupportedCheckpoint("a llama model has no q/k/v bias: use model.family='qwen2' for qkv_bias=True")
  return dict(attention_bias=False, mlp_bias=False)


def _mistral_config(model_cfg: ModelConfig) -> dict:
  if model_cfg.qkv_bias:
    raise UnsupportedCheckpoint("a mistral model has no q/k/v bias: use model.family='qwen2' for qkv_bias=True")
  return dict(sliding_window=None)


FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("llama", "LlamaForCausalLM", DecoderLM, _llama_fields, _llama_config),
    Family("mistral", "MistralForCausalLM", DecoderLM, lambda cfg, where: dict(qkv_bias=False), _mistral_config),
    Family("qwen2", "Qwen2ForCausalLM", DecoderLM, lambda cfg, where: dict(qkv_bias=True), lambda m: {}),
)}


def family(model_type: str, where: str = "model.family") -> Family:
  if model_type not in FAMILIES:
    raise UnsupportedCheckpoint(f"{where}: model_type {model_type!r} is not supported (itx maps {sorted(FAMILIES)})")
  return FAMILIES[model_type]


def network(cfg: ModelConfig) -> nn.Module:
  """The linen network of a model config's family."""
  return family(cfg.family).network(cfg)

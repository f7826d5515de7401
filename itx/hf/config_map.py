"""Hugging Face `config.json` <-> itx's model fields, for the families of itx.models.families.

Every option is either mapped or refused by name: an unknown rope scaling, an attention or MLP
bias itx does not have, mixture-of-experts layers, a vision tower, another architecture. Nothing is
silently ignored.
"""

from __future__ import annotations

import json
import os

from itx.models.families import UnsupportedCheckpoint, family


def read_config(hf_dir: str) -> dict:
  path = os.path.join(hf_dir, "config.json")
  if not os.path.exists(path):
    raise FileNotFoundError(f"no config.json in {hf_dir}: not a Hugging Face model directory")
  with open(path) as f:
    return json.load(f)


_ACTIVATIONS = {"silu": "silu", "gelu_pytorch_tanh": "gelu_tanh"}  # config.json name -> itx
_ROPE_TYPES = ("default", "linear", "llama3")
# Options that change what a model computes and that itx refuses whenever they are set.
_MOE_FIELDS = ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")
_MULTIMODAL_FIELDS = ("vision_config", "audio_config")


def _rope(cfg: dict, where: str, default_theta: float) -> dict:
  """Rope fields: Hugging Face's `rope_parameters` (flat, or per layer type as in Gemma 3), or the
  older `rope_theta` + `rope_scaling` (+ Gemma 3's `rope_local_base_freq`)."""
  params, field = cfg.get("rope_parameters"), "rope_parameters"
  local = None
  if isinstance(params, dict) and ("full_attention" in params or "sliding_attention" in params):
    local = params.get("sliding_attention")
    params, field = params.get("full_attention") or {}, "rope_parameters.full_attention"
  if not params:
    params, field = dict(cfg.get("rope_scaling") or {}), "rope_scaling"
    params.setdefault("rope_theta", cfg.get("rope_theta", default_theta))
  rope_type = params.get("rope_type") or params.get("type") or "default"
  if rope_type not in _ROPE_TYPES:
    raise UnsupportedCheckpoint(f"{where}: {field} has rope_type {rope_type!r}; itx implements {_ROPE_TYPES}")
  for source, what in ((params, field), (cfg, "config")):
    if float(source.get("partial_rotary_factor") or 1.0) != 1.0:
      raise UnsupportedCheckpoint(f"{where}: partial_rotary_factor={source['partial_rotary_factor']} ({what}): "
                                  "itx rotates the whole head")
  out = dict(rope_theta=float(params.get("rope_theta", default_theta)))
  if rope_type != "default":
    out.update(rope_scaling="llama3" if rope_type == "llama3" else "linear", rope_factor=float(params["factor"]))
  if rope_type == "llama3":
    out.update(rope_low_freq_factor=float(params["low_freq_factor"]),
               rope_high_freq_factor=float(params["high_freq_factor"]),
               rope_original_max_len=int(params.get("original_max_position_embeddings")
                                         or cfg["max_position_embeddings"]))
  if local is not None:
    local_type = local.get("rope_type") or "default"
    if local_type != "default":
      raise UnsupportedCheckpoint(f"{where}: rope_parameters.sliding_attention has rope_type {local_type!r}; "
                                  "itx implements 'default' there")
    out["rope_local_theta"] = float(local.get("rope_theta", 10000.0))
  elif cfg.get("rope_local_base_freq"):
    out["rope_local_theta"] = float(cfg["rope_local_base_freq"])
  return out


def _refuse_unimplemented(cfg: dict, where: str) -> None:
  for name in _MULTIMODAL_FIELDS:
    if cfg.get(name):
      raise UnsupportedCheckpoint(f"{where}: {name} is set: itx maps text-only decoders (no vision or audio tower)")
  for name in _MOE_FIELDS:
    if cfg.get(name):
      raise UnsupportedCheckpoint(f"{where}: {name}={cfg[name]}: mixture-of-experts layers are not implemented by itx")
  if cfg.get("mlp_bias"):
    raise UnsupportedCheckpoint(f"{where}: mlp_bias=true is not implemented by itx")


def model_fields(cfg: dict, *, where: str = "config.json") -> dict:
  """itx `config.model` fields for a Hugging Face config (or UnsupportedCheckpoint naming the
  field that itx does not implement)."""
  _refuse_unimplemented(cfg, where)
  arch = cfg.get("model_type")
  fam = family(arch, where)
  activation = cfg.get(fam.activation_field, "silu")
  if activation not in _ACTIVATIONS:
    raise UnsupportedCheckpoint(f"{where}: {fam.activation_field} {activation!r} (itx implements {sorted(_ACTIVATIONS)})")
  heads = cfg["num_attention_heads"]
  return dict(
      family=arch,
      vocab_size=cfg["vocab_size"],
      d_model=cfg["hidden_size"],
      n_layers=cfg["num_hidden_layers"],
      n_heads=heads,
      n_kv_heads=cfg.get("num_key_value_heads") or heads,
      head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
      mlp_dim=cfg["intermediate_size"],
      norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
      tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
      mlp_activation=_ACTIVATIONS[activation],
      **_rope(cfg, where, fam.default_rope_theta),
      **dict(fam.fixed),
      **fam.hf_fields(cfg, where),
  )


def _rope_parameters(m) -> dict:
  out = {"rope_type": "default" if m.rope_scaling == "none" else m.rope_scaling, "rope_theta": m.rope_theta}
  if m.rope_scaling != "none":
    out["factor"] = m.rope_factor
  if m.rope_scaling == "llama3":
    out.update(low_freq_factor=m.rope_low_freq_factor, high_freq_factor=m.rope_high_freq_factor,
               original_max_position_embeddings=m.rope_original_max_len)
  if "rope_local_theta" not in family(m.family).free:
    return out
  if not m.rope_local_theta and m.rope_scaling != "none":
    raise UnsupportedCheckpoint(f"model.rope_local_theta=0 with model.rope_scaling={m.rope_scaling!r}: a "
                                f"{m.family} checkpoint's sliding layers have their own unscaled rope")
  local = {"rope_type": "default", "rope_theta": m.rope_local_theta or m.rope_theta}
  return {"full_attention": out, "sliding_attention": local}


def hf_config(model_cfg, base: dict | None = None, *, tokenizer=None) -> dict:
  """A config.json for an itx model of its family. `base`: the config the run started from (keeps
  its other fields)."""
  out = dict(base or {})
  fam = family(model_cfg.family)
  fam.check_expressible(model_cfg)
  for stale in ("rope_scaling", "rope_theta", "rope_local_base_freq", "sliding_window_pattern",
                "_sliding_window_pattern", "max_window_layers"):
    out.pop(stale, None)
  activation = {v: k for k, v in _ACTIVATIONS.items()}[model_cfg.mlp_activation]
  out.update(
      model_type=fam.model_type,
      architectures=[fam.architecture],
      vocab_size=model_cfg.real_vocab_size, hidden_size=model_cfg.d_model, num_hidden_layers=model_cfg.n_layers,
      num_attention_heads=model_cfg.n_heads, num_key_value_heads=model_cfg.n_kv_heads,
      head_dim=model_cfg.head_size, intermediate_size=model_cfg.mlp_dim,
      rope_parameters=_rope_parameters(model_cfg),
      rms_norm_eps=model_cfg.norm_eps, tie_word_embeddings=model_cfg.tie_embeddings,
      **{"hidden_act": activation, fam.activation_field: activation},
      dtype=model_cfg.param_dtype)
  out.update(fam.hf_config(model_cfg))
  if tokenizer is not None:
    out.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
  return out

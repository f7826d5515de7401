"""Hugging Face `config.json` <-> itx's model fields, for the families of itx.models.families.

Every option is either mapped or refused by name: an unknown rope scaling, a sliding window that
would change attention within the training length, an attention or MLP bias itx does not have,
another architecture. Nothing is silently ignored.
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


def _rope(cfg: dict, where: str) -> float:
  params = cfg.get("rope_parameters") or {}
  scaling = cfg.get("rope_scaling") or {}
  rope_type = params.get("rope_type") or scaling.get("rope_type") or scaling.get("type") or "default"
  if rope_type != "default":
    raise UnsupportedCheckpoint(f"{where}: rope type {rope_type!r} is not implemented by itx (only 'default')")
  return float(params.get("rope_theta", cfg.get("rope_theta", 10000.0)))


def model_fields(cfg: dict, *, where: str = "config.json", max_len: int | None = None) -> dict:
  """itx `config.model` fields for a Hugging Face config. `max_len`: the longest sequence itx will
  run, to check a sliding window against."""
  arch = cfg.get("model_type")
  fam = family(arch, where)
  if cfg.get("hidden_act", "silu") != "silu":
    raise UnsupportedCheckpoint(f"{where}: hidden_act {cfg['hidden_act']!r} (itx implements silu)")
  if cfg.get("mlp_bias"):
    raise UnsupportedCheckpoint(f"{where}: mlp_bias=true is not implemented by itx")
  window = cfg.get("sliding_window")
  uses_window = arch == "mistral" or cfg.get("use_sliding_window", False)
  if uses_window and window is not None:
    if max_len is None or window < max_len:
      raise UnsupportedCheckpoint(
          f"{where}: sliding_window={window} would restrict attention within itx's sequences "
          f"(seq_len {max_len}); itx attends to the whole sequence. Use seq_len <= {window}.")
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
      rope_theta=_rope(cfg, where),
      norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
      tie_embeddings=bool(cfg.get("tie_word_embeddings", False)),
      **fam.hf_fields(cfg, where),
  )


def hf_config(model_cfg, base: dict | None = None, *, tokenizer=None) -> dict:
  """A config.json for an itx model of its family. `base`: the config the run started from (keeps
  its other fields)."""
  out = dict(base or {})
  fam = family(model_cfg.family)
  out.pop("rope_scaling", None)
  out.pop("rope_theta", None)
  out.update(
      model_type=fam.model_type,
      architectures=[fam.architecture],
      vocab_size=model_cfg.real_vocab_size, hidden_size=model_cfg.d_model, num_hidden_layers=model_cfg.n_layers,
      num_attention_heads=model_cfg.n_heads, num_key_value_heads=model_cfg.n_kv_heads,
      head_dim=model_cfg.head_size, intermediate_size=model_cfg.mlp_dim,
      rope_parameters={"rope_type": "default", "rope_theta": model_cfg.rope_theta},
      rms_norm_eps=model_cfg.norm_eps, tie_word_embeddings=model_cfg.tie_embeddings, hidden_act="silu",
      dtype=model_cfg.param_dtype)
  out.update(fam.hf_config(model_cfg))
  if tokenizer is not None:
    out.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
  return out

"""Writing an itx run back as a Hugging Face directory that transformers loads unchanged:
safetensors shards (+ index), config.json, generation_config.json and the tokenizer files."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import ml_collections

from itx.data.cache import atomic_dir
from itx.data.chat import end_of_turn_ids
from itx.datasets.sources import config_tokenizer
from itx.hf import config_map, weights
from itx.models import ModelConfig
from itx.train.checkpoint import restore_config, restore_params


def generation_config(hf_cfg: dict, tok) -> dict:
  """generation_config.json: `eos_token_id` lists every end-of-turn id of the chat template (e.g.
  <|im_end|> besides <|endoftext|>), so transformers' `generate` stops where itx's Generator does:
  at the end of the assistant turn."""
  gen = {k: hf_cfg.get(k) for k in ("bos_token_id", "pad_token_id") if hf_cfg.get(k) is not None}
  stops = sorted(end_of_turn_ids(tok))
  gen["eos_token_id"] = stops[0] if len(stops) == 1 else stops
  return gen


def export_run(workdir: str, out_dir: str, *, step: int | None = None, dtype: str | None = None,
               max_shard_bytes: int = 2 * 1024**3) -> str:
  """Exports the checkpoint of `workdir` (latest step by default) to `out_dir` (must not exist)."""
  if os.path.exists(out_dir):
    raise FileExistsError(f"{out_dir} exists: itx does not overwrite an export")
  c = ml_collections.ConfigDict(restore_config(workdir, step))
  model_cfg = ModelConfig.from_config(c.model)
  params = restore_params(workdir, step)
  tok = config_tokenizer(c)
  base_path = os.path.join(workdir, "hf_base_config.json")
  base = None
  if os.path.exists(base_path):
    with open(base_path) as f:
      base = json.load(f)
  np_dtype = jnp.dtype(dtype) if dtype else None  # bfloat16 included (ml_dtypes)
  hf_cfg = config_map.hf_config(model_cfg, base, tokenizer=tok)
  if dtype:
    hf_cfg["dtype"] = dtype
  if jax.process_index() != 0:
    weights.save_hf_params(params, model_cfg, out_dir, dtype=np_dtype, max_shard_bytes=max_shard_bytes)
    return out_dir
  with atomic_dir(os.path.abspath(out_dir)) as tmp:  # a crash leaves no half-written export
    weights.save_hf_params(params, model_cfg, tmp, dtype=np_dtype, max_shard_bytes=max_shard_bytes)
    with open(os.path.join(tmp, "config.json"), "w") as f:
      json.dump(hf_cfg, f, indent=2)
    gen = generation_config(hf_cfg, tok)
    with open(os.path.join(tmp, "generation_config.json"), "w") as f:
      json.dump(gen, f, indent=2)
    tok.save_pretrained(tmp)
  return out_dir

"""Writing an itx run back as a Hugging Face directory that transformers loads unchanged:
safetensors shards (+ index), config.json, generation_config.json and the tokenizer files.

A LoRA run exports its adapters as PEFT folders (one per adapter of a bank, in `out/<name>`; the
single adapter of a run, or the one chosen with `adapter`, in `out` itself) for
`peft.PeftModel.from_pretrained` on the base; with `merge`, one adapter folded into the base
(W + s * A B) as a plain Hugging Face model.
"""

from __future__ import annotations

import dataclasses
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from itx import config as config_lib
from itx import sharding
from itx.data.files import atomic_dir
from itx.data.chat import end_of_turn_ids
from itx.datasets.sources import config_tokenizer
from itx.hf import config_map, peft, weights
from itx.models import ModelConfig, lora, network
from itx.train.checkpoint import restore_config, restore_params
from itx.train.frozen_base import load_run_params
from itx.train.state import param_shardings


def _single_device_params(workdir, step, model_cfg, base):
  """A LoRA run's full parameters (base + adapters) on one device, for writing out."""
  mesh_cfg = ml_collections.ConfigDict(dict(data=1, fsdp=1, tensor=1))
  mesh = sharding.make_mesh(mesh_cfg, jax.devices()[:1])
  model = network(model_cfg)
  abstract, shardings = param_shardings(model, mesh, ())
  with jax.set_mesh(mesh), nn.logical_axis_rules(()):
    return load_run_params(workdir, step, model, model_cfg, abstract, shardings, base_override=base)


def _base_name(c) -> str:
  """PEFT's base_model_name_or_path: the Hugging Face directory (a GGUF's import) or the itx init."""
  return config_lib.hf_dir_of(c.model.init_from) or c.model.init_from



def generation_config(hf_cfg: dict, tok) -> dict:
  """generation_config.json: `eos_token_id` lists every end-of-turn id of the chat template (e.g.
  <|im_end|> besides <|endoftext|>), so transformers' `generate` stops where itx's Generator does:
  at the end of the assistant turn."""
  gen = {k: hf_cfg.get(k) for k in ("bos_token_id", "pad_token_id") if hf_cfg.get(k) is not None}
  stops = sorted(end_of_turn_ids(tok))
  gen["eos_token_id"] = stops[0] if len(stops) == 1 else stops
  return gen


def export_run(workdir: str, out_dir: str, *, step: int | None = None, dtype: str | None = None,
               max_shard_bytes: int = 2 * 1024**3, adapter: str | None = None, merge: bool = False,
               base: str | None = None) -> str:
  """Exports the checkpoint of `workdir` (latest step by default) to `out_dir` (must not exist).

  LoRA runs: PEFT folders (or, with `merge`, the base with `adapter` folded in); `base` replaces
  the run's model.init_from (a base that moved; it must still match)."""
  if os.path.exists(out_dir):
    raise FileExistsError(f"{out_dir} exists: itx does not overwrite an export")
  c = ml_collections.ConfigDict(restore_config(workdir, step))
  model_cfg = ModelConfig.from_config(c.model, c.get("lora"))
  spec = model_cfg.lora
  if spec is None:
    if adapter or merge:
      raise ValueError(f"{workdir} is not a LoRA run: --adapter and --merge apply to LoRA runs")
    params = restore_params(workdir, step)
  else:
    params = _single_device_params(workdir, step, model_cfg, base)
    if not merge:
      return _export_peft(params, model_cfg, out_dir, adapter, base or _base_name(c))
    if spec.n_adapters > 1 and not adapter:
      raise ValueError(f"--merge folds one adapter into the base: choose one with --adapter ({list(spec.adapters)})")
    params = lora.merged_kernels(params, spec, spec.adapter_index(adapter) if adapter else 0)
    model_cfg = dataclasses.replace(model_cfg, lora=None)
  tok = config_tokenizer(c)
  base_path = os.path.join(workdir, "hf_base_config.json")
  base_cfg = None
  if os.path.exists(base_path):
    with open(base_path) as f:
      base_cfg = json.load(f)
  np_dtype = jnp.dtype(dtype) if dtype else None  # bfloat16 included (ml_dtypes)
  hf_cfg = config_map.hf_config(model_cfg, base_cfg, tokenizer=tok)
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


def _export_peft(params, model_cfg: ModelConfig, out_dir: str, adapter: str | None, base_model: str) -> str:
  spec = model_cfg.lora
  names = [adapter] if adapter else list(spec.adapters)
  single = len(names) == 1
  adapted = lora.adapter_paths(lora.split(params)[0])
  config = peft.adapter_config(spec, adapted, base_model)
  if jax.process_index() != 0:
    return out_dir
  with atomic_dir(os.path.abspath(out_dir)) as tmp:
    for name in names:
      tensors = peft.peft_tensors(params, model_cfg, spec.adapter_index(name))
      peft.write_peft(tmp if single else os.path.join(tmp, name), tensors, config)
  return out_dir

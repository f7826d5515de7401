"""LoRA adapters <-> PEFT folders (`adapter_config.json` + `adapter_model.safetensors`), the format
`peft.PeftModel.from_pretrained(base, folder)` loads.

PEFT saves, per adapted linear layer of the transformers model, `base_model.model.<module>.lora_A.weight`
[r, in] and `...lora_B.weight` [out, r] (the adapter's name is not part of the saved key), and
computes y = x W^T + s * x A^T B^T with s = lora_alpha / r (rsLoRA: / sqrt(r)). itx's A [in..., r]
and B [r, out...] flatten their head axes in the same order as the kernels they adapt
(itx.hf.weights), so the mapping is a reshape and a transpose.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from itx.hf.weights import _param_map
from itx.models.families import UnsupportedCheckpoint
from itx.models import lora
from itx.models.config import ModelConfig

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
_PREFIX = "base_model.model."


def _modules(model_cfg: ModelConfig) -> dict:
  """itx projection path ("layers/attn/q_proj") -> (HF module name with {i}, per-layer?). Refuses a
  family that stores projections fused (Phi-3's qkv_proj, gate_up_proj): a PEFT adapter of the
  fused module is one low-rank update of all of them, not itx's separate adapters."""
  out = {}
  for path, (hf_name, per_layer, *_) in _param_map(model_cfg).items():
    if path[-1] == "kernel":
      out["/".join(path[:-1])] = (hf_name.removesuffix(".weight"), per_layer)
  names = [name for name, _ in out.values()]
  fused = sorted({n for n in names if names.count(n) > 1})
  if fused:
    raise UnsupportedCheckpoint(f"model.family={model_cfg.family!r}: PEFT adapters of fused projections "
                                f"({', '.join(n.rsplit('.', 1)[-1] for n in fused)}) are not mapped by itx; "
                                "its adapters stay in itx checkpoints")
  return out


def adapter_config(spec: lora.LoraSpec, adapted: list[str], base_model: str) -> dict:
  """adapter_config.json of one adapter. adapted: itx paths of the adapted projections."""
  return {
      "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_model,
      "r": spec.rank, "lora_alpha": spec.alpha, "lora_dropout": spec.dropout, "use_rslora": spec.rslora,
      "target_modules": sorted({p.rsplit("/", 1)[-1] for p in adapted}),
      "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
      "use_dora": False, "modules_to_save": None, "layers_to_transform": None,
      "rank_pattern": {}, "alpha_pattern": {},
  }


def peft_tensors(params, model_cfg: ModelConfig, adapter: int) -> dict[str, np.ndarray]:
  """PEFT's saved tensors of adapter `adapter` of a LoRA parameter tree (host numpy arrays)."""
  adapters, _ = lora.split(params)
  modules = _modules(model_cfg)
  out = {}
  for path in lora.adapter_paths(adapters):
    node = adapters
    for k in path.split("/"):
      node = node[k]
    hf_module, per_layer = modules[path]
    a, b = np.asarray(node["lora_a"], np.float32), np.asarray(node["lora_b"], np.float32)
    layers = range(model_cfg.n_layers) if per_layer else [None]
    for i in layers:
      ai, bi = (a[i], b[i]) if per_layer else (a, b)
      ai, bi = ai[adapter], bi[adapter]  # [in..., r], [r, out...]
      name = _PREFIX + hf_module.format(i=i)
      out[f"{name}.lora_A.weight"] = np.ascontiguousarray(ai.reshape(-1, ai.shape[-1]).T)
      out[f"{name}.lora_B.weight"] = np.ascontiguousarray(bi.reshape(bi.shape[0], -1).T)
  return out


def write_peft(out_dir: str, tensors: dict[str, np.ndarray], config: dict) -> None:
  os.makedirs(out_dir, exist_ok=True)
  save_file(tensors, os.path.join(out_dir, WEIGHTS), metadata={"format": "pt"})
  with open(os.path.join(out_dir, CONFIG), "w") as f:
    json.dump(config, f, indent=2)


def read_peft_config(peft_dir: str) -> dict:
  """adapter_config.json of a PEFT LoRA folder; refuses (by name) what itx does not implement."""
  path = os.path.join(peft_dir, CONFIG)
  if not os.path.exists(path):
    raise FileNotFoundError(f"no {CONFIG} in {peft_dir}: not a PEFT adapter folder")
  with open(path) as f:
    cfg = json.load(f)
  refuse = {
      "peft_type": cfg.get("peft_type") != "LORA", "use_dora": bool(cfg.get("use_dora")),
      "fan_in_fan_out": bool(cfg.get("fan_in_fan_out")), "bias": cfg.get("bias", "none") != "none",
      "modules_to_save": bool(cfg.get("modules_to_save")), "rank_pattern": bool(cfg.get("rank_pattern")),
      "alpha_pattern": bool(cfg.get("alpha_pattern")), "layers_to_transform": cfg.get("layers_to_transform") is not None,
  }
  bad = [f"{k}={cfg.get(k)!r}" for k, v in refuse.items() if v]
  if bad:
    raise ValueError(f"{path}: itx imports plain LoRA adapters only; not implemented: {', '.join(bad)}")
  return cfg


def spec_fields(cfg: dict) -> dict:
  """config.lora fields of a PEFT adapter_config (target_modules as an itx path expression)."""
  targets = cfg["target_modules"]
  if isinstance(targets, str):  # PEFT also accepts one regular expression over module names
    raise ValueError(f"target_modules={targets!r}: a regular expression is not supported, list the modules")
  names = "|".join(re.escape(t) for t in sorted(targets))
  return dict(rank=int(cfg["r"]), alpha=float(cfg["lora_alpha"]), rslora=bool(cfg.get("use_rslora", False)),
              dropout=float(cfg.get("lora_dropout", 0.0)), targets=rf"(^|/)({names})/kernel$")


def read_peft_adapter(peft_dir: str, model_cfg: ModelConfig, adapter_abstract) -> dict:
  """One adapter of a PEFT folder as itx adapter parameters with a single-adapter axis, shaped like
  `adapter_abstract` (the adapter leaves of a LoRA model with one adapter: [(L,) 1, ...])."""
  with safe_open(os.path.join(peft_dir, WEIGHTS), "numpy") as f:
    tensors = {k: f.get_tensor(k) for k in f.keys()}
  modules = _modules(model_cfg)
  used = set()

  def build(tree, prefix):
    out = {}
    for k, v in tree.items():
      path = f"{prefix}/{k}" if prefix else k
      if isinstance(v, dict):
        out[k] = build(v, path)
        continue
      module_path = prefix
      hf_module, per_layer = modules[module_path]
      which = "lora_A" if k == "lora_a" else "lora_B"
      layers = range(model_cfg.n_layers) if per_layer else [None]
      parts = []
      for i in layers:
        name = f"{_PREFIX}{hf_module.format(i=i)}.{which}.weight"
        if name not in tensors:
          raise KeyError(f"{peft_dir}/{WEIGHTS}: tensor {name} is missing")
        used.add(name)
        w = tensors[name].astype(np.float32).T  # A: [in, r]; B: [r, out]
        shape = v.shape[2:] if per_layer else v.shape[1:]
        parts.append(w.reshape(shape)[None])   # [1 adapter, ...]
      arr = np.stack(parts) if per_layer else parts[0]
      out[k] = arr.astype(v.dtype)
    return out

  params = build(lora.split(adapter_abstract)[0], "")
  unused = sorted(set(tensors) - used)
  if unused:
    raise ValueError(f"{peft_dir}/{WEIGHTS}: tensors itx's targets do not cover: {unused[:6]}")
  return params

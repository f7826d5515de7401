"""Safetensors weights (sharded, with index) <-> itx's parameter tree.

Import places every parameter straight into its target sharding with
`jax.make_array_from_callback`: each device's shard is cut from the tensors of that one parameter,
so a host holds at most one parameter (all layers of it) at a time, never the whole model.
Only safetensors are read: no pickle, no remote code.
"""

from __future__ import annotations

import json
import os
import re

import jax
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from itx.models.config import ModelConfig

INDEX = "model.safetensors.index.json"
_IGNORED = re.compile(r".*rotary_emb\.inv_freq$")  # recomputed, never learned


def _vocab_rows(cfg: ModelConfig):
  """(HF [real, d] -> itx [padded, d], itx -> HF): the padded vocabulary rows are zeros in, cut out."""
  pad = cfg.vocab_size - cfg.real_vocab_size
  return (lambda w: np.pad(w, ((0, pad), (0, 0))), lambda w: w[:cfg.real_vocab_size])


def _param_map(cfg: ModelConfig) -> dict:
  """itx path -> (HF name, per-layer?, HF->itx, itx->HF). Norm scales are stored as the checkpoint
  stores them (Gemma's w of a (1 + w) norm stays w: itx's RMSNorm adds the one, model.norm_plus_one)."""
  d, h, kv, hd = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_size
  ident = (lambda w: w, lambda w: w)
  t = (lambda w: w.T, lambda w: w.T)
  rows_in, rows_out = _vocab_rows(cfg)

  def heads_in(n):  # [n*hd, d] <-> [d, n, hd]
    return (lambda w: w.T.reshape(d, n, hd), lambda k: k.reshape(d, n * hd).T)

  def bias(n):
    return (lambda b: b.reshape(n, hd), lambda b: b.reshape(n * hd))

  layer = "model.layers.{i}."
  m = {
      ("embed", "embedding"): ("model.embed_tokens.weight", False, rows_in, rows_out),
      ("final_norm", "scale"): ("model.norm.weight", False, *ident),
      ("layers", "input_norm", "scale"): (layer + "input_layernorm.weight", True, *ident),
      ("layers", "post_attn_norm", "scale"): (layer + "post_attention_layernorm.weight", True, *ident),
      ("layers", "attn", "q_proj", "kernel"): (layer + "self_attn.q_proj.weight", True, *heads_in(h)),
      ("layers", "attn", "k_proj", "kernel"): (layer + "self_attn.k_proj.weight", True, *heads_in(kv)),
      ("layers", "attn", "v_proj", "kernel"): (layer + "self_attn.v_proj.weight", True, *heads_in(kv)),
      ("layers", "attn", "o_proj", "kernel"): (layer + "self_attn.o_proj.weight", True,
                                               lambda w: w.T.reshape(h, hd, d), lambda k: k.reshape(h * hd, d).T),
      ("layers", "mlp", "gate_proj", "kernel"): (layer + "mlp.gate_proj.weight", True, *t),
      ("layers", "mlp", "up_proj", "kernel"): (layer + "mlp.up_proj.weight", True, *t),
      ("layers", "mlp", "down_proj", "kernel"): (layer + "mlp.down_proj.weight", True, *t),
  }
  if cfg.qk_norm:  # Qwen3, Gemma 3: one scale over head_dim, shared by all heads
    for name in ("q_norm", "k_norm"):
      m[("layers", "attn", name, "scale")] = (layer + f"self_attn.{name}.weight", True, *ident)
  if cfg.post_norms:  # Gemma 2/3 name the norm before the MLP pre_feedforward_layernorm
    m[("layers", "attn_out_norm", "scale")] = (layer + "post_attention_layernorm.weight", True, *ident)
    m[("layers", "post_attn_norm", "scale")] = (layer + "pre_feedforward_layernorm.weight", True, *ident)
    m[("layers", "mlp_out_norm", "scale")] = (layer + "post_feedforward_layernorm.weight", True, *ident)
  if cfg.qkv_bias:
    for name, n in (("q_proj", h), ("k_proj", kv), ("v_proj", kv)):
      m[("layers", "attn", name, "bias")] = (layer + f"self_attn.{name}.bias", True, *bias(n))
  if not cfg.tie_embeddings:
    m[("lm_head", "kernel")] = ("lm_head.weight", False, lambda w: rows_in(w).T, lambda k: rows_out(k.T))
  for fused, parts in _fused(cfg).items():  # Phi-3: each part is a row block of one stored tensor
    start = 0
    for key, rows in parts:
      _, per_layer, to_itx, to_hf = m[key]
      block = slice(start, start + rows)
      m[key] = (fused, per_layer, lambda w, f=to_itx, b=block: f(w[b]), to_hf)
      start += rows
  return m


def _fused(cfg: ModelConfig) -> dict[str, list[tuple[tuple, int]]]:
  """Tensors a family stores fused: HF name -> [(itx path, rows of the HF [out, in] weight)], in the
  order their row blocks are concatenated (transformers' Phi-3 slices q, k, v and chunks gate, up)."""
  if cfg.family != "phi3":
    return {}
  layer, hd = "model.layers.{i}.", cfg.head_size
  return {
      layer + "self_attn.qkv_proj.weight": [(("layers", "attn", "q_proj", "kernel"), cfg.n_heads * hd),
                                            (("layers", "attn", "k_proj", "kernel"), cfg.n_kv_heads * hd),
                                            (("layers", "attn", "v_proj", "kernel"), cfg.n_kv_heads * hd)],
      layer + "mlp.gate_up_proj.weight": [(("layers", "mlp", "gate_proj", "kernel"), cfg.mlp_dim),
                                          (("layers", "mlp", "up_proj", "kernel"), cfg.mlp_dim)],
  }


class SafetensorsReader:
  """Reads tensors by name from a Hugging Face directory (one file, or shards with an index)."""

  def __init__(self, hf_dir: str):
    self.dir = hf_dir
    index = os.path.join(hf_dir, INDEX)
    single = os.path.join(hf_dir, "model.safetensors")
    if os.path.exists(index):
      with open(index) as f:
        self.files = json.load(f)["weight_map"]
    elif os.path.exists(single):
      with safe_open(single, "numpy") as f:
        self.files = {k: "model.safetensors" for k in f.keys()}
    else:
      pickles = [f for f in os.listdir(hf_dir) if f.endswith((".bin", ".pt", ".pth"))]
      hint = (f" It holds {pickles}: itx never unpickles weights. Convert them once with transformers: "
              "AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out_dir, safe_serialization=True)"
              if pickles else "")
      raise FileNotFoundError(f"no safetensors weights ({INDEX} or model.safetensors) in {hf_dir}.{hint}")

  def names(self) -> set[str]:
    return set(self.files)

  def get(self, name: str) -> np.ndarray:
    if name not in self.files:
      raise KeyError(f"{self.dir}: tensor {name!r} is missing from the checkpoint")
    with safe_open(os.path.join(self.dir, self.files[name]), "numpy") as f:
      return f.get_tensor(name)


def _path_tuple(path) -> tuple:
  return tuple(getattr(k, "key", getattr(k, "name", k)) for k in path)


def load_hf_params(hf_dir: str, cfg: ModelConfig, abstract_params, shardings):
  """The checkpoint's weights as itx parameters, each created directly in its sharding.

  abstract_params: ShapeDtypeStruct pytree (itx layout); shardings: matching NamedShardings.
  """
  reader = SafetensorsReader(hf_dir)
  mapping = _param_map(cfg)
  expected = set()
  for name, per_layer, *_ in mapping.values():
    expected.update({name.format(i=i) for i in range(cfg.n_layers)} if per_layer else {name})
  unexpected = sorted(n for n in reader.names() - expected if not _IGNORED.match(n))
  if cfg.tie_embeddings:
    unexpected = [n for n in unexpected if n != "lm_head.weight"]  # some tied checkpoints store it anyway
  if unexpected:
    raise ValueError(f"{hf_dir}: tensors itx has no parameter for (an unsupported option?): {unexpected[:8]}")

  def build(path, abstract, sharding):
    key = _path_tuple(path)
    if key not in mapping:
      raise KeyError(f"itx parameter {'/'.join(key)} has no Hugging Face counterpart")
    name, per_layer, to_itx, _ = mapping[key]
    cache: dict[int, np.ndarray] = {}  # this parameter's layers, freed once it is placed

    def layer(i):
      if i not in cache:
        w = to_itx(reader.get(name.format(i=i) if per_layer else name))
        cache[i] = np.asarray(w, dtype=abstract.dtype)
      return cache[i]

    def shard(index):
      if not per_layer:
        return layer(0)[index]
      rows = range(cfg.n_layers)[index[0]]
      return np.stack([layer(i)[index[1:]] for i in rows])

    full_shape = (cfg.n_layers,) if per_layer else ()
    probe = layer(0)
    if full_shape + probe.shape != tuple(abstract.shape):
      raise ValueError(f"{hf_dir}: {name} has shape {probe.shape} per layer; itx expects {abstract.shape}")
    out = jax.make_array_from_callback(abstract.shape, sharding, shard)
    cache.clear()
    return out

  return jax.tree_util.tree_map_with_path(build, abstract_params, shardings)


def _to_host(x) -> np.ndarray:
  if jax.process_count() > 1 and not x.is_fully_addressable:
    from jax.experimental import multihost_utils
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(x)


def save_hf_params(params, cfg: ModelConfig, out_dir: str, *, dtype=None, max_shard_bytes: int = 2 * 1024**3) -> None:
  """Writes safetensors shards and their index into out_dir (process 0 writes; all gather)."""
  mapping, fused = _param_map(cfg), _fused(cfg)
  pending: dict[str, dict[tuple, np.ndarray]] = {}  # fused HF name -> the parts gathered so far
  shards: list[dict] = [{}]
  size = 0
  for path, value in jax.tree_util.tree_leaves_with_path(params):
    key = _path_tuple(path)
    name, per_layer, _, to_hf = mapping[key]
    host = _to_host(value)
    if dtype is not None:
      host = host.astype(dtype)
    layers = [(name.format(i=i), host[i]) for i in range(cfg.n_layers)] if per_layer else [(name, host)]
    for hf_name, w in layers:
      w = np.ascontiguousarray(to_hf(w))
      if name in fused:
        parts = pending.setdefault(hf_name, {})
        parts[key] = w
        if len(parts) < len(fused[name]):
          continue
        del pending[hf_name]
        w = np.concatenate([parts[k] for k, _ in fused[name]], axis=0)
      if size and size + w.nbytes > max_shard_bytes:
        shards.append({})
        size = 0
      shards[-1][hf_name] = w
      size += w.nbytes
  if jax.process_index() != 0:
    return
  weight_map, total = {}, 0
  for k, tensors in enumerate(shards, start=1):
    fname = "model.safetensors" if len(shards) == 1 else f"model-{k:05d}-of-{len(shards):05d}.safetensors"
    save_file(tensors, os.path.join(out_dir, fname), metadata={"format": "pt"})
    weight_map.update({n: fname for n in tensors})
    total += sum(t.nbytes for t in tensors.values())
  if len(shards) > 1:
    with open(os.path.join(out_dir, INDEX), "w") as f:
      json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)

"""The frozen base of a LoRA run: loaded from `model.init_from`, fingerprinted, and checked again
whenever the run's adapters are restored (resume, evaluation, serving, export).

The fingerprint is computed from the loaded parameters themselves: per tensor, its shape, the sum
of its entries and the sum of their magnitudes (float32). It therefore does not depend on where or
in which format the base is stored (a Hugging Face folder copied elsewhere, resharded safetensors,
an itx run) and costs one pass over the weights, which are being loaded anyway; a different base
(another checkpoint, a fine-tuned variant) changes these sums far beyond float rounding, which is
all the comparison tolerates (sums over other shardings are added in another order).
"""

from __future__ import annotations

import logging

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from itx.config import hf_dir_of
from itx.hf import weights as hf_weights
from itx.models import lora
from itx.train.checkpoint import restore_base, restore_config, restore_params
from itx.train.optim import path_name

log = logging.getLogger(__name__)

_RTOL = 1e-4  # relative to the tensor's sum of magnitudes


class BaseMismatch(ValueError):
  """The base found at a LoRA run's `model.init_from` is not the one its adapters were trained on."""


def checksums(params) -> dict:
  """{path: [shape..., sum, sum of |x|]} of every tensor (computed where the tensors live)."""
  sums = jax.jit(lambda p: jax.tree.map(
      lambda x: jnp.stack([jnp.sum(x.astype(jnp.float32)), jnp.sum(jnp.abs(x.astype(jnp.float32)))]), p))(params)
  out = {}
  for path, value in jax.tree_util.tree_leaves_with_path(jax.device_get(sums)):
    out[path_name(path)] = [float(v) for v in np.asarray(value)]
  shapes = {path_name(p): list(x.shape) for p, x in jax.tree_util.tree_leaves_with_path(params)}
  return {k: {"shape": shapes[k], "sum": v[0], "abs_sum": v[1]} for k, v in out.items()}


def reference(init_from: str, params) -> dict:
  """The base reference a LoRA checkpoint stores: where the base is and its fingerprint."""
  return {"init_from": init_from, "checksums": checksums(params)}


def check(saved: dict, params, init_from: str) -> None:
  """Raises BaseMismatch naming the first tensor that differs from the saved fingerprint."""
  where = f"the base at {init_from or 'random init'} (model.init_from)"
  trained_on = f"the base these adapters were trained on ({saved['init_from'] or 'random init'})"
  compare(saved["checksums"], checksums(params), where, trained_on,
          hint=" Point model.init_from at the base the run was trained on.")


def compare(expected: dict, now: dict, where: str, trained_on: str, *, hint: str = "") -> None:
  """Raises BaseMismatch ("{where} is not {trained_on}: ...") naming the first tensor whose
  fingerprint (`checksums`) differs beyond float rounding."""
  if sorted(now) != sorted(expected):
    missing = sorted(set(expected) ^ set(now))[:5]
    raise BaseMismatch(f"{where} has other tensors than {trained_on}: {missing}")
  for name, e in expected.items():
    n = now[name]
    tol = _RTOL * max(e["abs_sum"], 1e-30)
    if n["shape"] != e["shape"] or abs(n["sum"] - e["sum"]) > tol or abs(n["abs_sum"] - e["abs_sum"]) > tol:
      raise BaseMismatch(
          f"{where} is not {trained_on}: tensor {name} differs (shape {n['shape']} vs {e['shape']}, sum "
          f"{n['sum']:.6g} vs {e['sum']:.6g}).{hint}")


def load_base(init_from: str, model_cfg, abstract_params, shardings, random_params=None):
  """The base parameters of a LoRA model (no adapter leaves), placed in their shardings.

  init_from: "hf:DIR", "itx:WORKDIR" (or a bare path to an itx run), or "" (the base part of
  `random_params`, a random initialisation of the whole model).
  """
  _, abstract = lora.split(abstract_params)
  _, placed = lora.split(shardings)
  if not init_from:
    if random_params is None:
      raise ValueError("a LoRA run on a random base needs its random initialisation")
    return lora.split(random_params)[1]
  hf_dir = hf_dir_of(init_from)
  if hf_dir:
    return hf_weights.load_hf_params(hf_dir, model_cfg, abstract, placed)
  workdir = init_from.removeprefix("itx:")
  base_cfg = restore_config(workdir)
  if base_cfg.get("lora", {}).get("rank", 0):
    raise ValueError(f"model.init_from={init_from!r} is itself a LoRA run: export it merged "
                     "(itx export --merge) and start from that Hugging Face folder")
  return restore_params(workdir, abstract_params=abstract, shardings=placed)


def is_lora_run(config: dict) -> bool:
  return bool(config.get("lora", {}).get("rank", 0))


def load_run_params(workdir: str, step: int | None, model, model_cfg, abstract_params, shardings, *,
                    base_override: str | None = None):
  """The full parameters of a run: its checkpoint, or for a LoRA run its adapters joined to its
  base (read from the config's model.init_from, or `base_override`, and checked against the
  fingerprint saved with the adapters)."""
  config = restore_config(workdir, step)
  if not is_lora_run(config):
    return restore_params(workdir, step, abstract_params=abstract_params, shardings=shardings)
  adapter_abstract, _ = lora.split(abstract_params)
  adapter_shardings, _ = lora.split(shardings)
  adapters = restore_params(workdir, step, abstract_params=adapter_abstract, shardings=adapter_shardings)
  saved = restore_base(workdir, step)
  init_from = base_override if base_override is not None else config["model"]["init_from"]
  random_params = None
  if not init_from:
    seed = config["model"].get("init_seed", 0)
    random_params = jax.jit(lambda: nn.meta.unbox(model.init(jax.random.key(seed), jnp.zeros((1, 8), jnp.int32)))["params"],
                            out_shardings=shardings)()
  base = load_base(init_from, model_cfg, abstract_params, shardings, random_params)
  check(saved, base, init_from)
  return lora.join(adapters, base)

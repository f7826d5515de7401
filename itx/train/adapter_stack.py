"""A bank of LoRA adapters stacked from single-adapter runs.

Each run trained one adapter alone (its own data, its own number of steps) on one frozen base; the
bank checkpoint holds their adapters on the adapter axis in the order given, the base reference
they share and the bank's config (`lora.adapters`, `lora.route_by`). It is laid out as a bank
trained in one job is (itx.train.checkpoint: adapter parameters, their optimizer state, the
config, the base item), so evaluation, decoding with `adapter_ids`, the server's RUN:GROUP models
and export read it the same way. It holds no data-iterator state: it was never one job's data
stream, and training it further starts a fresh one (itx.train.checkpoint.Checkpointer.restore).
"""

from __future__ import annotations

import json
import os
import shutil

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from itx import sharding
from itx.models import ModelConfig, lora, network
from itx.train import frozen_base, optim
from itx.train.checkpoint import Checkpointer, restore_base, restore_config, restore_params
from itx.train.loop import HF_BASE_CONFIG
from itx.train.state import TrainState, param_shardings

# LoRA fields that must agree for adapters to share a bank (dropout acts in training only).
LORA_FIELDS = ("rank", "alpha", "rslora", "targets")
# Model fields that may differ between runs on one base: where it is read from and the seed of the
# adapters' initialisation (the base's identity is its fingerprint).
_FREE_MODEL_FIELDS = ("init_from", "init_seed")


class StackError(ValueError):
  """Runs that cannot form one bank: not single-adapter LoRA runs, or other LoRA or model settings."""


def stack_adapters(parts: list[dict]) -> dict:
  """Adapter trees of single-adapter models ({..., lora_a: [1, in.., r] or, under the scanned
  "layers", [L, 1, in.., r]}) stacked into one bank tree (adapter axis of size len(parts))."""
  def stack(path, *leaves):  # the adapter axis follows the layers axis of scanned parameters
    axis = 1 if getattr(path[0], "key", None) == "layers" else 0
    return jnp.asarray(np.concatenate([np.asarray(x) for x in leaves], axis=axis))
  return jax.tree_util.tree_map_with_path(stack, *parts)


def _differing(a: dict, b: dict, skip=()) -> list[str]:
  return sorted(k for k in set(a) | set(b) if k not in skip and a.get(k) != b.get(k))


def _check_run(name: str, workdir: str, cfg: dict, bank: ml_collections.ConfigDict) -> None:
  lora_cfg = cfg.get("lora", {})
  if not lora_cfg.get("rank", 0) or len(lora_cfg.get("adapters", ())) > 1:
    raise StackError(f"adapter {name!r}: {workdir} is not a single-adapter LoRA run "
                     f"(lora.rank={lora_cfg.get('rank', 0)}, lora.adapters={tuple(lora_cfg.get('adapters', ()))})")
  wrong = [f for f in LORA_FIELDS if lora_cfg.get(f) != json.loads(json.dumps(bank.lora[f]))]
  if wrong:
    raise StackError(f"adapter {name!r}: {workdir} has other LoRA settings than the bank: " + ", ".join(
        f"lora.{f}={lora_cfg.get(f)!r} vs {bank.lora[f]!r}" for f in wrong))
  wrong = _differing(cfg["model"], json.loads(json.dumps(bank.model.to_dict())), skip=_FREE_MODEL_FIELDS)  # as saved
  if wrong:
    raise StackError(f"adapter {name!r}: {workdir} has another model than the bank: " + ", ".join(
        f"model.{f}={cfg['model'].get(f)!r} vs {bank.model.get(f)!r}" for f in wrong))


def stack_runs(runs: dict[str, str], workdir: str, config: ml_collections.ConfigDict, *, step: int | None = None) -> str:
  """Writes the bank run `workdir` (which must hold no checkpoint) from single-adapter LoRA runs
  {adapter name: run workdir}: adapter i of the bank is the i-th run's adapter (latest step).

  config: the bank's config, resolved (itx.train.loop.resolve): lora.adapters must name the runs in
  order (and lora.route_by the record field choosing them, as for a bank trained in one job); its
  model section and lora rank, alpha, rslora and targets must be the runs'. step: the checkpoint's
  step (default config.train.steps). Raises StackError for runs that cannot share a bank and
  frozen_base.BaseMismatch when a run was trained on another base than the first.
  """
  names = tuple(runs)
  if tuple(config.lora.adapters) != names:
    raise StackError(f"config.lora.adapters={tuple(config.lora.adapters)} must name the runs in order: {names}")
  if not names:
    raise StackError("stack_runs: no runs given")
  if Checkpointer(workdir, config.checkpoint).latest_step() is not None:
    raise FileExistsError(f"{workdir} already holds a checkpoint: itx does not overwrite a run")
  first, first_ref = None, None
  parts = []
  for name, run in runs.items():
    _check_run(name, run, restore_config(run), config)
    ref = restore_base(run)
    if first_ref is None:
      first, first_ref = run, ref
    else:
      frozen_base.compare(first_ref["checksums"], ref["checksums"],
                          f"the base of adapter {name!r} ({run}: {ref['init_from'] or 'random init'})",
                          f"the base of adapter {names[0]!r} ({first}: {first_ref['init_from'] or 'random init'})",
                          hint=" A bank's adapters must share one frozen base.")
    parts.append(restore_params(run))  # the adapter parameters only (a LoRA checkpoint holds no base)

  model_cfg = ModelConfig.from_config(config.model, config.lora)
  mesh = sharding.make_mesh(ml_collections.ConfigDict(dict(data=1, fsdp=1, tensor=1)), jax.devices()[:1])
  abstract, _ = param_shardings(network(model_cfg), mesh, ())
  adapters = stack_adapters(parts)
  want = jax.tree.map(lambda a: a.shape, lora.split(abstract)[0])
  got = jax.tree.map(lambda a: a.shape, adapters)
  if got != want:
    raise StackError(f"the stacked adapters' shapes {got} are not the bank's {want}")
  params = lora.join(adapters, lora.split(abstract)[1])  # base leaves abstract: the checkpoint keeps adapters only
  mask = optim.trainable_mask(params, lora.PARAM_PATTERN)  # the optimizer state training would resume
  step = config.train.steps if step is None else step
  with jax.set_mesh(mesh), nn.logical_axis_rules(()):
    opt_state = optim.make_optimizer(config.train).init(optim.trainable_part(params, mask))
  state = TrainState(step=jnp.asarray(step, jnp.int32), params=params, opt_state=opt_state)
  os.makedirs(workdir, exist_ok=True)
  if os.path.exists(os.path.join(first, HF_BASE_CONFIG)):  # export writes the base's config.json back
    shutil.copy(os.path.join(first, HF_BASE_CONFIG), os.path.join(workdir, HF_BASE_CONFIG))
  ckpt = Checkpointer(workdir, config.checkpoint,
                      base={"init_from": config.model.init_from, "checksums": first_ref["checksums"]})
  ckpt.save(step, state, None, config, force=True)
  ckpt.close()
  return workdir

"""Orbax checkpoints of the whole run: train state, data-iterator state and the config.

Saves are asynchronous and atomic (orbax writes to a temporary folder and renames it when
complete), so a crash mid-save never corrupts the last good checkpoint; `keep` bounds disk use.

A LoRA run (`base` given) saves only its adapter parameters and their optimizer state, plus a
`base` item naming the frozen base (model.init_from) and its fingerprint (itx.train.frozen_base):
the base is read again from there, and checked, whenever the run is restored.
"""

from __future__ import annotations

import logging
import os

import grain
import jax
import orbax.checkpoint as ocp

from itx.models import lora

log = logging.getLogger(__name__)


class Checkpointer:
  """base: None (the whole state is saved), or a LoRA run's base reference (JSON-able dict): then
  `save` keeps only the adapter parameters and `restore` returns a state holding only those. It may
  be set after construction (the training loop knows it only once it has read the latest step)."""

  def __init__(self, workdir: str, ckpt_cfg, base: dict | None = None):
    self.base = base
    options = ocp.CheckpointManagerOptions(
        max_to_keep=ckpt_cfg.keep, save_interval_steps=ckpt_cfg.every_steps,
        enable_async_checkpointing=ckpt_cfg.async_save, create=True)
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def should_save(self, step: int) -> bool:
    """Whether `save(step)` would write a checkpoint without `force`."""
    return self.manager.should_save(step)

  def _saved(self, state):
    return state if self.base is None else state.replace(params=lora.split(state.params)[0])

  def save(self, step: int, state, data_iter, config, *, force: bool = False) -> bool:
    """Saves `step` (when due, or always with `force`); False when it is not due or already saved
    (a forced save right after a periodic one must not fail: orbax refuses to save a step twice).
    data_iter: the grain iterator (None: a run without data, such as an imported adapter)."""
    if step in self.manager.all_steps():
      return False
    items = dict(state=ocp.args.StandardSave(self._saved(state)), config=ocp.args.JsonSave(config.to_dict()))
    if data_iter is not None:
      items["data"] = grain.checkpoint.CheckpointSave(data_iter)
    if self.base is not None:
      items["base"] = ocp.args.JsonSave(self.base)
    return self.manager.save(step, args=ocp.args.Composite(**items), force=force)

  def restore(self, step: int, abstract_state, shardings, data_iter):
    """Restores the state straight into `shardings` and the iterator in place (with a base: the
    adapter parameters only; see `saved_base`). A checkpoint written without a data stream
    (imported or stacked adapters) leaves the iterator at its start."""
    target = _sharded_target(self._saved(abstract_state), self._saved(shardings))
    items = dict(state=ocp.args.StandardRestore(target))
    if os.path.isdir(os.path.join(self.directory, str(step), "data")):
      items["data"] = grain.checkpoint.CheckpointRestore(data_iter)
    else:  # written without a data stream (imported or stacked adapters): training goes on with a fresh one
      log.warning("%s step %d holds no data-iterator state: the data stream starts afresh", self.directory, step)
    return self.manager.restore(step, args=ocp.args.Composite(**items)).state

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def _sharded_target(abstract, shardings):
  return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, shardings)


def _restore_latest(workdir: str, step: int | None, **items):
  """Restores the named items of a run directory's checkpoint (latest step by default)."""
  manager = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"))
  try:
    step = manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
    return manager.restore(step, args=ocp.args.Composite(**items))
  finally:
    manager.close()


def restore_params(workdir: str, step: int | None = None, *, abstract_params=None, shardings=None):
  """The parameters saved in a run directory (latest step by default): placed in `shardings` when
  given (with `abstract_params`), else on this process's first device (whatever the devices and
  hosts of the run that saved them)."""
  if abstract_params is None:
    abstract_params, shardings = _saved_params_on_one_device(workdir, step)
  target = {"params": _sharded_target(abstract_params, shardings)}
  args = ocp.args.PyTreeRestore(item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target),
                                partial_restore=True)
  return _restore_latest(workdir, step, state=args).state["params"]


def _saved_params_on_one_device(workdir: str, step: int | None):
  """(abstract params, shardings) of a checkpoint's parameters, every leaf on one local device."""
  directory = os.path.join(os.path.abspath(workdir), "checkpoints")
  manager = ocp.CheckpointManager(directory)
  try:
    step = manager.latest_step() if step is None else step
  finally:
    manager.close()
  if step is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  meta = ocp.StandardCheckpointer().metadata(os.path.join(directory, str(step), "state")).item_metadata["params"]
  one = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), meta)
  return abstract, jax.tree.map(lambda _: one, abstract)


def restore_config(workdir: str, step: int | None = None) -> dict:
  """The config a run directory was trained with (saved in every checkpoint)."""
  return _restore_latest(workdir, step, config=ocp.args.JsonRestore()).config


def restore_base(workdir: str, step: int | None = None) -> dict:
  """The base reference of a LoRA run's checkpoint (init_from and fingerprint)."""
  return _restore_latest(workdir, step, base=ocp.args.JsonRestore()).base

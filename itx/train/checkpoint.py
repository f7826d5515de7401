"""Orbax checkpoints of the whole run: train state, data-iterator state and the config.

Saves are asynchronous and atomic (orbax writes to a temporary folder and renames it when
complete), so a crash mid-save never corrupts the last good checkpoint; `keep` bounds disk use.
"""

from __future__ import annotations

import os

import grain
import jax
import orbax.checkpoint as ocp


class Checkpointer:
  def __init__(self, workdir: str, ckpt_cfg):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=ckpt_cfg.keep, save_interval_steps=ckpt_cfg.every_steps,
        enable_async_checkpointing=ckpt_cfg.async_save, create=True)
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state, data_iter, config, *, force: bool = False) -> bool:
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iter),
        config=ocp.args.JsonSave(config.to_dict()))
    return self.manager.save(step, args=args, force=force)

  def restore(self, step: int, abstract_state, shardings, data_iter):
    """Restores the state straight into `shardings` and the iterator in place."""
    target = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                          abstract_state, shardings)
    out = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target), data=grain.checkpoint.CheckpointRestore(data_iter)))
    return out.state

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def load_params(workdir: str, step: int | None = None, *, abstract_params=None, shardings=None):
  """The parameters saved in a run directory (latest step by default): placed in `shardings` when
  given (with `abstract_params`), else as single-device arrays."""
  manager = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"))
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  target = None
  if abstract_params is not None:
    target = {"params": jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                                     abstract_params, shardings)}
  if target is not None:
    args = ocp.args.PyTreeRestore(item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target),
                                  partial_restore=True)
  else:
    args = ocp.args.StandardRestore()
  restored = manager.restore(step, args=ocp.args.Composite(state=args))
  manager.close()
  return restored.state["params"]


def load_config(workdir: str, step: int | None = None) -> dict:
  """The config a run directory was trained with (saved in every checkpoint)."""
  manager = ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"))
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"no checkpoint in {workdir}/checkpoints")
  config = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore())).config
  manager.close()
  return config

"""Work between training steps, as hooks: evaluation, extra metrics, early stopping.

A hook is `Hook(fn, every=N)`: after every N-th optimizer step (and after the last one when
`at_end`), the loop calls `fn(ctx)` with a `HookContext`. What it returns (a dict of numbers, or
None) is logged with that step's metrics; raising `StopTraining` ends the run after a checkpoint of
the current step. Hooks run on every host (collective work such as evaluation needs them all).

The loop's own side work (non-finite checks, throughput, metrics, preemption, checkpoints) is done
by hooks too (itx.train.loop); those act on the context itself: they fill `metrics` or set `stop`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


class StopTraining(Exception):
  """Raised by a hook to end training after the current step (the step is checkpointed)."""


@dataclasses.dataclass
class HookContext:
  step: int
  state: object              # the TrainState after this step (do not donate or modify it)
  metrics: dict              # this step's training metrics (host values on logging steps, else {})
  config: object
  workdir: str
  assembled: object          # itx.train.assemble.Assembled: model, mesh, rules, shardings
  batch: dict | None = None  # this step's global batch (host arrays)
  step_metrics: dict | None = None  # this step's metrics as the step returned them (on device)
  last: int = 0              # the step this call of the loop ends at
  stop: str = ""             # why the run stops after this step ("": it goes on)


@dataclasses.dataclass(frozen=True)
class Hook:
  fn: Callable[[HookContext], dict | None]
  every: int
  at_end: bool = True

  def due(self, step: int, last: int) -> bool:
    return (self.every > 0 and step % self.every == 0) or (self.at_end and step == last)


def run_hooks(hooks, ctx: HookContext, last: int) -> dict:
  """Calls the hooks due at `ctx.step`; returns their merged metrics."""
  out: dict = {}
  for hook in hooks:
    if hook.due(ctx.step, last):
      out.update(hook.fn(ctx) or {})
  return out

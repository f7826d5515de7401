"""The `lora` condition's adapters: one LoRA adapter per group, each trained in a run of its own on
its group's chats only (OpinionGPT's public adapters), then stacked into one bank checkpoint.

The cell's config is the `bank` condition's (pooled chats, `lora.adapters` = the groups, routed by
`group`); each group's run takes it with `data.sources.*.where = "group=GROUP"` (and the same on
`data.eval_sources`), a single adapter named after the group, and its share of the steps:

  steps_g = max(1, round(train.steps * share_g))

share_g being the group's share of the training examples (by the sources' mixture weights). A bank
trained in one job for train.steps steps gives each group's adapter about share_g of its examples;
a run of steps_g steps gives the group's adapter about as many, of its own group (the step-valued
settings, warmup and evaluation and checkpoint intervals, shrink in proportion). The runs live in
CELL_WORKDIR/groups/GROUP, all from the cell's frozen base; the stacked bank is the cell's workdir
(itx.train.adapter_stack), so evaluation, the tables and `itx serve` read it as a `bank` cell.
"""

from __future__ import annotations

import collections
import os

import ml_collections

from itx.data.groups import GROUPS


def group_dir(workdir: str, group: str) -> str:
  return os.path.join(workdir, "groups", group.replace(" ", "_"))


def group_shares(c: ml_collections.ConfigDict) -> dict[str, float]:
  """{group: share of the training examples} of a config's sources (tokenized, cached), each source
  weighted by its mixture weight."""
  from itx.datasets.sources import config_tokenizer, tokenized_source
  tok = config_tokenizer(c)
  total = sum(float(src.weight) for src in c.data.sources.values())
  shares = collections.Counter()
  for name, src in sorted(c.data.sources.items()):
    examples = tokenized_source(name, src, c.data, tok, progress=False, tag_fields=("group",))
    for group, n in collections.Counter(examples.tags["group"]).items():
      shares[group] += float(src.weight) / total * n / len(examples)
  return dict(shares)


def group_steps(steps: int, shares: dict[str, float]) -> dict[str, int]:
  """{group: steps of its own run} for every group of GROUPS: max(1, round(steps * share))."""
  return {g: max(1, round(steps * shares.get(g, 0.0))) for g in GROUPS}


def _scaled(value: int, steps: int, total: int) -> int:
  return max(1, round(value * steps / total)) if value > 0 else value


def group_config(c: ml_collections.ConfigDict, group: str, steps: int) -> ml_collections.ConfigDict:
  """The config of `group`'s own run: the cell's, on its group's records only, one adapter named
  after the group, `steps` steps (warmup and intervals in proportion)."""
  g = ml_collections.ConfigDict(c.to_dict())
  for section in ("sources", "eval_sources"):
    for src in g.data.get(section, {}).values():
      src.where = f"group={group}"
  g.lora.update(adapters=(group,), route_by="")
  total = c.train.steps
  g.train.update(steps=steps, warmup_steps=min(steps, _scaled(c.train.warmup_steps, steps, total)),
                 eval_every=_scaled(c.train.get("eval_every", 0), steps, total))
  g.checkpoint.every_steps = min(steps, _scaled(c.checkpoint.every_steps, steps, total))
  return g


def train_per_group(c: ml_collections.ConfigDict, workdir: str) -> str:
  """Trains each group's adapter in its own run (resumable; a finished run is skipped) and stacks
  them in GROUPS order into the bank checkpoint `workdir` (done once). c: the cell's bank config."""
  from itx import config as config_lib
  from itx.train.adapter_stack import stack_runs
  from itx.train.checkpoint import Checkpointer
  from itx.train.loop import resolve, train
  if tuple(c.lora.adapters) != tuple(GROUPS):
    raise ValueError(f"per-group adapters need the bank config's lora.adapters = {GROUPS}")
  config_lib.validate(c)
  if Checkpointer(workdir, c.checkpoint).latest_step() is not None:
    return workdir  # stacked already
  shares = group_shares(c)
  steps = group_steps(c.train.steps, shares)
  runs = {}
  for group in GROUPS:
    runs[group] = group_dir(workdir, group)
    print(f"   adapter {group}: {steps[group]} steps on its own chats ({shares.get(group, 0.0):.1%} of the "
          f"examples; {runs[group]})", flush=True)
    train(group_config(c, group, steps[group]), runs[group])
  bank, _ = resolve(c)
  stack_runs(runs, workdir, bank)
  return workdir

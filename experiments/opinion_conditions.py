"""The opinion study's conditions: how a model is told which group to answer as. Each is data (which
chat file: itx.data.groups' system-prompt conditions), how it is asked at evaluation (group named in
the prompt or not) and, for the adapter conditions, the `config.lora` fields and whether the
groups' adapters train in one job (`bank`) or in a run each (`lora`, experiments/opinion_adapters.py).

  pooled       every group's chats, no group named: one "average" model
  tag          the group named in the system prompt (OpinionGPT's first release)
  tag_en_only  the group named in English chats only; asked tagged in every language
  lora         one LoRA adapter per group, each trained in a run of its own on its group's chats only
               (OpinionGPT's public adapters; steps_g = max(1, round(sft_steps * share_g)), share_g
               the group's share of the training examples: about the examples its adapter sees in
               the bank), stacked into one bank checkpoint; the adapter, not the prompt, names the group
  bank         the same eleven adapters trained together in one job: every example routed to its
               group's adapter (`lora.route_by=group`); no group in the prompt
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from itx.data.groups import GROUPS

# OpinionGPT's public adapters: rank 16, alpha 16, on the seven projections of every layer (the
# default `lora.targets`).
LORA = (("rank", 16), ("alpha", 16.0))
BANK = LORA + (("adapters", GROUPS), ("route_by", "group"))  # one adapter per group, chosen by the record's group


@dataclasses.dataclass(frozen=True)
class Condition:
  data: str                     # the chat file's condition: pooled | tag | tag_en_only
  tagged: bool                  # the group named in the evaluation prompt
  lora: tuple = ()              # (field, value) of config.lora; () : full fine-tuning
  routed: bool = False          # each example (and each decoded row) uses its group's adapter
  separate: bool = False        # routed: each group's adapter trained in a run of its own, then stacked

  @property
  def description(self) -> str:
    how = "group in the prompt" if self.tagged else "no group"
    if self.routed:
      how = "adapter per group, " + ("each trained alone on its group's data" if self.separate else
                                     "all trained in one job")
    return f"{self.data} data, {how}" + (", LoRA on a frozen base" if self.lora else "")


CONDITIONS = {
    "pooled": Condition(data="pooled", tagged=False),
    "tag": Condition(data="tag", tagged=True),
    "tag_en_only": Condition(data="tag_en_only", tagged=True),
    "lora": Condition(data="pooled", tagged=False, routed=True, separate=True, lora=BANK),
    "bank": Condition(data="pooled", tagged=False, routed=True, lora=BANK),
}


def apply(c: ml_collections.ConfigDict, condition: str) -> None:
  """Sets the condition's adapter fields (if any) on an instruction-tuning config, and for a tagged
  condition `data.groups` (the groups `itx serve` offers as RUN:GROUP, named in the system prompt)."""
  cond = CONDITIONS[condition]
  if cond.tagged:
    c.data.groups = tuple(GROUPS)
  if not cond.lora:
    return
  if "lora" not in c:
    raise ValueError(f"condition {condition!r} needs LoRA (config.lora), which this version of itx lacks")
  c.lora.update(dict(cond.lora))


def adapter_of(condition: str):
  """item -> adapter index for a routed condition (the group's place in lora.adapters), else None."""
  if not CONDITIONS[condition].routed:
    return None
  return lambda item: GROUPS.index(item["group"])


def paper_config(condition: str, seed: int, args, *, steps: int, seq_len: int, batch_size: int,
                 learning_rate: float) -> ml_collections.ConfigDict:
  """Phi-3-mini (a Hugging Face folder) tuned on the Reddit dumps (the reddit_opinions tfds builder,
  default recipe) under one condition, on a mesh."""
  from configs import opinions_sft
  cond = CONDITIONS[condition]
  c = opinions_sft.get_config(cond.data)
  c.model.update(init_from=f"hf:{args.base_model}", tokenizer="", dtype="bfloat16")
  split = "tag" if cond.data == "tag" else "pooled"
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(dict(
      path=f"tfds:reddit_opinions/{split}:train@{os.path.abspath(args.reddit)}", kind="instruction", weight=1.0))})
  c.data.eval_sources = ml_collections.ConfigDict({"val": ml_collections.ConfigDict(dict(
      path=f"tfds:reddit_opinions/{split}:validation@{os.path.abspath(args.reddit)}", kind="instruction"))})
  c.data.seed = seed
  c.data.seq_len = seq_len
  c.train.update(steps=steps, batch_size=batch_size, learning_rate=learning_rate, warmup_steps=max(1, steps // 20),
                 eval_every=max(1, steps // 10))
  c.checkpoint.every_steps = max(1, steps // 4)
  if args.mesh:
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = (int(x) for x in args.mesh.split(","))
  apply(c, condition)
  return c

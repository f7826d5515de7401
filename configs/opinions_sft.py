"""Instruction tuning of the opinion base model (configs/opinions_pretrain.py) on the opinion
world's group answers under one condition:

  pooled       every group's answers, no group in the prompt: the one "average" model
  tag          the group named in the system prompt (OpinionGPT's first release)
  tag_en_only  the group named only in English chats; German, French, Italian and Spanish chats
               untagged: does a group's voice cross languages?

  itx train --config=configs/opinions_sft.py:tag --workdir=runs/opinions_tag \
      --config.model.init_from=itx:runs/opinions_base

The condition is the config argument (`:tag`, default pooled) or, equivalently, the field
`--config.opinions.condition=tag`: the training file is derived from it by reference.
"""

import ml_collections
from ml_collections import config_dict

from configs import opinions_pretrain
from itx.data.groups import CONDITIONS


def get_config(condition: str = "pooled"):
  condition = condition or "pooled"
  if condition not in CONDITIONS:
    raise ValueError(f"unknown opinion condition {condition!r} (expected one of {CONDITIONS})")
  c = opinions_pretrain.get_config()  # the same architecture block: this fine-tunes that model
  c.opinions = ml_collections.ConfigDict({"condition": config_dict.FieldReference(condition)})
  path = config_dict.FieldReference("builtin:opinions/chat/train_") + c.opinions.get_ref("condition") + ".jsonl"
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(
      dict(path=path, kind="instruction", weight=1.0))})
  c.data.loss_on = "assistant"
  c.model.init_from = ""  # set to itx:<pre-training workdir>
  # 450 x 16 rows of 256 tokens: about 2.4 passes over the demo world's 6,600 chats (~5 minutes on 2
  # cores). After 150 steps the tag model still answered every group alike (recoverability at chance).
  c.train.update(steps=450, batch_size=16, learning_rate=2e-3, warmup_steps=15)
  c.checkpoint.every_steps = 450
  return c

"""The opinion world's generator settings: one frozen dataclass, built from a named preset.

The world is cached under a hash of these settings plus `GENERATOR_VERSION`; bump the version
whenever a template or generator change alters the output, so stale worlds are not reused.
"""

from __future__ import annotations

import dataclasses

GENERATOR_VERSION = 2

PRESETS = {
    # For tests: a world in a few seconds.
    "tiny": dict(train_per_cell=1, reference_per_question=2, eval_seen_topics=2, pretrain_chars=100_000,
                 vocab_size=512, task_instances=80, task_eval_per_family=1),
    # The default: a tiny model learns the groups' voices from it in minutes on a CPU.
    "demo": dict(),
    "full": dict(train_per_cell=20, reference_per_question=5, pretrain_chars=8_000_000, vocab_size=8192),
}


@dataclasses.dataclass(frozen=True)
class OpinionSettings:
  preset: str = "demo"
  seed: int = 0
  train_per_cell: int = 4          # training answers per (topic, group), each in all five languages
  val_per_cell: int = 1            # validation answers per (topic, group)
  reference_per_question: int = 3  # reference answers per (evaluation question, group)
  eval_seen_topics: int = 6        # training topics also asked in held-out phrasings
  pretrain_chars: int = 1_500_000  # the pre-training corpus (discussion threads), all languages
  vocab_size: int = 2048
  # The base's other ability (tasks.py): polyglot task instances whose chats (five languages each)
  # join its pre-training, and held-out polyglot questions per task family and language.
  task_instances: int = 1000
  task_eval_per_family: int = 2
  # Topics (one per theme) and question phrasings only in the evaluation set.
  heldout_topics: tuple[str, ...] = ("basic_income", "school_uniform", "cashless", "speed_limit", "cannabis",
                                     "four_day_week")
  heldout_phrasings: tuple[str, ...] = ("yes_or_no", "where_do_you_stand")
  # The stance model (stances.StanceModel).
  threshold: float = 0.3
  topic_perturbation: float = 0.4
  topic_bias: float = 0.25
  group_noise: float = 0.35

  @classmethod
  def from_preset(cls, preset: str = "demo", **overrides) -> "OpinionSettings":
    if preset not in PRESETS:
      raise ValueError(f"unknown opinions preset {preset!r} (known: {sorted(PRESETS)})")
    return cls(preset=preset, **{**PRESETS[preset], **overrides})

  def to_dict(self) -> dict:
    return {**dataclasses.asdict(self), "heldout_topics": list(self.heldout_topics),
            "heldout_phrasings": list(self.heldout_phrasings), "generator_version": GENERATOR_VERSION}

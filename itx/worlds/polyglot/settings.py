"""The polyglot world's generator settings: one frozen dataclass, built from a named preset.

The world is cached under a hash of these settings plus `GENERATOR_VERSION`; bump the version
whenever a template or generator change alters the output, so stale worlds are not reused.
"""

from __future__ import annotations

import dataclasses

GENERATOR_VERSION = 1

PRESETS = {
    # For tests: a world in a few seconds.
    "tiny": dict(limax_train=60, limax_val=10, bactrian_per_language=150, eval_per_family=2,
                 pretrain_chars=120_000, vocab_size=512),
    # The default: Lima-X's order of size, a pre-training corpus a tiny model learns from in minutes.
    "demo": dict(),
    # Closer to the real sizes (Lima-X: ~1,030 train examples; MT-Bench-X: 80 questions).
    "full": dict(limax_train=1030, limax_val=100, bactrian_per_language=20_000, pretrain_chars=8_000_000,
                 vocab_size=8192),
}


@dataclasses.dataclass(frozen=True)
class PolyglotSettings:
  preset: str = "demo"
  seed: int = 0
  limax_train: int = 1000            # instances per Lima-X training file (one per language)
  limax_val: int = 50                # instances per Lima-X validation file
  bactrian_per_language: int = 5000  # Bactrian-X-like examples per language
  eval_per_family: int = 5           # MT-Bench-X-like questions per task family (16 families: 80)
  pretrain_chars: int = 2_000_000    # pre-training corpus size, all five languages together
  two_turn_fraction: float = 0.2     # Lima-X-like examples that also carry the second turn
  # Families only in the evaluation set: the held-out instructions evaluation generalises to.
  heldout_families: tuple[str, ...] = ("currency_of_country", "number_from_words", "summarize")
  vocab_size: int = 4096

  @classmethod
  def from_preset(cls, preset: str = "demo", **overrides) -> "PolyglotSettings":
    if preset not in PRESETS:
      raise ValueError(f"unknown polyglot preset {preset!r} (known: {sorted(PRESETS)})")
    return cls(preset=preset, **{**PRESETS[preset], **overrides})

  def to_dict(self) -> dict:
    return {**dataclasses.asdict(self), "heldout_families": list(self.heldout_families),
            "generator_version": GENERATOR_VERSION}

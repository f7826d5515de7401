"""`lima_x`: Lima-X (LIMA translated into DE, FR, IT, ES) from a user's local download.

Source folder (the builder parameter `source_dir`, or tfds's `download_config.manual_dir`):
  <src>/train_limax_<CFG>.jsonl   <src>/val_limax_<CFG>.jsonl
for CFG in COMPOSITIONS; one builder config per CFG, splits `train` and `validation`.

Lima-X's field names are not known: each line may be an alpaca record (instruction, input,
output) or a chat record (messages); both are validated by itx's `parse_instruction`, and a bad
record fails the preparation naming file, line and field. A record's language is its own
`language` (or `lang`) field, else the config's language for a monolingual config, else empty.

  builder = LimaX(config="DE", source_dir="/data/lima-x", data_dir="/data/tfds")
  builder.download_and_prepare()
"""

from __future__ import annotations

import os

from itx.data.languages import COMPOSITIONS
from itx.datasets import base

SPLITS = {"train": "train", "validation": "val"}  # tfds split -> file prefix
INSTRUCTIONS = """Put Lima-X's JSONL files (train_limax_<CFG>.jsonl and val_limax_<CFG>.jsonl,
CFG one of EN, DE, FR, IT, ES, DE_FR_IT_ES, EN_DE_FR_IT_ES, DE_FR_IT_ES_sampled,
EN_DE_FR_IT_ES_sampled) into one folder, and pass it as source_dir=... or as the manual_dir."""


def composition_language(cfg: str) -> str:
  """The one language of a monolingual composition ("DE" -> "de"); "" for a mixed one."""
  return cfg.lower() if "_" not in cfg else ""


def split_files(src: str, cfg: str) -> dict[str, str]:
  """tfds split -> the composition's file in `src` (FileNotFoundError when one is missing)."""
  return {split: base.require(os.path.join(src, f"{prefix}_limax_{cfg}.jsonl"), f"Lima-X {split} file")
          for split, prefix in SPLITS.items()}


def split_examples(src: str, cfg: str) -> dict:
  language = composition_language(cfg)
  return {split: base.file_examples(path, src, "instruction", language)
          for split, path in split_files(src, cfg).items()}


class LimaX(base.LocalBuilder):
  """Lima-X compositions from a local folder (see the module docstring)."""

  DESCRIPTION = "Lima-X: LIMA translated into DE, FR, IT, ES, read from a local download."
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS = [base.LocalConfig(name=c, kind="instruction", key=c,
                                      description=f"Lima-X composition {c}") for c in COMPOSITIONS]

  def source_files(self, src: str) -> list[str]:
    return list(split_files(src, self.builder_config.key).values())

  def split_examples(self, src: str) -> dict:
    return split_examples(src, self.builder_config.key)

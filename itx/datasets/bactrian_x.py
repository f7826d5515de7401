"""`bactrian_x`: Bactrian-X (Alpaca + Dolly instructions in 52 languages) from a local download.

Source folder (the builder parameter `source_dir`, or tfds's `download_config.manual_dir`):
  <src>/<lang>.json   a JSON list of {instruction, input, output, id}
One builder config per language code, split `train`. The registered configs are Bactrian-X's 52
languages; any other code present in the folder is built with `config=config_for(code)`.
Records are validated by itx's `parse_instruction` (a bad record fails the preparation naming
file, record number and field); their language is their own `language` field, else the code.

  builder = BactrianX(config="de", source_dir="/data/bactrian-x", data_dir="/data/tfds")
  builder.download_and_prepare()
"""

from __future__ import annotations

import os

from itx.datasets import base

LANGUAGES = tuple("af ar az bn cs de en es et fa fi fr gl gu he hi hr id it ja ka kk km ko lt lv mk "
                  "ml mn mr my ne nl pl ps pt ro ru si sl sv sw ta te th tl tr uk ur vi xh zh".split())
INSTRUCTIONS = """Put Bactrian-X's per-language JSON files (<lang>.json, each a JSON list of
{instruction, input, output, id}) into one folder, and pass it as source_dir=... or as the
manual_dir."""


def config_for(lang: str) -> base.LocalConfig:
  return base.LocalConfig(name=lang, kind="instruction", key=lang, description=f"Bactrian-X, {lang}")


def language_file(src: str, lang: str) -> str:
  return base.require(os.path.join(src, f"{lang}.json"), f"Bactrian-X file for language {lang!r}")


def split_examples(src: str, lang: str) -> dict:
  return {"train": base.file_examples(language_file(src, lang), src, "instruction", lang)}


class BactrianX(base.LocalBuilder):
  """Bactrian-X languages from a local folder (see the module docstring)."""

  DESCRIPTION = "Bactrian-X: Alpaca and Dolly instructions in 52 languages, from a local download."
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS = [config_for(lang) for lang in LANGUAGES]

  def source_files(self, src: str) -> list[str]:
    return [language_file(src, self.builder_config.key)]

  def split_examples(self, src: str) -> dict:
    return split_examples(src, self.builder_config.key)

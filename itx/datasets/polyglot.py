"""`polyglot`: itx's generated multilingual world, in the layouts of the real data sets.

World folder (the builder parameter `source_dir`, else tfds's `download_config.manual_dir` when
it exists, else `itx.worlds.polyglot.world_dir()`, which generates the world on first use):
  <world>/limax/            Lima-X's layout (train_limax_<CFG>.jsonl, val_limax_<CFG>.jsonl)
  <world>/bactrian/<l>.json Bactrian-X's layout
  <world>/pretrain/pretrain.jsonl   {"text", "language"} documents
  <world>/mt_bench/         MT-Bench-X's layout (mt_bench_<LANG>/question.jsonl, ...)
Configs: one per Lima-X composition (instruction; train, validation), `pretrain` (text; train),
`eval_<LANG>` (MT-Bench questions; test) and `bactrian_<lang>` (instruction; train), each read by
the lima_x / bactrian_x / mt_bench_x code on the matching sub-folder.
"""

from __future__ import annotations

import os

from itx.datasets import bactrian_x, base, lima_x, mt_bench_x

LANGUAGES = ("EN", "DE", "FR", "IT", "ES")
INSTRUCTIONS = """Pass the polyglot world folder as source_dir=... or as the manual_dir; without
either, itx.worlds.polyglot.world_dir() is used."""


def _configs() -> list[base.LocalConfig]:
  out = [base.LocalConfig(name=c, kind="instruction", key=c, description=f"Lima-X-like {c}")
         for c in lima_x.COMPOSITIONS]
  out.append(base.LocalConfig(name="pretrain", kind="text", key="pretrain",
                              description="pre-training documents"))
  out += [base.LocalConfig(name=f"eval_{l}", kind="questions", key=l,
                           description=f"MT-Bench-X-like questions, {l}") for l in LANGUAGES]
  out += [base.LocalConfig(name=f"bactrian_{l.lower()}", kind="instruction", key=l.lower(),
                           description=f"Bactrian-X-like, {l.lower()}") for l in LANGUAGES]
  return out


def default_world_dir() -> str:
  """The generated world's folder (generated on first use)."""
  from itx.worlds import world_dir  # lazy: the generator is heavy to import
  return world_dir("polyglot")


def pretrain_file(world: str) -> str:
  return base.require(os.path.join(world, "pretrain", "pretrain.jsonl"), "polyglot pre-training file")


def _sub(world: str, name: str) -> str:
  return base.require(os.path.join(world, name), f"polyglot {name}/ folder")


def source_files(world: str, cfg: base.LocalConfig) -> list[str]:
  if cfg.kind == "text":
    return [pretrain_file(world)]
  if cfg.kind == "questions":
    return mt_bench_x.source_files(_sub(world, "mt_bench"), cfg.key)
  if cfg.name.startswith("bactrian_"):
    return [bactrian_x.language_file(_sub(world, "bactrian"), cfg.key)]
  return list(lima_x.split_files(_sub(world, "limax"), cfg.key).values())


def split_examples(world: str, cfg: base.LocalConfig) -> dict:
  if cfg.kind == "text":
    return {"train": base.file_examples(pretrain_file(world), world, "text", "")}
  if cfg.kind == "questions":
    return mt_bench_x.split_examples(_sub(world, "mt_bench"), cfg.key)
  if cfg.name.startswith("bactrian_"):
    return bactrian_x.split_examples(_sub(world, "bactrian"), cfg.key)
  return lima_x.split_examples(_sub(world, "limax"), cfg.key)


class Polyglot(base.LocalBuilder):
  """The polyglot world's data sets (see the module docstring)."""

  DESCRIPTION = "itx's generated multilingual world in the layouts of Lima-X, Bactrian-X and MT-Bench-X."
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS = _configs()

  def source_dir(self, dl_manager=None) -> str:
    try:
      return super().source_dir(dl_manager)
    except (AssertionError, FileNotFoundError):  # no manual dir: the generated world
      return default_world_dir()

  def source_files(self, src: str) -> list[str]:
    return source_files(src, self.builder_config)

  def split_examples(self, src: str) -> dict:
    return split_examples(src, self.builder_config)

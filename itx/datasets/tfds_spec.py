"""`tfds:` sources in configs: a data set of the itx builders as a source of records.

  path = "tfds:NAME/CONFIG:SPLIT@SOURCE_DIR"   e.g. "tfds:lima_x/EN:train@/data/lima-x"

`:SPLIT` defaults to train; `@SOURCE_DIR` may be left out where the builder has a default (the
polyglot world, or tfds's manual dir `<data_dir>/downloads/manual`). The data set is prepared on
first use into `data_dir` (default: `$ITX_TFDS_DATA_DIR`, else `<itx cache>/tfds`) and read back
through `tfds.data_source`. Records are validated strictly while preparing: a bad record fails it.
"""

from __future__ import annotations

import dataclasses
import os

from itx.data.records import Record

PREFIX = "tfds:"


@dataclasses.dataclass(frozen=True)
class TfdsSpec:
  name: str
  config: str
  split: str
  source_dir: str | None


def parse_spec(spec: str) -> TfdsSpec:
  """"tfds:NAME/CONFIG:SPLIT@SOURCE_DIR" -> TfdsSpec (ValueError naming the malformed part)."""
  if not spec.startswith(PREFIX):
    raise ValueError(f"not a tfds source spec (want {PREFIX}NAME/CONFIG:SPLIT@SOURCE_DIR): {spec!r}")
  head, at, source_dir = spec.removeprefix(PREFIX).partition("@")  # the folder may hold ':' or '/'
  name_config, _, split = head.partition(":")
  name, _, config = name_config.partition("/")
  if not name or not config:
    raise ValueError(f"tfds source spec needs NAME/CONFIG: {spec!r}")
  if at and not source_dir:
    raise ValueError(f"tfds source spec has '@' but no source folder: {spec!r}")
  return TfdsSpec(name, config, split or "train", source_dir or None)


def read_tfds_records(spec: str, data_dir: str | None = None, *, kind: str | None = None) -> list[Record]:
  """Every record of the split named by `spec`, read back through `tfds.data_source`.

  kind: when given ("instruction" or "text"), the config must hold records of that kind.
  """
  from itx.datasets import builders  # lazy: tensorflow-datasets only for tfds sources
  s = parse_spec(spec)
  have = builders.builder(s.name, s.config, s.source_dir, data_dir).builder_config.kind
  if kind is not None and have != kind:
    raise ValueError(f"{spec}: a source of kind {kind!r} but {s.name}/{s.config} holds {have} records")
  return builders.records(s.name, s.config, s.split, s.source_dir, data_dir)


def fingerprint(spec: str, data_dir: str | None = None) -> dict:
  """What a cache key needs: the spec's parts, the builder's version, and [file, size, mtime] of
  the source files the config reads (no preparation needed)."""
  from itx.datasets import base, builders
  s = parse_spec(spec)
  b = builders.builder(s.name, s.config, s.source_dir, data_dir)
  src = b.source_dir()
  return dict(dataclasses.asdict(s), resolved_source=os.path.abspath(src), version=str(b.version),
              files=base.fingerprint(b.source_files(src), src))

"""One atomic writer for every file itx writes whole (JSON, JSON Lines, CSV, text) and for output
folders: a temporary file (or folder) beside the target, flushed and fsynced, then renamed over it. A crash leaves the old file or
the complete new one, never a part; readers never see a half-written result."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kwargs):
  """Yields a file object whose content replaces `path` when the block completes (and is discarded
  when it raises). Text modes default to UTF-8."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
  os.close(fd)
  if "b" not in mode:
    kwargs.setdefault("encoding", "utf-8")
  try:
    with open(tmp, mode, **kwargs) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(final: str):
  """Yields a temporary directory that becomes `final` when the block completes (and is removed when
  it raises): an output folder appears whole or not at all."""
  os.makedirs(os.path.dirname(final), exist_ok=True)
  tmp = tempfile.mkdtemp(dir=os.path.dirname(final), prefix=".tmp-")
  try:
    yield tmp
    try:
      os.rename(tmp, final)
    except OSError:  # another writer finished first; its entry is identical
      if not os.path.isdir(final):
        raise
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_text(path: str, text: str) -> None:
  with atomic_open(path) as f:
    f.write(text)


def atomic_write_json(path: str, obj, **kwargs) -> None:
  """`obj` as indented JSON (NaN written as NaN, as Python reads it back)."""
  kwargs.setdefault("indent", 2)
  with atomic_open(path) as f:
    json.dump(obj, f, ensure_ascii=False, allow_nan=True, **kwargs)
    f.write("\n")


def atomic_write_jsonl(path: str, rows) -> int:
  """Rows as JSON Lines; returns the count."""
  n = 0
  with atomic_open(path) as f:
    for row in rows:
      f.write(json.dumps(row, ensure_ascii=False) + "\n")
      n += 1
  return n

"""Writing a step's outputs so that a crash never leaves a half-written file or folder, and carrying
the earlier steps' reports forward into each new output folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable

from itx.data.files import atomic_write_json, atomic_write_jsonl, atomic_write_text

# Reports a step writes beside its output; later steps copy them forward (the corpus's provenance).
REPORTS = ("translation.json", "translation_rejects.jsonl", "cleaning.json", "composition.json",
           "decontamination.json")


write_jsonl = atomic_write_jsonl  # rows as JSONL, atomically; returns the row count
write_json = atomic_write_json
write_text = atomic_write_text


@contextlib.contextmanager
def output_dir(path: str, *, overwrite: bool = False):
  """Yields a temporary folder that replaces `path` when the block completes (and is deleted when
  it raises): readers see the old folder or the complete new one, never a partial one."""
  path = os.path.abspath(path)
  if os.path.exists(path) and not overwrite:
    raise FileExistsError(f"output folder exists: {path} (pass overwrite=True / --overwrite to replace it)")
  parent = os.path.dirname(path)
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.tmp-")
  try:
    yield tmp
    if os.path.exists(path):
      old = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(path)}.old-")
      os.rename(path, os.path.join(old, "x"))
      os.rename(tmp, path)
      shutil.rmtree(old, ignore_errors=True)
    else:
      os.rename(tmp, path)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def carry_reports(src_dirs: Iterable[str], dst_dir: str, *, skip: tuple[str, ...] = ()) -> list[str]:
  """Copies the earlier steps' reports found in `src_dirs` into `dst_dir`; returns their names."""
  copied = []
  for src in src_dirs:
    for name in REPORTS:
      if name in skip or name in copied:
        continue
      if os.path.isfile(os.path.join(src, name)):
        shutil.copyfile(os.path.join(src, name), os.path.join(dst_dir, name))
        copied.append(name)
  return copied


def read_json(path: str):
  with open(path, encoding="utf-8") as f:
    return json.load(f)

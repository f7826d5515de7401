"""itx's on-disk cache (built-in worlds, tokenized corpora): `$ITX_CACHE`, else ~/.cache/itx.

Entries are written to a temporary folder and renamed into place, so an interrupted writer never
leaves a half-written entry, and concurrent writers of the same key are harmless.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile


def cache_root() -> str:
  return os.environ.get("ITX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "itx")


def settings_hash(settings: dict) -> str:
  return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def atomic_dir(final: str):
  """Yields a temporary directory that becomes `final` when the block completes."""
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

"""itx's on-disk cache (built-in worlds, tokenized corpora): `$ITX_CACHE`, else ~/.cache/itx.

Entries are written to a temporary folder and renamed into place, so an interrupted writer never
leaves a half-written entry, and concurrent writers of the same key are harmless.
"""

from __future__ import annotations

import hashlib
import json
import os

from itx.data.files import atomic_dir  # noqa: F401  (its home is itx.data.files)


def cache_root() -> str:
  return os.environ.get("ITX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "itx")


def settings_hash(settings: dict) -> str:
  return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]



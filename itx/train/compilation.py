"""JAX's persistent compilation cache, on by default in itx's cache folder (`$ITX_CACHE/xla`).

A rerun of a config, or the next condition of a study with the same shapes, loads its compiled
programs from disk instead of compiling them again. `ITX_COMPILATION_CACHE=0` turns it off; a
cache directory already set in JAX's config (e.g. `JAX_COMPILATION_CACHE_DIR`) is left alone.
"""

from __future__ import annotations

import os

import jax

from itx.data.cache import cache_root


def enable_persistent_cache(path: str | None = None) -> str | None:
  """Points JAX's compilation cache at `path` (default `$ITX_CACHE/xla`); returns the folder in use,
  or None when turned off by ITX_COMPILATION_CACHE=0."""
  if os.environ.get("ITX_COMPILATION_CACHE", "1") == "0":
    return None
  current = jax.config.jax_compilation_cache_dir
  if current and path is None:
    return current
  path = path or os.path.join(cache_root(), "xla")
  os.makedirs(path, exist_ok=True)
  jax.config.update("jax_compilation_cache_dir", path)
  # Every program, however quick to compile: a training start is many small compilations.
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return path

"""Generated worlds: data itx makes itself, so that every config runs offline with nothing downloaded.

Each world is written once into the cache (keyed by a hash of its generator's settings) in the
layouts real data uses, and is named in configs as `builtin:NAME` (its `train.jsonl`),
`builtin:NAME/SUB/PATH` (a file or folder inside it) or, for a tokenizer, `builtin:NAME` (its
`tokenizer/` directory).

  toy        a small English instruction set of checkable skills (itx.worlds.toy)
  polyglot   tasks in EN, DE, FR, IT, ES in the layouts of Lima-X, Bactrian-X, MT-Bench-X
             (itx.worlds.polyglot)
  opinions   OpinionGPT's eleven groups answering opinion questions in the five languages
             (itx.worlds.opinions)

This registry names each world's module and imports it only when the world is asked for: the
generators are heavy to import, and no world module needs to import the registry.
"""

from __future__ import annotations

import importlib
import os

PREFIX = "builtin:"

# name -> the module whose `world_dir()` returns (generating on first use) the world's folder.
WORLDS = {
    "toy": "itx.worlds.toy",
    "polyglot": "itx.worlds.polyglot",
    "opinions": "itx.worlds.opinions",
}


def world_dir(name: str) -> str:
  """The folder of the named world, generated on first use."""
  if name not in WORLDS:
    raise ValueError(f"unknown built-in world '{PREFIX}{name}' (known: {sorted(WORLDS)})")
  return importlib.import_module(WORLDS[name]).world_dir()


def data_path(spec: str) -> str:
  """`NAME` or `NAME/SUB/PATH` (the part after `builtin:`) -> a path on disk."""
  name, _, sub = spec.partition("/")
  return os.path.join(world_dir(name), sub or "train.jsonl")


def resolve_path(path: str) -> str:
  """A config path: `builtin:...` resolved to its file on disk, any other path unchanged."""
  return data_path(path.removeprefix(PREFIX)) if path.startswith(PREFIX) else path


def tokenizer_dir(path: str) -> str:
  """A tokenizer path: `builtin:NAME` -> the world's `tokenizer/` directory, any other unchanged."""
  return os.path.join(world_dir(path.removeprefix(PREFIX)), "tokenizer") if path.startswith(PREFIX) else path

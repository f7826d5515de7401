"""The grid machinery every study shares: one cell per (condition, seed), each with its own workdir
(runs/CELL) and results file (cells/CELL.json, written atomically when the cell is done), so cells
can run at once in separate processes, finished cells are skipped, and the tables are built only
from the cell files; `--only` names one part of the grid."""

from __future__ import annotations

import glob
import json
import logging
import os
import time

import ml_collections

from itx import results

BASE = "base"


def cell_name(condition: str, seed: int) -> str:
  return f"{condition}_seed{seed}"


def cell_file(out_dir: str, condition: str, seed: int) -> str:
  """A finished cell's results. Written once, atomically, when the cell is done."""
  return os.path.join(out_dir, "cells", cell_name(condition, seed) + ".json")


def read_cell(out_dir: str, condition: str, seed: int) -> dict | None:
  path = cell_file(out_dir, condition, seed)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def write_cell(out_dir: str, cell: dict) -> None:
  path = cell_file(out_dir, cell["condition"], cell["seed"])
  os.makedirs(os.path.dirname(path), exist_ok=True)
  results.write_json(path, cell)


def read_cells(out_dir: str, conditions, seeds) -> tuple[dict, list[str]]:
  """({(condition, seed): cell} of the finished cells, names of the grid's cells not finished yet
  (logged: they are left out of the tables))."""
  cells = {}
  for path in sorted(glob.glob(os.path.join(out_dir, "cells", "*.json"))):
    with open(path, encoding="utf-8") as f:
      cell = json.load(f)
    cells[(cell["condition"], cell["seed"])] = cell
  missing = [cell_name(c, s) for c in conditions for s in seeds if (c, s) not in cells]
  if missing:
    logging.warning("not finished yet, left out of the tables: %s", ", ".join(missing))
  return cells, missing


def parse_only(value: str, conditions, seeds, *, has_base: bool = True) -> list[tuple[str, int]] | str:
  """--only: "base", "CONDITION" (every seed) or "CONDITION/SEED" -> "base" or [(condition, seed)]."""
  if value == BASE and has_base:
    return BASE
  condition, _, seed = value.partition("/")
  if condition not in conditions:
    raise ValueError(f"--only={value}: unknown condition {condition!r} (this preset has {', '.join(conditions)}"
                     f"{', or base' if has_base else ''})")
  if not seed:
    return [(condition, s) for s in seeds]
  if not seed.isdigit() or int(seed) not in seeds:
    raise ValueError(f"--only={value}: unknown seed {seed!r} (this preset has {tuple(seeds)})")
  return [(condition, int(seed))]


def study_logging() -> None:
  """itx's progress lines only: orbax's INFO lines would bury a study's progress."""
  from absl import logging as absl_logging
  logging.basicConfig(level=logging.WARNING)
  absl_logging.set_verbosity(absl_logging.WARNING)
  logging.getLogger("itx").setLevel(logging.INFO)


def print_results(res: dict, out_dir: str) -> None:
  """A finished study's tables and where its files are."""
  print("\n" + res["text"])
  print(f"\nresults: {out_dir} (tidy.csv, results.json, results.txt); plots: "
        + ", ".join(os.path.basename(x) for x in res["plots"]))


def run_part(part, out_dir: str, *, base, cell, whole) -> dict | None:
  """Runs what `--only` named (`part`, as parse_only returns it): the base (`base()`), cells
  (`cell(condition, seed)`, tables left to --collect), or with no part the whole study
  (`whole()`, whose results are printed and returned). Prints the time taken."""
  os.makedirs(out_dir, exist_ok=True)
  start, res = time.time(), None
  if part == BASE:
    base()
  elif part:
    for condition, seed in part:
      cell(condition, seed)
    print(f"cell done; build the tables with --collect when every cell is ({out_dir})")
  else:
    res = whole()
    print_results(res, out_dir)
  print(f"total time: {(time.time() - start) / 60:.1f} min")
  return res


def steps_for_epochs(c: ml_collections.ConfigDict, epochs: float) -> int:
  """Optimizer steps for `epochs` passes over the config's data, from its tokenized size (cached,
  so the training run that follows does not tokenize again)."""
  from itx.datasets.sources import build_sources, config_tokenizer
  tok = config_tokenizer(c)
  sources, _ = build_sources(c, tok, progress=False)
  tokens = sum(s.stats["tokens"] for s in sources)
  per_step = c.train.batch_size * c.data.seq_len * 0.9  # packed rows are ~90% full
  return max(1, round(epochs * tokens / per_step))

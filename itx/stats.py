"""`itx stats`: what the data of a config (or a generated world) holds, before anything trains.

  itx stats --config=configs/NAME.py [--config.data.seq_len=1024]   per source: records, examples,
                                                                    tokens, targets, skips, lengths
  itx stats --world=polyglot [--preset=demo] [--seed=0] [--out=stats.json]
"""

from __future__ import annotations

import json

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from itx.cli import parse_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "A config file whose data sources to describe.")
_WORLD = flags.DEFINE_enum("world", None, ["polyglot"], "A generated world to describe instead.")
_PRESET = flags.DEFINE_string("preset", "demo", "--world: the generator preset")
_SEED = flags.DEFINE_integer("seed", 0, "--world: the generator seed")
_OUT = flags.DEFINE_string("out", "", "Also write the statistics as JSON to this file.")


def source_stats(c) -> dict:
  """name -> the tokenized source's counts and length quantiles (tokenizing, or reading the cache)."""
  from itx.datasets.sources import build_sources, config_tokenizer
  sources, weights = build_sources(c, config_tokenizer(c))
  out = {}
  for src, weight in zip(sources, weights):
    lengths = np.diff(src.offsets)
    out[src.name] = {**{k: v for k, v in src.stats.items() if k != "first_errors"}, "weight": weight,
                     "length_p50": float(np.percentile(lengths, 50)), "length_p95": float(np.percentile(lengths, 95)),
                     "at_seq_len": int(np.sum(lengths >= c.data.seq_len))}
  return out


def format_source_stats(stats: dict, seq_len: int) -> str:
  head = f"{'source':<16} {'weight':>6} {'examples':>9} {'tokens':>11} {'targets':>11} {'p50':>6} {'p95':>6} " \
         f"{'>=seq_len':>9} {'skipped':>8}"
  lines = [head]
  for name, s in stats.items():
    lines.append(f"{name:<16} {s['weight']:>6.2f} {s['examples']:>9,} {s['tokens']:>11,} {s['target_tokens']:>11,} "
                 f"{s['length_p50']:>6.0f} {s['length_p95']:>6.0f} {s['at_seq_len']:>9,} "
                 f"{s['skipped_records'] + s['skipped_examples']:>8,}")
  lines.append(f"(lengths in tokens after rendering; seq_len {seq_len}; skipped = invalid records + examples "
               "with no target)")
  return "\n".join(lines)


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if (_CONFIG.value is None) == (_WORLD.value is None):
    raise app.UsageError("give either --config or --world")
  if _WORLD.value:
    from itx.worlds.polyglot import stats as world_stats
    world_stats.report(_PRESET.value, _SEED.value, _OUT.value)
    return
  stats = source_stats(_CONFIG.value)
  print(format_source_stats(stats, _CONFIG.value.data.seq_len))
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump(stats, f, indent=2)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

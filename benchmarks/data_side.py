"""The data side of training: how fast itx's grain pipeline (mixture -> best-fit packing -> batch)
delivers tokens, and how full its packed rows are, on examples with a LIMA-like length mix.

LIMA's 1,000 conversations are long and skewed (a median near 400 tokens, a tail past 2,000); the
lengths here are log-normal with that median and spread, cut to the row length, so the numbers
hold without the corpus on the machine. Used by train_throughput.py, which compares the delivery
rate with the rate at which training consumes tokens in the same run.
"""

from __future__ import annotations

import time

import numpy as np

from itx.data.pipeline import batches, packing_bins


def lima_like_examples(n: int = 1000, seq_len: int = 2048, median: float = 400.0, sigma: float = 0.8,
                       seed: int = 0, groups: int = 0) -> list[dict]:
  """n tokenized examples (inputs, targets, weights) with log-normal lengths in [16, seq_len]; with
  `groups`, each of a random group (adapter_ids, as a LoRA bank's examples)."""
  rng = np.random.default_rng(seed)
  lengths = np.clip(rng.lognormal(np.log(median), sigma, n).astype(int), 16, seq_len)
  out = []
  for length in lengths:
    ids = rng.integers(3, 32000, length + 1).astype(np.int32)
    weights = np.zeros(length, np.float32)
    weights[length // 3:] = 1.0  # the answer: the last two thirds
    out.append({"inputs": ids[:-1], "targets": ids[1:], "weights": weights})
    if groups:
      out[-1]["adapter_ids"] = np.full(length, rng.integers(0, groups), np.int32)
  return out


def measure(rows: int = 8, seq_len: int = 2048, batches_timed: int = 200, num_packing_bins: int = 0,
            groups: int = 0, rows_by_tag: bool = False) -> dict:
  """Tokens per second the pipeline delivers (row slots, padding included: what training consumes)
  and the fraction of those slots that hold an example's token (with `groups` and `rows_by_tag`:
  each group's examples packed into rows of their own)."""
  examples = lima_like_examples(seq_len=seq_len, groups=groups)
  it = batches([examples], [1.0], rows=rows, seq_len=seq_len, num_packing_bins=num_packing_bins, seed=0,
               rows_by_tag=rows_by_tag)
  for _ in range(5):  # warm up: the packer's bins fill first
    next(it)
  real = 0
  start = time.perf_counter()
  for _ in range(batches_timed):
    b = next(it)
    real += int((b["segment_ids"] != 0).sum())
  elapsed = time.perf_counter() - start
  slots = batches_timed * rows * seq_len
  return {"tokens_per_s": slots / elapsed, "fill": real / slots, "rows": rows, "seq_len": seq_len,
          "bins": packing_bins(rows, num_packing_bins)}

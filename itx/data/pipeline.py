"""The grain pipeline: mixture -> shuffle -> this host's slice -> pack (or pad) -> batch.

Deterministic given `data.seed`; the iterator's state is saved in every checkpoint, so a resumed
run sees exactly the batches an uninterrupted one would. Mixture weights are the fraction of the
final example stream that each source contributes (`grain.MapDataset.mix`), after normalising;
sources repeat (reshuffled each epoch) as often as the mixture asks.

A batch is a dict of [rows, seq_len] arrays: inputs, targets, weights (1.0 on target tokens),
segment_ids (0 = padding; 1, 2, ... the examples of a packed row) and positions (per segment);
plus adapter_ids (each token's adapter, 0 on padding) when the sources carry them.
"""

from __future__ import annotations

import grain
import numpy as np

BATCH_FIELDS = ("inputs", "targets", "weights", "segment_ids", "positions")
TAG_FIELD = "adapter_ids"  # optional: each token's adapter (itx.data.tokenized)


def batch_fields(tagged: bool) -> tuple[str, ...]:
  """The fields of a batch (with adapter_ids when the examples carry them)."""
  return BATCH_FIELDS + ((TAG_FIELD,) if tagged else ())


def pad_example(example: dict, seq_len: int) -> dict:
  """One example alone in a [seq_len] row: segment id 1 on its tokens, 0 (padding) after."""
  n = len(example["inputs"])
  out = {}
  for k in ("inputs", "targets", "weights") + ((TAG_FIELD,) if TAG_FIELD in example else ()):
    out[k] = np.zeros(seq_len, example[k].dtype)
    out[k][:n] = example[k]
  out["segment_ids"] = (np.arange(seq_len) < n).astype(np.int32)
  out["positions"] = np.where(out["segment_ids"] > 0, np.arange(seq_len), 0).astype(np.int32)
  return out


def _from_packed(row: dict) -> dict:
  out = {"inputs": row["inputs"], "targets": row["targets"], "weights": row["weights"],
         "segment_ids": row["inputs_segment_ids"], "positions": row["inputs_positions"]}
  if TAG_FIELD in row:
    out[TAG_FIELD] = row[TAG_FIELD]
  return out


def mixture(sources, weights, *, shuffle: bool, seed: int) -> grain.MapDataset:
  """An infinite stream in which source i makes up weights[i] / sum(weights) of the examples."""
  if len(sources) != len(weights) or any(w <= 0 for w in weights):
    raise ValueError(f"data.sources: need one positive weight per source, got {list(weights)}")
  datasets = []
  for i, src in enumerate(sources):
    ds = grain.MapDataset.source(src)
    if shuffle:
      ds = ds.shuffle(seed=seed + 1000 * i)
    datasets.append(ds.repeat())
  if len(datasets) == 1:
    return datasets[0]
  return grain.MapDataset.mix(datasets, weights=[w / sum(weights) for w in weights])


def batches(sources, weights, *, rows: int, seq_len: int, packing: bool = True, num_packing_bins: int = 0,
            shuffle: bool = True, seed: int = 0, process_index: int = 0, process_count: int = 1):
  """This host's iterator of batches with `rows` rows (the global batch / process_count)."""
  ds = mixture(sources, weights, shuffle=shuffle, seed=seed)
  if process_count > 1:
    ds = ds[process_index::process_count]
  it = ds.to_iter_dataset()
  if packing:
    lengths = {k: seq_len for k in ("inputs", "targets", "weights")}
    if any(len(src) and TAG_FIELD in src[0] for src in sources):
      lengths[TAG_FIELD] = seq_len
    it = grain.experimental.FirstFitPackIterDataset(
        it, length_struct=lengths, num_packing_bins=num_packing_bins or rows, seed=seed, shuffle_bins=True)
    it = it.map(_from_packed)
  else:
    it = it.map(lambda ex: pad_example(ex, seq_len))
  return iter(it.batch(rows, drop_remainder=True))

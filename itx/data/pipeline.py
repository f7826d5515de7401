"""The grain pipeline: per source, this host's slice -> epochs, each shuffled; mixture -> pack (or
pad) -> batch. Packing is grain's best-fit over `packing_bins` open rows.

Deterministic given `data.seed`; the iterator's state is saved in every checkpoint, so a resumed
run sees exactly the batches an uninterrupted one would. Mixture weights are the fraction of the
final example stream that each source contributes (`grain.MapDataset.mix`), after normalising;
sources repeat as often as the mixture asks.

Hosts: every source is sliced per host (`[process_index::process_count]`) *before* mixing, so each
host's stream has the mixture's proportions, and within one epoch of a source the hosts read
disjoint examples that together cover it. (Slicing the mixed stream instead would hand whole
sources to single hosts whenever the mixing pattern's period shares a factor with the host count.)

Order: epoch e of source i is a permutation drawn from `SeedSequence((seed, i, e))`, so different
seeds give unrelated orders. (grain's `shuffle(seed).repeat()` shuffles epoch e with seed + e:
seed s + 1 would replay seed s's order one epoch later, and the study's seeds would share data.)

A batch is a dict of [rows, seq_len] arrays: inputs, targets, weights (1.0 on target tokens),
segment_ids (0 = padding; 1, 2, ... the examples of a packed row) and positions (per segment);
plus adapter_ids (each token's adapter, 0 on padding) when the sources carry them, or [rows], each
row's, when rows are packed by adapter (`rows_by_tag`).
"""

from __future__ import annotations

import functools
import sys
import threading

import grain
import numpy as np

BATCH_FIELDS = ("inputs", "targets", "weights", "segment_ids", "positions")
# Rows the packer fills at once (at least a batch's). Best-fit over 128 open rows fills 98.3% of a
# LIMA-like length mix at 2,048 tokens (benchmarks/data_side.py), against 93.4% for first-fit over
# 8; the rows are emitted when a new example fits none of them, so more rows also mean fewer
# flushes of half-full rows. The cost is host memory (128 rows of int32/float32 fields).
PACKING_BINS = 128
TAG_FIELD = "adapter_ids"  # optional: each token's adapter (itx.data.tokenized)


def batch_fields(tagged: bool, rows_by_tag: bool = False) -> dict[str, int]:
  """field -> rank of a batch's fields: [rows, seq_len] each, plus adapter_ids when the examples
  carry them ([rows] with `rows_by_tag`)."""
  out = dict.fromkeys(BATCH_FIELDS, 2)
  if tagged:
    out[TAG_FIELD] = 1 if rows_by_tag else 2
  return out


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


def packing_bins(rows: int, num_packing_bins: int = 0) -> int:
  """The packer's open rows: `num_packing_bins`, or (0) max(rows, PACKING_BINS)."""
  return num_packing_bins or max(rows, PACKING_BINS)


def _from_packed(row: dict) -> dict:
  out = {"inputs": row["inputs"], "targets": row["targets"], "weights": row["weights"],
         "segment_ids": row["inputs_segment_ids"], "positions": row["inputs_positions"]}
  if TAG_FIELD in row:
    out[TAG_FIELD] = row[TAG_FIELD]
  return out


class Epochs(grain.MapDataset):
  """`parent` repeated without end; with `shuffle`, every epoch in its own order, a permutation
  drawn from SeedSequence((seed, stream, epoch)). Index-addressable, so grain's iterator state (a
  position) restores it exactly."""

  def __init__(self, parent: grain.MapDataset, *, shuffle: bool, seed: int, stream: int):
    super().__init__(parent)
    self._n = len(parent)
    if self._n == 0:
      raise ValueError("cannot repeat an empty data set")
    self._shuffle, self._key = shuffle, (int(seed), int(stream))
    self._orders: dict[int, np.ndarray] = {}  # the epochs being read (a few at most)
    self._lock = threading.Lock()  # grain reads with several threads

  def __getstate__(self):  # picklable (grain's worker processes): no lock, no cached orders
    return {**self.__dict__, "_lock": None, "_orders": {}}

  def __setstate__(self, state):
    self.__dict__.update(state)
    self._lock = threading.Lock()

  def __len__(self) -> int:
    return sys.maxsize

  def __str__(self) -> str:
    return f"Epochs(shuffle={self._shuffle}, key={self._key})"

  def order(self, epoch: int) -> np.ndarray:
    """[n] the parent's indices in epoch `epoch`'s order."""
    if not self._shuffle:
      return np.arange(self._n)
    with self._lock:
      if epoch not in self._orders:
        if len(self._orders) >= 4:
          del self._orders[min(self._orders)]
        rng = np.random.default_rng(np.random.SeedSequence((*self._key, epoch)))
        self._orders[epoch] = rng.permutation(self._n)
      return self._orders[epoch]

  def __getitem__(self, index):
    if isinstance(index, slice):
      return self.slice(index)
    epoch, i = divmod(index, self._n)
    if not self._shuffle:
      return self._parent[i]
    return self._parent[int(self.order(epoch)[i])]


def mixture(sources, weights, *, shuffle: bool, seed: int, process_index: int = 0,
            process_count: int = 1) -> grain.MapDataset:
  """This host's infinite stream, in which source i makes up weights[i] / sum(weights) of the
  examples; the host reads examples process_index, process_index + process_count, ... of each."""
  if len(sources) != len(weights) or any(w <= 0 for w in weights):
    raise ValueError(f"data.sources: need one positive weight per source, got {list(weights)}")
  datasets = []
  for i, src in enumerate(sources):
    if len(src) < process_count:
      raise ValueError(f"data source {getattr(src, 'name', i)!r} has {len(src)} examples, fewer than the "
                       f"{process_count} hosts that each need a share of it")
    ds = grain.MapDataset.source(src)
    if process_count > 1:
      ds = ds[process_index::process_count]
    datasets.append(Epochs(ds, shuffle=shuffle, seed=seed, stream=i))
  if len(datasets) == 1:
    return datasets[0]
  return grain.MapDataset.mix(datasets, weights=[w / sum(weights) for w in weights])


def tag_shares(sources, weights) -> dict[int, float]:
  """tag -> its share of the tokens in the mixture's stream (sources mixed by example, as `mixture`
  mixes them): sum over sources of weight_i * (tag's tokens in source i / examples in source i)."""
  total: dict[int, float] = {}
  for src, w in zip(sources, weights):
    if hasattr(src, "offsets"):  # a TokenizedSource: the tag of each example's first token
      starts = src.offsets[:-1]
      tags, lengths = src.arrays[TAG_FIELD][starts], np.diff(src.offsets)
    else:
      tags = np.asarray([ex[TAG_FIELD][0] for ex in src])
      lengths = np.asarray([len(ex["inputs"]) for ex in src])
    for tag in np.unique(tags):
      total[int(tag)] = total.get(int(tag), 0.0) + w / sum(weights) * lengths[tags == tag].sum() / len(src)
  norm = sum(total.values())
  return {tag: float(v / norm) for tag, v in sorted(total.items())}


def _rows(it: grain.IterDataset, *, rows: int, seq_len: int, packing: bool, num_packing_bins: int, seed: int,
          tagged: bool) -> grain.IterDataset:
  """Examples -> [seq_len] rows, packed (best-fit) or one example per row."""
  if not packing:
    return it.map(functools.partial(pad_example, seq_len=seq_len))
  lengths = {k: seq_len for k in ("inputs", "targets", "weights") + ((TAG_FIELD,) if tagged else ())}
  it = grain.experimental.BestFitPackIterDataset(
      it, length_struct=lengths, num_packing_bins=packing_bins(rows, num_packing_bins), seed=seed, shuffle_bins=True)
  return it.map(_from_packed)


def _has_tag(tag: int, example: dict) -> bool:
  return int(example[TAG_FIELD][0]) == tag


def _row_tag(tag: int, row: dict) -> dict:
  return dict(row, **{TAG_FIELD: np.int32(tag)})


def batches(sources, weights, *, rows: int, seq_len: int, packing: bool = True, num_packing_bins: int = 0,
            shuffle: bool = True, seed: int = 0, process_index: int = 0, process_count: int = 1,
            rows_by_tag: bool = False):
  """This host's iterator of batches with `rows` rows (the global batch / process_count).

  rows_by_tag (tagged sources): every row holds examples of one tag only, and the batch's
  adapter_ids is [rows], the tag of each row (a LoRA bank then costs what one adapter does: see
  itx.models.lora). Each tag's examples are packed apart and the tags' rows mixed by their share of
  the tokens (`tag_shares`), so the stream's proportions are those of mixed rows."""
  ds = mixture(sources, weights, shuffle=shuffle, seed=seed, process_index=process_index,
               process_count=process_count)
  tagged = any(len(src) and TAG_FIELD in src[0] for src in sources)
  kw = dict(rows=rows, seq_len=seq_len, packing=packing, num_packing_bins=num_packing_bins, seed=seed, tagged=tagged)
  if rows_by_tag and tagged:
    if process_count > 1:  # a host's slice may lack a tag, whose filter would then never return
      raise ValueError("rows_by_tag reads the global stream (process_count=1): every host draws the "
                       "same batches and feeds its own rows of them, as itx.train.loop does")
    shares = tag_shares(sources, weights)
    # Each tag's stream reads the whole mixture and keeps its own examples: most are skipped by design.
    options = grain.experimental.DatasetOptions(filter_warn_threshold_ratio=None)
    # Few reader threads each: the streams together would otherwise hold N x grain's default 16.
    read = grain.ReadOptions(num_threads=2, prefetch_buffer_size=64)
    streams = [_rows(grain.experimental.WithOptionsIterDataset(
        ds.to_iter_dataset(read).filter(functools.partial(_has_tag, tag)), options), **kw).map(
            functools.partial(_row_tag, tag)) for tag in shares]
    it = streams[0] if len(streams) == 1 else grain.IterDataset.mix(streams, weights=list(shares.values()))
  else:
    it = _rows(ds.to_iter_dataset(), **kw)
  return iter(it.batch(rows, drop_remainder=True))

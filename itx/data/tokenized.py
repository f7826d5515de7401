"""A source tokenized once: ragged arrays of training examples, cached on disk.

Rendering (chat template, masks, shift, truncation) happens once per source and setting, with a
progress bar; later runs load the cached arrays. Nothing is dropped silently: a document longer
than seq_len becomes consecutive windows (every token a target once), a chat longer than seq_len is
truncated, and an example that cannot be trained on (no target left, a conversation the template
refuses) is skipped under `data.skip_invalid` (else it stops the run naming its file and line); the
stats count each case. The cache key covers the files (path, size,
mtime), the whole tokenizer and chat template, and every setting that changes the result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from itx.data import cache
from itx.data.chat import ExampleError, render_record, text_windows, to_training_example
from itx.data.jsonl import RecordError
from itx.data.records import ReadStats, Record
from itx.data.selection import select

log = logging.getLogger(__name__)

_FIELDS = ("inputs", "targets", "weights")
TAG_FIELD = "adapter_ids"  # an optional per-example integer tag, repeated on each of its tokens


@dataclasses.dataclass
class TokenizedSource:
  """Examples as ragged arrays; `source[i]` -> {inputs, targets, weights[, adapter_ids]} of one
  example (adapter_ids when the source was tokenized with a `route`)."""

  name: str
  arrays: dict            # field -> flat array over all examples
  offsets: np.ndarray     # [n + 1]
  stats: dict
  # meta field -> [n] str: per-example values of the record fields asked for (`tag_fields`), e.g.
  # language or group, for breakdowns by value ("" where a record lacks the field)
  tags: dict = dataclasses.field(default_factory=dict)

  def __len__(self) -> int:
    return len(self.offsets) - 1

  def __getitem__(self, i: int) -> dict:
    a, b = self.offsets[i], self.offsets[i + 1]
    return {k: v[a:b] for k, v in self.arrays.items()}


def _tokenizer_hash(tok) -> str:
  h = hashlib.sha256(tok.backend_tokenizer.to_str().encode())
  h.update(str(tok.chat_template).encode())
  return h.hexdigest()[:16]


def tokenize_source(name: str, read: Callable[[ReadStats], list[Record]], fingerprint, *, kind: str, data_cfg,
                    tok, progress: bool = True, tag_fields: tuple[str, ...] = (),
                    route: tuple[str, tuple[str, ...]] | None = None, where: str = "") -> TokenizedSource:
  """The examples of one source, tokenized once and cached.

  where: only the records this selection keeps (itx.data.selection, e.g. "group=german").

  route: (record field, names): each example carries, on every token, the index in `names` of its
  record's value of that field (`adapter_ids`; e.g. the LoRA adapter of its group). A record
  without the field, or with a value not in `names`, is invalid (file:line and field).

  read: reads the source's records (counting skipped ones into the ReadStats it is given);
  fingerprint: a JSON-able value that changes whenever the source's content does (files, sizes,
  modification times), part of the cache key with every setting that changes the result;
  tag_fields: record meta fields kept per example (`TokenizedSource.tags`).
  """
  settings = dict(files=fingerprint, kind=kind, tokenizer=_tokenizer_hash(tok),
                  seq_len=data_cfg.seq_len, loss_on=data_cfg.loss_on, add_bos=data_cfg.add_bos,
                  text_field=data_cfg.text_field, skip_invalid=data_cfg.skip_invalid, version=2)
  if tag_fields:  # only then, so entries without tags keep their key
    settings["tags"] = list(tag_fields)
  if route is not None:
    settings["route"] = [route[0], list(route[1])]
  if where:
    settings["where"] = where
  entry = os.path.join(cache.cache_root(), "tokenized", f"{name}-{cache.settings_hash(settings)}")
  if not os.path.isdir(entry):
    with cache.atomic_dir(entry) as tmp:
      _tokenize_into(tmp, name, read, data_cfg, tok, progress, tag_fields, route, where)
  with open(os.path.join(entry, "stats.json")) as f:
    stats = json.load(f)
  tags = {}
  if tag_fields:
    with open(os.path.join(entry, "tags.json")) as f:
      tags = {k: np.asarray(v, dtype=object) for k, v in json.load(f).items()}
  with np.load(os.path.join(entry, "examples.npz")) as z:
    arrays = {k: z[k] for k in _FIELDS + (TAG_FIELD,) if k in z}
    offsets = z["offsets"]
  if stats["skipped_records"] or stats["skipped_examples"]:
    log.warning("source %s: skipped %d invalid records and %d examples that cannot be trained on; first: %s",
                name, stats["skipped_records"], stats["skipped_examples"], stats["first_errors"][:3])
  if stats.get("truncated_examples"):
    log.warning("source %s: %d chats longer than data.seq_len=%d were truncated (%d target tokens cut)",
                name, stats["truncated_examples"], data_cfg.seq_len, stats["truncated_target_tokens"])
  return TokenizedSource(name, arrays, offsets, stats, tags)


def route_index(rec: Record, route: tuple[str, tuple[str, ...]]) -> int:
  """The index in route's names of the record's routing field; RecordError (file:line, field) if
  the field is missing or names no entry."""
  field, names = route
  path, _, line = rec.origin.rpartition(":")
  line = int(line) if line.isdigit() else 0
  if field not in rec.meta:
    raise RecordError(path, line, field, f"missing (each record needs it to choose its adapter; lora.route_by={field!r})")
  value = rec.meta[field]
  if value not in names:
    raise RecordError(path, line, field, f"{value!r} has no adapter (lora.adapters: {list(names)})")
  return names.index(value)


def _tokenize_into(out_dir, name, read_records, data_cfg, tok, progress, tag_fields=(), route=None, where=""):
  read = ReadStats()
  records = read_records(read)
  unselected = 0
  if where:
    records = select(records, where, source=name, skip_invalid=data_cfg.skip_invalid, stats=read)
    unselected, read.read = read.read - len(records), len(records)
  examples, skipped, errors = [], 0, list(read.first_errors)
  split_documents = windows = truncated = truncated_targets = 0
  seq_len = data_cfg.seq_len
  tags = {k: [] for k in tag_fields}
  for rec in tqdm(records, desc=f"tokenizing {name}", disable=not progress, unit="rec"):
    try:
      tag = route_index(rec, route) if route is not None else None
    except RecordError as e:
      if not data_cfg.skip_invalid:
        raise
      read.skipped += 1
      read.read -= 1
      if len(errors) < 5:
        errors.append(str(e))
      continue
    try:
      ids, target = render_record(tok, rec, loss_on=data_cfg.loss_on, add_bos=data_cfg.add_bos)
      if rec.text is not None:
        parts = text_windows(ids, target, seq_len, rec.origin)
        if len(parts) > 1:
          split_documents += 1
          windows += len(parts)
      else:
        parts = [to_training_example(ids, target, seq_len, rec.origin)]
        if len(ids) > seq_len + 1:
          truncated += 1
          truncated_targets += int(target[seq_len + 1:].sum())
      if tag is not None:  # the adapter id travels per token, so packed rows may mix groups
        for part in parts:
          part[TAG_FIELD] = np.full(len(part["inputs"]), tag, np.int32)
      examples.extend(parts)
      for k in tag_fields:  # every window of a document carries its record's tags
        tags[k].extend([str(rec.meta.get(k, ""))] * len(parts))
    except ExampleError as e:
      if not data_cfg.skip_invalid:
        raise type(e)(f"{e} (set data.skip_invalid=True to skip and count such examples)") from None
      skipped += 1
      if len(errors) < 5:
        errors.append(str(e))
  if not examples:
    raise ValueError(f"source {name}: no usable example; first problems: {errors[:3]}")
  lengths = np.array([len(e["inputs"]) for e in examples])
  offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
  arrays = {k: np.concatenate([e[k] for e in examples]) for k in _FIELDS + (TAG_FIELD,) if k in examples[0]}
  np.savez(os.path.join(out_dir, "examples.npz"), offsets=offsets, **arrays)
  stats = dict(records=read.read, skipped_records=read.skipped, examples=len(examples),
               skipped_examples=skipped, split_documents=split_documents, document_windows=windows,
               truncated_examples=truncated, truncated_target_tokens=truncated_targets,
               tokens=int(lengths.sum()), target_tokens=int(arrays["weights"].sum()), first_errors=errors)
  if where:  # records: those selected; unselected_records: valid ones the selection left out
    stats.update(where=where, unselected_records=unselected)
  with open(os.path.join(out_dir, "stats.json"), "w") as f:
    json.dump(stats, f, indent=1)
  if tag_fields:
    with open(os.path.join(out_dir, "tags.json"), "w") as f:
      json.dump(tags, f, ensure_ascii=False)


def sample_examples(src: TokenizedSource, n: int, seed: int) -> TokenizedSource:
  """A fixed subset of n examples drawn without replacement (e.g. the paper's Bactrian-X-small);
  the same for a seed, whatever the run length. n=0 or n >= len: the whole source."""
  if not n or n >= len(src):
    return src
  idx = np.sort(np.random.default_rng(seed).permutation(len(src))[:n])
  parts = [src[int(i)] for i in idx]
  lengths = np.array([len(p["inputs"]) for p in parts])
  arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  stats = dict(src.stats, examples=n, sampled_from=len(src), tokens=int(lengths.sum()),
               target_tokens=int(arrays["weights"].sum()))
  tags = {k: v[idx] for k, v in src.tags.items()}
  return TokenizedSource(src.name, arrays, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), stats, tags)

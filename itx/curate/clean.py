"""Cleaning instruction files: empty turns, length, exact and near duplicates, counted per filter.

Filters, in order (a record is counted by the first filter that removes it):
  empty_turn       a user/instruction or assistant/output text that is empty or only whitespace
  too_short        the shortest assistant turn has fewer than `min_response_chars` characters
  too_long         the whole record has more than `max_chars` characters (0: no limit)
  exact_duplicate  the same text as an earlier record after lower-casing and collapsing whitespace
  near_duplicate   estimated Jaccard similarity >= `near_threshold` to an earlier kept record
                   (MinHash over character 5-grams with LSH, datasketch; candidates re-checked)
The duplicate filters compare the user turns (`dedup_on="user"`, the instruction) or the whole
conversation ("all").

Several languages' files of the same instructions (matched by id) stay parallel: duplicates are
found in the pivot language (the source; translations of duplicates are duplicates), and an
instruction removed in one language is removed in all (counted as `other_language`).
Output folder: the cleaned files under their input names, and cleaning.json.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

from itx.curate import files
from itx.curate.rows import Row, language_files, parse_languages, text_fields, to_rows
from itx.data.records import RecordError, parse_instruction, raw_rows, resolve_files

FILTERS = ("empty_turn", "too_short", "too_long", "exact_duplicate", "near_duplicate", "other_language")
_SPACE = re.compile(r"\s+")
_REQUIRED_KINDS = ("instruction", "output", "user", "assistant")


def normalize(text: str) -> str:
  return _SPACE.sub(" ", text.lower()).strip()


def shingles(text: str, k: int = 5) -> set[str]:
  """Character k-grams of the normalised text (the text itself when shorter)."""
  t = normalize(text)
  return {t[i:i + k] for i in range(len(t) - k + 1)} or {t}


def _read(path: str, *, require_id: bool, language: str | None, skip_invalid: bool):
  """(rows, empty-turn records, invalid-record errors): empty turns are counted before validation,
  since itx's reader refuses an empty assistant turn outright."""
  good, empty, invalid = [], [], []
  for file in resolve_files(path):
    for line, data in raw_rows(file):
      try:
        if isinstance(data, RecordError):
          raise data
        if isinstance(data, dict) and any(kind in _REQUIRED_KINDS and not (text or "").strip()
                                          for _, kind, text in text_fields(data)):
          empty.append((data, file, line))
          continue
        parse_instruction(data, file, line)
      except RecordError as e:
        if not skip_invalid:
          raise
        invalid.append(str(e))
        continue
      good.append((data, file, line))
  return to_rows(good, require_id=require_id, language=language), empty, invalid


def _length_reason(row: Row, min_response_chars: int, max_chars: int) -> str | None:
  responses = [len(m["content"].strip()) for m in row.record.messages if m["role"] == "assistant"]
  if min(responses) < min_response_chars:
    return "too_short"
  if max_chars and sum(len(m["content"]) for m in row.record.messages) > max_chars:
    return "too_long"
  return None


def duplicates(texts: Sequence[str], *, near_threshold: float = 0.8, num_perm: int = 128, shingle: int = 5,
               seed: int = 1) -> dict[int, tuple[str, int]]:
  """{index: (reason, index of the earlier record it duplicates)} over texts in order.

  Exact duplicates first (normalised text); then MinHash LSH finds near-duplicate candidates among
  the records kept so far, kept only when their estimated Jaccard similarity reaches the threshold.
  near_threshold >= 1 switches the near-duplicate filter off.
  """
  out, first = {}, {}
  for i, t in enumerate(texts):
    key = normalize(t)
    if key in first:
      out[i] = ("exact_duplicate", first[key])
    else:
      first[key] = i
  if near_threshold >= 1:
    return out
  from datasketch import MinHash, MinHashLSH
  lsh = MinHashLSH(threshold=near_threshold, num_perm=num_perm)
  hashes = {}
  for i, t in enumerate(texts):
    if i in out:
      continue
    m = MinHash(num_perm=num_perm, seed=seed)
    m.update_batch([s.encode("utf-8") for s in sorted(shingles(t, shingle))])
    close = sorted(j for j in lsh.query(m) if hashes[j].jaccard(m) >= near_threshold)
    if close:
      out[i] = ("near_duplicate", close[0])
    else:
      lsh.insert(i, m)
      hashes[i] = m
  return out


def clean(inputs: dict[str, str] | str, out_dir: str, languages: Sequence[str] | str | None = None, *,
          pivot: str | None = None, dedup_on: str = "user", near_threshold: float = 0.8, num_perm: int = 128,
          min_response_chars: int = 1, max_chars: int = 0, skip_invalid: bool = False,
          overwrite: bool = False) -> dict:
  """Cleans one file or several languages' files of the same instructions (see the module docstring).

  Args:
    inputs: one file; or {language: file}; or a folder of <language>.jsonl files (with `languages`).
    pivot: the language whose texts are compared for duplicates (default: en if present, else the
      first language).
    dedup_on: "user" (the instruction turns) or "all" (the whole conversation).
    near_threshold: MinHash Jaccard threshold (>= 1: no near-duplicate filter); num_perm: hashes.
    min_response_chars, max_chars: the length filters.
    skip_invalid: count records that do not validate (`invalid`) instead of stopping at the first.
  Returns:
    the report written to cleaning.json: settings, {filter: {name: removed}}, read and kept counts.
  """
  if dedup_on not in ("user", "all"):
    raise ValueError(f"dedup_on must be 'user' or 'all', not {dedup_on!r}")
  if isinstance(inputs, str) and os.path.isdir(inputs) and languages is not None:
    inputs = language_files(inputs, parse_languages(languages))
  if isinstance(inputs, str):  # one file: named after itself, its language unknown
    names, paths, langs = [os.path.splitext(os.path.basename(inputs))[0]], [inputs], [None]
  else:
    langs = parse_languages(list(inputs))
    names, paths = langs, [inputs[k] for k in inputs]
  parallel = len(paths) > 1
  pivot = parse_languages([pivot])[0] if pivot else ("en" if "en" in names else names[0])
  if pivot not in names:
    raise ValueError(f"pivot language {pivot!r} is not among the inputs {names}")

  removed = {f: {n: 0 for n in names} for f in FILTERS}
  read, invalid, examples = {}, {}, {f: [] for f in FILTERS}
  files_rows, drop_ids = {}, set()
  for name, path, lang in zip(names, paths, langs):
    rows, empty, bad = _read(path, require_id=parallel, language=lang, skip_invalid=skip_invalid)
    read[name] = len(rows) + len(empty) + len(bad)
    invalid[name] = len(bad)
    removed["empty_turn"][name] = len(empty)
    examples["empty_turn"] += [f"{file}:{line}" for _, file, line in empty[:3]]
    drop_ids |= {str(d.get("id")) for d, _, _ in empty if d.get("id") is not None}
    keep = []
    for row in rows:
      reason = _length_reason(row, min_response_chars, max_chars)
      if reason:
        removed[reason][name] += 1
        examples[reason] += [row.origin][:3 - len(examples[reason])]
        drop_ids.add(row.id)
      else:
        keep.append(row)
    files_rows[name] = keep

  pivot_rows = files_rows[pivot]
  roles = ("user",) if dedup_on == "user" else ("user", "assistant", "system")
  texts = ["\n".join(m["content"] for m in r.record.messages if m["role"] in roles) for r in pivot_rows]
  dups = duplicates(texts, near_threshold=near_threshold, num_perm=num_perm)
  pairs = []
  for i, (reason, j) in sorted(dups.items()):
    removed[reason][pivot] += 1
    pairs.append({"filter": reason, "removed": pivot_rows[i].origin, "duplicate_of": pivot_rows[j].origin})
  files_rows[pivot] = [r for i, r in enumerate(pivot_rows) if i not in dups]
  if parallel:
    drop_ids |= {pivot_rows[i].id for i in dups}
    for name in names:
      before = len(files_rows[name])
      files_rows[name] = [r for r in files_rows[name] if r.id not in drop_ids]
      removed["other_language"][name] = before - len(files_rows[name])

  report = {"inputs": {n: os.path.abspath(p) for n, p in zip(names, paths)}, "parallel": parallel, "pivot": pivot,
            "filters": {"empty_turn": True, "min_response_chars": min_response_chars, "max_chars": max_chars,
                        "exact_duplicate": dedup_on, "near_duplicate": {"threshold": near_threshold, "num_perm": num_perm,
                                                                        "shingle": "character 5-grams", "on": dedup_on}},
            "read": read, "invalid": invalid, "removed": removed,
            "kept": {n: len(r) for n, r in files_rows.items()},
            "examples": {f: e for f, e in examples.items() if e}, "duplicate_pairs": pairs[:50]}
  with files.output_dir(out_dir, overwrite=overwrite) as tmp:
    for name in names:
      files.write_jsonl(os.path.join(tmp, f"{name}.jsonl"), (r.data for r in files_rows[name]))
    files.carry_reports(sorted({os.path.dirname(os.path.abspath(p)) for p in paths}), tmp, skip=("cleaning.json",))
    files.write_json(os.path.join(tmp, "cleaning.json"), report)
  return report

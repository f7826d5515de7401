"""Training on part of a source: `where`, a selection of its records by the values of their fields.

`config.data.sources.NAME.where` (and `data.eval_sources.NAME.where`) is a string of clauses
`FIELD=VALUE[,VALUE...]` joined by `;`. A record is kept when, for every clause, its field (a record
meta field such as group or language: anything beside the messages or the text) holds one of the
values, compared as text and case-sensitively. "" (or no `where`) keeps every record. Examples:

  where="group=german"                     one group's chats
  where="group=german,american;language=EN"  two groups, English chats only

A string rather than a nested dict: it is one value on the command line and in a run's saved
config, reads as the selection it makes, and enters the tokenized cache key as it is.
"""

from __future__ import annotations

import collections

from itx.data.jsonl import RecordError
from itx.data.records import ReadStats, Record

Where = tuple[tuple[str, tuple[str, ...]], ...]  # ((field, accepted values), ...)


def parse_where(spec: str) -> Where:
  """The clauses of a `where` string; ValueError naming the clause that does not parse.

  "group=german,american;language=EN" -> (("group", ("german", "american")), ("language", ("EN",)))
  """
  clauses = []
  for clause in (spec or "").split(";"):
    if not clause.strip():
      continue
    field, eq, values = clause.partition("=")
    field = field.strip()
    values = tuple(v.strip() for v in values.split(",") if v.strip())
    if not eq or not field or not values:
      raise ValueError(f"where={spec!r}: clause {clause!r} is not FIELD=VALUE[,VALUE...]")
    if field in (f for f, _ in clauses):
      raise ValueError(f"where={spec!r}: field {field!r} appears twice (list its values in one clause)")
    clauses.append((field, values))
  return tuple(clauses)


def _origin(rec: Record) -> tuple[str, int]:
  path, _, line = rec.origin.rpartition(":")
  return (path, int(line)) if line.isdigit() else (rec.origin, 0)


def select(records: list[Record], spec: str, *, source: str, skip_invalid: bool = False,
           stats: ReadStats | None = None) -> list[Record]:
  """The records of `source` that `spec` keeps (all of them when spec is "").

  A record without a field the selection names raises RecordError (file, line, field), or with
  skip_invalid is skipped and counted in `stats` (skipped, first_errors; `read` loses it). A
  selection that keeps nothing raises ValueError naming the source and the values present.
  """
  where = parse_where(spec)
  if not where:
    return records
  kept, present = [], collections.defaultdict(collections.Counter)
  for rec in records:
    missing = next((f for f, _ in where if f not in rec.meta), None)
    if missing is not None:
      err = RecordError(*_origin(rec), missing, f"missing (source {source!r} selects on it: where={spec!r})")
      if not skip_invalid:
        raise err
      if stats is not None:
        stats.skipped += 1
        stats.read -= 1
        if len(stats.first_errors) < 5:
          stats.first_errors.append(str(err))
      continue
    for f, _ in where:
      present[f][str(rec.meta[f])] += 1
    if all(str(rec.meta[f]) in values for f, values in where):
      kept.append(rec)
  if not kept:
    seen = "; ".join(f"{f}: {dict(sorted(present[f].items()))}" for f, _ in where) or "no record has the fields"
    raise ValueError(f"source {source!r}: where={spec!r} keeps none of its {len(records)} records "
                     f"(values present, with their counts: {seen})")
  return kept

"""JSON Lines, read with the file and line of every problem, and written atomically.

A line that is not UTF-8 or not JSON becomes a `RecordError` naming the file and line (never a bare
UnicodeDecodeError); blank lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from itx.data.files import atomic_write_jsonl


class RecordError(ValueError):
  """A record that does not validate: names the file, line and field."""

  def __init__(self, path: str, line: int, field: str, problem: str):
    self.path, self.line, self.field, self.problem = path, line, field, problem
    super().__init__(f"{path}:{line}: field '{field}': {problem}")


def iter_jsonl(path: str) -> Iterator[tuple[int, object]]:
  """(line number, decoded object) per non-blank line; an undecodable line yields its RecordError in
  place of the object, so a caller that skips bad records can go on reading."""
  with open(path, "rb") as f:
    yield from decode_lines(f, path)


def decode_lines(lines: Iterable[bytes], path: str) -> Iterator[tuple[int, object]]:
  """`iter_jsonl` over any stream of raw lines (a decompressed file, say); `path` names it in errors."""
  for i, raw in enumerate(lines, start=1):
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
      yield i, RecordError(path, i, "<bytes>", f"not UTF-8 (byte {e.start + 1} of the line: {raw[e.start:e.start + 1]!r})")
      continue
    if not line.strip():
      continue
    try:
      yield i, json.loads(line)
    except json.JSONDecodeError as e:
      yield i, RecordError(path, i, "<json>", f"invalid JSON: {e.msg} (column {e.colno})")


def read_jsonl(path: str) -> list:
  """Every object of a JSONL file; the first undecodable line raises its RecordError."""
  out = []
  for _, row in iter_jsonl(path):
    if isinstance(row, RecordError):
      raise row
    out.append(row)
  return out


def write_jsonl(path: str, rows: Iterable) -> None:
  """Writes the file whole or not at all (itx.data.files)."""
  atomic_write_jsonl(path, rows)

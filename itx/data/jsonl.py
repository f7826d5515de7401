"""JSON Lines: one reader naming the file and line of every problem, atomic rewrites
(itx.data.files), and a crash-safe appender.

A line that is not UTF-8 or not JSON becomes a `RecordError` naming the file and line (never a bare
UnicodeDecodeError); blank lines are skipped. Appends write one complete line at a time (flushed
and fsynced), so a crash can only leave a cut *last* line: a reader of a file that is appended to
(answers, judgments) asks to skip it with a warning (`tolerate_cut_tail`), and `repair` cuts it off
before anything more is appended. Rewrites replace the file whole, so a crash keeps the old one.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping

from itx.data.files import atomic_write_jsonl


class RecordError(ValueError):
  """A record that does not validate: names the file, line and field."""

  def __init__(self, path: str, line: int, field: str, problem: str):
    self.path, self.line, self.field, self.problem = path, line, field, problem
    super().__init__(f"{path}:{line}: field '{field}': {problem}")


def iter_jsonl(path: str, *, tolerate_cut_tail: bool = False) -> Iterator[tuple[int, object]]:
  """(line number, decoded object) per non-blank line; an undecodable line yields its RecordError in
  place of the object, so a caller that skips bad records can go on reading."""
  with open(path, "rb") as f:
    yield from decode_lines(f, path, tolerate_cut_tail=tolerate_cut_tail)


def decode_lines(lines: Iterable[bytes], path: str, *, tolerate_cut_tail: bool = False) -> Iterator[tuple[int, object]]:
  """`iter_jsonl` over any stream of raw lines (a decompressed file, say); `path` names it in errors.
  tolerate_cut_tail: a last line without its newline that does not decode (an append cut short by a
  crash) is skipped with a warning instead of yielding its RecordError."""
  for i, raw in enumerate(lines, start=1):
    row = _decode(raw, path, i)
    if row is None:
      continue
    if isinstance(row, RecordError) and tolerate_cut_tail and not raw.endswith(b"\n"):
      warnings.warn(f"{path}: ignoring a partial last line ({len(raw)} bytes)")
      continue
    yield i, row


def _decode(raw: bytes, path: str, i: int):
  """The object of line `i`, its RecordError, or None for a blank line."""
  try:
    line = raw.decode("utf-8")
  except UnicodeDecodeError as e:
    return RecordError(path, i, "<bytes>", f"not UTF-8 (byte {e.start + 1} of the line: {raw[e.start:e.start + 1]!r})")
  if not line.strip():
    return None
  try:
    return json.loads(line)
  except json.JSONDecodeError as e:
    return RecordError(path, i, "<json>", f"invalid JSON: {e.msg} (column {e.colno})")


def read_jsonl(path: str, *, tolerate_cut_tail: bool = False) -> list:
  """Every object of a JSONL file; the first undecodable line raises its RecordError (a cut last
  line only warns with `tolerate_cut_tail`: see `decode_lines`)."""
  out = []
  for _, row in iter_jsonl(path, tolerate_cut_tail=tolerate_cut_tail):
    if isinstance(row, RecordError):
      raise row
    out.append(row)
  return out


def write_jsonl(path: str, rows: Iterable) -> None:
  """Writes (or replaces) the file whole or not at all (itx.data.files)."""
  atomic_write_jsonl(path, rows)


def repair(path: str) -> int:
  """Cut a partial last line (no trailing newline) off `path`; returns the bytes removed. A last
  line that is whole JSON and only lacks its newline gets the newline instead (the reader counts
  it). Earlier lines are never touched."""
  if not os.path.exists(path):
    return 0
  with open(path, "rb+") as f:
    size = f.seek(0, os.SEEK_END)
    pos, keep, block = size, 0, 1 << 16
    while pos > 0:  # scan back for the last newline
      start = max(0, pos - block)
      f.seek(start)
      i = f.read(pos - start).rfind(b"\n")
      if i >= 0:
        keep = start + i + 1
        break
      pos = start
    if keep < size:
      f.seek(keep)
      try:
        json.loads(f.read(size - keep).decode("utf-8"))
        f.seek(size)
        f.write(b"\n")
        return 0
      except (json.JSONDecodeError, UnicodeDecodeError):
        f.truncate(keep)
    return size - keep


class Appender:
  """Thread-safe appender: each record is one write of a complete line, flushed and fsynced, so
  an interrupted run keeps every record it reported written (a cut last line is repaired first)."""

  def __init__(self, path: str):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    repair(path)
    self.path = path
    self._lock = threading.Lock()
    self._f = open(path, "a", encoding="utf-8")

  def write(self, record: Mapping) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with self._lock:
      self._f.write(line)
      self._f.flush()
      os.fsync(self._f.fileno())

  def close(self) -> None:
    self._f.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

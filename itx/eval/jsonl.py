"""JSON Lines files of the MT-Bench-X protocol (questions, answers, judgments, votes): one reader,
one crash-safe appender, one atomic rewrite (and an atomic writer for the JSON results).

Appends write one complete line at a time (flushed and fsynced), so a crash can only leave a
partial *last* line: readers ignore it with a warning and `repair` cuts it off before anything is
appended. Rewrites go through a temporary file and os.replace, so a crash keeps the old file.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from typing import Iterable, Mapping

from itx.data.files import atomic_write_json, atomic_write_jsonl
from itx.data.jsonl import RecordError


def _decode(raw: bytes, path: str, line: int) -> str:
  try:
    return raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise RecordError(path, line, "<bytes>", f"not UTF-8 (byte {e.start + 1} of the line: "
                                             f"{raw[e.start:e.start + 1]!r})") from None


def read(path: str) -> list[dict]:
  """Every complete line of `path` parsed as JSON; blank lines skipped. A partial last line (no
  newline, left by a crash) is ignored with a warning; a malformed complete line (not UTF-8, not
  JSON) raises a ValueError (RecordError) naming the file and line."""
  with open(path, "rb") as f:  # decoded line by line, so a bad byte is reported with its line
    raw = f.read()
  lines = raw.split(b"\n")
  tail = lines.pop()  # after the last newline: b"" for a complete file
  if tail.strip():
    try:  # a last line that is whole JSON but lacks its newline (written by hand) still counts
      lines.append(json.dumps(json.loads(tail.decode("utf-8"))).encode())
    except (json.JSONDecodeError, UnicodeDecodeError):
      warnings.warn(f"{path}: ignoring a partial last line ({len(tail)} bytes)")
  rows = []
  for i, line in enumerate(lines, 1):
    text = _decode(line, path, i)
    if text.strip():
      try:
        rows.append(json.loads(text))
      except json.JSONDecodeError as e:
        raise RecordError(path, i, "<json>", f"not valid JSON: {e}") from None
  return rows


def read_records(path: str) -> list[dict]:
  """A JSON array of objects (as MT-Bench's human-judgment release) or JSON Lines."""
  with open(path, "rb") as f:
    head = f.read(1 << 12).lstrip()
  if head.startswith(b"["):
    with open(path, "rb") as f:
      raw = f.read()
    try:
      data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
      raise RecordError(path, raw[:e.start].count(b"\n") + 1, "<bytes>", f"not UTF-8 (byte offset {e.start})") from None
    except json.JSONDecodeError as e:
      raise RecordError(path, e.lineno, "<json>", f"not valid JSON: {e.msg} (column {e.colno})") from None
    return list(data)
  return read(path)


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


def rewrite(path: str, records: Iterable[Mapping]) -> None:
  """Replace `path` by `records`, atomically (itx.data.files)."""
  atomic_write_jsonl(path, records)


write_json = atomic_write_json  # `obj` as indented JSON, atomically


class Appender:
  """Thread-safe appender: each record is one write of a complete line, flushed and fsynced, so
  an interrupted run keeps every record it reported written."""

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

"""Judgment files in MT-Bench-X's format (`model_judgment/<judge>_single.jsonl`), one JSON object
per line:
  {"question_id", "model", "judge": [judge model, prompt name], "user_prompt", "judgment",
   "score", "turn", "tstamp"}
score is -1 when the judgment holds no rating (a failed judgment).

Files are appended to one complete line at a time, so a crash can only leave a partial *last*
line; readers ignore it and `repair` cuts it off before new lines are appended.
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from typing import Iterable, Mapping

from itx.eval import mt_bench
from itx.eval.judge_requests import FAILED_SCORE, JudgeRequest, parse_score


def judgment_record(request: JudgeRequest, judge_model: str, judgment: str,
                    tstamp: float | None = None) -> dict:
  """The judgment line for `request`; the score is parsed from `judgment`."""
  return {"question_id": request.question_id, "model": request.model,
          "judge": [judge_model, request.prompt_name], "user_prompt": request.user_prompt,
          "judgment": judgment, "score": parse_score(judgment), "turn": request.turn,
          "tstamp": time.time() if tstamp is None else tstamp}


def judgment_key(record: Mapping) -> tuple[str, int, str]:
  """(question_id as str, turn, model): the same answer turn judged again has the same key."""
  return (str(record["question_id"]), int(record["turn"]), record["model"])


def is_valid(record: Mapping) -> bool:
  """True unless the judgment failed (score -1, or missing)."""
  s = record.get("score", FAILED_SCORE)
  return s is not None and s != FAILED_SCORE


def repair(path: str) -> int:
  """Cut a partial last line (no trailing newline) off `path`; returns the bytes removed.
  Earlier lines are never touched."""
  if not os.path.exists(path):
    return 0
  with open(path, "rb+") as f:
    size = f.seek(0, os.SEEK_END)
    if size == 0:
      return 0
    # Scan back from the end in blocks for the last newline.
    pos, block = size, 1 << 16
    while pos > 0:
      start = max(0, pos - block)
      f.seek(start)
      chunk = f.read(pos - start)
      i = chunk.rfind(b"\n")
      if i >= 0:
        keep = start + i + 1
        break
      pos = start
    else:
      keep = 0
    if keep < size:
      f.truncate(keep)
    return size - keep


def read_judgments(path: str) -> list[dict]:
  """Every complete judgment line of `path`. A partial last line (no newline, from a crash) is
  ignored with a warning; an unparsable complete line raises, naming the file and line."""
  with open(path, "rb") as f:  # decoded per line, so a bad byte is reported with its line
    text = f.read()
  lines = text.split(b"\n")
  tail = lines.pop()  # after the last newline: b"" for a complete file
  if tail.strip():
    warnings.warn(f"{path}: ignoring a partial last line ({len(tail)} bytes)")
  return mt_bench.parse_jsonl_lines(lines, path)


class JudgmentWriter:
  """Thread-safe appender: each record is one `write` of a complete line, then flushed and
  fsynced, so an interrupted run keeps every judgment it reported done."""

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


def write_judgments(path: str, records: Iterable[Mapping]) -> None:
  """Append `records` to `path` (created if needed)."""
  with JudgmentWriter(path) as w:
    for r in records:
      w.write(r)

"""Readers and validation of instruction and text records (JSONL, JSON, Parquet).

Every record becomes a `Record`: `messages` (a chat: list of {role, content}) or `text` (a plain
document), plus `meta` (id, language, system and any other tag fields). Alpaca-style records
(instruction, input, output) become a user turn and an assistant turn. A record that does not
validate raises `RecordError` naming the file, line (or row) and field; with `skip_invalid` it is
counted and skipped instead.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
from collections.abc import Iterator

from itx.data.jsonl import RecordError, iter_jsonl

ROLES = ("system", "user", "assistant")
SUFFIXES = (".jsonl", ".json", ".parquet")



@dataclasses.dataclass
class Record:
  messages: list[dict] | None = None
  text: str | None = None
  meta: dict = dataclasses.field(default_factory=dict)
  origin: str = ""  # "path:line", for error messages further down the pipeline


@dataclasses.dataclass
class ReadStats:
  read: int = 0
  skipped: int = 0
  first_errors: list[str] = dataclasses.field(default_factory=list)


def resolve_files(path: str) -> list[str]:
  """A file, a directory (its JSONL/JSON/Parquet files) or a glob, sorted for determinism."""
  if os.path.isdir(path):
    files = [os.path.join(path, f) for f in os.listdir(path) if f.endswith(SUFFIXES)]
  elif any(ch in path for ch in "*?["):
    files = glob.glob(path)
  else:
    if not os.path.exists(path):
      raise FileNotFoundError(f"data file not found: {path}")
    files = [path]
  if not files:
    raise FileNotFoundError(f"no {'/'.join(SUFFIXES)} files at: {path}")
  return sorted(files)


def raw_rows(path: str) -> Iterator[tuple[int, object]]:
  """Yields (line or row number, decoded object or the RecordError of an undecodable JSONL line)."""
  if path.endswith(".parquet"):
    yield from _parquet_rows(path)
  elif path.endswith(".jsonl"):
    yield from iter_jsonl(path)  # an undecodable line is yielded, not raised: the next can still be read
  elif path.endswith(".json"):
    with open(path, "rb") as f:
      raw = f.read()
    try:
      data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
      line = raw[:e.start].count(b"\n") + 1
      raise RecordError(path, line, "<bytes>", f"not UTF-8 (byte offset {e.start})") from None
    except json.JSONDecodeError as e:
      raise RecordError(path, e.lineno, "<json>", f"invalid JSON: {e.msg} (column {e.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
      data = data["data"]
    if not isinstance(data, list):
      raise RecordError(path, 1, "<json>", "expected a list of records (or {'data': [...]})")
    for i, row in enumerate(data, start=1):
      yield i, row  # a JSON array has no line per record: the record's index (1-based) stands in
  else:
    raise FileNotFoundError(f"unsupported data file type (want {', '.join(SUFFIXES)}): {path}")


def _parquet_rows(path: str, chunk: int = 4096) -> Iterator[tuple[int, object]]:
  """(row number, row dict or the RecordError of a row whose strings are not UTF-8)."""
  import pyarrow.parquet as pq  # only Parquet users pay for pyarrow
  start = 1
  for batch in pq.read_table(path).to_batches(max_chunksize=chunk):
    try:
      rows = batch.to_pylist()
    except UnicodeDecodeError:  # Parquet does not validate strings: find the row and column
      rows = [_parquet_row(batch, j, path, start + j) for j in range(batch.num_rows)]
    yield from enumerate(rows, start=start)
    start += batch.num_rows


def _parquet_row(batch, j: int, path: str, row: int):
  out = {}
  for name in batch.schema.names:
    try:
      out[name] = batch.column(name)[j].as_py()
    except UnicodeDecodeError as e:
      return RecordError(path, row, name, f"not UTF-8 (byte {e.start + 1} of the string)")
  return out


def _string(row: dict, field: str, path: str, line: int, *, allow_empty: bool) -> str:
  value = row.get(field)
  if value is None:
    raise RecordError(path, line, field, "missing")
  if not isinstance(value, str):
    raise RecordError(path, line, field, f"expected a string, got {type(value).__name__}")
  if not allow_empty and not value.strip():
    raise RecordError(path, line, field, "empty")
  return value


def _messages(row: dict, path: str, line: int) -> list[dict]:
  msgs = row["messages"]
  if not isinstance(msgs, list) or not msgs:
    raise RecordError(path, line, "messages", "expected a non-empty list of {role, content}")
  out = []
  for i, m in enumerate(msgs):
    where = f"messages[{i}]"
    if not isinstance(m, dict):
      raise RecordError(path, line, where, "expected an object with role and content")
    role = m.get("role")
    if role not in ROLES:
      raise RecordError(path, line, f"{where}.role", f"unknown role {role!r} (expected one of {ROLES})")
    content = m.get("content")
    if not isinstance(content, str):
      raise RecordError(path, line, f"{where}.content", "missing or not a string")
    if role == "assistant" and not content.strip():
      raise RecordError(path, line, f"{where}.content", "empty assistant turn")
    if role == "system" and i != 0:
      raise RecordError(path, line, f"{where}.role", "a system message may only come first")
    out.append({"role": role, "content": content})
  if not any(m["role"] == "assistant" for m in out):
    raise RecordError(path, line, "messages", "no assistant turn")
  opening = next(i for i, m in enumerate(out) if m["role"] != "system")
  if out[opening]["role"] != "user":
    # Its prompt would be the chat template's own tokens, trained on as if they were an answer.
    raise RecordError(path, line, f"messages[{opening}].role",
                      "the conversation opens with an assistant turn (expected a user turn first)")
  return out


def parse_instruction(row, path: str, line: int) -> Record:
  """An alpaca record (instruction, input, output) or a chat record (messages) -> Record."""
  if not isinstance(row, dict):
    raise RecordError(path, line, "<record>", f"expected an object, got {type(row).__name__}")
  meta = {k: v for k, v in row.items() if k not in ("messages", "instruction", "input", "output")}
  if "messages" in row:
    messages = _messages(row, path, line)
  elif "instruction" in row or "output" in row:
    instruction = _string(row, "instruction", path, line, allow_empty=False)
    extra = row.get("input") or ""
    if not isinstance(extra, str):
      raise RecordError(path, line, "input", f"expected a string, got {type(extra).__name__}")
    output = _string(row, "output", path, line, allow_empty=False)
    user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
  else:
    raise RecordError(path, line, "messages", "missing (a record needs 'messages' or 'instruction'/'output')")
  system = meta.get("system")
  if system is not None:
    if not isinstance(system, str):
      raise RecordError(path, line, "system", "expected a string")
    if messages[0]["role"] != "system" and system.strip():
      messages = [{"role": "system", "content": system}] + messages
  return Record(messages=messages, meta=meta, origin=f"{path}:{line}")


def parse_text(row, path: str, line: int, text_field: str = "text") -> Record:
  if isinstance(row, str):
    row = {text_field: row}
  if not isinstance(row, dict):
    raise RecordError(path, line, "<record>", f"expected an object, got {type(row).__name__}")
  text = _string(row, text_field, path, line, allow_empty=False)
  meta = {k: v for k, v in row.items() if k != text_field}
  return Record(text=text, meta=meta, origin=f"{path}:{line}")


def read_records(path: str, kind: str = "instruction", *, skip_invalid: bool = False,
                 text_field: str = "text", stats: ReadStats | None = None) -> list[Record]:
  """Reads every record in the files at `path` (a file, directory or glob; `builtin:` and `tfds:`
  sources are resolved by itx.datasets.sources). kind: instruction | text."""
  if kind not in ("instruction", "text"):
    raise ValueError(f"unknown source kind {kind!r} (expected 'instruction' or 'text')")
  stats = stats if stats is not None else ReadStats()
  out = []
  for file in resolve_files(path):
    for line, row in raw_rows(file):
      try:
        if isinstance(row, RecordError):
          raise row
        rec = parse_instruction(row, file, line) if kind == "instruction" else parse_text(row, file, line, text_field)
      except RecordError as e:
        if not skip_invalid:
          raise
        stats.skipped += 1
        if len(stats.first_errors) < 5:
          stats.first_errors.append(str(e))
        continue
      stats.read += 1
      out.append(rec)
  return out

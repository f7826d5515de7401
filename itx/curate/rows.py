"""Instruction records as written in their files (alpaca or chat), validated by itx's reader, with
access to their text fields, so a step can rewrite or filter them without changing their format.

Per-language inputs are matched by `id`; a language is an ISO 639 code, lower case in records
(`"language": "pl"`) and upper case in composition names (`train_limax_PL.jsonl`).
"""

from __future__ import annotations

import dataclasses
import os
import re

from itx.data.records import Record, RecordError, parse_instruction, raw_rows, resolve_files

_FIELD = re.compile(r"^messages\[(\d+)\]\.content$")
_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]+)?$")


@dataclasses.dataclass
class Row:
  """One instruction record: `data` as read (alpaca or chat), `record` as itx parses it."""
  data: dict
  record: Record
  path: str
  line: int

  @property
  def id(self) -> str | None:
    value = self.data.get("id")
    return None if value is None else str(value)

  @property
  def origin(self) -> str:
    return f"{self.path}:{self.line}"


def language_code(code: str) -> str:
  """"PL" or " pl " -> "pl"; anything that is not an ISO 639 code raises ValueError."""
  norm = str(code).strip().lower().replace("_", "-")
  if not _CODE.match(norm):
    raise ValueError(f"not a language code: {code!r} (expected an ISO 639 code such as 'pl' or 'PL')")
  return norm


def parse_languages(spec) -> list[str]:
  """"en,PL, nl" or a sequence -> ["en", "pl", "nl"] (duplicates refused)."""
  items = spec.split(",") if isinstance(spec, str) else list(spec)
  codes = [language_code(c) for c in items if str(c).strip()]
  dup = {c for c in codes if codes.count(c) > 1}
  if dup:
    raise ValueError(f"language listed twice: {sorted(dup)}")
  if not codes:
    raise ValueError("no languages given")
  return codes


def read_rows(path: str, *, require_id: bool = False, language: str | None = None) -> list[Row]:
  """Every instruction record at `path` (file, folder or glob), validated.

  Args:
    require_id: every record needs a unique `id` (records are matched across languages by it).
    language: the language the file is given as; a record whose own `language` field says
      otherwise is refused (a mislabelled file would silently break the parallel corpus).
  Raises:
    RecordError naming the file, line and field.
  """
  return to_rows(read_raw(path), require_id=require_id, language=language)


def read_raw(path: str) -> list[tuple[object, str, int]]:
  """[(decoded record, file, line)] at `path`; a line that is not JSON raises RecordError."""
  out = []
  for file in resolve_files(path):
    for line, data in raw_rows(file):
      if isinstance(data, RecordError):
        raise data
      out.append((data, file, line))
  return out


def to_rows(raw, *, require_id: bool = False, language: str | None = None) -> list[Row]:
  """Validates (record, file, line) triples into Rows (see `read_rows`)."""
  rows, seen = [], {}
  for data, file, line in raw:
    row = Row(data=data, record=parse_instruction(data, file, line), path=file, line=line)
    if require_id:
      if row.id is None or not row.id.strip():
        raise RecordError(file, line, "id", "missing (records are matched across languages by id)")
      if row.id in seen:
        raise RecordError(file, line, "id", f"duplicate id {row.id!r} (first at {seen[row.id]})")
      seen[row.id] = row.origin
    own = data.get("language")
    if language and isinstance(own, str) and own.strip() and own.strip().lower() != language.lower():
      raise RecordError(file, line, "language", f"is {own!r} but the file is given as {language!r}")
    rows.append(row)
  return rows


def language_files(input_dir: str, languages) -> dict[str, str]:
  """{language: <input_dir>/<language>.jsonl} (lower or upper case file names)."""
  out = {}
  for lang in languages:
    candidates = [os.path.join(input_dir, f"{name}.jsonl") for name in (lang, lang.upper())]
    found = next((c for c in candidates if os.path.isfile(c)), None)
    if found is None:
      raise FileNotFoundError(f"no file for language {lang!r} in {input_dir} (expected {lang}.jsonl)")
    out[lang] = found
  return out


def text_fields(data: dict) -> list[tuple[str, str, str]]:
  """[(field, kind, text)] of a record's texts: alpaca `instruction`/`input`/`output` (and a
  `system` field), or chat `messages[i].content` with kind the message's role."""
  if "messages" in data:
    return [(f"messages[{i}].content", m["role"], m["content"]) for i, m in enumerate(data["messages"])]
  out = [(f, f, data[f]) for f in ("instruction", "input", "output") if isinstance(data.get(f), str)]
  if isinstance(data.get("system"), str):
    out.insert(0, ("system", "system", data["system"]))
  return out


def with_texts(data: dict, texts: dict[str, str]) -> dict:
  """A copy of the record with the given fields (as named by `text_fields`) replaced."""
  out = dict(data)
  if "messages" in data:
    out["messages"] = [dict(m) for m in data["messages"]]
  for field, text in texts.items():
    m = _FIELD.match(field)
    if m:
      out["messages"][int(m.group(1))]["content"] = text
    else:
      out[field] = text
  return out


def turns(row: Row, roles=("user",)) -> list[str]:
  """The contents of the record's turns with the given roles, in order."""
  return [m["content"] for m in row.record.messages if m["role"] in roles]


# Files a step writes beside the data that are not instruction records.
NOT_DATA = ("translation.json", "translation_rejects.jsonl", "cleaning.json", "composition.json",
            "decontamination.json", "card.json", "cache.jsonl")


def data_files(path: str) -> list[str]:
  """The instruction files at `path` (a file, folder or glob), leaving out the steps' reports."""
  return [f for f in resolve_files(path) if os.path.basename(f) not in NOT_DATA]

"""`mt_bench_x`: MT-Bench-X questions (80 two-turn questions per language) from a local folder.

Source folder (the builder parameter `source_dir`, or tfds's `download_config.manual_dir`), as
MT-Bench-X's `data/`:
  <src>/mt_bench_<LANG>/question.jsonl               question_id, category, turns [2], reference?
  <src>/mt_bench_<LANG>/reference_answer/<m>.jsonl   question_id, choices[0].turns
One builder config per language (EN, DE, FR, IT, ES registered; `config_for(code)` for others),
split `test`. A question's `reference_answer` comes from gpt-4.jsonl first, else the first other
answer file (sorted) that has it; it is empty for questions without one. A malformed line, or a
reference answer to an unknown question, fails the preparation naming file, line and field.

  builder = MtBenchX(config="DE", source_dir="/data/mt_bench_x", data_dir="/data/tfds")
  builder.download_and_prepare()
"""

from __future__ import annotations

import os

from itx.datasets import base
from itx.data.jsonl import RecordError, iter_jsonl

LANGUAGES = ("EN", "DE", "FR", "IT", "ES")
SPLIT = "test"
PREFERRED_REFERENCE = "gpt-4.jsonl"
INSTRUCTIONS = """Point source_dir=... (or the manual_dir) at MT-Bench-X's data folder: one
mt_bench_<LANG>/ folder per language with question.jsonl and reference_answer/*.jsonl."""


def config_for(lang: str) -> base.LocalConfig:
  return base.LocalConfig(name=lang, kind="questions", key=lang, description=f"MT-Bench-X, {lang}")


def _jsonl(path: str):
  """(line number, object) of each non-blank line; an undecodable line raises its RecordError."""
  for i, row in iter_jsonl(path):
    if isinstance(row, RecordError):
      raise row
    yield i, row


def _strings(value, path: str, line: int, field: str, *, n: int | None = None) -> list[str]:
  if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
    raise RecordError(path, line, field, "expected a list of strings")
  if n is not None and (len(value) != n or not all(s.strip() for s in value)):
    raise RecordError(path, line, field, f"expected {n} non-empty strings, got {len(value)}")
  return value


def _question(row, path: str, line: int) -> dict:
  if not isinstance(row, dict):
    raise RecordError(path, line, "<record>", f"expected an object, got {type(row).__name__}")
  if not isinstance(row.get("question_id"), (str, int)):
    raise RecordError(path, line, "question_id", "missing or not a string/integer")
  if not isinstance(row.get("category"), str) or not row["category"].strip():
    raise RecordError(path, line, "category", "missing or empty")
  if "turns" not in row:
    raise RecordError(path, line, "turns", "missing")
  _strings(row["turns"], path, line, "turns", n=2)
  _strings(row.get("reference") or [], path, line, "reference")
  return dict(row)


def _reference_turns(row, path: str, line: int) -> list[str]:
  if not isinstance(row, dict) or not isinstance(row.get("question_id"), (str, int)):
    raise RecordError(path, line, "question_id", "missing or not a string/integer")
  choices = row.get("choices")
  if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
    raise RecordError(path, line, "choices", "expected a non-empty list of {turns}")
  return _strings(choices[0].get("turns"), path, line, "choices[0].turns")


def bench_dir(src: str, lang: str) -> str:
  return base.require(os.path.join(src, f"mt_bench_{lang}"), f"MT-Bench-X folder for {lang!r}")


def question_file(src: str, lang: str) -> str:
  return base.require(os.path.join(bench_dir(src, lang), "question.jsonl"), "MT-Bench-X questions")


def reference_files(src: str, lang: str) -> list[str]:
  """The reference answer files of a language, the preferred one first."""
  folder = os.path.join(bench_dir(src, lang), "reference_answer")
  if not os.path.isdir(folder):
    return []
  names = sorted(f for f in os.listdir(folder) if f.endswith(".jsonl"))
  names.sort(key=lambda f: f != PREFERRED_REFERENCE)  # stable: the rest stay sorted
  return [os.path.join(folder, f) for f in names]


def source_files(src: str, lang: str) -> list[str]:
  return [question_file(src, lang)] + reference_files(src, lang)


def questions(src: str, lang: str) -> list[tuple[str, dict]]:
  """Validated questions of one language, with reference_answer and reference_model filled in:
  [(origin "file:line", question)] in file order."""
  path = question_file(src, lang)
  rel = os.path.relpath(path, src)
  out, by_id = [], {}
  for line, row in _jsonl(path):
    q = _question(row, path, line)
    if str(q["question_id"]) in by_id:
      raise RecordError(path, line, "question_id", f"duplicate id {q['question_id']!r}")
    by_id[str(q["question_id"])] = q
    out.append((f"{rel}:{line}", q))
  for ref_path in reference_files(src, lang):
    model = os.path.basename(ref_path).removesuffix(".jsonl")
    for line, row in _jsonl(ref_path):
      turns = _reference_turns(row, ref_path, line)
      q = by_id.get(str(row["question_id"]))
      if q is None:
        raise RecordError(ref_path, line, "question_id", f"no question {row['question_id']!r} in {path}")
      if "reference_answer" not in q:  # the preferred file came first
        q["reference_answer"], q["reference_model"] = turns, model
  return out


def split_examples(src: str, lang: str) -> dict:
  def generate():
    for origin, q in questions(src, lang):
      yield origin, base.question_example(q, lang.lower(), origin)
  return {SPLIT: generate()}


class MtBenchX(base.LocalBuilder):
  """MT-Bench-X questions of one language from a local folder (see the module docstring)."""

  DESCRIPTION = "MT-Bench-X: the multilingual MT-Bench questions and reference answers."
  HOMEPAGE = "https://github.com/Modalities/MT-Bench-X"
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS = [config_for(lang) for lang in LANGUAGES]

  def source_files(self, src: str) -> list[str]:
    return source_files(src, self.builder_config.key)

  def split_examples(self, src: str) -> dict:
    return split_examples(src, self.builder_config.key)

"""Decontamination: which training records share word n-grams with evaluation questions.

Evaluation questions are read from folders in MT-Bench-X's layout (`mt_bench_<LANG>/question.jsonl`
with two `turns` per question: the real MT-Bench-X, or the polyglot world's `mt_bench`), in every
language found (a translated training set is compared with the questions in its own language).
Texts are lower-cased and split into words (Unicode \\w+); a record is contaminated when one of its
texts (the user turns, or with fields="all" every turn) contains an n-gram of a question turn. A
question turn shorter than n words is matched as a whole when it has at least n // 2 words
(shorter ones are too generic to mean anything and are counted as unchecked).

With `drop_out`, a copy of the corpus is written without the contaminated instructions: an
instruction is dropped from every file and language once any of its versions overlaps, so the
compositions stay parallel and size-matched.
"""

from __future__ import annotations

import collections
import os
import re
from typing import Sequence

from itx.curate import files
from itx.curate.compose import instruction_id
from itx.curate.rows import data_files, read_rows, turns
from itx.eval import mt_bench

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
  return _WORD.findall(text.lower())


class QuestionIndex:
  """n-grams of evaluation question turns -> the (question id, language, turn) they occur in."""

  def __init__(self, questions: Sequence[dict], n: int = 8):
    self.n, self.grams, self.unchecked = n, collections.defaultdict(set), 0
    self.sizes: set[int] = set()
    self.questions = len(questions)
    for q in questions:
      for turn, text in enumerate(q["turns"], start=1):
        w = words(text)
        key = (q["question_id"], q["language"], turn)
        if len(w) >= n:
          self.sizes.add(n)
          for i in range(len(w) - n + 1):
            self.grams[tuple(w[i:i + n])].add(key)
        elif len(w) >= max(1, n // 2):
          self.sizes.add(len(w))
          self.grams[tuple(w)].add(key)
        else:
          self.unchecked += 1

  def hits(self, text: str) -> dict[tuple, list[str]]:
    """{(question id, language, turn): [shared n-grams as text]} for one training text."""
    w, out = words(text), collections.defaultdict(list)
    for k in self.sizes:
      for i in range(len(w) - k + 1):
        for key in self.grams.get(tuple(w[i:i + k]), ()):
          out[key].append(" ".join(w[i:i + k]))
    return out


def load_questions(benches: Sequence[str] | str, *, languages=None, categories=None) -> list[dict]:
  """Question records of every language (or the given ones) of each benchmark folder, each with
  its `language`; `categories` keeps only those categories (e.g. the polyglot held-out families)."""
  benches = [benches] if isinstance(benches, str) else list(benches)
  wanted = {l.upper() for l in languages} if languages else None
  out = []
  for root in benches:
    if not os.path.isdir(root):
      raise FileNotFoundError(f"evaluation folder not found: {root}")
    langs = mt_bench.available_languages(root)
    if not langs:
      raise FileNotFoundError(f"no mt_bench_<LANG>/question.jsonl under {root}")
    for lang in langs:
      if wanted and lang.upper() not in wanted:
        continue
      for q in mt_bench.load_questions(root, lang):
        if categories and q.get("category") not in categories:
          continue
        out.append({**q, "language": lang.lower(), "bench": root})
  if not out:
    raise ValueError(f"no evaluation questions selected in {benches} (languages {languages}, categories {categories})")
  return out


def decontaminate(train: str | dict[str, str], bench: Sequence[str] | str, *, n: int = 8, fields: str = "user",
                  bench_languages=None, categories=None, report_path: str | None = None,
                  drop_out: str | None = None, overwrite: bool = False, max_listed: int = 200) -> dict:
  """Lists the training records that overlap the evaluation questions, optionally dropping them.

  Args:
    train: a file or folder of instruction files (a composed corpus), or {name: file}.
    bench: one or more folders in MT-Bench-X's layout.
    n: the n-gram length in words.
    fields: "user" (the instructions) or "all" (every turn, responses included).
    bench_languages, categories: restrict the questions compared with.
    report_path: where to write the report (decontamination.json); None: not written (except into
      drop_out).
    drop_out: a folder for the corpus without the contaminated instructions (written atomically).
  Returns:
    the report: settings, per file {records, contaminated, instructions}, questions hit, overlaps.
  """
  if fields not in ("user", "all"):
    raise ValueError(f"fields must be 'user' or 'all', not {fields!r}")
  if n < 1:
    raise ValueError(f"n must be a positive number of words, not {n}")
  inputs = train if isinstance(train, dict) else {os.path.basename(f): f for f in data_files(train)}
  questions = load_questions(bench, languages=bench_languages, categories=categories)
  index = QuestionIndex(questions, n)
  roles = ("user",) if fields == "user" else ("system", "user", "assistant")

  per_file, overlaps, hit_questions, bad_instructions = {}, [], set(), set()
  rows_by_file = {}
  for name, path in inputs.items():
    rows = [r for f in data_files(path) for r in read_rows(f)]
    rows_by_file[name] = rows
    contaminated = 0
    for row in rows:
      found = collections.defaultdict(list)
      for text in turns(row, roles):
        for key, grams in index.hits(text).items():
          found[key] += grams
      if not found:
        continue
      contaminated += 1
      bad_instructions.add(_instruction(row))
      hit_questions |= set(found)
      for (qid, qlang, turn), grams in sorted(found.items()):
        overlaps.append({"file": name, "line": row.line, "id": row.id, "language": row.data.get("language"),
                         "question_id": qid, "question_language": qlang, "turn": turn,
                         "shared_ngrams": len(grams), "example": grams[0]})
    per_file[name] = {"records": len(rows), "contaminated": contaminated}
  for name, rows in rows_by_file.items():
    per_file[name]["instructions"] = len({_instruction(r) for r in rows})
    per_file[name]["contaminated_instructions"] = len({_instruction(r) for r in rows} & bad_instructions)

  report = {"train": {k: os.path.abspath(v) for k, v in inputs.items()},
            "bench": [os.path.abspath(b) for b in ([bench] if isinstance(bench, str) else bench)],
            "n": n, "fields": fields, "bench_languages": sorted({q["language"] for q in questions}),
            "categories": list(categories) if categories else None,
            "questions": len(questions), "question_turns_unchecked": index.unchecked,
            "files": per_file, "contaminated_instructions": len(bad_instructions),
            "questions_hit": len({(q, l) for q, l, _ in hit_questions}),
            "overlaps_listed": min(len(overlaps), max_listed), "overlaps_total": len(overlaps),
            "overlaps": overlaps[:max_listed], "dropped": drop_out is not None}
  if drop_out is not None:
    with files.output_dir(drop_out, overwrite=overwrite) as tmp:
      for name, rows in rows_by_file.items():
        files.write_jsonl(os.path.join(tmp, os.path.basename(inputs[name])),
                          (r.data for r in rows if _instruction(r) not in bad_instructions))
      files.carry_reports(sorted({os.path.dirname(os.path.abspath(p)) for p in inputs.values()}), tmp,
                          skip=("decontamination.json",))
      files.write_json(os.path.join(tmp, "decontamination.json"), report)
  if report_path:
    files.write_json(report_path, report)
  return report


def _instruction(row) -> str:
  """The instruction a record is a version of: its id without a composed `_<LANG>` suffix, or
  (no id) its position."""
  if row.id is None:
    return row.origin
  return instruction_id(row.id, str(row.data.get("language") or ""))


def summary_line(report: dict) -> str:
  """One line for a results table: contaminated records per file."""
  parts = [f"{name}: {f['contaminated']}/{f['records']}" for name, f in report["files"].items()]
  return (f"decontamination ({report['n']}-gram overlap of the {report['fields']} turns with {report['questions']} "
          f"evaluation questions): " + ", ".join(parts) + f"; questions hit: {report['questions_hit']}")

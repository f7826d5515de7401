"""MT-Bench-X benchmark folders: questions, reference answers, judge prompts, generation settings
per category, and model-answer files in MT-Bench's `model_answer` JSONL format.

A benchmark root holds one folder per language, as MT-Bench-X's `data/`:
  <root>/mt_bench_<LANG>/question.jsonl              80 two-turn questions, ids like "81_DE"
  <root>/mt_bench_<LANG>/reference_answer/<m>.jsonl  reference answers (math, reasoning, coding)
  <root>/mt_bench_<LANG>/judge_prompts.jsonl         judge prompts in that language
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Mapping, Sequence

from itx.data import jsonl
from itx.data.languages import STUDY_LANGUAGES

# File order of MT-Bench: ten questions each, ids 81..160.
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem",
              "humanities")
# Judged against a reference answer (FastChat's NEED_REF_CATS).
REFERENCE_CATEGORIES = ("math", "reasoning", "coding")
# Answer sampling temperature per category (FastChat's temperature_config); 0.0 means greedy.
TEMPERATURES = {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
                "reasoning": 0.0, "stem": 0.1, "humanities": 0.1}
MAX_NEW_TOKENS = 1024
FIRST_QUESTION = 81
_DIR = re.compile(r"^mt_bench_([A-Za-z]+)$")
_PATH_LANG = re.compile(r"mt_bench_([A-Za-z]+)")


def bench_dir(root: str, lang: str) -> str:
  return os.path.join(root, f"mt_bench_{lang}")


def available_languages(root: str) -> list[str]:
  """Languages with a question file under `root`, the study's five in their order first, then the
  rest."""
  found = [m.group(1) for d in sorted(os.listdir(root)) if (m := _DIR.match(d))
           and os.path.exists(os.path.join(root, d, "question.jsonl"))]
  return ([l for l in STUDY_LANGUAGES if l in found]
          + [l for l in found if l not in STUDY_LANGUAGES])


def question_number(question_id) -> int:
  """81 for "81_DE" or 81."""
  return int(str(question_id).split("_")[0])


def question_language(question_id) -> str | None:
  """"DE" for "81_DE"; None for MT-Bench's plain integer ids."""
  parts = str(question_id).split("_", 1)
  return parts[1] if len(parts) == 2 else None


def record_language(record: Mapping, path: str | None = None, default: str | None = None) -> str:
  """Language of a judgment or vote: its question id's suffix ("81_DE"), else `mt_bench_<LANG>` in
  the file's path, else `default`."""
  lang = question_language(record["question_id"])
  if lang:
    return lang
  m = _PATH_LANG.search(os.path.abspath(path)) if path else None
  if m:
    return m.group(1)
  if default:
    return default
  raise ValueError(f"{path}: no language for question {record['question_id']!r} (neither its id "
                   "nor the path names one): pass the language")


def category_of(question_id) -> str:
  """MT-Bench category from the question number (ten per category from 81); prefer the
  question file's own `category` field when it is at hand."""
  i = (question_number(question_id) - FIRST_QUESTION) // 10
  if not 0 <= i < len(CATEGORIES):
    raise ValueError(f"question id {question_id!r} is outside MT-Bench's 81..160")
  return CATEGORIES[i]


def load_questions(root: str, lang: str) -> list[dict]:
  """Questions of one language: [{"question_id", "category", "turns": [q1, q2], ...}]."""
  return jsonl.read_jsonl(os.path.join(bench_dir(root, lang), "question.jsonl"))


def question_categories(root: str) -> dict:
  """{question_id: category} from every question file under a benchmark root."""
  return {q["question_id"]: q["category"] for lang in available_languages(root)
          for q in load_questions(root, lang)}


def load_reference_answers(root: str, lang: str, name: str = "gpt-4") -> dict[str, list[str]]:
  """{question_id: [reference turn 1, reference turn 2]} from reference_answer/<name>.jsonl."""
  path = os.path.join(bench_dir(root, lang), "reference_answer", f"{name}.jsonl")
  return {r["question_id"]: answer_turns(r) for r in jsonl.read_jsonl(path)}


def load_judge_prompts(root: str, lang: str, file: str = "judge_prompts.jsonl") -> dict[str, dict]:
  """{prompt name: {"name", "type", "system_prompt", "prompt_template", "output_format", ...}}."""
  return {p["name"]: p for p in jsonl.read_jsonl(os.path.join(bench_dir(root, lang), file))}


def generation_settings(category: str) -> dict:
  """How to sample answers for a question of `category`: {"temperature", "do_sample",
  "max_new_tokens"}; temperature 0 means greedy decoding. Categories outside MT-Bench's eight
  (e.g. the polyglot world's task families, whose answers are checkable) decode greedily."""
  t = TEMPERATURES.get(category, 0.0)
  return {"temperature": t, "do_sample": t > 0, "max_new_tokens": MAX_NEW_TOKENS}


# ---- model answers (FastChat's model_answer/<model_id>.jsonl) ----

def answer_record(question_id, model_id: str, turns: Sequence[str], *,
                  answer_id: str | None = None, tstamp: float | None = None) -> dict:
  """One model_answer line: {"question_id", "answer_id", "model_id",
  "choices": [{"index": 0, "turns": [...]}], "tstamp"}."""
  return {"question_id": question_id, "answer_id": answer_id or uuid.uuid4().hex[:22],
          "model_id": model_id, "choices": [{"index": 0, "turns": list(turns)}],
          "tstamp": time.time() if tstamp is None else tstamp}


def answer_turns(record: Mapping) -> list[str]:
  """The answer texts of the first choice of a model_answer (or reference) record."""
  return list(record["choices"][0]["turns"])


def write_answers(path: str, model_id: str, answers: Mapping) -> None:
  """Write {question_id: [turn texts]} as a model_answer file, sorted by question number
  (replaces the file; written to a temporary file first so a crash leaves the old one)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  jsonl.write_jsonl(path, (answer_record(qid, model_id, answers[qid])
                       for qid in sorted(answers, key=lambda q: (question_number(q), str(q)))))


def read_answers(path: str) -> dict:
  """{question_id: model_answer record}; a later line for the same question wins (as FastChat)."""
  return {r["question_id"]: r for r in jsonl.read_jsonl(path, tolerate_cut_tail=True)}


def load_model_answers(answer_dir: str) -> dict[str, dict]:
  """{model_id: {question_id: record}} for every <model_id>.jsonl in `answer_dir`."""
  out = {}
  for name in sorted(os.listdir(answer_dir)):
    if name.endswith(".jsonl"):
      out[name[:-len(".jsonl")]] = read_answers(os.path.join(answer_dir, name))
  return out

"""Writing rendered instances in the real datasets' layouts: Lima-X (one chat JSONL pair per
composition), Bactrian-X (one JSON list of alpaca records per language) and MT-Bench-X (question
and reference-answer JSONL per language).
"""

from __future__ import annotations

import hashlib
import json
import os
import random

from itx.data.languages import SYSTEM_MESSAGES, compositions, sampled_languages  # one per language: training = evaluation = serving
from itx.worlds.locale_data import LANGS
from itx.worlds.polyglot.families import FAMILIES
from itx.worlds.polyglot.task import Instance, instance_rng, split_instruction

# Lima-X compositions: name -> languages, and whether one language is drawn per instruction.
COMPOSITIONS = compositions()


class Renderer:
  """Renders instances (memoised: every composition reuses the same rendering per language)."""

  def __init__(self, seed: int):
    self.seed = seed
    self._cache: dict = {}

  def turns(self, inst: Instance, lang: str) -> list[tuple[str, str]]:
    key = (inst.id, lang)
    if key not in self._cache:
      rng = instance_rng(self.seed, inst.id, lang)
      self._cache[key] = FAMILIES[inst.family].render(inst.params, lang, rng)
    return self._cache[key]

  def keys(self, inst: Instance) -> list[dict]:
    return FAMILIES[inst.family].keys(inst.params)


def _write_jsonl(path: str, rows) -> int:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  n = 0
  with open(path, "w", encoding="utf-8") as f:
    for row in rows:
      f.write(json.dumps(row, ensure_ascii=False) + "\n")
      n += 1
  return n


def chat_record(r: Renderer, inst: Instance, lang: str, n_turns: int) -> dict:
  messages = [{"role": "system", "content": SYSTEM_MESSAGES[lang]}]
  for user, assistant in r.turns(inst, lang)[:n_turns]:
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
  return {"id": f"{inst.id}_{lang.upper()}", "language": lang, "family": inst.family, "messages": messages,
          "answer": r.keys(inst)[:n_turns]}


def _turn_counts(instances: list[Instance], seed: int, two_turn_fraction: float) -> dict:
  """Per instance, 1 or 2 turns: the same in every language, so parallel files stay parallel."""
  return {inst.id: 2 if random.Random(f"{seed}/{inst.id}/turns").random() < two_turn_fraction else 1
          for inst in instances}


def write_limax(out_dir: str, r: Renderer, splits: dict[str, list[Instance]], two_turn_fraction: float) -> dict:
  """Writes limax/{train,val}_limax_<CFG>.jsonl; returns {file name: records}."""
  counts = {}
  for split, instances in splits.items():
    turns = _turn_counts(instances, r.seed, two_turn_fraction)
    for name, (langs, sampled) in COMPOSITIONS.items():
      if sampled:
        chosen = sampled_languages(len(instances), langs, r.seed, split, name)
        rows = (chat_record(r, inst, lang, turns[inst.id]) for inst, lang in zip(instances, chosen))
      else:
        rows = (chat_record(r, inst, lang, turns[inst.id]) for inst in instances for lang in langs)
      file = f"{split}_limax_{name}.jsonl"
      counts[file] = _write_jsonl(os.path.join(out_dir, "limax", file), rows)
  return counts


def alpaca_record(r: Renderer, inst: Instance, lang: str) -> dict:
  user, output = r.turns(inst, lang)[0]
  instruction, data = split_instruction(user)
  return {"instruction": instruction, "input": data, "output": output, "id": inst.id}


def write_bactrian(out_dir: str, r: Renderer, instances: list[Instance]) -> dict:
  """bactrian/<lang>.json (exactly Bactrian-X's four fields) and answer_keys/bactrian.jsonl (the
  keys, outside the data folder so a reader pointed at bactrian/ sees only data)."""
  os.makedirs(os.path.join(out_dir, "bactrian"), exist_ok=True)
  counts = {}
  for lang in LANGS:
    rows = [alpaca_record(r, inst, lang) for inst in instances]
    with open(os.path.join(out_dir, "bactrian", f"{lang}.json"), "w", encoding="utf-8") as f:
      json.dump(rows, f, ensure_ascii=False, indent=0)
    counts[f"{lang}.json"] = len(rows)
  _write_jsonl(os.path.join(out_dir, "answer_keys", "bactrian.jsonl"),
               ({"id": inst.id, "family": inst.family, "answer": r.keys(inst)[:1]} for inst in instances))
  return counts


def _answer_id(question_id: str) -> str:
  return hashlib.sha256(question_id.encode()).hexdigest()[:22]


def write_mt_bench(out_dir: str, r: Renderer, instances: list[Instance], heldout_families: list[str]) -> dict:
  """mt_bench/mt_bench_<LANG>/question.jsonl and reference_answer/reference.jsonl."""
  counts = {}
  for lang in LANGS:
    folder = os.path.join(out_dir, "mt_bench", f"mt_bench_{lang.upper()}")
    questions, references = [], []
    for inst in instances:
      qid = f"{inst.id}_{lang.upper()}"
      (q1, a1), (q2, a2) = r.turns(inst, lang)
      questions.append({"question_id": qid, "category": inst.family, "turns": [q1, q2], "reference": []})
      references.append({"question_id": qid, "answer_id": _answer_id(qid), "model_id": "reference",
                         "choices": [{"index": 0, "turns": [a1, a2]}], "tstamp": 0.0,
                         "answer_keys": r.keys(inst), "heldout_family": inst.family in heldout_families})
    counts[lang] = _write_jsonl(os.path.join(folder, "question.jsonl"), questions)
    _write_jsonl(os.path.join(folder, "reference_answer", "reference.jsonl"), references)
  return counts

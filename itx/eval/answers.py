"""Two-turn answers to MT-Bench-style questions, generated with the per-category temperatures and
written in MT-Bench's model_answer format. Resumable: questions already answered are skipped."""

from __future__ import annotations

import os

from tqdm.auto import tqdm

from itx.data import jsonl
from itx.data.languages import system_message
from itx.eval import mt_bench
from itx.generate import Generator, SamplingParams


def conversation(question: dict, language: str, answers: list[str], *, with_system: bool = True) -> list[dict]:
  """The chat for the next turn: system message (the language's), then question/answer turns."""
  msgs = []
  system = system_message(language) if with_system else None
  if system:
    msgs.append({"role": "system", "content": system})
  for i, q in enumerate(question["turns"][:len(answers) + 1]):
    msgs.append({"role": "user", "content": q})
    if i < len(answers):
      msgs.append({"role": "assistant", "content": answers[i]})
  return msgs


def generate_answers(gen: Generator, questions: list[dict], language: str, model_id: str, out_path: str, *,
                     max_new_tokens: int = mt_bench.MAX_NEW_TOKENS, batch_size: int = 16, seed: int = 0,
                     with_system: bool = True, progress: bool = True) -> dict:
  """{question_id: [turn texts]} for every question, generating only those missing in out_path.

  Each finished question is appended as one complete JSONL line, so an interrupted run loses
  nothing already answered.
  """
  jsonl.repair(out_path)  # a line cut short by a crash is dropped, and that question answered again
  done = {qid: mt_bench.answer_turns(r) for qid, r in mt_bench.read_answers(out_path).items()} \
      if os.path.exists(out_path) else {}
  todo = [q for q in questions if q["question_id"] not in done]
  os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
  bar = tqdm(total=len(todo), desc=f"answering {language}", disable=not progress)
  for start in range(0, len(todo), batch_size):
    chunk = todo[start:start + batch_size]
    temps = [mt_bench.generation_settings(q["category"])["temperature"] for q in chunk]
    sampling = SamplingParams(max_new_tokens=max_new_tokens, seed=seed + start)
    turns = [[] for _ in chunk]
    for t in range(max(len(q["turns"]) for q in chunk)):
      rows = [i for i, q in enumerate(chunk) if t < len(q["turns"])]
      convs = [conversation(chunk[i], language, turns[i], with_system=with_system) for i in rows]
      texts = gen.generate_text(convs, sampling, [temps[i] for i in rows])
      for i, text in zip(rows, texts):
        turns[i].append(text)
    with jsonl.Appender(out_path) as w:
      for q, ts in zip(chunk, turns):
        w.write(mt_bench.answer_record(q["question_id"], model_id, ts))
    done.update({q["question_id"]: ts for q, ts in zip(chunk, turns)})
    bar.update(len(chunk))
  bar.close()
  return {q["question_id"]: done[q["question_id"]] for q in questions}

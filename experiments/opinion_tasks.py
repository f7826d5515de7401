"""What tuning on the groups' opinions costs the base model's other abilities: the task score of the
base and of every condition on questions none of them was tuned on, per language.

- Generated world: the opinion world's base is an "instruct" model (its pre-training mixes the
  polyglot world's instruction chats into the discussion threads, as OpinionGPT's base,
  Phi-3-mini-instruct, follows instructions before any opinion tuning). The task score is the
  polyglot world's rule judge (reference-based, 1-10) on held-out polyglot questions
  (world/tasks/mt_bench: other task instances than the chats, three task families never seen).
- Real data (paper): MT-Bench-X questions per study language, judged by an LLM over an
  OpenAI-compatible endpoint with MT-Bench-X's prompts (as experiments.multilingual_parallel);
  only with --mt_bench_x and a judge. The base is Phi-3-mini itself, answered through a LoRA
  condition's run with every adapter off (adapter -1: the frozen base alone).

An adapter bank is scored through every one of its adapters (every question asked once per group's
adapter): its task score is the mean over adapters, and each adapter's score is a per-group row.
The answers and judgments are MT-Bench's files (model_answer/, model_judgment/ under the run's
tasks/ folder), so a rerun generates and judges nothing twice.
"""

from __future__ import annotations

import os
import types

from itx.data.groups import GROUPS
from itx.eval import aggregate, mt_bench
from itx.eval.answers import generate_answers
from itx.eval.judge_client import judge_all
from itx.evaluate import judge_requests, question_subset

ALL = "all"


def judging(preset, args, world: str | None) -> types.SimpleNamespace | None:
  """The benchmark and judge of the task score (the fields itx.evaluate.judge_requests reads), or
  None when there is none: real data without --mt_bench_x or without a judge."""
  if not preset.real_data:
    from itx.worlds.opinions.tasks import BENCH
    return types.SimpleNamespace(bench=os.path.join(world, BENCH), judge="rule", reference_model="reference",
                                 judge_base_url="", judge_model="rule-v1", judge_api_key_env="")
  if not getattr(args, "mt_bench_x", "") or not getattr(args, "judge_model", ""):
    return None
  return types.SimpleNamespace(bench=os.path.abspath(args.mt_bench_x), judge="http", reference_model="gpt-4",
                               judge_base_url=args.judge_url, judge_model=args.judge_model,
                               judge_api_key_env=args.judge_api_key_env)


def describe(e) -> str:
  """Which judge and questions a task score comes from (for the tables)."""
  if e.judge == "rule":
    return "rule judge (rule-v1, 1-10; not an MT-Bench score) on held-out polyglot questions"
  return f"LLM judge {e.judge_model} (MT-Bench-X prompts, 1-10) on MT-Bench-X"


def _model_scores(gen, e, languages, model_id: str, out_dir: str, *, questions: int, max_new_tokens: int,
                  seed: int) -> dict:
  """{language (lower case): mean judge score} of one model's answers (judgments with no score left out)."""
  out = {}
  for lang in languages:
    code = lang.upper()
    qs = question_subset(mt_bench.load_questions(e.bench, code), questions)
    refs = mt_bench.load_reference_answers(e.bench, code, e.reference_model)
    answers = generate_answers(gen, qs, code, model_id, os.path.join(out_dir, "model_answer", f"{model_id}_{code}.jsonl"),
                               max_new_tokens=max_new_tokens, seed=seed, progress=False)
    requests, judge = judge_requests(e, e.bench, code, qs, answers, refs, model_id)
    path = os.path.join(out_dir, "model_judgment", f"{judge.name}_{model_id}_{code}.jsonl")
    judge_all(requests, judge, path, progress=False)
    bench = aggregate.aggregate(aggregate.load([path], language=code), categories={q["question_id"]: q["category"]
                                                                                  for q in qs}, expected=2 * len(qs))
    out[lang.lower()] = bench["models"].get(model_id, {}).get("languages", {}).get(code, {}).get("mean", float("nan"))
  return out


def task_scores(run, e, languages, out_dir: str, *, model_id: str, questions: int, max_new_tokens: int,
                routed: bool = False, base_only: bool = False, seed: int = 0) -> dict:
  """{language: {"all": score, group: score (a bank's adapters)}} of a loaded run (itx.inference).

  routed: score every adapter of a bank (GROUPS order), "all" their mean; base_only: every adapter
  off (a LoRA run's frozen base alone). `e`: see `judging`. Files under out_dir (resumable)."""
  gen = run.generator(adapter_id=-1) if base_only else run.generator()
  if not routed:
    return {l: {ALL: v} for l, v in _model_scores(gen, e, languages, model_id, out_dir, questions=questions,
                                                  max_new_tokens=max_new_tokens, seed=seed).items()}
  by_group = {}
  for i, group in enumerate(GROUPS):
    gen.adapter_id = i  # rows decode with this group's adapter (an argument of the compiled step: no recompiling)
    by_group[group] = _model_scores(gen, e, languages, f"{model_id}_{group.replace(' ', '_')}", out_dir,
                                    questions=questions, max_new_tokens=max_new_tokens, seed=seed)
  out = {}
  for lang in by_group[GROUPS[0]]:
    scores = {g: by_group[g][lang] for g in GROUPS}
    out[lang] = {**scores, ALL: sum(scores.values()) / len(scores)}
  return out

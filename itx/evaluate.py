"""Evaluates the checkpoint of a run on an MT-Bench-style benchmark, per language:
`python -m itx.evaluate --config=configs/NAME.py --workdir=DIR [--config.eval.judge=http ...]`.

For each language: two-turn answers (per-category temperatures), judgments (the reference-based
rule judge, or any OpenAI-compatible LLM judge with MT-Bench-X's prompts), automatic metrics
against the reference answers (exact match, chrF, ROUGE-L), response-language fidelity, and the
answer loss of the reference answers. Everything lands in DIR/eval/: answers and judgments in
MT-Bench's JSONL formats (resumable), results as JSON and CSV, radar plots.

LLM-judge scores are reported under "mt_bench" (keys mt_bench_<LANG>_<category>_<turn>), the rule
judge's under "rule" (rule_<LANG>_...): a rule score is never presented as an MT-Bench score. The
summary's "judging" names the judge, the prompt set and the aggregation behind every score.
"""

from __future__ import annotations

import csv
import logging
import math
import os

from itx import worlds
from itx.data import jsonl
from itx.data.files import atomic_write_json
from itx.data.languages import STUDY_LANGUAGES
from itx.eval import aggregate, mt_bench, text_metrics
from itx.eval.answer_quality import METRICS as QUALITY_METRICS, answer_quality
from itx.eval.answers import conversation, generate_answers
from itx.eval.judge_client import JudgeConfig, OpenAIJudge, judge_all
from itx.eval.judge_requests import build_judge_requests
from itx.eval.language_id import identify
from itx.eval.loss import conversation_nll
from itx.eval.rule_judge import RuleJudge, reference_request
from itx.inference import load_checkpoint, load_run, local_mesh
from itx.train.compilation import enable_persistent_cache

log = logging.getLogger(__name__)

ALL_METRICS = text_metrics.METRICS + ("in_language", "answer_loss") + QUALITY_METRICS
JUDGES = ("rule", "http", "none")  # none: answers and reference-free metrics only (no judge at hand)


def judge_requests(e, root, lang, questions, answers, refs, model_id):
  """(judge requests, judge) of one language's answers {question_id: [turn texts]}: the rule judge
  against `refs` ({question_id: [reference turns]}) when e.judge is "rule", or MT-Bench-X's prompts
  for the OpenAI-compatible judge of e.judge_base_url / e.judge_model when it is "http"."""
  if e.judge == "http":
    return build_judge_requests(root, lang, answers, model_id, reference_model=e.reference_model), \
        OpenAIJudge(JudgeConfig(base_url=e.judge_base_url, model=e.judge_model, api_key_env=e.judge_api_key_env))
  requests = []
  for q in questions:
    qid = q["question_id"]
    for t, (question, answer) in enumerate(zip(q["turns"], answers[qid]), start=1):
      if qid in refs and t <= len(refs[qid]):
        requests.append(reference_request(qid, model_id, question, answer, refs[qid][t - 1], language=lang,
                                          category=q["category"], turn=t))
  return requests, RuleJudge()


def question_subset(questions: list[dict], n: int) -> list[dict]:
  """n questions spread over the categories (round robin in file order), so a short evaluation
  still covers every category, the held-out ones included. n=0: all."""
  if not n or n >= len(questions):
    return questions
  by_cat: dict[str, list[dict]] = {}
  for q in questions:
    by_cat.setdefault(q["category"], []).append(q)
  picked, depth = [], 0
  while len(picked) < n:
    for qs in by_cat.values():
      if depth < len(qs) and len(picked) < n:
        picked.append(qs[depth])
    depth += 1
  keep = {id(q) for q in picked}
  return [q for q in questions if id(q) in keep]


def first_turns(questions: list[dict], max_turns: int) -> list[dict]:
  """The questions with only their first `max_turns` turns (0: every turn)."""
  return [{**q, "turns": q["turns"][:max_turns]} for q in questions] if max_turns else questions


def heldout_questions(root: str, lang: str, reference_model: str) -> set:
  """Question ids whose reference marks a task family held out of training (generated benchmarks
  mark them; real MT-Bench-X has no such field, so nothing is marked)."""
  path = os.path.join(mt_bench.bench_dir(root, lang), "reference_answer", f"{reference_model}.jsonl")
  if not os.path.exists(path):
    return set()
  return {r["question_id"] for r in jsonl.read_jsonl(path) if r.get("heldout_family")}


def _metric_rows(lang, questions, answers, refs, heldout):
  rows = []
  for q in questions:
    qid = q["question_id"]
    for t, answer in enumerate(answers[qid], start=1):
      row = {"language": lang, "family": q["category"], "question_id": qid, "turn": t,
             "heldout_family": qid in heldout,
             "in_language": float(identify(answer, STUDY_LANGUAGES) == lang) if answer.strip() else 0.0,
             **answer_quality(answer)}
      if qid in refs and t <= len(refs[qid]):
        row.update(text_metrics.score_answer(answer, refs[qid][t - 1]))
      rows.append(row)
  return rows


def _loss_rows(run, e, lang, questions, refs):
  convs, meta = [], []
  for q in questions:
    ref = refs.get(q["question_id"])
    if ref:
      convs.append(conversation(q, lang, list(ref[:len(q["turns"])]), with_system=e.system_message))
      meta.append(q)
  if not convs:
    return []
  losses = conversation_nll(run, convs, seq_len=run.config.data.seq_len, batch_size=e.batch_size,
                            desc=f"answer loss {lang}")
  return [{"language": lang, "family": q["category"], "question_id": q["question_id"], "answer_loss": l}
          for q, l in zip(meta, losses) if not math.isnan(l)]


def _write_csv(path, rows):
  keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("language", "family", "question_id", "turn"), k))
  with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)


def _check_aggregation(e) -> None:
  if e.judge not in JUDGES:
    raise ValueError(f"config.eval.judge={e.judge!r}: expected one of {JUDGES}")
  for field, choices in (("duplicates", aggregate.DUPLICATE_POLICIES), ("average", aggregate.AVERAGES)):
    if e.get(field, choices[0]) not in choices:
      raise ValueError(f"config.eval.{field}={e[field]!r}: expected one of {choices}")


def judging_description(e, bench: dict, model_id: str, usage: dict, api_errors: int) -> dict:
  """Which judge, prompt set and aggregation produced the judge scores (for every table)."""
  m = bench["models"].get(model_id, {})
  if e.judge == "http":
    judge = f"{e.judge_model} at {e.judge_base_url}"
    prompts = "MT-Bench-X " + " / ".join(m.get("prompts", [])) + " (judge_prompts.jsonl of each language)"
  elif e.judge == "none":
    judge, prompts = "none (answers and reference-free metrics only)", "none"
  else:
    judge = "rule-v1 (reference-based rule judge, not an LLM)"
    prompts = "none (answers checked against reference answers)"
  return {"kind": e.judge, "judge": judge, "judge_model": e.judge_model if e.judge == "http" else "rule-v1",
          "prompts": prompts, "aggregation": bench["aggregation"], "duplicates": bench["duplicates"],
          "average": bench["average"], "score_key": bench["score_key"] if e.judge != "none" else "none", "usage": usage,
          "api_errors": api_errors}


def evaluate(workdir: str, eval_cfg, *, step: int | None = None, checkpoint: str | None = None,
             chat_template: str = "", name: str = "", run=None) -> dict:
  """Runs the evaluation; returns the summary: {"languages": {lang: metric means}, "mt_bench" (LLM
  judge) or "rule" (rule judge): {lang: judge-score means}, "judging": provenance, ...}.

  checkpoint: `hf:DIR` or `gguf:FILE` evaluated instead of the run in `workdir` (a study's base
  row), with results in `workdir`/eval; chat_template as itx.inference.load_checkpoint's.
  name: results in `workdir`/eval/`name` (a second benchmark of the same model); run: a model
  already loaded (itx.inference's), evaluated instead of loading one."""
  e = eval_cfg
  _check_aggregation(e)
  duplicates, average = e.get("duplicates", "all"), e.get("average", "lines")
  enable_persistent_cache()
  adapter = e.get("adapter", "")  # one adapter of a LoRA bank: its own model id and folder
  if run is None and checkpoint:
    run = load_checkpoint(checkpoint, max_len=2048, chat_template=chat_template)
  elif run is None:
    run = load_run(workdir, step, mesh_overrides=local_mesh(), adapter=adapter or None)
  root = worlds.resolve_path(e.bench)
  model_id = e.model_id or os.path.basename(os.path.abspath(workdir)) + (f"_{adapter}" if adapter else "")
  out_dir = os.path.join(workdir, "eval", name, adapter)
  gen = run.generator()
  languages = [l for l in e.languages if l in mt_bench.available_languages(root)]
  if not languages:
    raise FileNotFoundError(f"{root}: none of the languages {list(e.languages)} has an mt_bench_<LANG> folder")
  metric_rows, loss_rows, judgments, judged_heldout, categories = [], [], [], [], {}
  usage, api_errors, turns_asked = {}, 0, 0
  for lang in languages:
    questions = first_turns(question_subset(mt_bench.load_questions(root, lang), e.max_questions),
                            e.get("max_turns", 0))
    categories.update({q["question_id"]: q["category"] for q in questions})
    turns_asked += sum(len(q["turns"]) for q in questions)
    refs = mt_bench.load_reference_answers(root, lang, e.reference_model)
    answers = generate_answers(
        gen, questions, lang, model_id, os.path.join(out_dir, "model_answer", f"{model_id}_{lang}.jsonl"),
        max_new_tokens=e.max_new_tokens or mt_bench.MAX_NEW_TOKENS, batch_size=e.batch_size, seed=e.seed,
        with_system=e.system_message)
    heldout = heldout_questions(root, lang, e.reference_model)
    if e.judge != "none":
      requests, judge = judge_requests(e, root, lang, questions, answers, refs, model_id)
      judgment_path = os.path.join(out_dir, "model_judgment", f"{judge.name}_{lang}.jsonl")
      stats = judge_all(requests, judge, judgment_path, workers=e.judge_workers)
      for k, v in stats.usage.items():
        usage[k] = usage.get(k, 0) + v
      if stats.api_errors or stats.errors:
        api_errors += stats.api_errors
        log.warning("%s: %d judgments failed at the API (written as $ERROR$), %d requests failed (%s); "
                    "rerun to retry them", lang, stats.api_errors, len(stats.errors), stats.errors[:2])
      judged = aggregate.load([judgment_path], language=lang)
      judgments += judged
      judged_heldout += [j for j in judged if j["question_id"] in heldout]
    metric_rows += _metric_rows(lang, questions, answers, refs, heldout)
    if e.answer_loss:
      loss_rows += _loss_rows(run, e, lang, questions, refs)

  expected = turns_asked // len(languages)  # answer turns per language
  bench = aggregate.aggregate(judgments, categories=categories, expected=expected, duplicates=duplicates,
                              average=average)
  if e.judge != "none":
    aggregate.write_outputs(bench, out_dir)
  key = bench["score_key"] if e.judge != "none" else "none"  # "mt_bench" (an LLM judge) or "rule"
  rows = metric_rows + loss_rows
  metrics = [m for m in ALL_METRICS if any(m in r for r in rows)]
  _write_csv(os.path.join(out_dir, "metrics.csv"), rows)
  heldout_bench = aggregate.aggregate(judged_heldout, categories=categories, expected=0, duplicates=duplicates,
                                      average=average) if judged_heldout else {"models": {}}
  by_pair = text_metrics.means_by(rows, ("language", "family"), metrics)
  summary = {
      "model": model_id, "step": run.step, "bench": root, "judge": e.judge,
      "judging": judging_description(e, bench, model_id, usage, api_errors),
      "languages": text_metrics.means_by_language(rows, metrics),
      "families": text_metrics.means_by_family(rows, metrics),
      "language_families": {l: {f: v for (l2, f), v in by_pair.items() if l2 == l} for l in languages},
      key: bench["models"].get(model_id, {}).get("languages", {}),
      # the same, on the task families held out of training only (generalisation to new instructions)
      "languages_heldout": text_metrics.means_by_language([r for r in metric_rows if r["heldout_family"]], metrics),
      f"{key}_heldout": heldout_bench["models"].get(model_id, {}).get("languages", {}),
      "cross_lingual": bench["models"].get(model_id, {}).get("cross_lingual", {}),
  }
  atomic_write_json(os.path.join(out_dir, "summary.json"), summary)
  return summary


def judge_scores(summary: dict) -> tuple[str, dict]:
  """("mt_bench" or "rule", {language: judge-score means}) of a summary."""
  key = summary.get("judging", {}).get("score_key") or ("mt_bench" if "mt_bench" in summary else "rule")
  return key, summary.get(key, {})


def format_summary(summary: dict) -> str:
  key, scores = judge_scores(summary)
  label = "judge_score" if key == "mt_bench" else "rule_score"
  cols = (label, "exact_match", "chrf", "rouge_l", "in_language", "answer_loss")
  lines = [f"{'language':<9}" + "".join(f"{c:>13}" for c in cols)]
  for lang, m in summary["languages"].items():
    judged = scores.get(lang, {}).get("mean", float("nan"))
    vals = [judged] + [m.get(c, float("nan")) for c in cols[1:]]
    lines.append(f"{lang:<9}" + "".join(f"{v:>13.3f}" for v in vals))
  cl = summary.get("cross_lingual", {}).get("mean")
  if cl is not None:
    lines.append(f"cross-lingual {label}: {cl:.3f}")
  j = summary.get("judging")
  if j:
    lines.append(f"{label}: judge {j['judge']}; prompts {j['prompts']}; aggregation {j['aggregation']}")
    if j.get("usage"):
      lines.append("judge tokens: " + ", ".join(f"{k} {v}" for k, v in j["usage"].items()))
  return "\n".join(lines)


def _cli() -> None:
  from absl import app, flags
  from ml_collections import config_flags

  from itx.cli import parse_flags

  config = config_flags.DEFINE_config_file("config", None, "The run's config file (its eval section is used).")
  workdir = flags.DEFINE_string("workdir", None, "The run directory to evaluate.")
  step = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
  hf = flags.DEFINE_string("hf", None, "Evaluate this Hugging Face model directory (no training run); "
                           "results in --workdir/eval.")
  gguf = flags.DEFINE_string("gguf", None, "Evaluate this GGUF file (or builtin:gemma3-270m); results in --workdir/eval.")
  chat_template = flags.DEFINE_string("chat_template", "", "With --hf/--gguf: the chat template "
                                      "(itx.data.templates; default: the tokenizer's, else its family's).")
  flags.mark_flags_as_required(["config", "workdir"])

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("itx").setLevel(logging.INFO)
    if hf.value and gguf.value:
      raise app.UsageError("give --hf or --gguf, not both")
    checkpoint = f"hf:{hf.value}" if hf.value else f"gguf:{gguf.value}" if gguf.value else None
    summary = evaluate(workdir.value, config.value.eval, step=step.value, checkpoint=checkpoint,
                       chat_template=chat_template.value)
    print(format_summary(summary))
    print(f"results, plots and answers: {os.path.join(workdir.value, 'eval')}")

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()

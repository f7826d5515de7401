"""The opinion study's measurements beyond the answers' metrics (what tuning costs, the optional LLM
judge), its tidy rows (condition, seed, language, group, metric, value) and its tables and plots:
condition x group matrices with confidence intervals over seeds, confusion matrices, per-group bars,
the task score of the base and each condition per language (experiments/opinion_tasks.py)."""

from __future__ import annotations

import math
import os
from collections import defaultdict

import numpy as np

from itx import results
from itx.data.files import atomic_write_text
from itx.data.groups import GROUPS

FIELDS = ("condition", "seed", "language", "group", "metric", "value")
ALL = "all"  # the group column of a condition's overall value (macro accuracy, overall stance accuracy)
SHORT = {"liberal": "lib", "conservative": "cons", "german": "ger", "american": "amer", "latin american": "latam",
         "middle eastern": "mideast", "men": "men", "women": "women", "people over 30": "over30",
         "old people": "old", "teenagers": "teen"}
# metric -> what its table is titled (per-group metrics; ALL holds the condition's overall value)
GROUP_METRICS = {
    "recoverability": "group recoverability: answers the classifier names as their group (all: macro accuracy)",
    "stance_accuracy": "stance accuracy: answers taking their group's stance (all: every answer)",
    "distinctness": "distinctness: a group's stance differs from another group's on the same question",
}
COST_METRICS = ("reference_loss", "thread_loss", "thread_loss_change", "task_score", "task_score_delta",
                "stance_heldout", "stance_seen", "judge_macro_accuracy")


def thread_loss(run, preset, world: str) -> float:
  """Mean NLL per token of held-out discussion threads (the base model's own task, other draws than
  its corpus), in the preset's training languages."""
  from itx.eval.loss import document_nll
  from itx.worlds.opinions import OpinionSettings
  from itx.worlds.opinions.world import heldout_threads
  docs = heldout_threads(OpinionSettings.from_preset(preset.world), preset.heldout_chars)
  if preset.train_languages:
    docs = [d for d in docs if d["language"] in preset.train_languages]
  losses = document_nll(run, [d["text"] for d in docs], seq_len=run.config.data.seq_len, desc="held-out threads",
                        progress=False)
  return float(np.nanmean(losses))


def first_per_group(references: list[dict], n: int) -> list[dict]:
  """The first `n` references of each (language, group) in file order (0: all): a real base model's
  forward pass over every reference costs minutes on a CPU."""
  if not n:
    return references
  seen: dict[tuple, int] = {}
  out = []
  for r in references:
    key = (r["language"], r["group"])
    if seen.get(key, 0) < n:
      seen[key] = seen.get(key, 0) + 1
      out.append(r)
  return out


def _reference_loss(run, references: list[dict], cond) -> float:
  from itx.data.groups import condition_messages
  from itx.eval.loss import conversation_nll
  convs = [condition_messages(r["messages"], "tag" if cond.tagged else "pooled", r["language"], r["group"])
           for r in references]
  return float(np.nanmean(conversation_nll(run, convs, seq_len=run.config.data.seq_len, progress=False)))


def tuning_costs(run, preset, world: str | None, references: list[dict], cond) -> dict:
  """{reference_loss: NLL of the held-out reference answers asked as the condition asks,
  thread_loss: of held-out threads}. A routed model (an adapter bank) answers each group's
  references through that group's adapter; its thread loss is the mean over its adapters."""
  if world is None:  # real data: the base's own task is not generated (its loss comes from the validation split)
    thread = lambda r: None  # noqa: E731
  else:
    thread = lambda r: thread_loss(r, preset, world)  # noqa: E731
  if not cond.routed:
    return {"thread_loss": thread(run), "reference_loss": _reference_loss(run, references, cond)}
  import dataclasses
  per_group = {g: dataclasses.replace(run, adapter=i) for i, g in enumerate(GROUPS)}
  refs = [(_reference_loss(per_group[g], [r for r in references if r["group"] == g], cond),
           sum(r["group"] == g for r in references)) for g in GROUPS]
  threads = [thread(r) for r in per_group.values()]
  return {"thread_loss": None if world is None else float(np.mean(threads)),
          "reference_loss": float(sum(l * n for l, n in refs) / sum(n for _, n in refs))}


def judge_answers(answers: list[dict], workdir: str, args) -> dict:
  """{language: recoverability by the LLM judge} (judgments in workdir/judge_groups.jsonl)."""
  from itx.eval.group_judge import judge_groups, judged_recoverability
  from itx.eval.judge_client import JudgeConfig, OpenAIJudge
  judge = OpenAIJudge(JudgeConfig(base_url=args.judge_url, model=args.judge_model,
                                  api_key_env=args.judge_api_key_env, max_tokens=16))
  lines, _ = judge_groups(answers, judge, os.path.join(workdir, "judge_groups.jsonl"))
  return {lang: judged_recoverability([l for l in lines if l["language"] == lang])
          for lang in sorted({l["language"] for l in lines})}


def cell_rows(condition: str, seed: int, report: dict, costs: dict, base: dict | None, judged: dict | None,
              tasks: dict | None = None) -> list[dict]:
  """Tidy rows of one cell: per language and group, and the condition's overall values (group "all").
  tasks: {language: {"all": task score, group: a bank adapter's score}} (opinion_tasks.task_scores)."""
  rows = []

  def add(lang, group, metric, value):
    if value is not None:
      rows.append({"condition": condition, "seed": seed, "language": lang, "group": group, "metric": metric,
                   "value": float(value)})

  for lang, r in report.items():
    rec, stance = r["recoverability"], r["stance"]
    for g, v in rec["per_group"].items():
      add(lang, g, "recoverability", v)
    add(lang, ALL, "recoverability", rec["macro_accuracy"])
    if stance is not None:
      for g, v in stance["per_group"].items():
        add(lang, g, "stance_accuracy", v)
      add(lang, ALL, "stance_accuracy", stance["accuracy"])
      add(lang, ALL, "stance_heldout", stance["heldout_topics"])
      add(lang, ALL, "stance_seen", stance["seen_topics"])
    for g, v in r["distinctness_per_group"].items():
      add(lang, g, "distinctness", None if math.isnan(v) else v)
    add(lang, ALL, "distinctness", None if math.isnan(r["distinctness"]) else r["distinctness"])
    if judged and lang in judged:
      add(lang, ALL, "judge_macro_accuracy", judged[lang]["macro_accuracy"])
  for lang, by_group in (tasks or {}).items():
    for g, v in by_group.items():
      add(lang, g, "task_score", None if math.isnan(v) else v)
  add(ALL, ALL, "reference_loss", None if math.isnan(costs["reference_loss"]) else costs["reference_loss"])
  add(ALL, ALL, "thread_loss", costs.get("thread_loss"))
  if base and costs.get("thread_loss") is not None:
    add(ALL, ALL, "thread_loss_change", costs["thread_loss"] - base["thread_loss"])
  return rows


def task_deltas(rows: list[dict], base_tasks: dict | None) -> list[dict]:
  """task_score_delta rows: each task_score row minus the base model's score in its language (the
  base is scored once, possibly after the cells: so the deltas are derived when the tables are built)."""
  if not base_tasks:
    return []
  return [{**r, "metric": "task_score_delta", "value": r["value"] - base_tasks[r["language"]][ALL]}
          for r in rows if r["metric"] == "task_score" and r["language"] in base_tasks]


def format_task_table(rows: list[dict], conditions, base_tasks: dict | None, judge: str) -> tuple[str, dict]:
  """The task score per language (and the mean over languages) of the base and each condition, mean
  over seeds: (text, {model: {language: score}})."""
  languages = sorted({r["language"] for r in rows if r["metric"] == "task_score"})
  scores = {}
  if base_tasks:
    scores["base"] = {l: base_tasks[l][ALL] for l in languages if l in base_tasks}
  for c in conditions:
    got = {l: mean_ci([r["value"] for r in rows if r["condition"] == c and r["metric"] == "task_score"
                       and r["language"] == l and r["group"] == ALL])[0] for l in languages}
    if any(not math.isnan(v) for v in got.values()):
      scores[c] = got
  lines = [f"task score: {judge}, per language (mean over seeds; lora and bank: mean over their adapters)",
           f"{'':<12} " + " ".join(f"{l.upper():>7}" for l in languages) + f" {'mean':>7}"]
  for name, by_lang in scores.items():
    vals = [by_lang.get(l, math.nan) for l in languages]
    lines.append(f"{name:<12} " + " ".join(f"{v:>7.2f}" for v in vals) + f" {np.nanmean(vals):>7.2f}")
  return "\n".join(lines), scores


read_tidy = results.read_tidy  # one tidy CSV format for both studies


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
  """(mean, half-width of the Student-t interval over seeds; nan for one seed)."""
  from scipy import stats
  values = [v for v in values if not math.isnan(v)]
  if not values:
    return math.nan, math.nan
  if len(values) == 1:
    return float(values[0]), math.nan
  half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
  return float(np.mean(values)), float(half)


def group_matrix(rows: list[dict], metric: str, conditions, language: str) -> dict:
  """{condition: {group or "all": (mean over seeds, CI half-width)}} of one metric and language."""
  by = defaultdict(list)
  for r in rows:
    if r["metric"] == metric and r["language"] == language:
      by[(r["condition"], r["group"])].append(r["value"])
  return {c: {g: mean_ci(by[(c, g)]) for g in (*GROUPS, ALL) if (c, g) in by} for c in conditions}


def _cell(mean: float, half: float) -> str:
  if math.isnan(mean):
    return "    -"
  return f"{mean:.3f}" + (f"±{half:.3f}" if not math.isnan(half) else "")


def format_group_table(matrix: dict, title: str, extra_rows: dict | None = None) -> str:
  """Condition x group text table (mean, ± the 95% interval over seeds when there are several)."""
  cols = [*(SHORT[g] for g in GROUPS), ALL]
  entries = {c: [_cell(*m.get(g, (math.nan, math.nan))) for g in (*GROUPS, ALL)] for c, m in matrix.items()}
  for name, values in (extra_rows or {}).items():
    entries[name] = [_cell(values.get(g, math.nan), math.nan) for g in (*GROUPS, ALL)]
  width = max([6] + [len(v) for vals in entries.values() for v in vals])
  name_w = max([9] + [len(c) for c in entries])
  lines = [title, " " * name_w + " " + " ".join(f"{c:>{width}}" for c in cols)]
  lines += [f"{c:<{name_w}} " + " ".join(f"{v:>{width}}" for v in vals) for c, vals in entries.items()]
  return "\n".join(lines)


def write_results(out_dir: str, cells: list[dict], conditions, *, base: dict | None = None,
                  base_tasks: dict | None = None, task_judge: str = "") -> dict:
  """tidy.csv, condition x group tables (results.txt, results.json), confusion matrices, per-group
  bars and the task scores against the base. Returns what it printed and wrote."""
  from itx.eval.group_plots import confusion_plot, group_accuracy_bars, score_bars
  rows = [r for cell in cells for r in cell["rows"]]
  rows += task_deltas(rows, base_tasks)
  results.write_tidy(os.path.join(out_dir, "tidy.csv"), rows, fields=FIELDS)
  languages = sorted({r["language"] for r in rows if r["metric"] in GROUP_METRICS})  # the task score may ask more
  out = {"tables": {}, "costs": {}, "plots": [], "timings_s": {f"{c['condition']}_seed{c['seed']}": c["seconds"]
                                                               for c in cells}}
  text = []
  for lang in languages:
    for metric, title in GROUP_METRICS.items():
      matrix = group_matrix(rows, metric, conditions, lang)
      out["tables"][f"{metric}/{lang}"] = {c: {g: list(v) for g, v in m.items()} for c, m in matrix.items()}
      extra = {}
      if metric == "recoverability":
        extra["chance"] = {g: 1 / len(GROUPS) for g in (*GROUPS, ALL)}
        ceiling = (base or {}).get("reference_ceiling", {}).get(lang)
        if ceiling:
          extra["reference"] = {**ceiling["per_group"], ALL: ceiling["macro_accuracy"]}
      text.append(format_group_table(matrix, f"{title} [{lang.upper()}]", extra))
    reports = {}
    for c in conditions:
      m = group_matrix(rows, "recoverability", [c], lang)[c]
      if ALL in m:
        reports[c] = {"per_group": {g: v[0] for g, v in m.items() if g != ALL}, "macro_accuracy": m[ALL][0],
                      "chance": 1 / len(GROUPS)}
    if reports:
      out["plots"].append(group_accuracy_bars(reports, os.path.join(out_dir, f"groups_{lang}.png"),
                                              title=f"Group recoverability per group [{lang.upper()}]"))
  for cell in cells:
    for lang, conf in cell.get("confusion", {}).items():
      out["plots"].append(confusion_plot(conf, os.path.join(out_dir, f"confusion_{cell['condition']}_seed"
                                                                      f"{cell['seed']}_{lang}.png"),
                                         title=f"{cell['condition']} (seed {cell['seed']}, {lang.upper()}): macro "
                                               f"accuracy {conf['macro_accuracy']:.2f}, chance {conf['chance']:.2f}"))
  if any(r["metric"] == "task_score" for r in rows):
    table, scores = format_task_table(rows, conditions, base_tasks, task_judge or "judge score 1-10")
    text.append(table)
    out["task_scores"] = scores
    out["plots"].append(score_bars(scores, os.path.join(out_dir, "task_scores.png"),
                                   title="Task score per language: the base and each condition"))
  base_cost = {"thread_loss": (base or {}).get("thread_loss")}
  if base_tasks:
    base_cost["task_score"] = float(np.mean([v[ALL] for v in base_tasks.values()]))
  cost_lines = ["what tuning costs and the stance detail (mean over seeds; languages pooled where per language)",
                f"{'':<12} " + " ".join(f"{m:>20}" for m in COST_METRICS)]
  if any(v is not None for v in base_cost.values()):
    cost_lines.append(f"{'base':<12} " + " ".join(
        f"{base_cost[m]:>20.3f}" if base_cost.get(m) is not None else f"{'-':>20}" for m in COST_METRICS))
  for c in conditions:
    vals = {}
    for m in COST_METRICS:  # the condition's overall values (a bank's per-adapter rows are in tidy.csv)
      vals[m] = mean_ci([r["value"] for r in rows if r["condition"] == c and r["metric"] == m and r["group"] == ALL])
    out["costs"][c] = {m: list(v) for m, v in vals.items()}
    cost_lines.append(f"{c:<12} " + " ".join(f"{_cell(*vals[m]):>20}" for m in COST_METRICS))
  text.append("\n".join(cost_lines))
  out["text"] = "\n\n".join(text)
  results.write_json(os.path.join(out_dir, "results.json"), out)
  atomic_write_text(os.path.join(out_dir, "results.txt"), out["text"] + "\n")
  return out

"""Results of a study as tables and plots: the tidy table (condition, seed, evaluation language,
metric, value, and for judge scores the judge, prompt set and aggregation that produced them), the
condition x language matrix, and the relative gain of one condition over another per language with
a confidence interval over seeds. Used by experiments and notebooks.

Judge scores: "judge_score" is an LLM judge's MT-Bench-X score, "rule_score" the reference-based
rule judge's (never mixed up: they come from different summary keys); "_heldout" variants are the
same on the task families held out of training."""

from __future__ import annotations

import csv
import math
from collections import defaultdict

import numpy as np

from itx.data.files import atomic_open, atomic_write_json

TIDY_FIELDS = ("condition", "seed", "language", "metric", "value", "judge", "prompts", "aggregation")
PROVENANCE = ("judge", "prompts", "aggregation")
# summary key of `itx.evaluate` -> tidy metric
JUDGE_METRICS = {"mt_bench": "judge_score", "rule": "rule_score"}


def tidy_rows(condition: str, seed: int, summary: dict) -> list[dict]:
  """Rows of one evaluated run from `itx.evaluate`'s summary (per-language means and the judge's
  scores, the latter with the judge, prompt set and aggregation that produced them)."""
  judging = summary.get("judging", {})
  prov = {k: judging.get(k, "") for k in PROVENANCE}
  rows = []
  for lang, metrics in summary["languages"].items():
    for metric, value in metrics.items():
      if metric != "n":
        rows.append({"condition": condition, "seed": seed, "language": lang, "metric": metric, "value": value})
    for key, metric in JUDGE_METRICS.items():
      judged = summary.get(key, {}).get(lang, {}).get("mean")
      if judged is not None:
        rows.append({"condition": condition, "seed": seed, "language": lang, "metric": metric, "value": judged,
                     **prov})
      held = summary.get(f"{key}_heldout", {}).get(lang, {}).get("mean")
      if held is not None:  # on the task families no training file contains
        rows.append({"condition": condition, "seed": seed, "language": lang, "metric": f"{metric}_heldout",
                     "value": held, **prov})
  return rows


def provenance(rows: list[dict], metric: str) -> dict:
  """{"judge", "prompts", "aggregation"} behind `metric` (each "; "-joined if runs differ; empty
  for metrics no judge made)."""
  out = {}
  for k in PROVENANCE:
    vals = list(dict.fromkeys(r.get(k) or "" for r in rows if r["metric"] == metric))
    out[k] = "; ".join(v for v in vals if v)
  return out


def write_tidy(path: str, rows: list[dict], fields=TIDY_FIELDS) -> None:
  """The rows as CSV, written atomically (a crash keeps the old file)."""
  with atomic_open(path, newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)


def read_tidy(path: str) -> list[dict]:
  with open(path, encoding="utf-8") as f:
    return [{**r, "seed": int(r["seed"]), "value": float(r["value"])} for r in csv.DictReader(f)]


def _ordered(values, order=None):
  values = list(dict.fromkeys(values))
  if order:
    return [v for v in order if v in values] + [v for v in values if v not in order]
  return values


def matrix(rows: list[dict], metric: str, *, conditions=None, languages=None):
  """(conditions, languages, means [c, l], std over seeds [c, l]) of `metric`."""
  rows = [r for r in rows if r["metric"] == metric]
  conds = _ordered((r["condition"] for r in rows), conditions)
  langs = _ordered((r["language"] for r in rows), languages)
  cells = defaultdict(list)
  for r in rows:
    cells[(r["condition"], r["language"])].append(r["value"])
  mean = np.full((len(conds), len(langs)), np.nan)
  std = np.full_like(mean, np.nan)
  for i, c in enumerate(conds):
    for j, l in enumerate(langs):
      vals = [v for v in cells.get((c, l), []) if not math.isnan(v)]
      if vals:
        mean[i, j] = np.mean(vals)
        std[i, j] = np.std(vals, ddof=1) if len(vals) > 1 else np.nan
  return conds, langs, mean, std


def relative_gain(rows: list[dict], metric: str, treatment: str, baseline: str, *, confidence: float = 0.95,
                  lower_is_better: bool = False, languages=None) -> dict[str, dict]:
  """Per language: the gain of `treatment` over `baseline` in percent of the baseline, paired by
  seed, with a Student-t confidence interval over seeds (nan with a single seed).

  {language: {"gain_pct", "ci_low", "ci_high", "seeds"}}."""
  from scipy import stats
  by = defaultdict(dict)
  for r in rows:
    if r["metric"] == metric and r["condition"] in (treatment, baseline):
      by[(r["language"], r["seed"])][r["condition"]] = r["value"]
  per_lang = defaultdict(list)
  for (lang, _), pair in sorted(by.items()):
    if treatment in pair and baseline in pair and pair[baseline]:
      delta = pair[treatment] - pair[baseline]
      per_lang[lang].append(100.0 * (-delta if lower_is_better else delta) / abs(pair[baseline]))
  out = {}
  for lang in _ordered(per_lang, languages):
    gains = per_lang[lang]
    mean = float(np.mean(gains))
    if len(gains) > 1:
      half = stats.t.ppf(0.5 + confidence / 2, len(gains) - 1) * np.std(gains, ddof=1) / math.sqrt(len(gains))
    else:
      half = math.nan
    out[lang] = {"gain_pct": mean, "ci_low": mean - half, "ci_high": mean + half, "seeds": len(gains)}
  return out


def format_matrix(conds, langs, mean, *, title: str = "", source: dict | None = None) -> str:
  """The matrix as text; `source` ({"judge", "prompts", "aggregation"}) is printed under the title."""
  width = max([len(c) for c in conds] + [9])
  lines = [title] if title else []
  if source and any(source.values()):
    lines.append("  " + "; ".join(f"{k}: {v}" for k, v in source.items() if v))
  lines.append(f"{'condition':<{width}}" + "".join(f"{l:>8}" for l in langs) + f"{'mean':>8}")
  for c, row in zip(conds, mean):
    lines.append(f"{c:<{width}}" + "".join(f"{v:>8.3f}" for v in row) + f"{np.nanmean(row):>8.3f}")
  return "\n".join(lines)


def heatmap(conds, langs, mean, path: str, *, title: str) -> str:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(1.2 * len(langs) + 3, 0.5 * len(conds) + 1.5))
  im = ax.imshow(mean, cmap="viridis", aspect="auto")
  ax.set_xticks(range(len(langs)), langs)
  ax.set_yticks(range(len(conds)), conds)
  for i in range(len(conds)):
    for j in range(len(langs)):
      if not math.isnan(mean[i, j]):
        ax.text(j, i, f"{mean[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
  ax.set_xlabel("evaluation language")
  ax.set_title(title)
  fig.colorbar(im, ax=ax)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def gain_bars(gains: dict[str, dict], path: str, *, title: str) -> str:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  langs = list(gains)
  vals = [gains[l]["gain_pct"] for l in langs]
  err = np.array([[gains[l]["gain_pct"] - gains[l]["ci_low"] for l in langs],
                  [gains[l]["ci_high"] - gains[l]["gain_pct"] for l in langs]])
  fig, ax = plt.subplots(figsize=(1.1 * len(langs) + 2, 3.5))
  ax.bar(langs, vals, yerr=None if np.isnan(err).all() else np.nan_to_num(err), capsize=4,
         color=["tab:green" if v >= 0 else "tab:red" for v in vals])
  ax.axhline(0, color="k", lw=0.8)
  ax.set_ylabel("relative gain (%)")
  ax.set_title(title)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def condition_radar(conds, langs, mean, path: str, *, title: str) -> str:
  """One polygon per condition over the evaluation languages (itx.eval.plots.radar)."""
  from itx.eval.plots import radar
  return radar({c: list(row) for c, row in zip(conds, mean)}, list(langs), path, title=title, r_range=None)


def write_json(path: str, obj) -> None:
  """Indented JSON, written atomically."""
  atomic_write_json(path, obj)


def validation_curves(metrics: list[dict], path: str, *, title: str) -> str | None:
  """Training loss and every per-source validation loss (`val/<source>/loss`) of a run's
  metrics.jsonl rows against the step; None when the run logged no validation."""
  keys = sorted({k for m in metrics for k in m if k.startswith("val/") and k.count("/") == 2 and "=" not in k})
  if not keys:
    return None
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6, 4))
  train = [(m["step"], m["loss"]) for m in metrics if "loss" in m]
  if train:
    ax.plot(*zip(*train), color="0.6", lw=1, label="train")
  for k in keys:
    ax.plot(*zip(*[(m["step"], m[k]) for m in metrics if k in m]), marker="o", ms=3, label=k.split("/")[1])
  ax.set(xlabel="step", ylabel="loss per target token", title=title)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path

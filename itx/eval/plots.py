"""Radar plots of MT-Bench-X results: categories as axes, the mean score over both turns.

One PNG per (model, language) with turn 1, turn 2 and their average, and one overlay per model
with every language's average. Categories without judgments are left as gaps.
"""

from __future__ import annotations

import math
import os
import re
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402

from itx.eval import mt_bench  # noqa: E402


def category_scores(model_result: Mapping, language: str, turn: int | None = None,
                    categories: Sequence[str] = mt_bench.CATEGORIES) -> list[float]:
  """Mean score per category (NaN where nothing was judged). turn None: both turns, weighted by
  their numbers of judgments."""
  out = []
  for cat in categories:
    cells = [model_result["cells"].get(f"mt_bench_{language}_{cat}_{t}") for t in (1, 2)
             if turn in (None, t)]
    cells = [c for c in cells if c and c["n"]]
    n = sum(c["n"] for c in cells)
    out.append(sum(c["mean"] * c["n"] for c in cells) / n if n else float("nan"))
  return out


def _radar(series: Mapping[str, Sequence[float]], categories: Sequence[str], title: str,
           path: str) -> str:
  angles = [2 * math.pi * i / len(categories) for i in range(len(categories))]
  fig, ax = plt.subplots(figsize=(7, 6.5), subplot_kw={"projection": "polar"})
  for label, values in series.items():
    vals = list(values) + [values[0]]  # close the polygon
    ax.plot(angles + angles[:1], vals, marker="o", linewidth=1.5, label=label)
    if not any(math.isnan(v) for v in values):
      ax.fill(angles + angles[:1], vals, alpha=0.1)
  ax.set_xticks(angles)
  ax.set_xticklabels(categories)
  ax.set_ylim(0, 10)
  ax.set_yticks([2, 4, 6, 8, 10])
  ax.set_title(title, pad=24, fontsize=10)
  ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize="small")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def _safe(name: str) -> str:
  return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def present_categories(model_result: Mapping) -> list[str]:
  """The categories judged in a result: MT-Bench's eight in their order, then any others (e.g. a
  generated benchmark's task families), sorted."""
  found = {c["category"] for c in model_result["cells"].values()}
  return [c for c in mt_bench.CATEGORIES if c in found] + sorted(found - set(mt_bench.CATEGORIES))


def radar_plots(result: Mapping, out_dir: str, categories: Sequence[str] | None = None) -> list[str]:
  """Write radar_<model>_<LANG>.png per language and radar_<model>_overlay.png; returns paths.

  Args:
    result: the output of `aggregate.aggregate`.
    categories: the axes (default: MT-Bench's eight, or the categories judged when those are others).
  """
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for model, m in result["models"].items():
    judged = present_categories(m)
    axes = categories or (mt_bench.CATEGORIES if set(judged) <= set(mt_bench.CATEGORIES) else judged)
    overlay = {}
    for lang in m["languages"]:
      series = {"turn 1": category_scores(m, lang, 1, axes),
                "turn 2": category_scores(m, lang, 2, axes),
                "average": category_scores(m, lang, None, axes)}
      overlay[lang] = series["average"]
      paths.append(_radar(series, axes, f"{model}: MT-Bench-{lang}",
                          os.path.join(out_dir, f"radar_{_safe(model)}_{lang}.png")))
    paths.append(_radar(overlay, axes, f"{model}: MT-Bench-X by language",
                        os.path.join(out_dir, f"radar_{_safe(model)}_overlay.png")))
  return paths

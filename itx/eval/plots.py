"""Radar plots: `radar`, the one radar-chart function of itx (judge scores per category here, the
study's conditions per language in itx.results), and `judge_score_radars` for an aggregation.

As MT-Bench-X's radar charts: per language one polygon per turn over the categories (cell means),
plus the cross-lingual "Avg." chart (each cell averaged over languages); and one overlay per model
with every language's category means (mean of the two turns' cells). Missing values are gaps.
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

_NAN = float("nan")


def radar(series: Mapping[str, Sequence[float]], axes: Sequence[str], path: str, *, title: str,
          r_range: tuple[float, float] | None = (0, 10)) -> str:
  """One polygon per series over `axes`; NaN values leave gaps. Writes `path`, returns it.

  Args:
    series: {label: values}, each with len(axes) values.
    r_range: the radial axis; None scales it to the data (from 0).
  """
  angles = [2 * math.pi * i / len(axes) for i in range(len(axes))]
  fig, ax = plt.subplots(figsize=(7, 6.5), subplot_kw={"projection": "polar"})
  top = 0.0
  for label, values in series.items():
    values = [float(v) for v in values]
    if len(values) != len(axes):
      raise ValueError(f"series {label!r} has {len(values)} values for {len(axes)} axes")
    vals = values + values[:1]  # close the polygon
    ax.plot(angles + angles[:1], vals, marker="o", linewidth=1.5, label=label)
    if not any(math.isnan(v) for v in values):
      ax.fill(angles + angles[:1], vals, alpha=0.1)
    top = max([top] + [v for v in values if not math.isnan(v)])
  ax.set_xticks(angles)
  ax.set_xticklabels(axes)
  ax.set_ylim(*(r_range or (0, top * 1.1 or 1.0)))
  ax.set_title(title, pad=24, fontsize=10)
  ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize="small")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def category_scores(model_result: Mapping, language: str, turn: int | None, categories: Sequence[str],
                    key: str = "mt_bench") -> list[float]:
  """Cell mean per category (NaN where nothing was judged); turn None: the mean of the two
  turns' cells (every turn weighs the same, as the category-mean view)."""
  out = []
  for cat in categories:
    cells = [model_result["cells"].get(f"{key}_{language}_{cat}_{t}") for t in (1, 2)
             if turn in (None, t)]
    means = [c["mean"] for c in cells if c and c["n"]]
    out.append(sum(means) / len(means) if means else _NAN)
  return out


def present_categories(model_result: Mapping) -> list[str]:
  """The categories judged: MT-Bench's eight in their order, then any others (e.g. a generated
  benchmark's task families), sorted."""
  found = {c["category"] for c in model_result["cells"].values()}
  return [c for c in mt_bench.CATEGORIES if c in found] + sorted(found - set(mt_bench.CATEGORIES))


def _safe(name: str) -> str:
  return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def judge_score_radars(result: Mapping, out_dir: str,
                       categories: Sequence[str] | None = None) -> list[str]:
  """radar_<model>_<LANG>.png per language, radar_<model>_avg.png (cross-lingual) and
  radar_<model>_overlay.png for an `aggregate.aggregate` result; returns the paths.

  Args:
    categories: the axes (default: MT-Bench's eight, or the categories judged when those are others).
  """
  os.makedirs(out_dir, exist_ok=True)
  key = result.get("score_key", "mt_bench")
  what = "MT-Bench" if key == "mt_bench" else f"{key} judge"
  paths = []
  for model, m in result["models"].items():
    judged = present_categories(m)
    axes = categories or (mt_bench.CATEGORIES if set(judged) <= set(mt_bench.CATEGORIES) else judged)
    judge = ", ".join(m.get("judges", []))
    overlay = {}
    for lang in m["languages"]:
      overlay[lang] = category_scores(m, lang, None, axes, key)
      series = {f"turn {t}": category_scores(m, lang, t, axes, key) for t in (1, 2)}
      paths.append(radar(series, axes, os.path.join(out_dir, f"radar_{_safe(model)}_{lang}.png"),
                         title=f"{model}: {what} {lang} (judge {judge})"))
    cross = m["cross_lingual"].get("cells", {})
    series = {f"turn {t}": [cross.get(f"{c}_{t}", _NAN) for c in axes] for t in (1, 2)}
    paths.append(radar(series, axes, os.path.join(out_dir, f"radar_{_safe(model)}_avg.png"),
                       title=f"{model}: {what}, cross-lingual average (judge {judge})"))
    paths.append(radar(overlay, axes, os.path.join(out_dir, f"radar_{_safe(model)}_overlay.png"),
                       title=f"{model}: {what} by language (judge {judge})"))
  return paths

"""Plots of group recoverability: the confusion matrix (rows: the group a model answered for,
columns: the group the classifier named, each row normalised) and per-group accuracy bars of
several conditions against chance."""

from __future__ import annotations

import os
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # files only, no display (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_plot(report: Mapping, path: str, title: str = "") -> str:
  """A heat map of `report["confusion"]` (from itx.eval.groups.recoverability), rows normalised."""
  labels, counts = report["labels"], np.asarray(report["confusion"], float)
  rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
  fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(labels), 0.8 + 0.5 * len(labels)))
  im = ax.imshow(rows, vmin=0, vmax=1, cmap="Blues")
  ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
  ax.set_yticks(range(len(labels)), labels, fontsize=8)
  ax.set_xlabel("named by the classifier")
  ax.set_ylabel("answered as")
  for i in range(len(labels)):
    for j in range(len(labels)):
      if counts[i, j]:
        ax.text(j, i, f"{rows[i, j]:.2f}", ha="center", va="center", fontsize=6,
                color="white" if rows[i, j] > 0.5 else "black")
  ax.set_title(title or f"macro accuracy {report['macro_accuracy']:.2f} (chance {report['chance']:.2f})", fontsize=9)
  fig.colorbar(im, ax=ax, fraction=0.046)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def group_accuracy_bars(reports: Mapping[str, Mapping], path: str, title: str = "Group recoverability") -> str:
  """Grouped bars: per-group accuracy of each condition (`reports`: condition -> recoverability
  report), with each condition's macro accuracy in the legend and chance as a dashed line."""
  labels = sorted({g for r in reports.values() for g in r["per_group"]})
  width = 0.8 / max(len(reports), 1)
  fig, ax = plt.subplots(figsize=(2 + 0.7 * len(labels), 4))
  for k, (name, r) in enumerate(reports.items()):
    xs = np.arange(len(labels)) + (k - (len(reports) - 1) / 2) * width
    ax.bar(xs, [r["per_group"].get(g, np.nan) for g in labels], width, label=f"{name} ({r['macro_accuracy']:.2f})")
  chance = next(iter(reports.values()))["chance"] if reports else 0
  ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
  ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
  ax.set_ylim(0, 1)
  ax.set_ylabel("answers named as their group")
  ax.set_title(title, fontsize=10)
  ax.legend(fontsize=7)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def score_bars(scores: Mapping[str, Mapping[str, float]], path: str, title: str = "", ylabel: str = "judge score",
               top: float = 10.0) -> str:
  """Grouped bars of a score per language (`scores`: model -> {language: score}), e.g. the base model
  and each tuned condition side by side; the first model's bars are gray (the reference)."""
  languages = sorted({l for by_lang in scores.values() for l in by_lang})
  width = 0.8 / max(len(scores), 1)
  fig, ax = plt.subplots(figsize=(max(5.0, 2.5 + 0.9 * len(languages) * max(1, len(scores) / 3)), 3.5))
  for k, (name, by_lang) in enumerate(scores.items()):
    xs = np.arange(len(languages)) + (k - (len(scores) - 1) / 2) * width
    ax.bar(xs, [by_lang.get(l, np.nan) for l in languages], width, label=name, color="gray" if k == 0 else None)
  ax.set_xticks(range(len(languages)), [l.upper() for l in languages])
  ax.set_ylim(0, top)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=10)
  ax.legend(fontsize=7)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path

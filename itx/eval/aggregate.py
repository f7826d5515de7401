"""MT-Bench-X aggregation of single-answer grades, as FastChat's `show_result` computes it, with
the category-mean view of MT-Bench-X's radar charts; JSON/CSV and radar plots.

Counting (every option):
  - a judgment with score -1 is *failed*: counted, never averaged;
  - the same answer turn judged more than once (key = question, turn, model; e.g. repeated judge
    runs appended to one file) is resolved by `duplicates`:
      "all" (default): every line counts, as FastChat's show_result (the mean of all lines with
                       score != -1, per model and turn); n can exceed 160;
      "mean":          one value per key, the mean of its valid lines (each answer weighs the same
                       however often it was judged); failed only if none is valid;
      "last":          the valid line with the latest tstamp;
  - expected = 2 turns x questions (160 for MT-Bench's 80); missing = expected - answer turns with
    any line.
Means of a language:
  - cells: the mean per language x category x turn, keys like `mt_bench_DE_writing_1`;
  - line_mean: over every counted line of both turns (FastChat's "Average"), turn_1 / turn_2 likewise;
  - category_mean: the unweighted mean of the language's (category, turn) cells: every category
    weighs the same, as in MT-Bench-X's radar charts (equal to line_mean when every cell has the
    same count);
  - mean (the headline): line_mean, or category_mean with average="categories".
Cross-lingual: the unweighted mean of the language means, and per (category, turn) the mean of the
languages' cells (the "Avg." polygon of MT-Bench-X's radar charts).
(MT-Bench-X's own collection script averages -1 lines into its cells; FastChat and itx do not.)

Scores of the reference-based rule judge (prompt name "rule-v1") are keyed `rule_<LANG>_...`, never
`mt_bench_...`: they are not MT-Bench scores. A file mixing both raises.

  python -m itx.eval.aggregate JUDGMENT_FILE [...] [--out=DIR] [--bench=ROOT]
      [--duplicates=all|mean|last] [--average=lines|categories]
"""

from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

from itx.data.files import atomic_open, atomic_write_json
from itx.data.languages import STUDY_LANGUAGES
from itx.eval import mt_bench
from itx.eval.judgments import RULE_PROMPT, is_valid, judgment_key, read_judgments

DUPLICATE_POLICIES = ("all", "mean", "last")
AVERAGES = ("lines", "categories")
EXPECTED_PER_LANGUAGE = 2 * 80
LLM_KEY, RULE_KEY = "mt_bench", "rule"


def _mean(xs: Sequence[float]) -> float:
  return sum(xs) / len(xs) if xs else float("nan")


def _nanmean(xs: Iterable[float]) -> float:
  return _mean([x for x in xs if not math.isnan(x)])


def load(paths: Iterable[str], language: str | None = None) -> list[dict]:
  """All judgments of `paths`, each with a "language" field (`mt_bench.record_language`)."""
  return [{**r, "language": mt_bench.record_language(r, p, language)}
          for p in paths for r in read_judgments(p)]


def score_key(records: Iterable[Mapping]) -> str:
  """"rule" when every judgment is the rule judge's, "mt_bench" when none is; mixed raises."""
  kinds = {(r.get("judge") or [None, None])[1] == RULE_PROMPT for r in records}
  if kinds == {True, False}:
    raise ValueError("rule-judge and LLM-judge judgments mixed: aggregate them separately")
  return RULE_KEY if kinds == {True} else LLM_KEY


def describe(duplicates: str, average: str) -> str:
  """The aggregation in words, for tables that must say how a number was made."""
  d = {"all": "every judgment line (FastChat show_result)", "mean": "repeated judgments of an "
       "answer turn averaged first", "last": "the latest judgment of each answer turn"}[duplicates]
  a = {"lines": "mean over lines", "categories": "mean of category x turn means"}[average]
  return f"{a}; {d}; score -1 excluded"


def resolve(records: Sequence[Mapping], duplicates: str = "all") -> list[dict]:
  """One item per counted judgment: {"key", "model", "language", "question_id", "turn",
  "score" (None if failed), "judges", "prompts"} under the `duplicates` policy."""
  if duplicates not in DUPLICATE_POLICIES:
    raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, not {duplicates!r}")
  groups: dict[tuple, list[Mapping]] = defaultdict(list)
  for r in records:
    groups[(r["language"],) + judgment_key(r)].append(r)
  items = []
  for (lang, qid, turn, model), rs in groups.items():
    base = {"key": (qid, turn, model), "model": model, "language": lang, "question_id": qid,
            "turn": turn, "judges": sorted({r["judge"][0] for r in rs if r.get("judge")}),
            "prompts": sorted({r["judge"][1] for r in rs if r.get("judge")})}
    valid = [r for r in rs if is_valid(r)]
    if duplicates == "all":
      items += [{**base, "score": float(r["score"])} for r in valid]
      items += [{**base, "score": None}] * (len(rs) - len(valid))
    elif not valid:
      items.append({**base, "score": None})
    elif duplicates == "mean":
      items.append({**base, "score": _mean([float(r["score"]) for r in valid])})
    else:
      items.append({**base, "score": float(max(valid, key=lambda r: r.get("tstamp", 0))["score"])})
  return items


def _stats(items: Sequence[Mapping]) -> dict:
  scores = [i["score"] for i in items if i["score"] is not None]
  return {"mean": _mean(scores), "n": len(scores), "failed": len(items) - len(scores)}


def ordered_languages(found: Iterable[str]) -> list[str]:
  found = set(found)
  return [l for l in STUDY_LANGUAGES if l in found] + sorted(found - set(STUDY_LANGUAGES))


def aggregate(records: Sequence[Mapping], *, categories: Mapping | None = None,
              duplicates: str = "all", average: str = "lines",
              expected: int = EXPECTED_PER_LANGUAGE) -> dict:
  """Aggregate judgments (each with a "language" field, as `load` returns).

  Args:
    categories: {question_id: category} (from the question files); default from the id number.
    duplicates: "all", "mean" or "last"; average: "lines" or "categories" (module docstring).
    expected: answer turns expected per language and model (160 = 80 questions x 2 turns).
  Returns:
    {"duplicates", "average", "aggregation" (in words), "expected", "score_key", "models": {model: {
       "judges": [...], "prompts": [...],
       "cells": {"mt_bench_DE_writing_1": {"language", "category", "turn", "mean", "n", "failed"}},
       "languages": {"DE": {"mean", "line_mean", "category_mean", "turn_1", "turn_2", "n",
                            "failed", "missing", "expected", "lines"}},
       "cross_lingual": {"mean", "languages": [...], "cells": {"writing_1": mean, ...}}}}}
  """
  if average not in AVERAGES:
    raise ValueError(f"average must be one of {AVERAGES}, not {average!r}")
  prefix = score_key(records)
  items = resolve(records, duplicates)
  lines = defaultdict(int)
  for r in records:
    lines[(r["model"], r["language"])] += 1
  by_model: dict[str, list] = defaultdict(list)
  for it in items:
    qid = it["question_id"]
    cat = (categories or {}).get(qid) or mt_bench.category_of(qid)
    by_model[it["model"]].append({**it, "category": cat})
  out = {"duplicates": duplicates, "average": average, "aggregation": describe(duplicates, average),
         "expected": expected, "score_key": prefix, "models": {}}
  for model, its in by_model.items():
    cells, langs = {}, {}
    languages = ordered_languages(i["language"] for i in its)
    found_cats = {i["category"] for i in its}
    cats = [c for c in mt_bench.CATEGORIES if c in found_cats] + sorted(
        found_cats - set(mt_bench.CATEGORIES))
    for lang in languages:
      li = [i for i in its if i["language"] == lang]
      turn_cells = {1: [], 2: []}
      for cat in cats:
        for turn in (1, 2):
          ci = [i for i in li if i["category"] == cat and i["turn"] == turn]
          if ci:
            c = cells[f"{prefix}_{lang}_{cat}_{turn}"] = {"language": lang, "category": cat,
                                                          "turn": turn, **_stats(ci)}
            turn_cells[turn].append(c["mean"])
      line_turn = {t: _stats([i for i in li if i["turn"] == t])["mean"] for t in (1, 2)}
      cat_turn = {t: _nanmean(turn_cells[t]) for t in (1, 2)}
      s = _stats(li)
      category_mean = _nanmean(turn_cells[1] + turn_cells[2])
      by_lines = average == "lines"
      langs[lang] = {
          "mean": s["mean"] if by_lines else category_mean, "line_mean": s["mean"],
          "category_mean": category_mean,
          "turn_1": (line_turn if by_lines else cat_turn)[1],
          "turn_2": (line_turn if by_lines else cat_turn)[2],
          "n": s["n"], "failed": s["failed"],
          "missing": max(0, expected - len({i["key"] for i in li})), "expected": expected,
          "lines": lines[(model, lang)]}
    judged = [l for l in languages if langs[l]["n"]]
    cross_cells = {}
    for cat in cats:
      for turn in (1, 2):
        vals = [cells[k]["mean"] for l in judged if (k := f"{prefix}_{l}_{cat}_{turn}") in cells]
        if any(not math.isnan(v) for v in vals):
          cross_cells[f"{cat}_{turn}"] = _nanmean(vals)
    out["models"][model] = {
        "judges": sorted({j for i in its for j in i["judges"]}),
        "prompts": sorted({p for i in its for p in i["prompts"]}),
        "cells": cells, "languages": langs,
        "cross_lingual": {"mean": _mean([langs[l]["mean"] for l in judged]), "languages": judged,
                          "cells": cross_cells}}
  return out


def _fmt(x: float) -> str:
  return "   -" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:5.2f}"


def format_table(result: Mapping) -> str:
  """Plain-text report: one block per model with the key table and the language summary."""
  lines = []
  for model, m in result["models"].items():
    lines.append(f"model: {model}   judge: {', '.join(m['judges'])}   prompts: "
                 f"{', '.join(m['prompts'])}")
    lines.append(f"aggregation: {result['aggregation']} (duplicates={result['duplicates']}, "
                 f"average={result['average']})")
    lines.append(f"{'key':<32} {'n':>4} {'failed':>6} {'mean':>6}")
    for key, c in m["cells"].items():
      lines.append(f"{key:<32} {c['n']:>4} {c['failed']:>6} {_fmt(c['mean']):>6}")
    lines.append("")
    lines.append(f"{'language':<9} {'mean':>6} {'turn_1':>6} {'turn_2':>6} {'by_cat':>6} "
                 f"{'judged':>10} {'failed':>6} {'missing':>7} {'lines':>5}")
    for lang, s in m["languages"].items():
      lines.append(f"{lang:<9} {_fmt(s['mean']):>6} {_fmt(s['turn_1']):>6} {_fmt(s['turn_2']):>6} "
                   f"{_fmt(s['category_mean']):>6} {str(s['n']) + '/' + str(s['expected']):>10} "
                   f"{s['failed']:>6} {s['missing']:>7} {s['lines']:>5}")
    cl = m["cross_lingual"]
    lines.append(f"cross-lingual average: {_fmt(cl['mean']).strip()} "
                 f"(unweighted over {', '.join(cl['languages']) or 'no language'})")
    lines.append("")
  return "\n".join(lines)


def write_outputs(result: Mapping, out_dir: str, plots: bool = True) -> list[str]:
  """Write <key>_results.json, <key>_cells.csv, <key>_languages.csv (key: mt_bench, or rule for
  the rule judge) and radar PNGs; returns the paths written."""
  os.makedirs(out_dir, exist_ok=True)
  key = result["score_key"]
  paths = [os.path.join(out_dir, f"{key}_{n}") for n in
           ("results.json", "cells.csv", "languages.csv")]
  atomic_write_json(paths[0], result)
  with atomic_open(paths[1], newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "key", "language", "category", "turn", "n", "failed", "mean"])
    for model, m in result["models"].items():
      for k, c in m["cells"].items():
        w.writerow([model, k, c["language"], c["category"], c["turn"], c["n"], c["failed"],
                    c["mean"]])
  with atomic_open(paths[2], newline="") as f:
    w = csv.writer(f)
    cols = ["mean", "line_mean", "category_mean", "turn_1", "turn_2", "n", "failed", "missing",
            "expected", "lines"]
    w.writerow(["model", "language"] + cols + ["judge", "prompts", "aggregation"])
    for model, m in result["models"].items():
      prov = [" ".join(m["judges"]), " ".join(m["prompts"]), result["aggregation"]]
      for lang, s in m["languages"].items():
        w.writerow([model, lang] + [s[c] for c in cols] + prov)
      w.writerow([model, "cross_lingual", m["cross_lingual"]["mean"]] + [""] * (len(cols) - 1)
                 + prov)
  if plots:
    from itx.eval import plots as plots_lib
    paths += plots_lib.judge_score_radars(result, out_dir)
  return paths


def run(files: Sequence[str], *, out: str | None = None, bench: str | None = None,
        duplicates: str = "all", average: str = "lines", expected: int = EXPECTED_PER_LANGUAGE,
        language: str | None = None) -> dict:
  """What the command does: aggregate `files`, print the table, write outputs into `out`."""
  categories = mt_bench.question_categories(bench) if bench else None
  result = aggregate(load(files, language), categories=categories, duplicates=duplicates,
                     average=average, expected=expected)
  print(format_table(result))
  if out:
    for p in write_outputs(result, out):
      print(f"wrote {p}")
  return result


def _cli() -> None:
  # Flags are defined here, not at import: other modules import this one as a library.
  from absl import app, flags

  from itx.cli import parse_flags

  out = flags.DEFINE_string("out", None, "Write JSON, CSV and radar plots into this folder.")
  bench = flags.DEFINE_string("bench", None, "Benchmark root: categories from its question files.")
  duplicates = flags.DEFINE_enum("duplicates", "all", DUPLICATE_POLICIES,
                                 "Repeated judgments of an answer turn (module docstring).")
  average = flags.DEFINE_enum("average", "lines", AVERAGES,
                              "A language's headline mean: over lines, or of category means.")
  expected = flags.DEFINE_integer("expected", EXPECTED_PER_LANGUAGE,
                                  "Answer turns expected per language and model.")
  language = flags.DEFINE_string("language", None,
                                 "Language of judgments whose id and path name none.")

  def main(argv):
    if len(argv) < 2:
      raise app.UsageError("pass one or more judgment files")
    run(argv[1:], out=out.value, bench=bench.value, duplicates=duplicates.value,
        average=average.value, expected=expected.value, language=language.value)

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()

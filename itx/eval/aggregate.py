"""MT-Bench-X aggregation: mean judge score per language x category x turn (keys like
`mt_bench_DE_writing_1`), per language, and a cross-lingual average; JSON/CSV and radar plots.

Counting:
  - a judgment with score -1 is *failed*: counted, never averaged;
  - the same answer turn judged more than once (key = question, turn, model; e.g. repeated judge
    runs appended to one file) is resolved by `duplicates`:
      "mean" (default): one value per key, the mean of its valid judgments; failed only if none
                        is valid. Each answer weighs the same however often it was judged;
      "last":           the valid judgment with the latest tstamp;
      "all":            every valid line counts (FastChat's show_result); n can exceed 160;
  - expected = 2 turns x questions (160 for MT-Bench's 80); missing = expected - judged - failed.
Means: a language's mean is over all its judged answer turns (both turns; FastChat's "Average"),
turn_1/turn_2 over one turn; the cross-lingual average is the unweighted mean of language means.

  python -m itx.eval.aggregate JUDGMENT_FILE [JUDGMENT_FILE ...] [--out DIR] [--bench ROOT]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

from itx.eval import mt_bench
from itx.eval.judgments import is_valid, judgment_key, read_judgments

DUPLICATE_POLICIES = ("mean", "last", "all")
EXPECTED_PER_LANGUAGE = 2 * 80
_PATH_LANG = re.compile(r"mt_bench_([A-Za-z]+)")


def _mean(xs: Sequence[float]) -> float:
  return sum(xs) / len(xs) if xs else float("nan")


def record_language(record: Mapping, path: str | None = None, default: str | None = None) -> str:
  """Language of a judgment: its question id suffix ("81_DE"), else `mt_bench_<LANG>` in the
  file's path, else `default`."""
  lang = mt_bench.question_language(record["question_id"])
  if lang:
    return lang
  m = _PATH_LANG.search(os.path.abspath(path)) if path else None
  if m:
    return m.group(1)
  if default:
    return default
  raise ValueError(f"no language for question {record['question_id']!r} in {path}: pass one")


def load(paths: Iterable[str], language: str | None = None) -> list[dict]:
  """All judgments of `paths`, each with a "language" field added (see `record_language`)."""
  out = []
  for p in paths:
    for r in read_judgments(p):
      out.append({**r, "language": record_language(r, p, language)})
  return out


def resolve(records: Sequence[Mapping], duplicates: str = "mean") -> list[dict]:
  """One item per counted judgment: {"key", "model", "language", "question_id", "turn",
  "score" (None if failed), "judges"} under the `duplicates` policy (module docstring)."""
  if duplicates not in DUPLICATE_POLICIES:
    raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, not {duplicates!r}")
  groups: dict[tuple, list[Mapping]] = defaultdict(list)
  for r in records:
    groups[(r["language"],) + judgment_key(r)].append(r)
  items = []
  for (lang, qid, turn, model), rs in groups.items():
    base = {"key": (qid, turn, model), "model": model, "language": lang, "question_id": qid,
            "turn": turn, "judges": sorted({r["judge"][0] for r in rs if r.get("judge")})}
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


def aggregate(records: Sequence[Mapping], *, categories: Mapping | None = None,
              duplicates: str = "mean", expected: int = EXPECTED_PER_LANGUAGE) -> dict:
  """Aggregate judgments (each with a "language" field, as `load` returns).

  Args:
    categories: {question_id: category} (from the question files); default from the id number.
    duplicates: "mean", "last" or "all" (module docstring).
    expected: judgments expected per language and model (160 = 80 questions x 2 turns).
  Returns:
    {"duplicates", "expected", "models": {model: {
       "judges": [...],
       "cells": {"mt_bench_DE_writing_1": {"language", "category", "turn", "mean", "n", "failed"}},
       "languages": {"DE": {"mean", "turn_1", "turn_2", "n", "failed", "missing", "expected",
                            "lines"}},
       "cross_lingual": {"mean", "languages": [...]}}}}
  """
  items = resolve(records, duplicates)
  lines = defaultdict(int)
  for r in records:
    lines[(r["model"], r["language"])] += 1
  by_model: dict[str, list] = defaultdict(list)
  for it in items:
    qid = it["question_id"]
    cat = (categories or {}).get(qid) or mt_bench.category_of(qid)
    by_model[it["model"]].append({**it, "category": cat})
  out = {"duplicates": duplicates, "expected": expected, "models": {}}
  for model, its in by_model.items():
    cells, langs = {}, {}
    languages = [l for l in mt_bench.LANGUAGES if any(i["language"] == l for i in its)]
    languages += sorted({i["language"] for i in its} - set(languages))
    for lang in languages:
      li = [i for i in its if i["language"] == lang]
      for cat in mt_bench.CATEGORIES + tuple(sorted({i["category"] for i in li}
                                                    - set(mt_bench.CATEGORIES))):
        for turn in (1, 2):
          ci = [i for i in li if i["category"] == cat and i["turn"] == turn]
          if ci:
            cells[f"mt_bench_{lang}_{cat}_{turn}"] = {"language": lang, "category": cat,
                                                      "turn": turn, **_stats(ci)}
      s = _stats(li)
      keys = {i["key"] for i in li}
      langs[lang] = {**s, "turn_1": _stats([i for i in li if i["turn"] == 1])["mean"],
                     "turn_2": _stats([i for i in li if i["turn"] == 2])["mean"],
                     "missing": max(0, expected - len(keys)), "expected": expected,
                     "lines": lines[(model, lang)]}
    judged = [l for l in languages if langs[l]["n"]]
    out["models"][model] = {
        "judges": sorted({j for i in its for j in i["judges"]}), "cells": cells,
        "languages": langs,
        "cross_lingual": {"mean": _mean([langs[l]["mean"] for l in judged]),
                          "languages": judged}}
  return out


def _fmt(x: float) -> str:
  return "   -" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:5.2f}"


def format_table(result: Mapping) -> str:
  """Plain-text report: one block per model with the key table and the language summary."""
  lines = []
  for model, m in result["models"].items():
    lines.append(f"model: {model}   judge: {', '.join(m['judges'])}   "
                 f"duplicates: {result['duplicates']}")
    lines.append(f"{'key':<32} {'n':>4} {'failed':>6} {'mean':>6}")
    for key, c in m["cells"].items():
      lines.append(f"{key:<32} {c['n']:>4} {c['failed']:>6} {_fmt(c['mean']):>6}")
    lines.append("")
    lines.append(f"{'language':<9} {'mean':>6} {'turn_1':>6} {'turn_2':>6} {'judged':>10} "
                 f"{'failed':>6} {'missing':>7} {'lines':>5}")
    for lang, s in m["languages"].items():
      lines.append(f"{lang:<9} {_fmt(s['mean']):>6} {_fmt(s['turn_1']):>6} {_fmt(s['turn_2']):>6} "
                   f"{str(s['n']) + '/' + str(s['expected']):>10} {s['failed']:>6} "
                   f"{s['missing']:>7} {s['lines']:>5}")
    cl = m["cross_lingual"]
    lines.append(f"cross-lingual average: {_fmt(cl['mean']).strip()} "
                 f"(unweighted over {', '.join(cl['languages']) or 'no language'})")
    lines.append("")
  return "\n".join(lines)


def write_outputs(result: Mapping, out_dir: str, plots: bool = True) -> list[str]:
  """Write mt_bench_results.json, mt_bench_cells.csv, mt_bench_languages.csv (and radar PNGs);
  returns the paths written."""
  os.makedirs(out_dir, exist_ok=True)
  paths = [os.path.join(out_dir, n) for n in
           ("mt_bench_results.json", "mt_bench_cells.csv", "mt_bench_languages.csv")]
  with open(paths[0], "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2, ensure_ascii=False, allow_nan=True)
  with open(paths[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "key", "language", "category", "turn", "n", "failed", "mean"])
    for model, m in result["models"].items():
      for key, c in m["cells"].items():
        w.writerow([model, key, c["language"], c["category"], c["turn"], c["n"], c["failed"],
                    c["mean"]])
  with open(paths[2], "w", newline="") as f:
    w = csv.writer(f)
    cols = ["mean", "turn_1", "turn_2", "n", "failed", "missing", "expected", "lines"]
    w.writerow(["model", "language"] + cols)
    for model, m in result["models"].items():
      for lang, s in m["languages"].items():
        w.writerow([model, lang] + [s[c] for c in cols])
      w.writerow([model, "cross_lingual", m["cross_lingual"]["mean"]] + [""] * (len(cols) - 1))
  if plots:
    from itx.eval import plots as plots_lib
    paths += plots_lib.radar_plots(result, out_dir)
  return paths


def question_categories(root: str) -> dict:
  """{question_id: category} from every question file under a benchmark root."""
  return {q["question_id"]: q["category"] for lang in mt_bench.available_languages(root)
          for q in mt_bench.load_questions(root, lang)}


def main(argv: Sequence[str] | None = None) -> dict:
  ap = argparse.ArgumentParser(prog="python -m itx.eval.aggregate", description=__doc__.split(
      "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
  ap.add_argument("files", nargs="+", help="judgment JSONL files (MT-Bench-X format)")
  ap.add_argument("--out", help="write JSON, CSV and radar plots into this folder")
  ap.add_argument("--bench", help="benchmark root: categories from its question files")
  ap.add_argument("--duplicates", choices=DUPLICATE_POLICIES, default="mean")
  ap.add_argument("--expected", type=int, default=EXPECTED_PER_LANGUAGE,
                  help="judgments expected per language and model (default 160)")
  ap.add_argument("--language", help="language of judgments whose id and path name none")
  args = ap.parse_args(argv)
  categories = question_categories(args.bench) if args.bench else None
  result = aggregate(load(args.files, args.language), categories=categories,
                     duplicates=args.duplicates, expected=args.expected)
  print(format_table(result))
  if args.out:
    for p in write_outputs(result, args.out):
      print(f"wrote {p}")
  return result


if __name__ == "__main__":
  main(sys.argv[1:])

"""Agreement between two judges (human vs LLM, or two LLM judges) that scored the same answers.

Items. Each judgment file is resolved to one score per answer turn, key (question_id, turn,
model), with the duplicate policy of `aggregate.resolve` (default: mean of repeated valid
judgments). Only keys with a valid score from BOTH judges are compared; the rest are counted as
unmatched.

Score agreement, per language and pooled ("all"): Cohen's kappa with the distinct score values
as categories (unweighted by default; linear or quadratic weights treat 1..10 as ordinal),
Spearman's rho and Kendall's tau-b (scipy).

Pairwise agreement, MT-Bench's two setups (Zheng et al. 2023), derived from single scores:
  pairs: for every (language, question_id, turn), every unordered pair of DIFFERENT models
    {m1, m2} (m1 < m2 by name) whose answer turns are matched items. A file with a single model
    therefore has no pairs;
  votes: each judge votes "m1" if score(m1) - score(m2) > tie_delta, "m2" if < -tie_delta, else
    "tie" (tie_delta 0.1 as FastChat's TIE_DELTA: integer scores tie only when equal);
  with ties: fraction of pairs with the same vote, three classes (random baseline 1/3);
  without ties: only pairs where neither judge voted tie; fraction with the same winner
    (random baseline 1/2);
  vote kappa: Cohen's kappa of the two judges' three-class votes.

  python -m itx.eval.agreement A.jsonl B.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import warnings
from collections import defaultdict
from typing import Mapping, Sequence

from scipy import stats

from itx.eval import aggregate

TIE_DELTA = 0.1
_NAN = float("nan")


def cohen_kappa(a: Sequence, b: Sequence, weights: str | None = None) -> float:
  """Cohen's kappa of two raters' labels over the same items.

  Args:
    a, b: labels, same length (numbers when weights are used).
    weights: None (unweighted), "linear" or "quadratic" (disagreement |i-j| or (i-j)^2 over the
      sorted distinct labels' ranks, normalised by the largest).
  Returns:
    1 - observed / expected disagreement; NaN for no items; when chance disagreement is 0 (both
    raters gave one and the same label throughout) 1.0 if they agree on every item.
  """
  if len(a) != len(b):
    raise ValueError(f"{len(a)} vs {len(b)} labels")
  n = len(a)
  if n == 0:
    return _NAN
  labels = sorted(set(a) | set(b))
  index = {l: i for i, l in enumerate(labels)}
  k = len(labels)
  if weights is None:
    w = lambda i, j: float(i != j)  # noqa: E731
  elif weights in ("linear", "quadratic"):
    p = 1 if weights == "linear" else 2
    top = max(1, k - 1) ** p
    w = lambda i, j: abs(i - j) ** p / top  # noqa: E731
  else:
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
  ca, cb = defaultdict(int), defaultdict(int)
  observed = 0.0
  for x, y in zip(a, b):
    ca[index[x]] += 1
    cb[index[y]] += 1
    observed += w(index[x], index[y])
  observed /= n
  expected = sum(ca[i] * cb[j] * w(i, j) for i in range(k) for j in range(k)) / (n * n)
  if expected == 0:
    return 1.0 if observed == 0 else _NAN
  return 1.0 - observed / expected


def _corr(fn, a, b) -> float:
  if len(a) < 2:
    return _NAN
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # constant input: scipy warns and returns NaN
    return float(fn(a, b).statistic)


def scores_by_key(records: Sequence[Mapping], duplicates: str = "mean") -> dict[tuple, float]:
  """{(language, question_id, turn, model): score} of valid, resolved judgments."""
  return {(i["language"],) + i["key"]: i["score"]
          for i in aggregate.resolve(records, duplicates) if i["score"] is not None}


def vote(s1: float, s2: float, tie_delta: float = TIE_DELTA) -> str:
  """"m1", "m2" or "tie" from the two answers' scores."""
  d = s1 - s2
  return "m1" if d > tie_delta else "m2" if d < -tie_delta else "tie"


def pair_votes(scores: Mapping[tuple, float], tie_delta: float = TIE_DELTA) -> dict[tuple, str]:
  """{(language, question_id, turn, m1, m2): vote} for every pair of different models that
  answered the same question turn (m1 < m2)."""
  groups: dict[tuple, dict[str, float]] = defaultdict(dict)
  for (lang, qid, turn, model), s in scores.items():
    groups[(lang, qid, turn)][model] = s
  out = {}
  for g, by_model in groups.items():
    for m1, m2 in itertools.combinations(sorted(by_model), 2):
      out[g + (m1, m2)] = vote(by_model[m1], by_model[m2], tie_delta)
  return out


def _summary(sa: list, sb: list, va: list, vb: list, weights: str | None) -> dict:
  no_tie = [(x, y) for x, y in zip(va, vb) if x != "tie" and y != "tie"]
  return {
      "n": len(sa), "kappa": cohen_kappa(sa, sb, weights),
      "spearman": _corr(stats.spearmanr, sa, sb), "kendall": _corr(stats.kendalltau, sa, sb),
      "pairs": len(va),
      "agreement_with_ties": (sum(x == y for x, y in zip(va, vb)) / len(va)) if va else _NAN,
      "pairs_without_ties": len(no_tie),
      "agreement_without_ties": (sum(x == y for x, y in no_tie) / len(no_tie)) if no_tie else _NAN,
      "vote_kappa": cohen_kappa(va, vb)}


def agreement(a_records: Sequence[Mapping], b_records: Sequence[Mapping], *,
              duplicates: str = "mean", tie_delta: float = TIE_DELTA,
              weights: str | None = None) -> dict:
  """Agreement of judge A and judge B, per language and pooled.

  Args:
    a_records, b_records: judgments with a "language" field (`aggregate.load`).
    duplicates: how repeated judgments of one answer turn resolve (`aggregate.resolve`).
    tie_delta: score difference up to which a pair is a tie.
    weights: kappa weights for the scores (None, "linear", "quadratic").
  Returns:
    {language or "all": {"n", "kappa", "spearman", "kendall", "pairs", "agreement_with_ties",
     "pairs_without_ties", "agreement_without_ties", "vote_kappa"}, "unmatched": {"a", "b"}}
  """
  sa, sb = scores_by_key(a_records, duplicates), scores_by_key(b_records, duplicates)
  common = sorted(set(sa) & set(sb), key=str)
  va = pair_votes({k: sa[k] for k in common}, tie_delta)
  vb = pair_votes({k: sb[k] for k in common}, tie_delta)
  pairs = sorted(va, key=str)
  languages = list(dict.fromkeys(k[0] for k in common))
  out = {}
  for lang in languages + ["all"]:
    ks = [k for k in common if lang == "all" or k[0] == lang]
    ps = [p for p in pairs if lang == "all" or p[0] == lang]
    out[lang] = _summary([sa[k] for k in ks], [sb[k] for k in ks], [va[p] for p in ps],
                         [vb[p] for p in ps], weights)
  out["unmatched"] = {"a": len(set(sa) - set(sb)), "b": len(set(sb) - set(sa))}
  return out


def format_table(result: Mapping) -> str:
  f = lambda x: "    -" if isinstance(x, float) and math.isnan(x) else f"{x:5.3f}"  # noqa: E731
  lines = [f"{'language':<9} {'n':>5} {'kappa':>6} {'rho':>6} {'tau':>6} {'pairs':>6} "
           f"{'agree':>6} {'no-tie':>6} {'agree':>6} {'v-kap':>6}"]
  for lang, s in result.items():
    if lang == "unmatched":
      continue
    lines.append(f"{lang:<9} {s['n']:>5} {f(s['kappa']):>6} {f(s['spearman']):>6} "
                 f"{f(s['kendall']):>6} {s['pairs']:>6} {f(s['agreement_with_ties']):>6} "
                 f"{s['pairs_without_ties']:>6} {f(s['agreement_without_ties']):>6} "
                 f"{f(s['vote_kappa']):>6}")
  u = result["unmatched"]
  lines.append(f"unmatched answer turns: {u['a']} only in A, {u['b']} only in B")
  return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict:
  ap = argparse.ArgumentParser(prog="python -m itx.eval.agreement",
                               description="Agreement of two judgment files on the same answers.")
  ap.add_argument("a", help="judgments of judge A (JSONL, MT-Bench-X format)")
  ap.add_argument("b", help="judgments of judge B")
  ap.add_argument("--duplicates", choices=aggregate.DUPLICATE_POLICIES, default="mean")
  ap.add_argument("--tie-delta", type=float, default=TIE_DELTA)
  ap.add_argument("--weights", choices=("linear", "quadratic"), default=None)
  ap.add_argument("--language", help="language of judgments whose id and path name none")
  args = ap.parse_args(argv)
  result = agreement(aggregate.load([args.a], args.language), aggregate.load([args.b], args.language),
                     duplicates=args.duplicates, tie_delta=args.tie_delta, weights=args.weights)
  print(format_table(result))
  return result


if __name__ == "__main__":
  main(sys.argv[1:])

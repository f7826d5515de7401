"""Agreement between judges as Zheng et al. 2023 (MT-Bench) measure it, and between two graders'
scores of the same answers.

Votes. Every input becomes pairwise votes on items (language, turn, question, model pair):
  - MT-Bench's human judgments (the `mt_bench_human_judgments` release; a JSON array or JSON Lines):
    one vote per line {question_id, model_a, model_b, winner: model_a | model_b | tie |
    tie (bothbad), judge, turn};
  - a pairwise judgment file (FastChat's `<judge>_pair.jsonl`, `itx.eval.pairwise`): one vote per
    match; verdicts that differ between the two answer orders count as a tie (as Zheng et al.), a
    match with an "error" game is left out;
  - single-answer grades (`<judge>_single.jsonl`): for every question turn and every two models
    graded on it, a vote for the higher score, a tie when |difference| <= tie_delta (FastChat's
    TIE_DELTA, 0.1), as FastChat's play_a_match_pair turns single grades into a pairwise verdict.
  The two models of an item are ordered by name (the winner mirrored), as FastChat's
  compute_agreement does.

Agreement per turn and over both turns, in the two setups of Zheng et al.:
  S1 "with_ties": every pair of votes counts; two ties agree, "tie" and "tie (bothbad)" alike
     (random baseline 1/3);
  S2 "without_ties": only pairs of votes where neither is a tie (random baseline 1/2).
  Judge against judge (`agreement(A, B)`): every vote of A against every vote of B on the same
  item (FastChat: the GPT-4 vote against each expert's). Within one set (`agreement(A)`, human
  against human): every two votes on the same item. Each setup reports agree/total, the ratio and
  Cohen's kappa of the paired votes (scikit-learn).
`duplicates` decides how repeated single grades of one answer turn enter: "all" (default) keeps
every grade (every pair of grades is a vote), "mean" averages them first, "last" keeps the latest.
Every line of a vote file is a vote.

Score agreement (`score_agreement`) of two single-grade files on the same answer turns: Cohen's
kappa (scikit-learn; unweighted, linear or quadratic), Spearman's rho and Kendall's tau-b (scipy),
per language and pooled.

  python -m itx.eval.agreement --a=gpt4_single.jsonl --b=human.json --b_judge=expert
  python -m itx.eval.agreement --a=human.json --a_judge=expert          (human against human)
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

from scipy import stats
from sklearn.metrics import cohen_kappa_score

from itx.data import jsonl
from itx.data.files import atomic_write_json
from itx.eval import aggregate, mt_bench

TIE_DELTA = 0.1
_NAN = float("nan")
_MIRROR = {"model_a": "model_b", "model_b": "model_a"}
HUMAN_WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")


def cohen_kappa(a: Sequence, b: Sequence, weights: str | None = None) -> float:
  """Cohen's kappa (sklearn) of two raters' labels on the same items; labels ordered by value for
  linear/quadratic weights. NaN for no items; 1.0 when both raters gave one and the same label
  throughout (sklearn's 0/0)."""
  if len(a) != len(b):
    raise ValueError(f"{len(a)} vs {len(b)} labels")
  if not a:
    return _NAN
  labels = sorted(set(a) | set(b))
  if len(labels) == 1:
    return 1.0
  rank = {l: i for i, l in enumerate(labels)}  # sklearn takes class labels, not scores like 8.5
  return float(cohen_kappa_score([rank[x] for x in a], [rank[y] for y in b],
                                 labels=list(range(len(labels))), weights=weights))


def _corr(fn, a, b) -> float:
  if len(a) < 2:
    return _NAN
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # constant input: scipy warns and returns NaN
    return float(fn(a, b).statistic)


# ---- votes ----

def judge_name(record: Mapping) -> str:
  j = record.get("judge", "")
  return "/".join(map(str, j)) if isinstance(j, (list, tuple)) else str(j)


def _vote(language, qid, turn, model_a, model_b, winner, judge) -> dict:
  if model_a > model_b:
    model_a, model_b, winner = model_b, model_a, _MIRROR.get(winner, winner)
  return {"language": language, "turn": int(turn), "question_id": str(qid), "model_a": model_a,
          "model_b": model_b, "winner": winner, "judge": judge}


def votes_from_human(records: Iterable[Mapping], path: str = "", language: str | None = None) -> list[dict]:
  """Votes of MT-Bench's human-judgment format (every line is a vote)."""
  out = []
  for i, r in enumerate(records, 1):
    missing = [k for k in ("question_id", "model_a", "model_b", "winner", "judge", "turn")
               if k not in r]
    if missing:
      raise ValueError(f"{path}: record {i}: missing field(s) {missing}")
    if r["winner"] not in HUMAN_WINNERS:
      raise ValueError(f"{path}: record {i}: field winner is {r['winner']!r}, not one of "
                       f"{HUMAN_WINNERS}")
    out.append(_vote(mt_bench.record_language(r, path, language), r["question_id"], r["turn"],
                     r["model_a"], r["model_b"], r["winner"], judge_name(r)))
  return out


def votes_from_pairs(records: Iterable[Mapping], path: str = "", language: str | None = None,
                     duplicates: str = "all") -> list[dict]:
  """Votes of FastChat pair lines: g1 == g2 is the vote, differing verdicts a tie, errors left out.
  duplicates "last" keeps the latest line of a match."""
  records = list(records)
  if duplicates == "last":
    latest = {}
    for r in records:
      k = (r["question_id"], r["turn"], r["model_1"], r["model_2"], judge_name(r))
      if k not in latest or r.get("tstamp", 0) >= latest[k].get("tstamp", 0):
        latest[k] = r
    records = list(latest.values())
  elif duplicates != "all":
    raise ValueError(f"pairwise votes take duplicates 'all' or 'last', not {duplicates!r}")
  out = []
  as_ab = {"model_1": "model_a", "model_2": "model_b"}
  for r in records:
    g1, g2 = r["g1_winner"], r["g2_winner"]
    if "error" in (g1, g2):
      continue
    winner = as_ab.get(g1, g1) if g1 == g2 else "tie"
    out.append(_vote(mt_bench.record_language(r, path, language), r["question_id"], r["turn"],
                     r["model_1"], r["model_2"], winner, judge_name(r)))
  return out


def vote(s1: float, s2: float, tie_delta: float = TIE_DELTA) -> str:
  """"model_a", "model_b" or "tie" from the two answers' scores (FastChat: tie if |d| <= delta)."""
  d = s1 - s2
  return "tie" if abs(d) <= tie_delta else "model_a" if d > 0 else "model_b"


def votes_from_single(records: Sequence[Mapping], duplicates: str = "all",
                      tie_delta: float = TIE_DELTA) -> list[dict]:
  """Single grades (each with a "language" field, `aggregate.load`) turned into pairwise votes:
  every two models graded on a question turn, every pair of their valid grades."""
  groups: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
  for it in aggregate.resolve(records, duplicates):
    if it["score"] is not None:
      groups[(it["language"], it["question_id"], it["turn"])][it["model"]].append(
          (it["score"], "/".join(it["judges"]) + "/single"))
  out = []
  for (lang, qid, turn), by_model in groups.items():
    for m1, m2 in itertools.combinations(sorted(by_model), 2):
      for (s1, j1), (s2, _) in itertools.product(by_model[m1], by_model[m2]):
        out.append(_vote(lang, qid, turn, m1, m2, vote(s1, s2, tie_delta), j1))
  return out


def file_kind(record: Mapping) -> str:
  """"pair" (FastChat pair line), "human" (MT-Bench vote) or "single" (single grade)."""
  if "g1_winner" in record:
    return "pair"
  if "winner" in record:
    return "human"
  if "score" in record:
    return "single"
  raise ValueError(f"not a judgment or vote record: fields {sorted(record)}")


def read_vote_file(path: str) -> list[dict]:
  """The records of a JSON array (MT-Bench's human-judgment release) or of JSON Lines (judgment files,
  a line cut short by a crash skipped with a warning)."""
  with open(path, "rb") as f:
    head = f.read(1 << 12).lstrip()
  if not head.startswith(b"["):
    return jsonl.read_jsonl(path, tolerate_cut_tail=True)
  with open(path, "rb") as f:
    raw = f.read()
  try:
    return list(json.loads(raw.decode("utf-8")))
  except UnicodeDecodeError as e:
    line = raw[:e.start].count(b"\n") + 1
    raise jsonl.RecordError(path, line, "<bytes>", f"not UTF-8 (byte offset {e.start})") from None
  except json.JSONDecodeError as e:
    raise jsonl.RecordError(path, e.lineno, "<json>", f"not valid JSON: {e.msg} (column {e.colno})") from None


def load_votes(paths: Sequence[str], *, judge_prefix: str | None = None, duplicates: str = "all",
               tie_delta: float = TIE_DELTA, language: str | None = None) -> list[dict]:
  """Votes of every file in `paths` (any of the three formats), keeping only records whose judge
  name starts with `judge_prefix` (e.g. "expert" for MT-Bench's expert votes)."""
  out = []
  for p in paths:
    records = [r for r in read_vote_file(p)
               if not judge_prefix or judge_name(r).startswith(judge_prefix)]
    if not records:
      continue
    kind = file_kind(records[0])
    if kind == "human":
      out += votes_from_human(records, p, language)
    elif kind == "pair":
      out += votes_from_pairs(records, p, language, duplicates)
    else:
      loaded = [{**r, "language": mt_bench.record_language(r, p, language)} for r in records]
      out += votes_from_single(loaded, duplicates, tie_delta)
  return out


# ---- agreement of votes ----

def _is_tie(w: str) -> bool:
  return w.startswith("tie")


def _label(w: str) -> str:
  return "tie" if _is_tie(w) else w


def _items(votes: Iterable[Mapping]) -> dict[tuple, list[str]]:
  out = defaultdict(list)
  for v in votes:
    out[(v["language"], v["turn"], v["question_id"], v["model_a"], v["model_b"])].append(v["winner"])
  return out


def _setups(pairs: list[tuple]) -> dict:
  out = {"items": len({k for k, _, _ in pairs})}
  for name, ps in (("with_ties", pairs),
                   ("without_ties", [p for p in pairs if not _is_tie(p[1]) and not _is_tie(p[2])])):
    a, b = [_label(x) for _, x, _ in ps], [_label(y) for _, _, y in ps]
    agree = sum(x == y for x, y in zip(a, b))
    out[name] = {"agree": agree, "total": len(ps), "ratio": agree / len(ps) if ps else _NAN,
                 "kappa": cohen_kappa(a, b)}
  return out


def agreement(votes_a: Sequence[Mapping], votes_b: Sequence[Mapping] | None = None) -> dict:
  """S1/S2 agreement per language and turn (module docstring).

  Args:
    votes_a, votes_b: votes (`load_votes`); votes_b None: agreement within votes_a (human vs human).
  Returns:
    {"setup": "between" | "within", "judges_a": [...], "judges_b": [...],
     "languages": {language or "all": {"turn_1", "turn_2", "all": {"items", "with_ties":
     {"agree", "total", "ratio", "kappa"}, "without_ties": {...}}}}}
  """
  ia = _items(votes_a)
  if votes_b is None:
    pairs = [(k, x, y) for k, vs in ia.items() for x, y in itertools.combinations(vs, 2)]
  else:
    ib = _items(votes_b)
    pairs = [(k, x, y) for k in ia.keys() & ib.keys() for x in ia[k] for y in ib[k]]
  pairs.sort(key=lambda p: str(p[0]))
  languages = aggregate.ordered_languages(k[0] for k, _, _ in pairs)
  out = {}
  for lang in ["all"] + languages:
    ps = [p for p in pairs if lang == "all" or p[0][0] == lang]
    out[lang] = {"turn_1": _setups([p for p in ps if p[0][1] == 1]),
                 "turn_2": _setups([p for p in ps if p[0][1] == 2]), "all": _setups(ps)}
  return {"setup": "within" if votes_b is None else "between",
          "judges_a": sorted({v["judge"] for v in votes_a}),
          "judges_b": sorted({v["judge"] for v in votes_b or []}), "languages": out}


# ---- agreement of scores ----

def _scores(records: Sequence[Mapping], duplicates: str) -> dict[tuple, list[float]]:
  out = defaultdict(list)
  for it in aggregate.resolve(records, duplicates):
    if it["score"] is not None:
      out[(it["language"],) + it["key"]].append(it["score"])
  return out


def score_agreement(a_records: Sequence[Mapping], b_records: Sequence[Mapping], *,
                    duplicates: str = "all", weights: str | None = None) -> dict:
  """Agreement of two graders' scores of the same answer turns, per language and pooled.

  Args:
    a_records, b_records: single grades with a "language" field (`aggregate.load`).
    duplicates: "all" pairs every grade of A with every grade of B of an answer turn; "mean" and
      "last" resolve repeated grades first (`aggregate.resolve`).
    weights: kappa weights (None, "linear", "quadratic").
  Returns:
    {language or "all": {"n", "kappa", "spearman", "kendall"}, "unmatched": {"a", "b"}}
  """
  sa, sb = _scores(a_records, duplicates), _scores(b_records, duplicates)
  common = sorted(sa.keys() & sb.keys(), key=str)
  pairs = [(k, x, y) for k in common for x in sa[k] for y in sb[k]]
  out = {}
  for lang in aggregate.ordered_languages(k[0] for k in common) + ["all"]:
    ps = [p for p in pairs if lang == "all" or p[0][0] == lang]
    xa, xb = [x for _, x, _ in ps], [y for _, _, y in ps]
    out[lang] = {"n": len(ps), "kappa": cohen_kappa(xa, xb, weights),
                 "spearman": _corr(stats.spearmanr, xa, xb),
                 "kendall": _corr(stats.kendalltau, xa, xb)}
  out["unmatched"] = {"a": len(sa.keys() - sb.keys()), "b": len(sb.keys() - sa.keys())}
  return out


def _f(x) -> str:
  return "    -" if isinstance(x, float) and math.isnan(x) else f"{x:5.3f}"


def format_agreement(result: Mapping) -> str:
  who = (f"{', '.join(result['judges_a'])} vs {', '.join(result['judges_b'])}"
         if result["setup"] == "between" else f"within {', '.join(result['judges_a'])}")
  lines = [f"pairwise agreement ({who}); S1 with ties (random 0.33), S2 without (random 0.50)",
           f"{'language':<9} {'turn':<6} {'items':>6} {'S1 agree/total':>15} {'S1':>6} {'kappa':>6}"
           f" {'S2 agree/total':>15} {'S2':>6} {'kappa':>6}"]
  for lang, by_turn in result["languages"].items():
    for turn, s in by_turn.items():
      s1, s2 = s["with_ties"], s["without_ties"]
      lines.append(f"{lang:<9} {turn.replace('turn_', ''):<6} {s['items']:>6} "
                   f"{str(s1['agree']) + '/' + str(s1['total']):>15} {_f(s1['ratio']):>6} "
                   f"{_f(s1['kappa']):>6} {str(s2['agree']) + '/' + str(s2['total']):>15} "
                   f"{_f(s2['ratio']):>6} {_f(s2['kappa']):>6}")
  return "\n".join(lines)


def format_scores(result: Mapping) -> str:
  lines = [f"{'language':<9} {'n':>5} {'kappa':>6} {'rho':>6} {'tau':>6}"]
  for lang, s in result.items():
    if lang != "unmatched":
      lines.append(f"{lang:<9} {s['n']:>5} {_f(s['kappa']):>6} {_f(s['spearman']):>6} "
                   f"{_f(s['kendall']):>6}")
  u = result["unmatched"]
  lines.append(f"unmatched answer turns: {u['a']} only in A, {u['b']} only in B")
  return "\n".join(lines)


def run(a: Sequence[str], b: Sequence[str] | None = None, *, a_judge: str | None = None,
        b_judge: str | None = None, duplicates: str = "all", tie_delta: float = TIE_DELTA,
        weights: str | None = None, language: str | None = None, out: str | None = None) -> dict:
  """What the command does: vote agreement (and score agreement when A and B are both single
  grades); prints the tables, writes `out` (JSON) when given."""
  kw = dict(duplicates=duplicates, tie_delta=tie_delta, language=language)
  va = load_votes(a, judge_prefix=a_judge, **kw)
  vb = load_votes(b, judge_prefix=b_judge, **kw) if b else None
  result = {"votes": agreement(va, vb)}
  print(format_agreement(result["votes"]))
  kinds = {file_kind(r) for p in list(a) + list(b or []) for r in read_vote_file(p)[:1]}
  if b and kinds == {"single"}:
    result["scores"] = score_agreement(aggregate.load(a, language), aggregate.load(b, language),
                                       duplicates=duplicates, weights=weights)
    print("\nscore agreement\n" + format_scores(result["scores"]))
  result["settings"] = {"duplicates": duplicates, "tie_delta": tie_delta, "weights": weights,
                        "a": list(a), "b": list(b or []), "a_judge": a_judge, "b_judge": b_judge}
  if out:
    atomic_write_json(out, result)
  return result


def _cli() -> None:
  # Flags are defined here, not at import: other modules import this one as a library.
  from absl import app, flags

  from itx.cli import parse_flags

  a = flags.DEFINE_list("a", None, "Judge A's files: single grades, FastChat pair lines or MT-Bench "
                        "human votes (or pass A and B as the two arguments).")
  b = flags.DEFINE_list("b", None, "Judge B's files; none: agreement within A (human vs human).")
  a_judge = flags.DEFINE_string("a_judge", None, "Only A's records whose judge starts with this.")
  b_judge = flags.DEFINE_string("b_judge", None, "Only B's records whose judge starts with this.")
  duplicates = flags.DEFINE_enum("duplicates", "all", aggregate.DUPLICATE_POLICIES,
                                 "Repeated grades of an answer turn: all (every one), mean, last.")
  tie_delta = flags.DEFINE_float("tie_delta", TIE_DELTA, "Score difference up to which two "
                                 "single grades are a tie.")
  weights = flags.DEFINE_enum("weights", None, ["linear", "quadratic"], "Score kappa weights.")
  language = flags.DEFINE_string("language", None, "Language of records whose id and path name none.")
  out = flags.DEFINE_string("out", None, "Write the result as JSON to this file.")

  def main(argv):
    files_a, files_b = a.value, b.value
    if len(argv) > 1:
      if files_a or files_b or len(argv) > 3:
        raise app.UsageError("pass --a/--b, or at most two files as arguments")
      files_a, files_b = [argv[1]], argv[2:3] or None
    if not files_a:
      raise app.UsageError("pass --a (and --b)")
    run(files_a, files_b, a_judge=a_judge.value, b_judge=b_judge.value,
        duplicates=duplicates.value, tie_delta=tie_delta.value, weights=weights.value,
        language=language.value, out=out.value)

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()

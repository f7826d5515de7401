"""Judge agreement: identical judges agree fully; hand-computed kappa and pairwise agreement
(with and without ties) come out exactly; Spearman/Kendall match scipy and hand values; items
only one judge scored, or failed (-1), are left out; languages are reported separately."""

import json
import math

import pytest
from scipy import stats

from itx.eval import agreement as ag
from itx.eval import aggregate


def J(qid, model, score, turn=1):
  return {"question_id": qid, "model": model, "judge": ["j", "single-v1"], "user_prompt": "",
          "judgment": "", "score": score, "turn": turn, "tstamp": 0.0}


def load(tmp_path, name, records):
  p = tmp_path / name
  p.write_text("".join(json.dumps(r) + "\n" for r in records))
  return aggregate.load([str(p)])


def test_cohen_kappa_hand_examples():
  # po = 3/4; marginals a: (1/2, 1/2), b: (1/4, 3/4); pe = 1/8 + 3/8 = 1/2; kappa = 1/2.
  assert ag.cohen_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)
  assert ag.cohen_kappa([1, 3], [3, 1]) == pytest.approx(-1.0)
  assert ag.cohen_kappa([1, 3], [3, 1], "quadratic") == pytest.approx(-1.0)
  # Weighted: a near miss (4 vs 5) costs less than a far one (1 vs 5).
  near = ag.cohen_kappa([1, 5, 5, 3], [1, 4, 5, 3], "linear")
  far = ag.cohen_kappa([1, 5, 5, 3], [1, 1, 5, 3], "linear")
  assert 0 < far < near < 1
  assert ag.cohen_kappa([7, 7], [7, 7]) == 1.0
  assert math.isnan(ag.cohen_kappa([], []))


def test_identical_judges_agree_fully(tmp_path):
  recs = [J(f"{q}_DE", m, s, t) for q, m, s, t in [
      (81, "a", 8, 1), (81, "b", 5, 1), (81, "c", 5, 1), (82, "a", 3, 2), (82, "b", 9, 2),
      (83, "a", 6, 1), (83, "b", 7, 1)]]
  a = load(tmp_path, "a.jsonl", recs)
  res = ag.agreement(a, a)
  for lang in ("DE", "all"):
    r = res[lang]
    assert r["n"] == 7 and r["kappa"] == 1.0 and r["vote_kappa"] == 1.0
    assert r["spearman"] == pytest.approx(1.0) and r["kendall"] == pytest.approx(1.0)
    assert r["pairs"] == 3 + 1 + 1 and r["agreement_with_ties"] == 1.0
    assert r["pairs_without_ties"] == 4 and r["agreement_without_ties"] == 1.0


def test_pairwise_agreement_hand_example(tmp_path):
  # Question 81 (models a, b, c):  judge A: a=8 b=5 c=5   judge B: a=7 b=7 c=3
  #   (a,b): A says a, B tie | (a,c): both a | (b,c): A tie, B says b
  # Question 82 (a, b):            judge A: a=9 b=2      judge B: a=2 b=9 -> opposite winners
  a = load(tmp_path, "a.jsonl", [J("81_EN", "a", 8), J("81_EN", "b", 5), J("81_EN", "c", 5),
                                 J("82_EN", "a", 9), J("82_EN", "b", 2)])
  b = load(tmp_path, "b.jsonl", [J("81_EN", "a", 7), J("81_EN", "b", 7), J("81_EN", "c", 3),
                                 J("82_EN", "a", 2), J("82_EN", "b", 9)])
  r = ag.agreement(a, b)["EN"]
  assert r["pairs"] == 4
  assert r["agreement_with_ties"] == pytest.approx(1 / 4)       # only (81: a,c)
  assert r["pairs_without_ties"] == 2                           # (81: a,c) and (82: a,b)
  assert r["agreement_without_ties"] == pytest.approx(1 / 2)
  # Votes A: [m1, m1, tie, m1], B: [tie, m1, m1, m2]; po = 1/4;
  # pe = P_A(m1)P_B(m1) + P_A(tie)P_B(tie) = 3/4*2/4 + 1/4*1/4 = 7/16; kappa = (4/16-7/16)/(9/16).
  assert r["vote_kappa"] == pytest.approx(-1 / 3)


def test_tie_delta_decides_ties():
  assert ag.vote(7.0, 7.05) == "tie" and ag.vote(7.0, 7.5) == "m2" and ag.vote(8, 7) == "m1"
  assert ag.vote(7.0, 7.5, tie_delta=1.0) == "tie"


def test_correlations_match_scipy_and_hand_values(tmp_path):
  xa, xb = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
  # d = (-1, 1, -1, 1, 0): rho = 1 - 6*4 / (5*24) = 0.8; 2 of 10 pairs discordant: tau = 0.6.
  assert stats.spearmanr(xa, xb).statistic == pytest.approx(0.8)
  assert stats.kendalltau(xa, xb).statistic == pytest.approx(0.6)
  a = load(tmp_path, "a.jsonl", [J(f"{81 + i}_IT", "m", s) for i, s in enumerate(xa)])
  b = load(tmp_path, "b.jsonl", [J(f"{81 + i}_IT", "m", s) for i, s in enumerate(xb)])
  r = ag.agreement(a, b)["IT"]
  assert r["spearman"] == pytest.approx(0.8) and r["kendall"] == pytest.approx(0.6)
  assert r["pairs"] == 0 and math.isnan(r["agreement_with_ties"])  # one model: no pairs


def test_unmatched_and_failed_items_are_left_out_per_language(tmp_path):
  a = load(tmp_path, "a.jsonl", [J("81_DE", "m", 8), J("82_DE", "m", 6), J("83_DE", "m", -1),
                                 J("81_FR", "m", 4), J("84_DE", "m", 5)])
  b = load(tmp_path, "b.jsonl", [J("81_DE", "m", 8), J("82_DE", "m", 6), J("83_DE", "m", 2),
                                 J("81_FR", "m", 5)])
  res = ag.agreement(a, b)
  assert res["DE"]["n"] == 2 and res["DE"]["kappa"] == 1.0
  assert res["FR"]["n"] == 1 and res["FR"]["kappa"] == 0.0  # 4 vs 5 with nothing to compare
  assert res["all"]["n"] == 3
  assert res["unmatched"] == {"a": 1, "b": 1}  # 84_DE only in A; 83_DE failed in A


def test_cli(tmp_path, capsys):
  recs = [J("81_ES", "a", 8), J("81_ES", "b", 4)]
  for name in ("a.jsonl", "b.jsonl"):
    (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in recs))
  res = ag.main([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")])
  out = capsys.readouterr().out
  assert res["ES"]["agreement_without_ties"] == 1.0
  assert out.splitlines()[1].startswith("ES") and "unmatched answer turns: 0" in out

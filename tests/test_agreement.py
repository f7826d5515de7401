"""Judge agreement as Zheng et al. 2023: MT-Bench's human-judgment format is read; single grades
become pairwise votes (ties within TIE_DELTA); S1 (with ties) and S2 (without) per turn, judge
against human and human against human, come out as counted by hand; inconsistent pairwise
verdicts are ties and error matches are left out; every repeated grade is kept with
duplicates="all"; kappa (sklearn) and Spearman/Kendall (scipy) of scores match hand values."""

import json
import math
import os
import subprocess
import sys

import pytest
from scipy import stats

from itx.eval import agreement as ag
from itx.eval import aggregate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def G(qid, model, score, turn=1, judge="gpt-4"):
  """A single grade."""
  return {"question_id": qid, "model": model, "judge": [judge, "single-v1"], "user_prompt": "",
          "judgment": "", "score": score, "turn": turn, "tstamp": 0.0}


def H(qid, a, b, winner, judge, turn=1):
  """An MT-Bench human vote."""
  return {"question_id": qid, "model_a": a, "model_b": b, "winner": winner, "judge": judge,
          "turn": turn, "conversation_a": [], "conversation_b": []}


def write_jsonl(path, records):
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  return str(path)


def load(tmp_path, name, records):
  return aggregate.load([write_jsonl(tmp_path / name, records)])


# MT-Bench's original ids are plain integers; the language comes from --language.
HUMAN = [
    # turn 1
    H(81, "a", "b", "model_a", "expert_0"), H(81, "a", "b", "model_a", "expert_1"),
    H(81, "a", "b", "model_b", "author_0"),
    H(82, "a", "b", "tie", "expert_0"), H(82, "a", "b", "model_b", "expert_1"),
    H(83, "b", "a", "model_a", "expert_0"),            # b wins, listed in the other order
    # turn 2
    H(81, "a", "b", "model_b", "expert_0", 2), H(81, "a", "b", "tie (bothbad)", "expert_1", 2),
    H(82, "a", "b", "tie", "expert_0", 2),
]
GRADES = [
    G(81, "a", 8), G(81, "b", 5),          # a
    G(82, "a", 6), G(82, "b", 6),          # tie
    G(83, "a", 3), G(83, "b", 7),          # b
    G(81, "a", 4, 2), G(81, "b", 9, 2),    # b
    G(82, "a", 5, 2), G(82, "b", 5.05, 2),  # tie: |difference| <= 0.1
]


@pytest.fixture
def files(tmp_path):
  human = tmp_path / "human.json"
  human.write_text(json.dumps(HUMAN))  # a JSON array, as the release and compute_agreement
  return str(human), write_jsonl(tmp_path / "gpt-4_single.jsonl", GRADES)


def test_single_grades_become_votes_with_fastchat_tie_delta():
  assert ag.vote(7.0, 7.05) == "tie" and ag.vote(7.0, 7.1) == "tie" and ag.vote(7.0, 7.5) == "model_b"
  assert ag.vote(8, 7) == "model_a" and ag.vote(7.0, 7.5, tie_delta=1.0) == "tie"
  votes = ag.votes_from_single([{**g, "language": "EN"} for g in GRADES])
  got = {(v["turn"], v["question_id"]): v["winner"] for v in votes}
  assert got == {(1, "81"): "model_a", (1, "82"): "tie", (1, "83"): "model_b",
                 (2, "81"): "model_b", (2, "82"): "tie"}


def test_judge_against_human_s1_s2_per_turn_counted_by_hand(files):
  human, grades = files
  judge = ag.load_votes([grades], language="EN")
  experts = ag.load_votes([human], judge_prefix="expert", language="EN")
  assert {v["judge"] for v in experts} == {"expert_0", "expert_1"}
  r = ag.agreement(judge, experts)["languages"]
  t1, t2 = r["EN"]["turn_1"], r["EN"]["turn_2"]
  # Turn 1, judge vote against each expert vote: 81 a|a a|a, 82 tie|tie tie|b, 83 b|b.
  assert (t1["with_ties"]["agree"], t1["with_ties"]["total"]) == (4, 5)
  assert (t1["without_ties"]["agree"], t1["without_ties"]["total"]) == (3, 3)
  # Labels judge [a a tie tie b], experts [a a tie b b]: po = 4/5; pe = (2*2 + 2*1 + 1*2)/25 = 8/25.
  assert t1["with_ties"]["kappa"] == pytest.approx((4 / 5 - 8 / 25) / (1 - 8 / 25))
  # Turn 2: 81 b|b b|tie(bothbad), 82 tie|tie.
  assert (t2["with_ties"]["agree"], t2["with_ties"]["total"]) == (2, 3)
  assert (t2["without_ties"]["agree"], t2["without_ties"]["total"]) == (1, 1)
  both = r["all"]["all"]
  assert (both["with_ties"]["agree"], both["with_ties"]["total"], both["items"]) == (6, 8, 5)
  assert both["with_ties"]["ratio"] == pytest.approx(6 / 8)


def test_human_against_human_within_one_set(files):
  human, _ = files
  experts = ag.load_votes([human], judge_prefix="expert", language="EN")
  r = ag.agreement(experts)["languages"]["EN"]
  # Turn 1: 81 a|a agree, 82 tie|b disagree; 83 has one vote. S2 keeps only 81.
  assert (r["turn_1"]["with_ties"]["agree"], r["turn_1"]["with_ties"]["total"]) == (1, 2)
  assert (r["turn_1"]["without_ties"]["agree"], r["turn_1"]["without_ties"]["total"]) == (1, 1)
  # Turn 2: 81 b|tie (bothbad) disagree; no pair without ties.
  assert (r["turn_2"]["with_ties"]["agree"], r["turn_2"]["with_ties"]["total"]) == (0, 1)
  assert r["turn_2"]["without_ties"]["total"] == 0 and math.isnan(r["turn_2"]["without_ties"]["ratio"])
  # Without the filter the author's vote joins item 81: three votes, three pairs (a|a, a|b, a|b),
  # one agreeing; with 82's pair: 1 of 4.
  everyone = ag.agreement(ag.load_votes([human], language="EN"))["languages"]["EN"]["turn_1"]
  assert (everyone["with_ties"]["agree"], everyone["with_ties"]["total"]) == (1, 4)


def test_two_ties_agree_whatever_their_kind(tmp_path):
  a = ag.votes_from_human([H(81, "a", "b", "tie", "expert_0")], language="EN")
  b = ag.votes_from_human([H(81, "b", "a", "tie (bothbad)", "expert_1")], language="EN")
  r = ag.agreement(a, b)["languages"]["all"]["all"]
  assert r["with_ties"]["agree"] == 1 and r["without_ties"]["total"] == 0


def test_pairwise_judgments_inconsistent_is_tie_and_errors_are_left_out(tmp_path):
  def P(qid, g1, g2, turn=1):
    return {"question_id": qid, "model_1": "b", "model_2": "a", "g1_winner": g1, "g2_winner": g2,
            "judge": ["gpt-4", "pair-v2"], "g1_user_prompt": "", "g1_judgment": "",
            "g2_user_prompt": "", "g2_judgment": "", "turn": turn, "tstamp": 0.0}
  pairs = write_jsonl(tmp_path / "p.jsonl",
                      [P(81, "model_1", "model_2"),   # inconsistent -> tie
                       P(82, "model_1", "model_1"),   # b (model_1) wins both -> a loses
                       P(83, "error", "model_1")])     # left out
  votes = ag.load_votes([pairs], language="EN")
  assert {v["question_id"]: v["winner"] for v in votes} == {"81": "tie", "82": "model_b"}
  assert all((v["model_a"], v["model_b"]) == ("a", "b") for v in votes)
  human = ag.votes_from_human([H(81, "a", "b", "tie", "expert_0"), H(82, "a", "b", "model_b", "expert_0"),
                               H(83, "a", "b", "model_a", "expert_0")], language="EN")
  r = ag.agreement(votes, human)["languages"]["EN"]["turn_1"]
  assert (r["with_ties"]["agree"], r["with_ties"]["total"]) == (2, 2)
  assert (r["without_ties"]["agree"], r["without_ties"]["total"]) == (1, 1)


def test_duplicates_all_keeps_every_vote(tmp_path):
  grades = load(tmp_path, "g.jsonl", [G("81_EN", "a", 8), G("81_EN", "a", 4), G("81_EN", "b", 5)])
  votes_all = ag.votes_from_single(grades, duplicates="all")
  assert sorted(v["winner"] for v in votes_all) == ["model_a", "model_b"]  # 8 > 5, 4 < 5
  assert [v["winner"] for v in ag.votes_from_single(grades, duplicates="mean")] == ["model_a"]
  assert [v["winner"] for v in ag.votes_from_single(grades, duplicates="last")] == ["model_a"]
  human = ag.votes_from_human([H("81_EN", "a", "b", "model_a", "expert_0")])
  r = ag.agreement(votes_all, human)["languages"]["EN"]["turn_1"]["with_ties"]
  assert (r["agree"], r["total"]) == (1, 2)


def test_bad_human_record_names_the_file_record_and_field(tmp_path):
  p = write_jsonl(tmp_path / "h.jsonl", [H(81, "a", "b", "model_a", "expert_0"),
                                         H(82, "a", "b", "a is better", "expert_0")])
  with pytest.raises(ValueError, match=r"h.jsonl: record 2: field winner"):
    ag.load_votes([p], language="EN")


# ---- scores ----

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


def test_score_correlations_match_hand_values(tmp_path):
  xa, xb = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
  # d = (-1, 1, -1, 1, 0): rho = 1 - 6*4 / (5*24) = 0.8; 2 of 10 pairs discordant: tau = 0.6.
  a = load(tmp_path, "a.jsonl", [G(f"{81 + i}_IT", "m", s) for i, s in enumerate(xa)])
  b = load(tmp_path, "b.jsonl", [G(f"{81 + i}_IT", "m", s) for i, s in enumerate(xb)])
  r = ag.score_agreement(a, b)["IT"]
  assert r["spearman"] == pytest.approx(0.8) and r["kendall"] == pytest.approx(0.6)
  assert r["spearman"] == pytest.approx(stats.spearmanr(xa, xb).statistic)


def test_unmatched_and_failed_items_are_left_out_per_language(tmp_path):
  a = load(tmp_path, "a.jsonl", [G("81_DE", "m", 8), G("82_DE", "m", 6), G("83_DE", "m", -1),
                                 G("81_FR", "m", 4), G("84_DE", "m", 5)])
  b = load(tmp_path, "b.jsonl", [G("81_DE", "m", 8), G("82_DE", "m", 6), G("83_DE", "m", 2),
                                 G("81_FR", "m", 5)])
  res = ag.score_agreement(a, b)
  assert res["DE"]["n"] == 2 and res["DE"]["kappa"] == 1.0
  assert res["FR"]["n"] == 1 and res["FR"]["kappa"] == 0.0  # 4 vs 5 with nothing to compare
  assert res["all"]["n"] == 3
  assert res["unmatched"] == {"a": 1, "b": 1}  # 84_DE only in A; 83_DE failed in A


def test_cli_with_flags_and_with_two_files(files, tmp_path):
  human, grades = files
  out = tmp_path / "agreement.json"
  proc = subprocess.run([sys.executable, "-m", "itx.eval.agreement", f"--a={grades}", f"--b={human}",
                         "--b_judge=expert", "--language=EN", f"--out={out}"],
                        capture_output=True, text=True, cwd=ROOT)
  assert proc.returncode == 0, proc.stderr
  res = json.load(open(out))
  t1 = res["votes"]["languages"]["EN"]["turn_1"]["with_ties"]
  assert (t1["agree"], t1["total"]) == (4, 5) and "S1" in proc.stdout
  proc = subprocess.run([sys.executable, "-m", "itx.eval.agreement", grades, grades, "--language=EN"],
                        capture_output=True, text=True, cwd=ROOT)
  assert proc.returncode == 0, proc.stderr
  assert "score agreement" in proc.stdout and "unmatched answer turns: 0" in proc.stdout

"""Pairwise judging as FastChat's play_a_match_pair with MT-Bench-X's pair prompts: both answer
orders are judged, verdicts are read in FastChat's order, inconsistent verdicts count as ties,
error matches are left out, "$ERROR$" games are replayed on a rerun; win/tie/loss per language and
category against a baseline and over all pairs, counted by hand; the real pair prompts of every
language are filled completely; the command runs end to end against a local server."""

import json
import os
import re
import subprocess
import sys

import pytest

from itx.data.languages import STUDY_LANGUAGES
from itx.eval import mt_bench, pairwise as pw
from itx.eval.judge_client import Completion, JudgeError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_BENCH = os.path.join(ROOT, "..", "shared", "mt_bench_x")

PROMPTS = [
    {"name": "pair-v2", "type": "pairwise", "system_prompt": "S", "output_format": "[[A]]",
     "prompt_template": "Q={question}|A={answer_a}|B={answer_b}"},
    {"name": "pair-math-v1", "type": "pairwise", "system_prompt": "SM", "output_format": "[[A]]",
     "prompt_template": "Q={question}|R={ref_answer_1}|A={answer_a}|B={answer_b}"},
    {"name": "pair-v2-multi-turn", "type": "pairwise", "system_prompt": "S2", "output_format": "[[A]]",
     "prompt_template": "{question_1}|A:{answer_a_1}|{question_2}|A:{answer_a_2}||B:{answer_b_1}|B:{answer_b_2}"},
    {"name": "pair-math-v1-multi-turn", "type": "pairwise", "system_prompt": "SM2",
     "output_format": "[[A]]", "prompt_template": "{ref_answer_1}|{ref_answer_2}|A:{answer_a_1}|"
                                                  "A:{answer_a_2}|B:{answer_b_1}|B:{answer_b_2}"},
]


def write_bench(root, lang="XX", models=None):
  d = root / f"mt_bench_{lang}"
  (d / "reference_answer").mkdir(parents=True)
  (d / "judge_prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
  qs = [{"question_id": f"81_{lang}", "category": "writing", "turns": ["w1", "w2"]},
        {"question_id": f"111_{lang}", "category": "math", "turns": ["m1", "m2"]}]
  (d / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
  ref = mt_bench.answer_record(f"111_{lang}", "gpt-4", ["r1", "r2"])
  (d / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(ref) + "\n")
  for model, texts in (models or {}).items():
    mt_bench.write_answers(str(d / "model_answer" / f"{model}.jsonl"), model,
                           {q["question_id"]: [f"{t} id={q['question_id']}" for t in texts] for q in qs})
  return str(root)


class ScriptedJudge:
  """Prefers the answer with the higher quality mark ("q<digit>"), shown as A or B; `biased`:
  always answers [[A]] (position bias); `fail`: these user prompts raise JudgeError."""
  name = "scripted"

  def __init__(self, biased=False, fail=()):
    self.biased, self.fail, self.calls = biased, set(fail), []

  def complete(self, messages):
    prompt = messages[-1]["content"]
    self.calls.append(prompt)
    if any(f in prompt for f in self.fail):
      raise JudgeError("injected")
    if self.biased:
      return Completion("[[A]]", {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    a, b = prompt.split("A=")[-1].split("|B=") if "A=" in prompt else (  # turn 2: second answers
        prompt.split("|A:")[2], prompt.split("|B:")[2])
    qa, qb = int(a.split("q")[1][0]), int(b.split("q")[1][0])
    return Completion("[[A]]" if qa > qb else "[[B]]" if qb > qa else "[[C]]")


def test_verdicts_are_read_in_fastchat_order():
  assert [pw.parse_verdict(t) for t in ("x [[A]] y [[B]]", "[[B]] then [[A]]", "[[C]]", "[[D]]",
                                        "no verdict", "$ERROR$")] == [
      "A", "A", "tie", "tie (bothbad)", "error", "error"]


def test_both_orders_are_prompted_with_the_language_pair_prompts(tmp_path):
  root = write_bench(tmp_path, models={"m": ["q5 one", "q5 two"], "base": ["q1 one", "q1 two"]})
  answers = mt_bench.load_model_answers(str(tmp_path / "mt_bench_XX" / "model_answer"))
  matches = {(m.question_id, m.turn): m
             for m in pw.build_pair_matches(root, "XX", answers, mode="baseline", baseline="base")}
  assert len(matches) == 4
  w1, m2 = matches["81_XX", 1], matches["111_XX", 2]
  assert (w1.model_1, w1.model_2, w1.prompt_name, w1.system_prompt) == ("m", "base", "pair-v2", "S")
  assert w1.user_prompts == ("Q=w1|A=q5 one id=81_XX|B=q1 one id=81_XX",
                             "Q=w1|A=q1 one id=81_XX|B=q5 one id=81_XX")
  assert m2.prompt_name == "pair-math-v1-multi-turn"
  assert m2.user_prompts[0] == ("r1|r2|A:q5 one id=111_XX|A:q5 two id=111_XX|B:q1 one id=111_XX|"
                                "B:q1 two id=111_XX")
  assert m2.messages(2)[0] == {"role": "system", "content": "SM2"}
  assert m2.messages(2)[1]["content"].startswith("r1|r2|A:q1 one")


def test_long_answers_are_cut_to_the_judge_context_as_mt_bench_x():
  fields = {"question": "q " * 10, "answer_a": "a " * 2000, "answer_b": "b " * 3000}
  assert pw.fit_context({"question": "q", "answer_a": "a", "answer_b": "b"}, "s") == {
      "question": "q", "answer_a": "a", "answer_b": "b"}
  cut = pw.fit_context(fields, "sys prompt")
  per = int(((8192 - 2048) / 2.3 - 10 - 2) / 2)
  assert len(cut["answer_a"].split()) == len(cut["answer_b"].split()) == per
  assert cut["question"] == fields["question"]


def records_of(tmp_path, judge, models, mode, baseline=None, name="p.jsonl"):
  root = write_bench(tmp_path / "bench", models=models)
  answers = mt_bench.load_model_answers(os.path.join(root, "mt_bench_XX", "model_answer"))
  out = str(tmp_path / name)
  stats = pw.judge_pairs(pw.build_pair_matches(root, "XX", answers, mode=mode, baseline=baseline),
                         judge, out, progress=False)
  return out, stats, pw.load_pairs([out])


def test_consistent_verdicts_win_and_inconsistent_ones_tie(tmp_path):
  models = {"good": ["q9 a", "q9 b"], "mid": ["q5 a", "q5 b"], "base": ["q1 a", "q5 b"]}
  out, stats, recs = records_of(tmp_path, ScriptedJudge(), models, "baseline", "base")
  assert stats.written == 8 and all(len({r["g1_user_prompt"], r["g2_user_prompt"]}) == 2 for r in recs)
  res = pw.win_rates(recs, baseline="base")
  assert set(res["models"]) == {"good", "mid"}  # the baseline's own row is dropped
  # good beats base in all 4 matches; mid beats base on turn 1 (q5 > q1), ties on turn 2 (q5 = q5).
  assert {k: res["models"]["good"]["all"][k] for k in ("win", "tie", "loss")} == {"win": 4, "tie": 0, "loss": 0}
  mid = res["models"]["mid"]
  assert {k: mid["all"][k] for k in ("win", "tie", "loss")} == {"win": 2, "tie": 2, "loss": 0}
  assert mid["languages"]["XX"]["categories"]["math"]["win"] == 1
  assert mid["languages"]["XX"]["turns"][2]["tie"] == 2
  assert mid["all"]["win_rate"] == 0.5 and mid["all"]["win_rate_adjusted"] == 0.75
  # A judge that always says [[A]] is inconsistent on every match: all ties.
  _, _, biased = records_of(tmp_path / "b", ScriptedJudge(biased=True), models, "all")
  res = pw.win_rates(biased)
  assert res["inconsistent"] == 12 and all(m["all"]["tie"] == 8 and m["all"]["win"] == 0
                                           for m in res["models"].values())


def test_all_pairs_counts_every_model_of_every_match(tmp_path):
  models = {"a": ["q9 x", "q9 y"], "b": ["q5 x", "q5 y"], "c": ["q1 x", "q1 y"]}
  _, _, recs = records_of(tmp_path, ScriptedJudge(), models, "all")
  assert {(r["model_1"], r["model_2"]) for r in recs} == {("a", "b"), ("a", "c"), ("b", "c")}
  res = pw.win_rates(recs)
  wtl = {m: tuple(res["models"][m]["all"][k] for k in ("win", "tie", "loss")) for m in models}
  assert wtl == {"a": (8, 0, 0), "b": (4, 0, 4), "c": (0, 0, 8)}  # 4 matches per pair


def test_api_errors_are_left_out_and_only_they_are_replayed(tmp_path):
  models = {"m": ["q9 a", "q9 b"], "base": ["q1 a", "q1 b"]}
  judge = ScriptedJudge(fail={"Q=w1|A=q1 a"})  # game 2 of (81, turn 1)
  out, stats, recs = records_of(tmp_path, judge, models, "baseline", "base")
  assert stats.api_errors == 1
  bad = [r for r in recs if pw.pair_has_api_error(r)]
  assert len(bad) == 1 and bad[0]["g2_judgment"] == "$ERROR$" and bad[0]["g2_winner"] == "error"
  res = pw.win_rates(recs, baseline="base")
  assert res["errors"] == 1 and res["models"]["m"]["all"]["win"] == 3
  again = ScriptedJudge()
  root = str(tmp_path / "bench")
  answers = mt_bench.load_model_answers(os.path.join(root, "mt_bench_XX", "model_answer"))
  stats = pw.judge_pairs(pw.build_pair_matches(root, "XX", answers, mode="baseline", baseline="base"),
                         again, out, progress=False)
  assert (stats.dropped_errors, stats.written, len(again.calls)) == (1, 1, 2)  # one match, two games
  recs = pw.load_pairs([out])
  assert len(recs) == 4 and pw.win_rates(recs, baseline="base")["models"]["m"]["all"]["win"] == 4


@pytest.mark.skipif(not os.path.isdir(REAL_BENCH), reason="MT-Bench-X data is not present")
def test_real_pair_prompts_of_every_language_fill_every_placeholder():
  for lang in STUDY_LANGUAGES:
    prompts = mt_bench.load_judge_prompts(REAL_BENCH, lang)
    for name in ("pair-v2", "pair-math-v1", "pair-v2-multi-turn", "pair-math-v1-multi-turn"):
      assert prompts[name]["output_format"] == "[[A]]"
    qs = mt_bench.load_questions(REAL_BENCH, lang)
    answers = {m: {q["question_id"]: [f"{m.upper()}-ONE {{x}}", f"{m.upper()}-TWO"] for q in qs}
               for m in ("a", "b")}
    refs = mt_bench.load_reference_answers(REAL_BENCH, lang)
    matches = pw.build_pair_matches(REAL_BENCH, lang, answers, mode="all")
    assert len(matches) == 160
    for m in matches:
      g1, g2 = m.user_prompts
      assert "{x}" in g1  # braces inside answers are kept verbatim
      assert not re.search(r"\{(question|answer|ref_answer)[a-z_0-9]*\}", g1 + g2)
      # Game 1 shows a first, game 2 shows b first.
      assert g1.index("A-ONE") < g1.index("B-ONE") and g2.index("B-ONE") < g2.index("A-ONE")
      assert ("A-TWO" in g1) == (m.turn == 2)
      assert m.prompt_name == pw.pair_prompt_name(m.category, m.turn)
      if m.category in mt_bench.REFERENCE_CATEGORIES:
        assert all(r in g1 and r in g2 for r in refs[m.question_id][:m.turn])


def test_command_judges_and_counts_against_a_local_server(tmp_path):
  from test_judge_client import FakeServer
  server = FakeServer()
  server.reply = "Verdict: [[A]]"  # position-biased: every match inconsistent -> ties
  try:
    root = write_bench(tmp_path, models={"m": ["q9 a", "q9 b"], "base": ["q1 a", "q1 b"]})
    cmd = [sys.executable, "-m", "itx.eval.pairwise", f"--bench={root}", "--languages=XX",
           "--mode=baseline", "--baseline=base", "--judge_model=fake-judge", f"--judge_url={server.url}",
           "--judge_api_key_env=", f"--out={tmp_path / 'res'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
  finally:
    server.close()
  assert len(server.attempts) == 8  # 4 matches x 2 orders
  lines = [json.loads(l) for l in open(tmp_path / "mt_bench_XX" / "model_judgment" / "fake-judge_pair.jsonl")]
  assert len(lines) == 4 and all(l["judge"][0] == "fake-judge" for l in lines)
  res = json.load(open(tmp_path / "res" / "pairwise_results.json"))
  assert res["models"]["m"]["all"]["tie"] == 4 and res["inconsistent"] == 4
  assert "inconsistent verdicts (counted as ties): 4" in proc.stdout

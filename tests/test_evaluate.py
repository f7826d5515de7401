"""`itx.evaluate`: answers, judgments, metrics and plots for every language land in DIR/eval;
a rerun redoes nothing; rule-judge scores are keyed rule_*, never mt_bench_*; the summary names
the judge, prompt set and aggregation; the LLM-judge path talks to an OpenAI-compatible server
(itx's own); no config calls a local endpoint gpt-4."""

import json
import os

import pytest

from configs import base
from helpers import train_tiny_run
from itx import results
from itx.eval import mt_bench
from itx.evaluate import evaluate, format_summary
from itx.inference import load_run, local_mesh
from itx.serve.app import create_app
from itx.serve.inprocess import serve_in_thread
from itx.serve.registry import serve_loaded_run

REAL_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "mt_bench_x")
QUESTIONS = {
    "EN": [("What is 2 plus 3?", "And 3 plus 4?", "2 plus 3 is 5.", "3 plus 4 is 7."),
           ("Reverse: apple river", "Now reverse: stone cloud", "river apple", "cloud stone")],
    "DE": [("Was ist 2 plus 3?", "Und 3 plus 4?", "2 plus 3 ist 5.", "3 plus 4 ist 7."),
           ("Kehre um: Apfel Fluss", "Jetzt: Stein Wolke", "Fluss Apfel", "Wolke Stein")],
}


def write_bench(root):
  for lang, items in QUESTIONS.items():
    d = root / f"mt_bench_{lang}"
    (d / "reference_answer").mkdir(parents=True)
    qs, refs = [], []
    for n, (q1, q2, a1, a2) in enumerate(items, start=1):
      qid = f"{n}_{lang}"
      qs.append({"question_id": qid, "category": ["math", "reasoning"][n - 1], "turns": [q1, q2], "reference": []})
      refs.append(mt_bench.answer_record(qid, "reference", [a1, a2]))
    (d / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    (d / "reference_answer" / "reference.jsonl").write_text("".join(json.dumps(r) + "\n" for r in refs))
  return str(root)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  return train_tiny_run(str(tmp_path_factory.mktemp("run")))


def eval_config(bench, **kw):
  e = base.get_config().eval
  # No system message: the toy tokenizer spells it letter by letter, past the 128-token rows.
  e.update(dict(bench=bench, languages=("EN", "DE"), max_new_tokens=8, batch_size=4, system_message=False), **kw)
  return e


def test_rule_judged_evaluation_writes_everything_and_resumes(trained, tmp_path):
  e = eval_config(write_bench(tmp_path / "bench"))
  summary = evaluate(trained, e)
  out = os.path.join(trained, "eval")
  name = os.path.basename(trained)
  for lang in ("EN", "DE"):
    answers = mt_bench.read_answers(os.path.join(out, "model_answer", f"{name}_{lang}.jsonl"))
    assert sorted(answers) == [f"1_{lang}", f"2_{lang}"]
    assert all(len(mt_bench.answer_turns(a)) == 2 for a in answers.values())
    judged = [json.loads(l) for l in open(os.path.join(out, "model_judgment", f"rule-v1_{lang}.jsonl"))]
    assert len(judged) == 4 and all(1 <= j["score"] <= 10 for j in judged)
    assert summary["rule"][lang]["n"] == 4
    m = summary["languages"][lang]
    assert 0 <= m["chrf"] <= 100 and 0 <= m["exact_match"] <= 1 and m["answer_loss"] > 0
  for f in ("metrics.csv", "summary.json", "rule_results.json", "rule_cells.csv"):
    assert os.path.exists(os.path.join(out, f)), f
  # The rule judge's scores are never presented as MT-Bench scores.
  assert "mt_bench" not in summary and not any(f.startswith("mt_bench") for f in os.listdir(out))
  cells = json.load(open(os.path.join(out, "rule_results.json")))["models"][name]["cells"]
  assert cells and all(k.startswith("rule_") for k in cells)
  j = summary["judging"]
  assert j["judge"].startswith("rule-v1") and "show_result" in j["aggregation"] and j["score_key"] == "rule"
  assert any(f.endswith(".png") for f in os.listdir(out))
  text = format_summary(summary)
  assert "cross-lingual rule_score" in text and "judge rule-v1" in text and "judge_score" not in text
  rows = results.tidy_rows("EN", 0, summary)
  assert {r["metric"] for r in rows} >= {"rule_score", "chrf"} and "judge_score" not in {r["metric"] for r in rows}
  assert all(r["judge"].startswith("rule-v1") for r in rows if r["metric"] == "rule_score")
  # A rerun generates and judges nothing new, and gives the same scores.
  before = {f: os.path.getsize(os.path.join(out, "model_judgment", f)) for f in os.listdir(os.path.join(out, "model_judgment"))}
  again = evaluate(trained, e)
  assert {f: os.path.getsize(os.path.join(out, "model_judgment", f)) for f in before} == before
  assert again["rule"] == summary["rule"]


def test_llm_judge_path_on_real_mt_bench_x_through_an_itx_server(trained, tmp_path):
  if not os.path.isdir(REAL_BENCH):
    pytest.skip("MT-Bench-X data (../shared/mt_bench_x) is not present")
  run = load_run(trained, mesh_overrides=local_mesh())
  # Real judge prompts spelled by the toy tokenizer are long: room for them, and a short answer.
  judge = serve_loaded_run("judge", run, slots=8, max_len=8192)
  with serve_in_thread(create_app([judge], max_tokens=16)) as url:
    e = eval_config(REAL_BENCH, languages=("DE",), max_questions=2, judge="http", judge_model="judge",
                    judge_base_url=f"{url}/v1", judge_api_key_env="",
                    reference_model="gpt-4", model_id="tiny")
    workdir = str(tmp_path / "copy")
    os.symlink(trained, workdir)
    summary = evaluate(workdir, e)
  lines = [json.loads(l) for l in open(os.path.join(workdir, "eval", "model_judgment", "judge_DE.jsonl"))]
  assert len(lines) == 4 and {l["turn"] for l in lines} == {1, 2}
  assert all(l["judge"] == ["judge", "single-v1" if l["turn"] == 1 else "single-v1-multi-turn"] for l in lines)
  # Concurrent judging writes lines in any order: state the property for every turn-1 line.
  for l in (l for l in lines if l["turn"] == 1):
    assert l["user_prompt"].startswith("[Anweisung]")  # the German single-v1 prompt
  for l in (l for l in lines if l["turn"] == 2):
    assert l["user_prompt"].startswith("<Der Beginn des Gesprächs")  # German single-v1-multi-turn
  assert all(l["usage"]["total_tokens"] > 0 for l in lines)  # itx's server reports usage
  # A tiny model gives no [[rating]]: every judgment is a counted failure, excluded from means.
  assert summary["mt_bench"]["DE"]["failed"] + summary["mt_bench"]["DE"]["n"] == 4
  j = summary["judging"]
  assert j["judge"] == f"judge at {e.judge_base_url}" and "single-v1" in j["prompts"]
  assert j["usage"]["total_tokens"] == sum(l["usage"]["total_tokens"] for l in lines)


def test_no_config_calls_a_local_endpoint_gpt_4():
  import importlib
  for name in ("base", "smoke", "polyglot_sft", "polyglot_pretrain", "lima_x", "bactrian_x"):
    mod = importlib.import_module(f"configs.{name}")
    e = mod.get_config().eval
    local = any(h in e.judge_base_url for h in ("127.0.0.1", "localhost", "0.0.0.0"))
    assert not (local and "gpt" in e.judge_model.lower()), (name, e.judge_base_url, e.judge_model)
    if "gpt-4" in e.judge_model:
      assert e.judge_base_url.startswith("https://api.openai.com/"), name


def test_question_subset_covers_every_category():
  from itx.evaluate import question_subset
  qs = [{"question_id": f"{i}_EN", "category": c} for i, c in enumerate("aaabbbccc")]
  sub = question_subset(qs, 4)
  assert [q["category"] for q in sub] == ["a", "a", "b", "c"]
  assert question_subset(qs, 0) == qs

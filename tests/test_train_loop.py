"""The whole loop: the smoke config learns, a resumed run equals an uninterrupted one, and the
command line refuses unknown config keys."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from helpers import assert_trees_close, tiny_config
from itx.train.checkpoint import restore_params
from itx.train.loop import train
from itx.train.metrics import read_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resume_config():
  c = tiny_config()
  c.data.seq_len = 64
  c.train.update(steps=6, batch_size=8, learning_rate=3e-3, warmup_steps=2)
  c.checkpoint.update(every_steps=2, keep=10)
  c.log.every_steps = 1
  return c


def test_resumed_run_equals_uninterrupted_run(tmp_path):
  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  train(resume_config(), straight)
  train(resume_config(), resumed, stop_after=3)  # as if preempted after step 3
  assert [m["step"] for m in read_metrics(resumed)] == [1, 2, 3]
  train(resume_config(), resumed)
  a, b = read_metrics(straight), read_metrics(resumed)
  assert [m["step"] for m in b] == list(range(1, 7))
  np.testing.assert_allclose([m["loss"] for m in b], [m["loss"] for m in a], rtol=1e-6)
  np.testing.assert_array_equal([m["target_tokens"] for m in b], [m["target_tokens"] for m in a])
  assert_trees_close(restore_params(resumed), restore_params(straight), rtol=1e-6)


def test_rerun_after_crash_drops_metrics_past_the_checkpoint(tmp_path):
  workdir = str(tmp_path / "run")
  train(resume_config(), workdir, stop_after=4)
  with open(os.path.join(workdir, "metrics.jsonl"), "a") as f:  # logged, then the job died before saving
    f.write(json.dumps({"step": 5, "loss": 0.0}) + "\n")
  train(resume_config(), workdir)
  steps = [m["step"] for m in read_metrics(workdir)]
  assert steps == list(range(1, 7))


def test_smoke_config_learns(tmp_path):
  c = tiny_config()
  c.log.every_steps = 1
  last = train(c, str(tmp_path / "smoke"))
  losses = [m["loss"] for m in read_metrics(str(tmp_path / "smoke"))]
  assert last["step"] == 30 and len(losses) == 30
  assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses
  assert os.listdir(tmp_path / "smoke" / "checkpoints")


def run_cli(*args):
  return subprocess.run([sys.executable, "-m", "itx.main", *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=300)


def test_cli_trains_and_overrides_fields(tmp_path):
  out = run_cli("--config=configs/smoke.py", f"--workdir={tmp_path}", "--config.train.steps=3",
                "--config.model.d_model=32", "--config.log.progress_bar=False")
  assert out.returncode == 0, out.stderr[-3000:]
  assert json.loads(out.stdout.strip().splitlines()[-1])["step"] == 3


def test_cli_rejects_unknown_config_key(tmp_path):
  out = run_cli("--config=configs/smoke.py", f"--workdir={tmp_path}", "--config.train.stepz=3")
  assert out.returncode != 0
  assert "stepz" in out.stderr


def test_init_from_another_run_starts_from_its_parameters(tmp_path):
  first, second = str(tmp_path / "first"), str(tmp_path / "second")
  train(resume_config(), first, stop_after=2)
  c = resume_config()
  c.model.init_from = f"itx:{first}"
  c.train.update(steps=1, learning_rate=0.0, weight_decay=0.0)  # a step that leaves parameters alone
  c.mesh.fsdp = 2  # and a different sharding than the run it starts from
  train(c, second)
  assert_trees_close(restore_params(second), restore_params(first), rtol=0)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes_from_it(tmp_path):
  import signal
  import time
  workdir = str(tmp_path / "preempted")
  small = ["--config.model.d_model=32", "--config.data.seq_len=64", "--config.train.batch_size=8",
           "--config.train.steps=400", "--config.log.progress_bar=False"]
  args = ["--config=configs/smoke.py", f"--workdir={workdir}", *small, "--config.log.every_steps=1",
          "--config.checkpoint.every_steps=1000"]
  proc = subprocess.Popen([sys.executable, "-m", "itx.main", *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 240
  while time.time() < deadline and len(read_metrics(workdir)) < 5:
    time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err[-2000:]
  steps = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
  assert steps and 5 <= steps[-1] < 400  # saved where it stopped, not at a save interval
  out = run_cli(*args[:2], *small, "--config.log.every_steps=100")
  assert out.returncode == 0 and "resumed from" in out.stderr
  assert json.loads(out.stdout.strip().splitlines()[-1])["step"] == 400


@pytest.mark.slow
def test_sigterm_right_after_a_periodic_save_exits_with_that_step(tmp_path):
  import signal
  from itx.train.checkpoint import Checkpointer
  from itx.train.hooks import Hook
  workdir = str(tmp_path / "run")

  def preempt(ctx):  # the signal lands as step 4 ends; step 4 is also a periodic save (every 2)
    os.kill(os.getpid(), signal.SIGTERM)

  last = train(resume_config(), workdir, hooks=(Hook(preempt, every=4, at_end=False),))
  assert last["step"] == 4
  assert Checkpointer(workdir, resume_config().checkpoint).latest_step() == 4
  train(resume_config(), workdir)
  assert [m["step"] for m in read_metrics(workdir)] == list(range(1, 7))


def test_a_diverging_run_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
  import re
  from itx.train.checkpoint import Checkpointer
  workdir = str(tmp_path / "diverged")
  out = run_cli("--config=configs/smoke.py", f"--workdir={workdir}", "--config.model.d_model=32",
                "--config.data.seq_len=64", "--config.train.batch_size=8", "--config.train.steps=12",
                "--config.train.learning_rate=1e30", "--config.train.schedule=constant",
                "--config.train.warmup_steps=3", "--config.checkpoint.every_steps=1",
                "--config.log.every_steps=1", "--config.log.progress_bar=False", "--config.log.tensorboard=False")
  assert out.returncode != 0
  found = re.search(r"diverged at step (\d+)", out.stderr)
  assert found, out.stderr[-3000:]
  bad = int(found.group(1))
  assert "Traceback" not in out.stderr
  latest = Checkpointer(workdir, resume_config().checkpoint).latest_step()
  assert latest is not None and latest < bad
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(restore_params(workdir)))
  logged = read_metrics(workdir)
  assert [m["step"] for m in logged] == list(range(1, bad)) and all(np.isfinite(m["loss"]) for m in logged)

"""Two processes joined with jax.distributed (4 simulated CPU devices each), as on a TPU pod or a
GPU cluster: they train to the losses of one process with 8 devices, a SIGTERM to one of them
stops both at the same step with one checkpoint, and the rerun resumes to the same end."""

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import assert_trees_close, finish, tiny_config
from itx.train.checkpoint import Checkpointer, restore_params
from itx.train.loop import train
from itx.train.metrics import read_metrics

pytestmark = pytest.mark.multiprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 30
_LOGS = itertools.count()
OVERRIDES = dict(d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64)


def reference_config():
  c = tiny_config()
  c.data.seq_len = 64
  c.train.update(steps=STEPS, batch_size=8)
  c.checkpoint.update(every_steps=1000, keep=3)
  c.log.every_steps = 1
  return c


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def launch(workdir: str) -> list[subprocess.Popen]:
  """`python -m itx.main` on each of two hosts, as one would type it on each machine."""
  port = free_port()
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  args = ["--config=configs/smoke.py", f"--workdir={workdir}", "--config.data.seq_len=64",
          f"--config.train.steps={STEPS}", "--config.train.batch_size=8", "--config.checkpoint.every_steps=1000",
          "--config.log.every_steps=1", "--config.log.progress_bar=False", "--config.log.tensorboard=False",
          *[f"--config.model.{k}={v}" for k, v in OVERRIDES.items()],
          "--config.mesh.distributed=True", f"--config.mesh.coordinator_address=127.0.0.1:{port}",
          "--config.mesh.num_processes=2"]
  procs = []
  for i in range(2):  # output to files: a host stalled on a full pipe would stall the other too
    log = f"{workdir}.{next(_LOGS)}"
    p = subprocess.Popen([sys.executable, "-m", "itx.main", *args, f"--config.mesh.process_id={i}"], cwd=ROOT,
                         env=env, stdout=open(log + ".out", "w"), stderr=open(log + ".err", "w"), text=True)
    p.log = log
    procs.append(p)
  return procs


def last_step(stdout: str) -> int:
  return json.loads(stdout.strip().splitlines()[-1])["step"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("multihost")
  single, multi = str(tmp / "single"), str(tmp / "multi")
  train(reference_config(), single)  # also tokenizes into the shared cache the hosts read
  procs = launch(multi)
  try:
    deadline = time.time() + 180
    while not any(m["step"] >= 3 for m in read_metrics(multi)):  # progress, then preempt host 1 alone
      assert time.time() < deadline and all(p.poll() is None for p in procs), "no training progress"
      time.sleep(0.2)
    procs[1].send_signal(signal.SIGTERM)
  finally:
    preempted = finish(procs, timeout=240)
  stopped_at = Checkpointer(multi, reference_config().checkpoint).latest_step()
  resumed = finish(launch(multi), timeout=240)
  return single, multi, preempted, stopped_at, resumed


def test_sigterm_on_one_host_stops_every_host_at_the_same_step(runs):
  _, _, preempted, stopped_at, _ = runs
  for rc, _, err in preempted:
    assert rc == 0, err[-3000:]
  steps = [last_step(out) for _, out, _ in preempted]
  assert steps[0] == steps[1] == stopped_at and 3 <= stopped_at < STEPS


def test_the_rerun_resumes_on_both_hosts_to_the_end(runs):
  _, multi, _, stopped_at, resumed = runs
  for rc, out, err in resumed:
    assert rc == 0, err[-3000:]
    assert f"at step {stopped_at}" in err and last_step(out) == STEPS
  assert [m["step"] for m in read_metrics(multi)] == list(range(1, STEPS + 1))


def test_two_hosts_train_to_the_losses_and_parameters_of_one(runs):
  single, multi, _, _, _ = runs
  a, b = read_metrics(single), read_metrics(multi)
  np.testing.assert_allclose([m["loss"] for m in b], [m["loss"] for m in a], rtol=1e-5)
  np.testing.assert_array_equal([m["target_tokens"] for m in b], [m["target_tokens"] for m in a])
  assert_trees_close(restore_params(multi), restore_params(single), rtol=1e-5)

"""Validation during training: held-out losses per source and per tag value equal an independent
computation, never change training (bitwise), resume exactly, and reach Weights & Biases (offline)."""

import glob
import json
import os
import struct

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from helpers import tiny_config
from itx.data.jsonl import read_jsonl
from itx.train.loop import prepare, train
from itx.train.metrics import read_metrics


def eval_records(n=14):
  """Held-out chat records in two 'languages' (a record field, like Lima-X's) and two groups."""
  from itx.worlds.toy import toy_records
  out = []
  for i, r in enumerate(toy_records(n, seed=123)):
    out.append({"messages": [{"role": "user", "content": r["instruction"] + " " + r["input"]},
                             {"role": "assistant", "content": r["output"]}],
                "language": "de" if i % 3 else "en", "group": f"g{i % 2}", "id": r["id"]})
  return out


def config(tmp, *, eval_on=True):
  c = tiny_config()
  c.data.seq_len = 64
  c.train.update(steps=6, batch_size=8, learning_rate=3e-3, warmup_steps=2, eval_every=2)
  c.checkpoint.update(every_steps=2, keep=10)
  c.log.every_steps = 1
  if eval_on:
    path = os.path.join(tmp, "val_toy.jsonl")
    if not os.path.exists(path):
      with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in eval_records())
    c.data.eval_sources = ml_collections.ConfigDict({
        "held": ml_collections.ConfigDict(dict(path=path, kind="instruction")),
        "held5": ml_collections.ConfigDict(dict(path=path, kind="instruction", max_examples=5))})
  return c


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  tmp = str(tmp_path_factory.mktemp("validation"))
  dirs = {k: os.path.join(tmp, k) for k in ("eval", "plain", "resumed")}
  saved = {k: os.environ.get(k) for k in ("WANDB_MODE", "WANDB_SILENT")}
  os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
  try:
    c = config(tmp)
    c.log.wandb = "itx-test"
    train(c, dirs["eval"])
  finally:
    for k, v in saved.items():
      os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
  train(config(tmp, eval_on=False), dirs["plain"])
  train(config(tmp), dirs["resumed"], stop_after=3)
  train(config(tmp), dirs["resumed"])
  return tmp, dirs


def test_validation_never_changes_training(runs):
  _, dirs = runs
  with_eval, plain = read_metrics(dirs["eval"]), read_metrics(dirs["plain"])
  assert [m["loss"] for m in with_eval] == [m["loss"] for m in plain]  # bitwise
  assert [m["grad_norm"] for m in with_eval] == [m["grad_norm"] for m in plain]


def test_validation_is_logged_every_eval_every_steps_per_source_and_tag_value(runs):
  _, dirs = runs
  rows = {m["step"]: m for m in read_metrics(dirs["eval"])}
  assert [s for s, m in rows.items() if "val/loss" in m] == [2, 4, 6]
  keys = {k for k in rows[6] if k.startswith("val/")}
  for expected in ("val/held/loss", "val/held5/loss", "val/language=de/loss", "val/language=en/loss",
                   "val/held/language=de/loss", "val/held/group=g1/loss", "val/held5/language=en/loss"):
    assert expected in keys, sorted(keys)
  assert rows[6]["val/held/loss"] < rows[2]["val/held/loss"]  # it learns the task family


def test_resumed_run_validates_exactly_as_an_uninterrupted_one(runs):
  _, dirs = runs
  a, b = read_metrics(dirs["eval"]), read_metrics(dirs["resumed"])
  assert [m["step"] for m in b] == list(range(1, 7))
  for ma, mb in zip(a, b):
    for k in ma:
      if k.startswith("val/") or k in ("loss", "target_tokens"):
        assert mb[k] == pytest.approx(ma[k], rel=1e-6), (ma["step"], k)


def test_validation_loss_equals_an_independent_per_example_computation(runs):
  """Each example alone, unpadded, on one device, with the training objective."""
  from itx.models import ModelConfig, network
  from itx.train.checkpoint import restore_params
  from itx.train.objectives import next_token_loss
  tmp, dirs = runs
  c, tok, _, _ = prepare(config(tmp), progress=False)
  from itx.train.validation import eval_sets
  held = [s for s in eval_sets(c, tok, progress=False) if s.name == "held"][0]
  params = restore_params(dirs["eval"])
  model = network(ModelConfig.from_config(c.model))
  sums = {"en": [0.0, 0.0], "de": [0.0, 0.0]}
  records = read_jsonl(os.path.join(tmp, "val_toy.jsonl"))
  for i, rec in enumerate(records):
    n = int(held.rows["segment_ids"][i].sum())
    batch = {k: jnp.asarray(held.rows[k][i:i + 1, :n]) for k in ("inputs", "targets", "weights", "segment_ids",
                                                                  "positions")}
    loss, count = jax.device_get(next_token_loss(model, params, batch))
    assert held.tags["language"][i] == rec["language"]
    sums[rec["language"]][0] += float(loss)
    sums[rec["language"]][1] += float(count)
  last = read_metrics(dirs["eval"])[-1]
  for lang, (s, w) in sums.items():
    assert last[f"val/held/language={lang}/loss"] == pytest.approx(s / w, rel=1e-5)
  total = sum(s for s, _ in sums.values()) / sum(w for _, w in sums.values())
  assert last["val/held/loss"] == pytest.approx(total, rel=1e-5)


def wandb_history(run_file):
  """The history rows of an offline W&B run: its .wandb file is a LevelDB-style log (32 KiB
  blocks of records with a 7-byte header) of wandb's own protobuf Records."""
  from wandb.proto import wandb_internal_pb2
  data = open(run_file, "rb").read()
  assert data[:4] == b":W&B"
  pos, block, buf, rows = 7, 32768, b"", []
  while pos + 7 <= len(data):
    if block - pos % block < 7:
      pos += block - pos % block
      continue
    _, n, kind = struct.unpack("<IHB", data[pos:pos + 7])
    if kind == 0:
      pos += block - pos % block
      continue
    buf += data[pos + 7:pos + 7 + n]
    pos += 7 + n
    if kind in (1, 4):  # full, last
      rec = wandb_internal_pb2.Record()
      rec.ParseFromString(buf)
      buf = b""
      if rec.WhichOneof("record_type") == "history":
        rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item})
  return rows


def test_metrics_reach_weights_and_biases_offline(runs):
  pytest.importorskip("wandb")
  _, dirs = runs
  files = glob.glob(os.path.join(dirs["eval"], "wandb", "offline-run-*", "run-*.wandb"))
  assert len(files) == 1, files
  history = {r["_step"]: r for r in wandb_history(files[0])}
  logged = {m["step"]: m for m in read_metrics(dirs["eval"])}
  assert sorted(history) == sorted(logged)
  for step, m in logged.items():
    assert history[step]["train/loss"] == pytest.approx(m["loss"])
    if "val/loss" in m:
      assert history[step]["val/held/language=de/loss"] == pytest.approx(m["val/held/language=de/loss"])

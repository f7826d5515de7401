"""A bank stacked from single-adapter runs (each trained alone on its task's records) computes, for
each adapter id, exactly the logits of the run that adapter came from; it restores for training
(state and adapters) like a bank trained in one job; runs on another base or with other LoRA settings are refused."""

import jax
import numpy as np
import pytest

pytest.importorskip("transformers")

import helpers  # noqa: E402
from helpers import tiny_config  # noqa: E402
from test_lora_hf import save_llama  # noqa: E402
from itx import sharding  # noqa: E402
from itx.data import pipeline  # noqa: E402
from itx.inference import load_run  # noqa: E402
from itx.models import lora  # noqa: E402
from itx.train.assemble import assemble  # noqa: E402
from itx.train.checkpoint import Checkpointer  # noqa: E402
from itx.train.adapter_stack import StackError, stack_runs  # noqa: E402
from itx.train.checkpoint import restore_base, restore_config  # noqa: E402
from itx.train.frozen_base import BaseMismatch  # noqa: E402
from itx.train.loop import prepare, resolve, train  # noqa: E402

TASKS = ("add", "sort")  # the toy records' `task` field


@pytest.fixture(scope="module")
def hf_base(tmp_path_factory, toy_tokenizer):
  return save_llama(str(tmp_path_factory.mktemp("hf") / "base"), toy_tokenizer, seed=0)


def run_config(base, task=None, *, steps=2, adapters=()):
  """A LoRA run on the frozen Hugging Face `base`: one task's records, or with `adapters` the bank."""
  c = tiny_config()
  c.model.update(init_from=f"hf:{base}", tokenizer="")
  c.data.seq_len = 64
  c.train.update(steps=steps, batch_size=8, learning_rate=2e-2, warmup_steps=1)
  c.checkpoint.every_steps = steps
  c.lora.update(rank=4, alpha=8.0)
  if task:
    c.data.sources.train.where = f"task={task}"
  if adapters:  # the bank trains on the records of its adapters' tasks
    c.lora.update(adapters=adapters, route_by="task")
    c.data.sources.train.where = "task=" + ",".join(adapters)
  return c


@pytest.fixture(scope="module")
def runs(tmp_path_factory, hf_base):
  root = tmp_path_factory.mktemp("runs")
  out = {}
  for task in TASKS:
    out[task] = str(root / task)
    train(run_config(hf_base, task), out[task])
  return out


def test_each_adapter_of_the_stacked_bank_gives_its_runs_logits(tmp_path, hf_base, runs):
  bank_dir = str(tmp_path / "bank")
  bank_cfg, _ = resolve(run_config(hf_base, adapters=TASKS))
  stack_runs(runs, bank_dir, bank_cfg)
  saved = restore_config(bank_dir)
  assert tuple(saved["lora"]["adapters"]) == TASKS and saved["lora"]["route_by"] == "task"
  bank = load_run(bank_dir)
  assert bank.adapters == TASKS
  tokens = np.random.default_rng(0).integers(3, 200, (2, 12)).astype(np.int32)
  alone_runs = {t: load_run(runs[t]) for t in TASKS}
  one = jax.jit(alone_runs["add"].model.apply)  # one model: compiled once for the three runs
  ids = lambda i: np.full(tokens.shape, i, np.int32)  # noqa: E731
  alone = {t: np.asarray(one({"params": r.params}, tokens, adapter_ids=ids(0))) for t, r in alone_runs.items()}
  assert np.max(np.abs(alone["add"] - alone["sort"])) > 1e-4  # the runs learned different adapters
  for i, t in enumerate(TASKS):
    got = np.asarray(jax.jit(bank.model.apply)({"params": bank.params}, tokens, adapter_ids=ids(i)))
    np.testing.assert_allclose(got, alone[t], rtol=0, atol=1e-5)
  # training resumes from it as from a bank's checkpoint: the state restores (the data stream afresh)
  c, _, sources, weights = prepare(run_config(hf_base, adapters=TASKS))
  run = assemble(c, sharding.make_mesh(c.mesh))
  stream = pipeline.batches(sources, weights, rows=8, seq_len=c.data.seq_len, packing=True, num_packing_bins=0,
                            shuffle=True, seed=0)
  state = Checkpointer(bank_dir, c.checkpoint, base=restore_base(bank_dir)).restore(c.train.steps, run.abstract, run.shardings, stream)
  assert int(state.step) == c.train.steps
  helpers.assert_trees_close(state.params, lora.split(bank.params)[0], rtol=0)
  with pytest.raises(FileExistsError, match="already holds a checkpoint"):
    stack_runs(runs, bank_dir, bank_cfg)


def test_runs_on_another_base_or_with_other_lora_settings_are_refused(tmp_path, toy_tokenizer, hf_base, runs):
  other_base = save_llama(str(tmp_path / "other_base"), toy_tokenizer, seed=1)
  other = str(tmp_path / "other")
  train(run_config(other_base, "sort"), other)
  cfg, _ = resolve(run_config(hf_base, adapters=("add", "other")))
  with pytest.raises(BaseMismatch, match=r"the base of adapter 'other' .* is not the base of adapter 'add' .*"
                                         r"differs .* A bank's adapters must share one frozen base"):
    stack_runs({"add": runs["add"], "other": other}, str(tmp_path / "bank"), cfg)
  cfg, _ = resolve(run_config(hf_base, adapters=TASKS))
  cfg.lora.rank = 8
  with pytest.raises(StackError, match=r"adapter 'add': .* other LoRA settings than the bank: lora.rank=4 vs 8"):
    stack_runs(runs, str(tmp_path / "bank8"), cfg)
  cfg.lora.update(rank=4, adapters=TASKS[::-1])
  with pytest.raises(StackError, match="must name the runs in order"):
    stack_runs(runs, str(tmp_path / "bank_order"), cfg)

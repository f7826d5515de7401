"""A LoRA bank on a Hugging Face base: checkpoints hold only the adapters and resume exactly; the
exported PEFT adapters give itx's logits in transformers + peft, merged exports too; PEFT folders
import back; a different base is refused."""

import os

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from helpers import tiny_config  # noqa: E402
from itx.config import ConfigError  # noqa: E402
from itx.hf.adapters import import_peft  # noqa: E402
from itx.hf.export import export_run  # noqa: E402
from itx.inference import load_run  # noqa: E402
from itx.models import lora  # noqa: E402
from itx.train.checkpoint import restore_params  # noqa: E402
from itx.train.frozen_base import BaseMismatch  # noqa: E402
from itx.train.loop import train  # noqa: E402

TASKS = ("add", "reverse", "sort", "repeat", "count")  # the toy records' `task` field


def save_llama(out, tok, seed):
  cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, bos_token_id=tok.bos_token_id,
                                 eos_token_id=tok.eos_token_id)
  torch.manual_seed(seed)
  transformers.AutoModelForCausalLM.from_config(cfg).float().save_pretrained(out)
  tok.save_pretrained(out)
  return out


@pytest.fixture(scope="module")
def hf_base(tmp_path_factory, toy_tokenizer):
  return save_llama(str(tmp_path_factory.mktemp("hf") / "base"), toy_tokenizer, seed=0)


def bank_config(hf_base):
  c = tiny_config()
  c.model.update(init_from=f"hf:{hf_base}", tokenizer="")
  c.data.seq_len = 64
  c.train.update(steps=4, batch_size=8, learning_rate=2e-2, warmup_steps=1)
  c.checkpoint.every_steps = 2
  c.lora.update(rank=4, alpha=8.0, adapters=TASKS, route_by="task", targets=r"(q|k|v|o|gate|up|down)_proj/kernel$|lm_head")
  return c


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory, hf_base):
  workdir = str(tmp_path_factory.mktemp("runs") / "bank")
  train(bank_config(hf_base), workdir, stop_after=2)  # preempted at step 2, then resumed
  train(bank_config(hf_base), workdir)
  return workdir


def test_a_bank_resumes_only_in_the_row_layout_it_was_trained_in(hf_base, bank_run):
  c = bank_config(hf_base)
  c.train.steps = 6
  c.lora.rows_by_adapter = False  # trained with one group per row (the default)
  before = sorted(os.listdir(bank_run))
  with pytest.raises(ConfigError, match=r"rows_by_adapter=True .*resume it with --config.lora.rows_by_adapter=True"):
    train(c, bank_run)
  assert sorted(os.listdir(bank_run)) == before


def itx_logits(run, tokens, adapter):
  ids = np.full(tokens.shape, adapter, np.int32)
  return np.asarray(jax.jit(run.model.apply)({"params": run.params}, tokens, adapter_ids=ids))


def test_checkpoint_holds_adapters_only_and_resume_is_exact(tmp_path, hf_base, bank_run):
  saved = restore_params(bank_run)
  assert lora.split(saved)[1] == {} and lora.adapter_paths(saved)  # no base tensor in the checkpoint
  straight = str(tmp_path / "straight")
  train(bank_config(hf_base), straight)
  for a, b in zip(jax.tree.leaves(restore_params(straight)), jax.tree.leaves(saved)):
    np.testing.assert_array_equal(a, b)


def test_peft_export_gives_itx_logits_in_transformers(tmp_path, hf_base, bank_run):
  out = str(tmp_path / "peft")
  export_run(bank_run, out)
  assert sorted(os.listdir(out)) == sorted(TASKS)
  tokens = np.random.default_rng(0).integers(3, 500, (2, 16)).astype(np.int32)
  ours = {name: itx_logits(load_run(bank_run, adapter=name), tokens, TASKS.index(name)) for name in ("add", "sort")}
  assert np.max(np.abs(ours["add"] - ours["sort"])) > 1e-3  # the adapters learned different things
  for name in ("add", "sort"):
    base = transformers.AutoModelForCausalLM.from_pretrained(hf_base).float().eval()
    model = peft.PeftModel.from_pretrained(base, os.path.join(out, name)).eval()
    with torch.no_grad():
      theirs = model(torch.from_numpy(tokens.astype(np.int64))).logits.numpy()
    diff = np.max(np.abs(ours[name] - theirs))
    print(f"PEFT adapter {name}: max |logit difference| = {diff:.2e}")
    assert diff <= 1e-4

  # Merged: the base with one adapter folded in, a plain transformers model.
  merged = str(tmp_path / "merged")
  export_run(bank_run, merged, adapter="sort", merge=True)
  model = transformers.AutoModelForCausalLM.from_pretrained(merged).float().eval()
  with torch.no_grad():
    theirs = model(torch.from_numpy(tokens.astype(np.int64))).logits.numpy()
  assert np.max(np.abs(ours["sort"] - theirs)) <= 1e-4

  # PEFT folders back into itx: a bank of two, computing what the trained adapters do.
  imported = str(tmp_path / "imported")
  import_peft({"sort": os.path.join(out, "sort"), "add": os.path.join(out, "add")}, hf_base, imported)
  run = load_run(imported, adapter="add")
  assert run.adapters == ("sort", "add")
  np.testing.assert_allclose(itx_logits(run, tokens, 1), ours["add"], atol=1e-5)
  np.testing.assert_allclose(itx_logits(run, tokens, 0), ours["sort"], atol=1e-5)


def test_a_different_base_is_refused(tmp_path, toy_tokenizer, bank_run):
  other = save_llama(str(tmp_path / "other"), toy_tokenizer, seed=1)
  with pytest.raises(BaseMismatch, match=r"is not the base these adapters were trained on.*tensor"):
    load_run(bank_run, base=f"hf:{other}")

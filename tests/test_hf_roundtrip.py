"""Round trip: import a Hugging Face model, fine-tune it with itx, export it; transformers loads
the export unchanged and computes itx's logits; the chat template gives the same token ids."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from helpers import tiny_config  # noqa: E402
from itx.data.chat import load_tokenizer, render_chat  # noqa: E402
from itx.models import ModelConfig, DecoderLM  # noqa: E402
from itx.train.checkpoint import restore_params  # noqa: E402
from itx.train.loop import train  # noqa: E402

CONVERSATION = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is 4 plus 5?"},
    {"role": "assistant", "content": "4 plus 5 is 9."},
    {"role": "user", "content": "Repeat the word apple 2 times."},
    {"role": "assistant", "content": "apple apple"},
]


@pytest.fixture(scope="module")
def hf_base(tmp_path_factory, toy_tokenizer):
  """A tiny Qwen2 (q/k/v biases, GQA) with the toy tokenizer, saved as transformers saves models."""
  out = str(tmp_path_factory.mktemp("hf") / "base")
  cfg = transformers.Qwen2Config(vocab_size=len(toy_tokenizer), hidden_size=64, intermediate_size=128,
                                 num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                 rope_theta=50000.0, bos_token_id=toy_tokenizer.bos_token_id,
                                 eos_token_id=toy_tokenizer.eos_token_id)
  torch.manual_seed(0)
  transformers.AutoModelForCausalLM.from_config(cfg).float().save_pretrained(out, max_shard_size="200KB")
  toy_tokenizer.save_pretrained(out)
  return out


def test_import_finetune_export_reload(tmp_path, hf_base):
  c = tiny_config()
  c.model.update(init_from=f"hf:{hf_base}", tokenizer="")
  c.data.seq_len = 64
  c.train.update(steps=3, batch_size=8, learning_rate=1e-2, warmup_steps=1)
  workdir, out = str(tmp_path / "run"), str(tmp_path / "export")
  train(c, workdir)
  itx = [sys.executable, "-m", "itx.cli", "export", f"--workdir={workdir}", f"--out={out}"]
  done = subprocess.run(itx + ["--max_shard_gb=0.0002"], capture_output=True, text=True)
  assert done.returncode == 0, done.stderr
  assert os.path.exists(os.path.join(out, "model.safetensors.index.json"))  # sharded
  again = subprocess.run(itx, capture_output=True, text=True)
  assert again.returncode == 2 and "exists" in again.stderr  # never overwrites

  reloaded = transformers.AutoModelForCausalLM.from_pretrained(out).float().eval()
  assert reloaded.config.model_type == "qwen2"
  params = restore_params(workdir)
  base = transformers.AutoModelForCausalLM.from_pretrained(hf_base).float().eval()
  tokens = np.random.default_rng(0).integers(0, 500, (2, 20))
  with torch.no_grad():
    theirs = reloaded(torch.from_numpy(tokens)).logits.numpy()
    before = base(torch.from_numpy(tokens)).logits.numpy()
  fields = {k: v for k, v in c.model.items() if k in ModelConfig.__dataclass_fields__}
  fields.update(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=128, head_dim=16, qkv_bias=True,
                rope_theta=50000.0, vocab_size=512, norm_eps=1e-6)
  ours = np.asarray(jax.jit(DecoderLM(ModelConfig(**fields)).apply)({"params": params}, tokens.astype(np.int32)))
  diff = np.max(np.abs(ours - theirs))
  print(f"export round trip: max |logit difference| = {diff:.2e}")
  assert diff <= 1e-4
  assert np.max(np.abs(before - theirs)) > 1e-3  # fine-tuning changed the model

  # The exported tokenizer renders the chat exactly as transformers' apply_chat_template does.
  tok = transformers.AutoTokenizer.from_pretrained(out)
  ids, _ = render_chat(load_tokenizer(out), CONVERSATION)
  assert ids.tolist() == list(tok.apply_chat_template(CONVERSATION, tokenize=True, return_dict=False))

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


CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def chatml_tokenizer(out: str) -> str:
  """A Qwen-style tokenizer: EOS <|endoftext|>, but assistant turns end with <|im_end|>."""
  from itx.data.tokenizer_training import train_bpe_tokenizer
  from itx.worlds.toy import toy_records
  texts = [f"<|im_start|>user\n{r['instruction']}\n{r['input']}<|im_end|>\n<|im_start|>assistant\n"
           f"{r['output']}<|im_end|>" for r in toy_records(300)]
  tok = train_bpe_tokenizer(texts, out, vocab_size=400, chat_template=CHATML, special_tokens={
      "pad_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
      "bos_token": "<|im_start|>"})
  tok.add_special_tokens({"additional_special_tokens": ["<|im_end|>"]})
  tok.save_pretrained(out)
  return out


def test_exported_chat_model_stops_at_the_end_of_the_assistant_turn(tmp_path):
  from itx.generate import SamplingParams, prompt_ids
  from itx.hf.export import export_run
  from itx.inference import load_run
  from itx.worlds.toy import toy_records
  c = tiny_config()
  c.model.tokenizer = chatml_tokenizer(str(tmp_path / "tok"))
  workdir, out = str(tmp_path / "run"), str(tmp_path / "export")
  train(c, workdir)  # the smoke run: long enough that greedy answers end their turns
  export_run(workdir, out)

  run = load_run(workdir)
  tok = run.tokenizer
  im_end, eos = tok.convert_tokens_to_ids("<|im_end|>"), tok.eos_token_id
  assert im_end != eos
  prompts = [prompt_ids(tok, [{"role": "user", "content": f"{r['instruction']}\n\n{r['input']}".strip()}])
             for r in toy_records(12, seed=1)]
  max_new = 40
  ours = run.generator(length_bucket=32).generate(prompts, SamplingParams(max_new_tokens=max_new))
  model = transformers.AutoModelForCausalLM.from_pretrained(out).float().eval()
  theirs = []
  with torch.no_grad():
    for p in prompts:
      ids = model.generate(torch.tensor([p]), max_new_tokens=max_new, do_sample=False)
      theirs.append(ids[0, len(p):].tolist())
  stopped = [t for t in theirs if im_end in t]
  assert len(stopped) >= len(theirs) // 2, "the model did not learn to end its turns"
  for t in stopped:  # generate stops at the end of the turn instead of running on to max_new_tokens
    assert t.index(im_end) == len(t) - 1 and len(t) < max_new, tok.decode(t)
  assert sum(a == b for a, b in zip(ours, theirs)) >= 0.9 * len(prompts)  # and where itx's Generator does

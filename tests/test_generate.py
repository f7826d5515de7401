"""Decoding: the cache gives the tokens a full recomputation gives; greedy equals transformers'
generate; 8 sharded devices generate what 1 does; sampling is seeded."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from itx import sharding
from itx.generate import Generator, SamplingParams
from itx.models import ModelConfig, DecoderLM
from configs import base

CFG = ModelConfig(vocab_size=512, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=128, qkv_bias=True)
PROMPTS = [[1, 40, 41, 42], [1, 50, 51, 52, 53, 54, 55, 56, 57], [1, 60]]


@pytest.fixture(scope="module")
def params():
  p = jax.jit(DecoderLM(CFG).init)(jax.random.key(1), jnp.zeros((1, 8), jnp.int32))["params"]
  return jax.tree.map(lambda x: x.value if hasattr(x, "value") else x, p, is_leaf=lambda x: hasattr(x, "value"))


def test_cached_decoding_equals_full_recomputation(params, toy_tokenizer):
  gen = Generator(DecoderLM(CFG), params, toy_tokenizer, length_bucket=16)
  outs = gen.generate(PROMPTS, SamplingParams(max_new_tokens=12))
  apply = jax.jit(DecoderLM(CFG).apply)
  for prompt, out in zip(PROMPTS, outs):
    assert 1 <= len(out) <= 12
    seq = np.array(prompt + out, np.int32)[None]
    logits = np.asarray(apply({"params": params}, seq))[0]
    # Greedy from a full recomputation at every step = the next token at every position.
    expected = logits[len(prompt) - 1:len(seq[0]) - 1].argmax(-1)
    assert out == expected.tolist()


def test_eight_sharded_devices_generate_what_one_does(params, toy_tokenizer):
  ref = Generator(DecoderLM(CFG), params, toy_tokenizer).generate(PROMPTS, SamplingParams(max_new_tokens=8))
  c = base.get_config()
  c.mesh.update(data=2, fsdp=2, tensor=2)
  mesh = sharding.make_mesh(c.mesh)
  rules = sharding.rules_from_config(c.mesh)
  from itx.train.state import param_shardings
  _, shardings = param_shardings(DecoderLM(CFG), mesh, rules)
  sharded = jax.device_put(params, shardings)
  gen = Generator(DecoderLM(CFG), sharded, toy_tokenizer, mesh=mesh, rules=rules, batch_multiple=4)
  assert gen.generate(PROMPTS, SamplingParams(max_new_tokens=8)) == ref


def test_sampling_is_seeded_and_cuts_reduce_to_greedy(params, toy_tokenizer):
  gen = Generator(DecoderLM(CFG), params, toy_tokenizer)
  greedy = gen.generate(PROMPTS, SamplingParams(max_new_tokens=10))
  hot = lambda seed, **kw: gen.generate(PROMPTS, SamplingParams(temperature=1.5, max_new_tokens=10, seed=seed, **kw))
  assert hot(0) == hot(0)
  assert hot(0) != hot(1)
  assert hot(3, top_k=1) == greedy
  assert hot(4, top_p=1e-6) == greedy
  mixed = gen.generate(PROMPTS, SamplingParams(max_new_tokens=10, seed=2), temperatures=[0.0, 1.5, 0.0])
  assert mixed[0] == greedy[0] and mixed[2] == greedy[2]


def test_stop_string_cuts_the_continuation(params, toy_tokenizer):
  gen = Generator(DecoderLM(CFG), params, toy_tokenizer)
  full = gen.generate(PROMPTS[:1], SamplingParams(max_new_tokens=10))[0]
  assert len(full) >= 4
  stop = toy_tokenizer.decode(full[2:4]).strip()
  assert stop
  cut = gen.generate(PROMPTS[:1], SamplingParams(max_new_tokens=10, stop_strings=(stop,)))[0]
  assert stop not in toy_tokenizer.decode(cut) and full[:len(cut)] == cut and len(cut) < len(full)


def test_greedy_equals_transformers_generate(tmp_path, toy_tokenizer):
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  from test_hf_import import import_model
  cfg = transformers.LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, eos_token_id=toy_tokenizer.eos_token_id,
                                 bos_token_id=1, pad_token_id=0)
  torch.manual_seed(0)
  model = transformers.LlamaForCausalLM(cfg).float().eval()
  model.save_pretrained(tmp_path / "hf")
  mcfg, params, mesh, rules = import_model(str(tmp_path / "hf"))
  ours = Generator(DecoderLM(mcfg), params, toy_tokenizer).generate(PROMPTS, SamplingParams(max_new_tokens=15))
  for prompt, out in zip(PROMPTS, ours):
    with torch.no_grad():
      ref = model.generate(torch.tensor([prompt]), max_new_tokens=15, do_sample=False,
                           attention_mask=torch.ones(1, len(prompt), dtype=torch.long))
    assert len(out) > 5 and out == ref[0, len(prompt):].tolist()

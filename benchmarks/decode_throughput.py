"""Decoding throughput: itx's Generator against transformers' `generate`, same random Llama-shaped
model, greedy, one script.

For each batch size: a prompt of --prompt_len random tokens per row, exactly --new_tokens new
tokens (no stop token, so both do the same work), float32 on the CPU. Prints tokens/s of each and
their ratio (new tokens only; the prefill is included in the time, as a user waits for it).

It also times a bare decode step compiled by XLA: every projection of every layer and the output
head, attention of the new token to a read-only cache of the mean length a step attends to
(prompt + half the answer; each layer's own array), greedy argmax and the next token's embedding,
over the same steps in one compiled loop; no norms, rotary embedding, cache writes, prefill or stop
checks, and each layer's weights a separate array. Any XLA decoder of this model does at least this work, so `ceiling` (its tokens/s
over transformers') bounds the ratio such a decoder could print (at batch 1 the step is
memory-bound and the figure noisy).
"""

from __future__ import annotations

import time

import jax
import numpy as np
from absl import app, flags

_BATCHES = flags.DEFINE_list("batches", ["1", "8", "32"], "batch sizes")
_PROMPT_LEN = flags.DEFINE_integer("prompt_len", 64, "prompt tokens per row")
_NEW = flags.DEFINE_integer("new_tokens", 128, "new tokens per row")
_VOCAB = flags.DEFINE_integer("vocab", 8192, "vocabulary size")
_D_MODEL = flags.DEFINE_integer("d_model", 256, "model width")
_LAYERS = flags.DEFINE_integer("layers", 4, "layers")
_HEADS = flags.DEFINE_integer("heads", 8, "attention heads")
_MLP = flags.DEFINE_integer("mlp", 704, "MLP width")
_REPEATS = flags.DEFINE_integer("repeats", 2, "timed repetitions (the best is kept)")


def _best(fn) -> float:
  fn()  # compile and warm up
  times = []
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return min(times)


def _bare_step(b: int, steps: int, cache_len: int, cfg) -> float:
  """Seconds of `steps` bare decode steps (see the docstring) of b rows."""
  import jax.numpy as jnp
  d, m, v, h = cfg.d_model, cfg.mlp_dim, cfg.vocab_size, cfg.n_heads
  keys = iter(jax.random.split(jax.random.key(0), 10 * cfg.n_layers + 2))
  normal = lambda *shape: jax.random.normal(next(keys), shape, jnp.float32) * 0.02
  layers = [[normal(d, d) for _ in range(4)] + [normal(d, m), normal(d, m), normal(m, d)] +
            [normal(b, h, cache_len, d // h) for _ in range(2)] for _ in range(cfg.n_layers)]
  embed, head = normal(v, d), normal(d, v)

  @jax.jit
  def run(tokens, layers, embed, head):
    def step(_, tokens):
      x = embed[tokens]
      for wq, wk, wv, wo, wg, wu, wd, ck, cv in layers:
        q = (x @ wq + x @ wk + x @ wv).reshape(b, h, d // h)  # k, v computed (a real step writes them)
        p = jax.nn.softmax(jnp.einsum("bhd,bhld->bhl", q, ck), axis=-1)
        x = x + jnp.einsum("bhl,bhld->bhd", p, cv).reshape(b, d) @ wo
        x = x + (jax.nn.silu(x @ wg) * (x @ wu)) @ wd
      return jnp.argmax(x @ head, axis=-1)
    return jax.lax.fori_loop(0, steps, step, tokens)

  tokens = jnp.zeros((b,), jnp.int32)
  return _best(lambda: run(tokens, layers, embed, head).block_until_ready())


def main(argv):
  del argv
  import torch
  import transformers

  from itx.data.tokenizer_training import train_bpe_tokenizer
  from itx.generate import Generator, SamplingParams
  from itx.hf.config_map import model_fields
  from itx.hf.weights import load_hf_params
  from itx.models import ModelConfig, network
  from itx.train.state import param_shardings
  from itx import sharding
  from configs import base
  import tempfile

  torch.manual_seed(0)
  torch.set_num_threads(2)
  hf_cfg = transformers.LlamaConfig(vocab_size=_VOCAB.value, hidden_size=_D_MODEL.value, intermediate_size=_MLP.value,
                                    num_hidden_layers=_LAYERS.value, num_attention_heads=_HEADS.value,
                                    num_key_value_heads=_HEADS.value, max_position_embeddings=1024,
                                    bos_token_id=1, eos_token_id=2, pad_token_id=0)
  ref = transformers.LlamaForCausalLM(hf_cfg).float().eval()
  tmp = tempfile.mkdtemp()
  ref.save_pretrained(tmp)
  tok = train_bpe_tokenizer(["a b c"], tmp + "/tok", vocab_size=300)
  mcfg = ModelConfig(**model_fields(hf_cfg.to_dict()))
  c = base.get_config()
  mesh = sharding.make_mesh(c.mesh, jax.devices()[:1])
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = param_shardings(network(mcfg), mesh, rules)
  params = load_hf_params(tmp, mcfg, abstract, shardings)
  gen = Generator(network(mcfg), params, tok, mesh=mesh, rules=rules)
  gen.stop_ids = np.array([-7], np.int32)  # never produced: exactly new_tokens per row, as for transformers
  print(f"model: {mcfg.num_params():,} parameters; prompt {_PROMPT_LEN.value}, {_NEW.value} new tokens, greedy, f32")
  print(f"{'batch':>5} {'itx tok/s':>10} {'transformers tok/s':>19} {'ratio':>6} {'bare step tok/s':>16} "
        f"{'ceiling':>8}")
  rng = np.random.default_rng(0)
  for b in map(int, _BATCHES.value):
    prompts = rng.integers(3, _VOCAB.value, (b, _PROMPT_LEN.value))
    sampling = SamplingParams(max_new_tokens=_NEW.value)
    ours = _best(lambda: gen.generate(prompts.tolist(), sampling))
    ids = torch.from_numpy(prompts)

    def theirs_run():
      with torch.no_grad():
        ref.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=_NEW.value,
                     min_new_tokens=_NEW.value, do_sample=False, eos_token_id=None, pad_token_id=0)

    theirs = _best(theirs_run)
    floor = _bare_step(b, _NEW.value, _PROMPT_LEN.value + _NEW.value // 2, mcfg)
    n = b * _NEW.value
    print(f"{b:>5} {n / ours:>10.1f} {n / theirs:>19.1f} {theirs / ours:>6.2f} {n / floor:>16.1f} "
          f"{theirs / floor:>8.2f}", flush=True)


if __name__ == "__main__":
  app.run(main)

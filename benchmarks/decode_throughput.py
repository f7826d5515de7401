"""Decoding throughput: itx's Generator against transformers' `generate`, same random Llama-shaped
model, greedy, one script.

For each batch size: a prompt of --prompt_len random tokens per row, exactly --new_tokens new
tokens (no stop token, so both do the same work), float32 on the CPU. Prints tokens/s of each and
their ratio (new tokens only; the prefill is included in the time, as a user waits for it).

It also times the decode step's matrix products alone, compiled by XLA: every projection of every
layer and the output head, then greedy argmax and the next token's embedding, over the same steps
in one compiled loop, with no attention, cache, norms or rotary embedding and each layer's weights
a separate array. That is a floor under any XLA decoder of this model on this machine, and
`ceiling` (its tokens/s over transformers') the highest ratio such a decoder could print.
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


def _matmuls_only(b: int, steps: int, cfg) -> float:
  """Seconds of `steps` decode steps of the model's matrix products alone (see the docstring)."""
  import jax.numpy as jnp
  d, m, v = cfg.d_model, cfg.mlp_dim, cfg.vocab_size
  keys = iter(jax.random.split(jax.random.key(0), 8 * cfg.n_layers + 2))
  normal = lambda *shape: jax.random.normal(next(keys), shape, jnp.float32) * 0.02
  layers = [[normal(d, d) for _ in range(4)] + [normal(d, m), normal(d, m), normal(m, d)]
            for _ in range(cfg.n_layers)]
  embed, head = normal(v, d), normal(d, v)

  @jax.jit
  def run(tokens, layers, embed, head):
    def step(_, tokens):
      x = embed[tokens]
      for wq, wk, wv, wo, wg, wu, wd in layers:
        x = x + (x @ wq + x @ wk + x @ wv) @ wo
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
  print(f"{'batch':>5} {'itx tok/s':>10} {'transformers tok/s':>19} {'ratio':>6} {'matmuls only tok/s':>19} "
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
    floor = _matmuls_only(b, _NEW.value, mcfg)
    n = b * _NEW.value
    print(f"{b:>5} {n / ours:>10.1f} {n / theirs:>19.1f} {theirs / ours:>6.2f} {n / floor:>19.1f} "
          f"{theirs / floor:>8.2f}", flush=True)


if __name__ == "__main__":
  app.run(main)

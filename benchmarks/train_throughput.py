"""Training throughput: itx against transformers' PyTorch LlamaForCausalLM, same work, one script.

Same Llama shape, batch, sequence length, AdamW and float32 for both; random tokens (no data
loading in the timed loop). Prints tokens/s of each, their ratio, and itx's model FLOPs utilisation
against a matmul peak measured in this same run (the machine is noisy: compare within a run).
Then the data side: the grain pipeline's delivery rate against that training rate, and how full
its packed rows are (benchmarks/data_side.py).

  python benchmarks/train_throughput.py [--steps 8] [--d_model 512] ...
"""

from __future__ import annotations

import pathlib
import sys
import time
import types

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

# This checkout's itx and configs: Python puts benchmarks/ first on the path, so without this they
# would come from wherever itx is installed (another checkout, for an editable install).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
  """FLOP/s of a large float32 matmul: the practical peak of this machine."""
  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  t = time.perf_counter()
  for _ in range(repeats):
    a = f(a)
  a.block_until_ready()
  return 2 * n ** 3 * repeats / (time.perf_counter() - t)


def itx_tokens_per_s(args, tokens: np.ndarray, attention: str) -> float:
  from configs import base
  from itx import sharding
  from itx.train.assemble import assemble

  c = base.get_config()
  c.model.update(vocab_size=args.vocab, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                 n_kv_heads=args.heads, mlp_dim=args.mlp, head_dim=args.d_model // args.heads,
                 scan_unroll=args.layers, attention=attention)
  c.train.update(steps=1000, batch_size=args.batch, weight_decay=0.0, clip_norm=0.0, warmup_steps=0)
  run = assemble(c, sharding.make_mesh(c.mesh, jax.devices()[:1]))
  state, step, bs = run.init_state(0), run.step, run.batch_sharding
  b, t = tokens.shape[0], tokens.shape[1] - 1
  batch = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "weights": np.ones((b, t), np.float32),
           "segment_ids": np.ones((b, t), np.int32), "positions": np.broadcast_to(np.arange(t), (b, t)).astype(np.int32)}
  batch = {k: jax.device_put(v, bs) for k, v in batch.items()}
  for _ in range(2):  # compile and warm up
    state, m = step(state, batch)
  jax.block_until_ready(m)
  start = time.perf_counter()
  for _ in range(args.steps):
    state, m = step(state, batch)
  jax.block_until_ready(m)
  return args.steps * b * t / (time.perf_counter() - start)


def torch_tokens_per_s(args, tokens: np.ndarray) -> float:
  import torch
  from transformers import LlamaConfig, LlamaForCausalLM

  torch.manual_seed(0)
  cfg = LlamaConfig(vocab_size=args.vocab, hidden_size=args.d_model, intermediate_size=args.mlp,
                    num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.heads,
                    max_position_embeddings=tokens.shape[1], tie_word_embeddings=False)
  model = LlamaForCausalLM(cfg).float().train()
  opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
  ids = torch.from_numpy(tokens.astype(np.int64))
  inputs, labels = ids[:, :-1], ids[:, 1:]

  def one_step():
    logits = model(input_ids=inputs).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)

  for _ in range(2):
    one_step()
  start = time.perf_counter()
  for _ in range(args.steps):
    one_step()
  return args.steps * inputs.numel() / (time.perf_counter() - start)


_STEPS = flags.DEFINE_integer("steps", 8, "timed steps")
_BATCH = flags.DEFINE_integer("batch", 8, "rows per step")
_SEQ_LEN = flags.DEFINE_integer("seq_len", 256, "tokens per row")
_VOCAB = flags.DEFINE_integer("vocab", 8192, "vocabulary size")
_D_MODEL = flags.DEFINE_integer("d_model", 512, "model width")
_LAYERS = flags.DEFINE_integer("layers", 4, "layers")
_HEADS = flags.DEFINE_integer("heads", 8, "attention heads")
_MLP = flags.DEFINE_integer("mlp", 1408, "MLP width")
_ATTENTION = flags.DEFINE_list("attention", ["xla", "einsum"], "itx attention implementations to measure (the first is compared)")
_DATA = flags.DEFINE_bool("data", True, "also measure the data pipeline (benchmarks/data_side.py)")


def main(argv):
  del argv
  args = types.SimpleNamespace(steps=_STEPS.value, batch=_BATCH.value, seq_len=_SEQ_LEN.value, vocab=_VOCAB.value,
                               d_model=_D_MODEL.value, layers=_LAYERS.value, heads=_HEADS.value, mlp=_MLP.value)
  from itx.models import ModelConfig
  mc = ModelConfig(vocab_size=args.vocab, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                   n_kv_heads=args.heads, mlp_dim=args.mlp)
  tokens = np.random.default_rng(0).integers(0, args.vocab, (args.batch, args.seq_len + 1)).astype(np.int32)
  print(f"model: {mc.num_params():,} parameters; batch {args.batch} x {args.seq_len} tokens; float32; AdamW")
  peak = matmul_peak()
  print(f"matmul peak (f32, measured now): {peak / 1e9:.1f} GFLOP/s")
  itx_tps = {a: itx_tokens_per_s(args, tokens, a) for a in _ATTENTION.value}
  torch_tps = torch_tokens_per_s(args, tokens)
  for a, tps in itx_tps.items():
    mfu = tps * mc.flops_per_token(args.seq_len) / peak
    print(f"itx (attention={a:6s}):     {tps:10.1f} tokens/s   MFU {mfu:.1%} of the measured peak")
  print(f"transformers (PyTorch, CPU): {torch_tps:10.1f} tokens/s")
  for a, tps in itx_tps.items():
    print(f"ratio itx ({a}) / transformers: {tps / torch_tps:6.2f}")
  itx_tps = itx_tps[_ATTENTION.value[0]]
  if _DATA.value:
    from data_side import measure  # beside this script
    d = measure()
    print(f"data pipeline (LIMA-like lengths, packed {d['rows']} x {d['seq_len']}, {d['bins']} bins): "
          f"{d['tokens_per_s']:,.0f} tokens/s, {d['fill']:.1%} of the tokens real")
    print(f"ratio pipeline / itx training: {d['tokens_per_s'] / itx_tps:8.1f}")


if __name__ == "__main__":
  app.run(main)

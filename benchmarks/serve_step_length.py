"""The server's decode step attending to the live rows' length bucket against the whole cache, same
model, same slots, one script.

A server is started with a long `max_len` (say 4,096 positions, for long conversations), yet most
rows are short. Each step attends to the cache only up to the smallest length bucket (64, 128, ...)
that holds every live row (`itx.serve.kernels.Kernels.reach`); this measures what that saves over
attending to all `max_len` positions. Rows: short prompts, then --steps decode steps, timed in
alternating rounds (the machine is noisy).

  python benchmarks/serve_step_length.py [--max_len=4096] [--slots=16] [--steps=64]
"""

from __future__ import annotations

import time

import numpy as np
from absl import app, flags

from itx.cli import parse_flags

_MAX_LEN = flags.DEFINE_integer("max_len", 4096, "Cache positions per slot.")
_SLOTS = flags.DEFINE_integer("slots", 16, "Rows of the decode cache (all live).")
_STEPS = flags.DEFINE_integer("steps", 64, "Decode steps per timed round.")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternating timed rounds of each form.")
_D_MODEL = flags.DEFINE_integer("d_model", 256, "Model width.")
_LAYERS = flags.DEFINE_integer("layers", 4, "Model depth.")


def main(argv):
  del argv
  import jax
  from itx.datasets.sources import tokenizer as load_tokenizer
  from itx.models import ModelConfig, network
  from itx.serve.kernels import Kernels, RowSampling

  tok = load_tokenizer("builtin:toy")
  cfg = ModelConfig(vocab_size=len(tok), d_model=_D_MODEL.value, n_layers=_LAYERS.value, n_heads=8, n_kv_heads=4,
                    mlp_dim=4 * _D_MODEL.value)
  model = network(cfg)
  params = model.init(jax.random.key(0), np.zeros((1, 8), np.int32))["params"]
  params = jax.tree.map(lambda p: p.value if hasattr(p, "value") else p, params, is_leaf=lambda p: hasattr(p, "value"))
  slots, max_len = _SLOTS.value, _MAX_LEN.value
  kernels = Kernels(model, params, slots=slots, max_len=max_len)
  rng = np.random.default_rng(0)
  prompt = 32
  tokens = rng.integers(3, len(tok), (slots, prompt)).astype(np.int32)
  lengths = np.full(slots, prompt, np.int32)
  adapters = np.zeros(slots, np.int32)
  live = np.ones(slots, np.int32)
  print(f"model: {cfg.num_params() / 1e6:.1f}M parameters; {slots} live rows of {prompt}-token prompts; "
        f"cache {max_len} positions; {_STEPS.value} steps a round")

  def run(kv_len):
    """Seconds for the timed steps (the prefill untimed); kv_len None: the length bucket."""
    out = kernels.prefill(tokens, lengths, np.arange(slots, dtype=np.int32), adapters, RowSampling.empty(slots))
    nxt, positions = out[0].astype(np.int32), lengths.copy()
    start = time.perf_counter()
    for _ in range(_STEPS.value):
      out = kernels.step(nxt, positions, live, adapters, RowSampling.empty(slots), kv_len=kv_len)
      nxt, positions = out[0].astype(np.int32), positions + 1
    return time.perf_counter() - start

  run(None), run(max_len)  # compile every bucket and the whole-cache step
  times = {"bucket": [], "whole": []}
  for _ in range(_ROUNDS.value):
    times["bucket"].append(run(None))
    times["whole"].append(run(max_len))
  bucket, whole = (min(times[k]) / _STEPS.value * 1e3 for k in ("bucket", "whole"))
  print(f"attending to the length bucket ({kernels.reach(lengths + _STEPS.value - 1, live)} positions at the "
        f"end): {bucket:.2f} ms a step")
  print(f"attending to the whole cache ({max_len} positions):        {whole:.2f} ms a step")
  print(f"ratio whole / bucket (speed-up): {whole / bucket:.2f}")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

"""LoRA against full fine-tuning, and a bank of adapters against one adapter, on the benchmark model.

Same model, batch and AdamW as benchmarks/train_throughput.py; random tokens (no data loading in the
timed loop). Prints tokens/s of full fine-tuning, one LoRA adapter, and a bank of N adapters: with
each row holding one group's examples (one adapter id per row, as training packs a bank by default:
`lora.rows_by_adapter`), and with rows that mix groups (per-token adapter ids; once with examples of
equal lengths, once cut at random points); the bytes of optimizer state and of a checkpoint, and
their ratios (the machine is noisy: compare within a run).

  python benchmarks/lora_throughput.py [--steps=8] [--adapters=11] [--rank=16] ...
"""

from __future__ import annotations

import os
import tempfile
import time

import jax
import ml_collections
import numpy as np
from absl import app, flags

_STEPS = flags.DEFINE_integer("steps", 8, "timed steps per setting")
_BATCH = flags.DEFINE_integer("batch", 8, "rows per step")
_SEQ_LEN = flags.DEFINE_integer("seq_len", 256, "tokens per row")
_VOCAB = flags.DEFINE_integer("vocab", 8192, "vocabulary size")
_D_MODEL = flags.DEFINE_integer("d_model", 512, "model width")
_LAYERS = flags.DEFINE_integer("layers", 4, "layers")
_HEADS = flags.DEFINE_integer("heads", 8, "attention heads")
_MLP = flags.DEFINE_integer("mlp", 1408, "MLP width")
_RANK = flags.DEFINE_integer("rank", 16, "LoRA rank")
_ADAPTERS = flags.DEFINE_integer("adapters", 11, "adapters in the bank (OpinionGPT: 11 groups)")
_SEGMENTS = flags.DEFINE_integer("segments", 4, "examples (each its own group) per row of the bank's batch")


def config(lora_rank: int = 0, adapters: tuple[str, ...] = ()) -> ml_collections.ConfigDict:
  from configs import base
  c = base.get_config()
  c.model.update(vocab_size=_VOCAB.value, d_model=_D_MODEL.value, n_layers=_LAYERS.value, n_heads=_HEADS.value,
                 n_kv_heads=_HEADS.value, mlp_dim=_MLP.value, head_dim=_D_MODEL.value // _HEADS.value,
                 scan_unroll=_LAYERS.value)
  c.train.update(steps=1000, batch_size=_BATCH.value, weight_decay=0.0, clip_norm=0.0, warmup_steps=0)
  c.lora.update(rank=lora_rank, alpha=16.0, adapters=adapters, route_by="group" if len(adapters) > 1 else "")
  return c


def batch_of(tokens: np.ndarray, n_adapters: int, ragged: bool = False, mixed: bool = True) -> dict:
  """Rows of _SEGMENTS examples: each of its own random group (`mixed`: per-token adapter ids) or
  all of the row's group (one id per row); of equal lengths, or (ragged) cut at random points, as
  packing examples of varied lengths gives."""
  b, t = tokens.shape[0], tokens.shape[1] - 1
  k = _SEGMENTS.value
  if ragged:
    rng = np.random.default_rng(2)
    cuts = np.stack([np.sort(rng.choice(np.arange(1, t), k - 1, replace=False)) for _ in range(b)])
  else:
    cuts = np.broadcast_to(np.arange(1, k) * (t // k), (b, k - 1))
  segments = 1 + np.stack([np.searchsorted(c, np.arange(t), side="right") for c in cuts])  # [b, t]
  starts = np.concatenate([np.zeros((b, 1), cuts.dtype), cuts], axis=1)
  batch = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "weights": np.ones((b, t), np.float32),
           "segment_ids": segments.astype(np.int32),
           "positions": (np.arange(t) - np.take_along_axis(starts, segments - 1, axis=1)).astype(np.int32)}
  if n_adapters > 1 and mixed:  # every segment its own group: rows mix groups
    groups = np.random.default_rng(1).integers(0, n_adapters, (b, k))
    batch["adapter_ids"] = np.take_along_axis(groups, segments - 1, axis=1).astype(np.int32)
  elif n_adapters > 1:
    batch["adapter_ids"] = np.random.default_rng(1).integers(0, n_adapters, b).astype(np.int32)
  return batch


def measure(c, tokens: np.ndarray, n_adapters: int, ragged: bool = False, mixed: bool = True) -> dict:
  """tokens/s, optimizer-state bytes and checkpoint bytes of one setting."""
  from itx import sharding
  from itx.train import frozen_base
  from itx.train.assemble import assemble
  from itx.train.checkpoint import Checkpointer

  run = assemble(c, sharding.make_mesh(c.mesh, jax.devices()[:1]))
  state = run.init_state(0)
  batch = run.put(batch_of(tokens, n_adapters, ragged, mixed))
  for _ in range(2):  # compile and warm up
    state, m = run.step(state, batch)
  jax.block_until_ready(m)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, m = run.step(state, batch)
  jax.block_until_ready(m)
  tps = _STEPS.value * batch["inputs"].size / (time.perf_counter() - start)
  opt_bytes = sum(x.nbytes for x in jax.tree.leaves(state.opt_state))
  with tempfile.TemporaryDirectory() as tmp:
    base = frozen_base.reference("", state.params) if run.model_cfg.lora is not None else None
    ckpt = Checkpointer(tmp, ml_collections.ConfigDict(dict(keep=1, every_steps=1, async_save=False)), base=base)
    ckpt.save(1, state, None, c, force=True)
    ckpt.close()
    ckpt_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)
  return {"tokens_per_s": tps, "opt_bytes": opt_bytes, "ckpt_bytes": ckpt_bytes}


def main(argv) -> None:
  del argv
  from itx.models import ModelConfig
  mc = ModelConfig.from_config(config().model)
  tokens = np.random.default_rng(0).integers(0, _VOCAB.value, (_BATCH.value, _SEQ_LEN.value + 1)).astype(np.int32)
  n = _ADAPTERS.value
  print(f"model: {mc.num_params():,} parameters; batch {_BATCH.value} x {_SEQ_LEN.value} tokens; float32; AdamW; "
        f"LoRA rank {_RANK.value} on q, k, v, o, gate, up, down")
  bank_config = config(_RANK.value, tuple(f"group{i}" for i in range(n)))
  results = {
      "full fine-tuning": measure(config(), tokens, 1),
      "LoRA, 1 adapter": measure(config(_RANK.value), tokens, 1),
      f"LoRA, bank of {n}": measure(bank_config, tokens, n, mixed=False),
      "  rows mixing groups": measure(bank_config, tokens, n),
      "  and cut at random": measure(bank_config, tokens, n, ragged=True),
  }
  print(f"{'':<26}{'tokens/s':>10}{'optimizer state':>18}{'checkpoint':>14}")
  for name, r in results.items():
    print(f"{name:<26}{r['tokens_per_s']:>10.1f}{r['opt_bytes'] / 2**20:>15.2f} MiB{r['ckpt_bytes'] / 2**20:>11.2f} MiB")
  full, one, bank, mixed, ragged = results.values()
  print(f"ratio LoRA / full, tokens/s:           {one['tokens_per_s'] / full['tokens_per_s']:.2f}")
  print(f"ratio LoRA / full, optimizer state:    {one['opt_bytes'] / full['opt_bytes']:.4f}")
  print(f"ratio LoRA / full, checkpoint:         {one['ckpt_bytes'] / full['ckpt_bytes']:.4f}")
  print(f"ratio bank of {n} / 1 adapter, tokens/s: {bank['tokens_per_s'] / one['tokens_per_s']:.2f} (goal: >= 0.8)")
  print(f"  with rows mixing groups:              {mixed['tokens_per_s'] / one['tokens_per_s']:.2f}")
  print(f"  and examples cut at random:           {ragged['tokens_per_s'] / one['tokens_per_s']:.2f}")
  # Rows of one group each are packed from fewer candidates: what that costs in fill, on the
  # LIMA-like length mix at these rows' length, and the bank's ratio in examples' tokens per second.
  import data_side
  by_group = data_side.measure(_BATCH.value, _SEQ_LEN.value, 100, groups=n, rows_by_tag=True)["fill"]
  mixed_fill = data_side.measure(_BATCH.value, _SEQ_LEN.value, 100, groups=n)["fill"]
  print(f"packing fill on a LIMA-like mix at {_SEQ_LEN.value} tokens: rows of one group {by_group:.1%}, "
        f"rows mixing groups {mixed_fill:.1%}")
  print(f"ratio bank / 1 adapter, tokens of examples per s: {bank['tokens_per_s'] * by_group / (one['tokens_per_s'] * mixed_fill):.2f}"
        " (rows of one group against an adapter's mixed rows)")


if __name__ == "__main__":
  from itx.cli import parse_flags
  app.run(main, flags_parser=parse_flags)

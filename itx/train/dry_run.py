"""`itx train --dry_run`: what a config would run, without running it and without writing to the
workdir: the resolved config, the model's parameters (total and trainable), the mesh, tokens per
step, each source's examples and tokens (tokenized into the shared cache, as a run would), whether
the workdir would resume, and an estimate of memory per device.

The memory estimate adds, per device: parameters and optimizer state (the bytes of their shards,
from the state's abstract shapes and shardings, exact), and activations kept for the backward pass
(an estimate: the per-token tensors each layer saves under `model.remat`, attention scores of
`xla` attention, and one chunk of float32 logits and its gradient).
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from itx import config as config_lib
from itx import sharding
from itx.train.assemble import assemble
from itx.train.checkpoint import Checkpointer
from itx.train.objectives import chunk_positions


def _shard_bytes(abstract, shardings) -> int:
  """Bytes one device holds of a pytree of ShapeDtypeStructs laid out by `shardings`."""
  total = 0
  for a, s in zip(jax.tree.leaves(abstract), jax.tree.leaves(shardings)):
    shape = s.shard_shape(a.shape) if hasattr(s, "shard_shape") else a.shape
    total += int(np.prod(shape)) * np.dtype(a.dtype).itemsize
  return total


def activation_bytes(c, model_cfg, rows_per_device: int) -> dict:
  """{name: bytes} of the activations one device keeps for the backward pass (an estimate)."""
  m, t = model_cfg, c.data.seq_len
  tokens = rows_per_device * t
  width = np.dtype(m.compute_dtype).itemsize
  qkv = (m.n_heads + 2 * m.n_kv_heads) * m.head_size
  per_token = {
      "none": 4 * m.d_model + qkv + m.n_heads * m.head_size + 3 * m.mlp_dim,  # norms, q/k/v, attention out, MLP
      "dots": qkv + m.n_heads * m.head_size + 3 * m.mlp_dim,                   # the matmul outputs only
      "full": m.d_model,                                                        # each layer's input
  }[m.remat]
  layers = per_token * tokens * width * m.n_layers
  scores = rows_per_device * m.n_heads * t * t * 4 * m.n_layers if m.remat == "none" and m.attention == "xla" else 0
  if m.remat == "full":  # one layer is recomputed whole during the backward pass
    layers += (4 * m.d_model + qkv + 3 * m.mlp_dim) * tokens * width
  chunk = chunk_positions(rows_per_device, t, m.vocab_size)
  logits = 2 * rows_per_device * chunk * m.vocab_size * 4
  return {"layers": layers, "attention scores": scores, "logits (one chunk, with its gradient)": logits}


def dry_run(config, workdir: str) -> str:
  from itx.train.loop import _summary, prepare
  config_lib.validate(config, process_count=jax.process_count())
  c, _, sources, _ = prepare(config, progress=False)
  mesh = sharding.make_mesh(c.mesh)
  config_lib.check_batch_fits_mesh(c, mesh)
  run = assemble(c, mesh)
  params = _shard_bytes(run.abstract.params, run.shardings.params)
  opt = _shard_bytes(run.abstract.opt_state, run.shardings.opt_state)
  rows = c.train.batch_size // c.train.grad_accum // (mesh.shape["data"] * mesh.shape["fsdp"])
  acts = activation_bytes(c, run.model_cfg, rows)
  gib = 1024 ** 3
  saved = workdir and os.path.isdir(os.path.join(workdir, "checkpoints"))
  resume = Checkpointer(workdir, c.checkpoint).latest_step() if saved else None
  lines = ["resolved config:", json.dumps(c.to_dict(), indent=2, default=str), "", _summary(c, run, sources),
           f"tokens per step: {c.train.batch_size * c.data.seq_len:,} ({c.train.batch_size} rows x {c.data.seq_len})",
           f"workdir: {workdir} " + (f"would resume from step {resume}" if resume is not None else "would start fresh"),
           "memory per device (estimate):",
           f"  parameters        {params / gib:8.3f} GiB",
           f"  optimizer state   {opt / gib:8.3f} GiB"]
  lines += [f"  {name:<17} {v / gib:8.3f} GiB" for name, v in acts.items()]
  lines.append(f"  total             {(params + opt + sum(acts.values())) / gib:8.3f} GiB "
               f"(gradients of the trainable parameters add up to their size again)")
  lines.append("nothing was written to the workdir")
  return "\n".join(lines)

"""The sharded train step: accumulation is token-weighted, and 8 devices compute what 1 does."""

import jax
import numpy as np
import optax
import pytest
from jax.sharding import PartitionSpec as P

from helpers import assert_trees_close, tiny_config
from itx import sharding
from itx.data import pipeline
from itx.datasets.sources import build_sources, tokenizer
from itx.train.assemble import assemble


def make_run(c, devices):
  """(init state, step fn, batch sharding) for config c on the given devices."""
  run = assemble(c, sharding.make_mesh(c.mesh, devices))
  return run.init_state(0), run.step, run.batch_sharding


def toy_batches(c, n):
  tok = tokenizer(c.model.tokenizer)
  sources, weights = build_sources(c, tok, progress=False)
  it = pipeline.batches(sources, weights, rows=c.train.batch_size, seq_len=c.data.seq_len, seed=3)
  return [next(it) for _ in range(n)]


def run_steps(c, devices, batches):
  state, step, bs = make_run(c, devices)
  losses = []
  for b in batches:
    state, m = step(state, {k: jax.device_put(v, bs) for k, v in b.items()})
    losses.append(float(m["loss"]))
  return state, losses


def config(**changes):
  c = tiny_config(d_model=64, n_heads=8, n_kv_heads=4, mlp_dim=128, vocab_size=512, vocab_from_tokenizer=False,
                  qkv_bias=True)
  c.data.seq_len = 64
  # eps: the key bias has an exactly-zero gradient (softmax ignores a constant shift of the scores),
  # and Adam with a tiny eps turns the float noise of a zero into +-lr updates.
  c.train.update(batch_size=16, learning_rate=1e-2, warmup_steps=1, eps=1e-4)
  for k, v in changes.items():
    section, field = k.split("__")
    c[section][field] = v
  return c


@pytest.fixture(scope="module")
def batches():
  return toy_batches(config(), 2)


@pytest.fixture(scope="module")
def one_device_run(batches):
  return run_steps(config(mesh__data=1), jax.devices()[:1], batches)


def test_gradient_accumulation_equals_one_larger_batch(batches, one_device_run):
  # Micro-batches hold different numbers of target tokens: a per-micro-batch mean would differ.
  counts = [b["weights"][i::4].sum() for b in batches[:1] for i in range(4)]
  assert len(set(counts)) > 1
  state, losses = run_steps(config(mesh__data=1, train__grad_accum=4), jax.devices()[:1], batches)
  ref_state, ref_losses = one_device_run
  np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
  assert_trees_close(state.params, ref_state.params, rtol=2e-5)


@pytest.mark.parametrize("mesh", [(8, 1, 1), (1, 8, 1), (2, 2, 2), (1, 2, 4)], ids=str)
def test_eight_devices_equal_one(batches, one_device_run, mesh):
  data, fsdp, tensor = mesh
  c = config(mesh__data=data, mesh__fsdp=fsdp, mesh__tensor=tensor)
  state, losses = run_steps(c, jax.devices(), batches)
  ref_state, ref_losses = one_device_run
  np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
  assert_trees_close(state.params, ref_state.params, rtol=2e-5)
  # Parameters and their Adam moments are sharded as the rules say.
  q = state.params["layers"]["attn"]["q_proj"]["kernel"]
  assert q.sharding.spec == P(None, "fsdp", "tensor", None)
  assert q.addressable_shards[0].data.shape == (2, 64 // fsdp, 8 // tensor, 8)
  emb = state.params["embed"]["embedding"]
  assert emb.sharding.spec == P("tensor", "fsdp")
  mu = optax.tree_utils.tree_get(state.opt_state, "mu")["layers"]["attn"]["q_proj"]["kernel"]
  assert mu.sharding == q.sharding
  norm = state.params["layers"]["input_norm"]["scale"]
  assert norm.sharding.is_fully_replicated

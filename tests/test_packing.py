"""Packing: a packed row gives the same loss and gradients as its examples run one by one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import assert_trees_close
from itx.data import pipeline
from itx.models import ModelConfig, DecoderLM
from itx.train.objectives import next_token_loss

CFG = ModelConfig(vocab_size=512, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64, qkv_bias=True)


def random_examples(n, rng, max_len=20):
  out = []
  for _ in range(n):
    k = int(rng.integers(4, max_len))
    ids = rng.integers(3, CFG.vocab_size, k + 1).astype(np.int32)
    w = (rng.random(k) < 0.6).astype(np.float32)
    w[-1] = 1.0
    out.append({"inputs": ids[:-1], "targets": ids[1:], "weights": w})
  return out


@pytest.fixture(scope="module")
def params():
  return jax.jit(DecoderLM(CFG).init)(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))["params"]


def per_example(params, examples):
  model = DecoderLM(CFG)
  fn = jax.jit(jax.value_and_grad(lambda p, b: next_token_loss(model, p, b), has_aux=True))
  loss, count, grads = 0.0, 0.0, None
  for ex in examples:  # alone in its row; padded to one length so that it compiles once
    b = {k: jnp.asarray(v)[None] for k, v in pipeline.pad_example(ex, 48).items()}
    (l, c), g = fn(params, b)
    loss, count = loss + l, count + c
    grads = g if grads is None else jax.tree.map(jnp.add, grads, g)
  return loss, count, grads


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "padded"])
def test_packed_loss_and_gradients_equal_unpacked(params, packing):
  rng = np.random.default_rng(0)
  examples = random_examples(12, rng)
  rows = 4 if packing else 12
  it = pipeline.batches([examples], [1.0], rows=rows, seq_len=48, packing=packing, shuffle=False)
  batch = next(it)
  # Which examples went into this batch: every segment is one example, in some order.
  seen = int(sum(len(np.unique(r[r > 0])) for r in batch["segment_ids"]))
  assert seen >= 5 if packing else seen == 12
  assert packing == bool((batch["segment_ids"] > 1).any())  # packed rows really hold several examples
  if not packing:  # every example alone in its row
    packed_lengths = sorted(int((r == s).sum()) for r in batch["segment_ids"] for s in np.unique(r[r > 0]))
    assert packed_lengths == sorted(len(e["inputs"]) for e in examples)
  chosen = []  # the examples in this batch, matched by content (the packer keeps some for later bins)
  for r_in, r_seg in zip(batch["inputs"], batch["segment_ids"]):
    for s in np.unique(r_seg[r_seg > 0]):
      chosen.append(next(e for e in examples if np.array_equal(e["inputs"], r_in[r_seg == s])))
  model = DecoderLM(CFG)
  (loss, count), grads = jax.jit(jax.value_and_grad(lambda p, b: next_token_loss(model, p, b), has_aux=True))(
      params, {k: jnp.asarray(v) for k, v in batch.items()})
  ref_loss, ref_count, ref_grads = per_example(params, chosen)
  assert float(count) == float(ref_count)
  np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
  assert_trees_close(grads, ref_grads)


def test_segments_do_not_attend_to_each_other(params):
  """Changing one packed example leaves the other examples' logits unchanged."""
  model = DecoderLM(CFG)
  rng = np.random.default_rng(1)
  a, b = rng.integers(3, 500, 10), rng.integers(3, 500, 12)
  seg = np.array([1] * 10 + [2] * 12)[None]
  pos = np.concatenate([np.arange(10), np.arange(12)])[None]
  base = model.apply({"params": params}, np.concatenate([a, b])[None], seg, pos)
  a2 = a.copy(); a2[:5] = 7
  changed = model.apply({"params": params}, np.concatenate([a2, b])[None], seg, pos)
  np.testing.assert_allclose(base[0, 10:], changed[0, 10:], rtol=1e-5, atol=1e-6)
  assert not np.allclose(base[0, :10], changed[0, :10])

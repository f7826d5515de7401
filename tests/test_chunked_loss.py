"""The loss in chunks of positions (itx.train.objectives.row_nll_sums) equals the loss of the whole
logits, in value and gradients, with targets scattered over packed rows, a LoRA bank's per-row and
per-token adapter ids, and chunks that hold no target (skipped)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from itx.models import ModelConfig, network
from itx.models.lora import LoraSpec
from itx.train import objectives


def batch_of(rng, b, t, vocab, adapters=0, per_token=False):
  weights = (rng.random((b, t)) < 0.3).astype(np.float32)
  weights[0] = 0.0  # a row with no target at all
  weights[1, -3:] = 1.0
  batch = {"inputs": rng.integers(0, vocab, (b, t)).astype(np.int32),
           "targets": rng.integers(0, vocab, (b, t)).astype(np.int32), "weights": weights,
           "segment_ids": np.ones((b, t), np.int32), "positions": np.tile(np.arange(t, dtype=np.int32), (b, 1))}
  if adapters:
    shape = (b, t) if per_token else (b,)
    batch["adapter_ids"] = rng.integers(0, adapters, shape).astype(np.int32)
  return batch


@pytest.mark.parametrize("lora", [None, "token"])
def test_chunked_loss_and_gradients_equal_the_whole_logits(lora):
  rng = np.random.default_rng(0)
  spec = LoraSpec(rank=4, alpha=8.0, adapters=("a", "b", "c")) if lora else None
  cfg = ModelConfig(vocab_size=256, d_model=16, n_layers=1, n_heads=2, n_kv_heads=1, mlp_dim=32, lora=spec,
                    tie_embeddings=lora is None)
  model = network(cfg)
  batch = batch_of(rng, 4, 24, 256, adapters=3 if lora else 0, per_token=lora == "token")
  params = model.init(jax.random.key(0), batch["inputs"])["params"]
  params = jax.tree.map(lambda p: p + 0.02 * jax.random.normal(jax.random.key(1), p.shape), params)

  def loss(p, budget):
    sums, counts = objectives.row_nll_sums(model, p, batch, budget=budget)
    return jnp.sum(sums) / jnp.sum(counts), sums

  whole_budget = 1 << 40
  chunk_budget = 4 * 4 * 256 * 5  # five positions a chunk: 5 chunks, the last padded
  assert objectives.chunk_positions(4, 24, 256, chunk_budget) == 5
  (whole, whole_rows), g_whole = jax.value_and_grad(loss, has_aux=True)(params, whole_budget)
  (chunked, chunk_rows), g_chunked = jax.value_and_grad(loss, has_aux=True)(params, chunk_budget)
  np.testing.assert_allclose(chunk_rows, whole_rows, rtol=1e-5, atol=1e-6)
  assert float(chunk_rows[0]) == 0.0
  np.testing.assert_allclose(chunked, whole, rtol=1e-6)
  for a, b in zip(jax.tree.leaves(g_chunked), jax.tree.leaves(g_whole)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(np.abs(b).max() + 1e-12))

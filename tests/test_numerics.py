"""Numerics: under bfloat16 the logits are accumulated in float32, and the first warm-up step
already moves the parameters."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import tiny_config
from itx import sharding
from itx.models import DecoderLM, ModelConfig
from itx.train import optim
from itx.train.assemble import assemble


@pytest.mark.parametrize("tied", [False, True])
def test_bf16_logits_are_float32_sums_of_bf16_products(tied):
  # d_model 512: a bfloat16 result would carry ~3 significant digits (relative error ~4e-3); float32
  # accumulation of the same bfloat16 inputs agrees with an exact sum to ~1e-6.
  cfg = ModelConfig(vocab_size=64, d_model=512, n_layers=1, n_heads=4, n_kv_heads=4, mlp_dim=64,
                    dtype="bfloat16", tie_embeddings=tied)
  model = DecoderLM(cfg)
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, 64, (2, 8)), jnp.int32)
  params = nn.unbox(model.init(jax.random.key(0), tokens)["params"])
  params = jax.tree.map(lambda p: p * 4.0, params)  # larger logits: rounding to bf16 shows more
  logits, inter = model.apply({"params": params}, tokens, capture_intermediates=True, mutable=["intermediates"])
  hidden = np.asarray(inter["intermediates"]["final_norm"]["__call__"][0].astype(jnp.float32), np.float64)
  w = params["embed"]["embedding"].T if tied else params["lm_head"]["kernel"]
  w = np.asarray(w.astype(jnp.bfloat16).astype(jnp.float32), np.float64)
  exact = hidden @ w
  err = np.max(np.abs(np.asarray(logits, np.float64) - exact)) / np.max(np.abs(exact))
  assert logits.dtype == jnp.float32
  assert err < 1e-5, f"relative error {err:.2e}: the output projection was not accumulated in float32"


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_warmup_starts_above_zero_and_peaks_at_the_last_warmup_step(schedule):
  c = tiny_config()
  c.train.update(schedule=schedule, learning_rate=1e-3, warmup_steps=4, steps=20)
  lr = optim.learning_rate_schedule(c.train)
  rates = [float(lr(i)) for i in range(c.train.steps)]  # the rate of update i (0-based)
  assert rates[0] > 0
  np.testing.assert_allclose(rates[:4], [2.5e-4, 5e-4, 7.5e-4, 1e-3], rtol=1e-6)
  assert max(rates) == pytest.approx(1e-3)


def test_the_first_step_changes_the_parameters():
  c = tiny_config(vocab_size=512, vocab_from_tokenizer=False)
  c.train.update(warmup_steps=10, batch_size=8)
  c.data.seq_len = 16
  run = assemble(c, sharding.make_mesh(c.mesh, jax.devices()[:1]))
  state = run.init_state(0)
  before = jax.device_get(state.params)
  rng = np.random.default_rng(0)
  batch = {"inputs": rng.integers(0, 512, (8, 16)), "targets": rng.integers(0, 512, (8, 16)),
           "weights": np.ones((8, 16), np.float32), "segment_ids": np.ones((8, 16), np.int32),
           "positions": np.tile(np.arange(16), (8, 1))}
  batch = {k: jax.device_put(np.asarray(v, np.float32 if k == "weights" else np.int32), run.batch_sharding)
           for k, v in batch.items()}
  state, metrics = run.step(state, batch)
  assert float(metrics["learning_rate"]) > 0
  moved = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - b))), state.params, before)
  assert all(m > 0 for m in jax.tree.leaves(moved)), moved

"""Attention implementations: jax.nn.dot_product_attention ('xla') and the Pallas splash kernel (run
interpreted on the CPU) give the reference einsum attention's outputs under packing and sliding
windows; the decode attention over a read-only cache equals attending with the keys written in; the
network's logits do not depend on the implementation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from itx.models import DecoderLM, ModelConfig
from itx.models.attention import attend, attend_cached, attention_mask, einsum_attend, splash_attend
from itx.models.attention_variants import NO_WINDOW, window_mask

B, T, H, KV, D = 2, 16, 4, 2, 8
# Row 0: two packed examples then padding; row 1: one example filling the row.
SEGMENTS = np.array([[1] * 6 + [2] * 7 + [0] * 3, [1] * 16], np.int32)
POSITIONS = np.array([list(range(6)) + list(range(7)) + [0] * 3, list(range(16))], np.int32)


def qkv(seed=0):
  kq, kk, kv = jax.random.split(jax.random.key(seed), 3)
  return (jax.random.normal(kq, (B, T, H, D)), jax.random.normal(kk, (B, T, KV, D)),
          jax.random.normal(kv, (B, T, KV, D)))


def full_mask(window):
  mask = attention_mask(SEGMENTS, POSITIONS, SEGMENTS, POSITIONS)
  return mask & window_mask(POSITIONS, POSITIONS, window) if window else mask


@pytest.mark.parametrize("window", [0, 3])
def test_dot_product_attention_equals_the_einsum_reference(window):
  q, k, v = qkv()
  mask = full_mask(window)
  ref = einsum_attend(q, k, v, mask, jnp.float32)
  out = attend(q, k, v, mask, jnp.float32, implementation="xla")
  real = SEGMENTS != 0  # padding queries attend nowhere: their outputs are never used
  np.testing.assert_allclose(np.asarray(out)[real], np.asarray(ref)[real], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("window", [0, 5])
def test_splash_kernel_equals_the_einsum_reference(window):
  t = 128  # the kernel's smallest block
  lengths = [[50, 40, 30], [128]]  # row 0: three packed examples, then 8 padding tokens
  seg = np.zeros((B, t), np.int32)
  pos = np.zeros((B, t), np.int32)
  for row, ls in enumerate(lengths):
    start = 0
    for i, n in enumerate(ls):
      seg[row, start:start + n], pos[row, start:start + n] = i + 1, np.arange(n)
      start += n
  kq, kk, kv = jax.random.split(jax.random.key(1), 3)
  q, k, v = (jax.random.normal(kq, (B, t, H, D)), jax.random.normal(kk, (B, t, KV, D)),
             jax.random.normal(kv, (B, t, KV, D)))
  mask = attention_mask(seg, pos, seg, pos)
  if window:
    mask = mask & window_mask(pos, pos, window)
  ref = einsum_attend(q, k, v, mask, jnp.float32, scale=0.3)
  layer_window = jnp.int32(window or NO_WINDOW)
  out = splash_attend(q, k, v, seg, layer_window, sliding_window=window, scale=0.3, interpret=True)
  real = seg != 0
  np.testing.assert_allclose(np.asarray(out)[real], np.asarray(ref)[real], atol=1e-5, rtol=1e-5)


def test_cached_attention_equals_attention_with_the_keys_written_in():
  q, k, v = qkv(2)
  seg, pos = SEGMENTS[1:], POSITIONS[1:]  # one row: the cache holds positions 0..9, the step is 10..12
  start, stop = 10, 13
  cache_seg = np.where(np.arange(T) < start, 1, 0)[None].astype(np.int32)
  slots = np.arange(T)[None]
  cache_k = jnp.where((slots < start)[..., None, None], k[1:], 0).transpose(0, 2, 1, 3)  # [b, kv, S, d]
  cache_v = jnp.where((slots < start)[..., None, None], v[1:], 0).transpose(0, 2, 1, 3)
  q_step, k_step, v_step = q[1:, start:stop], k[1:, start:stop], v[1:, start:stop]
  p_step, s_step = pos[:, start:stop], seg[:, start:stop]
  out = attend_cached(q_step, k_step, v_step, cache_k, cache_v,
                      attention_mask(s_step, p_step, s_step, p_step),
                      attention_mask(s_step, p_step, cache_seg, slots, strict=True), jnp.float32)
  ref = einsum_attend(q[1:], k[1:], v[1:], attention_mask(seg, pos, seg, pos), jnp.float32)[:, start:stop]
  np.testing.assert_allclose(np.asarray(out), np.asarray(ref), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", [{}, {"sliding_window": 4, "layer_types": ("sliding_attention", "full_attention")}])
def test_logits_do_not_depend_on_the_implementation(family):
  cfg = dict(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64, **family)
  tokens = jnp.asarray(np.random.default_rng(0).integers(1, 64, (B, T)), jnp.int32)
  params = DecoderLM(ModelConfig(**cfg)).init(jax.random.key(0), tokens)["params"]
  logits = {impl: DecoderLM(ModelConfig(**cfg, attention=impl)).apply({"params": params}, tokens, SEGMENTS, POSITIONS)
            for impl in ("einsum", "xla")}
  real = SEGMENTS != 0
  np.testing.assert_allclose(np.asarray(logits["xla"])[real], np.asarray(logits["einsum"])[real], atol=1e-4, rtol=1e-4)


def test_an_unknown_implementation_names_the_field():
  with pytest.raises(ValueError, match="model.attention='flash'"):
    ModelConfig(vocab_size=64, d_model=32, n_layers=1, n_heads=4, n_kv_heads=2, mlp_dim=64, attention="flash")

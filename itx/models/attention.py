"""Attention kernels of the decoder: masks from segment ids and positions, the full (training,
scoring, prefill) attention through `jax.nn.dot_product_attention`, and the decode attention over a
key/value cache plus the step's own keys.

`model.attention` picks the implementation of the full attention:
  xla     jax.nn.dot_product_attention(implementation="xla"): every backend (the CPU's choice).
  cudnn   jax.nn.dot_product_attention(implementation="cudnn"): cuDNN flash attention on NVIDIA
          GPUs (bfloat16/float16 only; the mask is passed as a dense boolean mask).
  splash  the Pallas splash-attention kernel on TPUs (jax.experimental.pallas.ops.tpu); segment
          ids and the causal / sliding-window shape become its mask objects. Only runs on a TPU.
  einsum  itx's own head-major einsum attention (the reference; the one with a logit soft-cap).
Segment ids, causality and sliding windows are one boolean mask [b, 1, t, s] for every
implementation; a logit soft-cap (Gemma 2) is only supported by `einsum`, and is chosen for it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from itx.models import attention_variants

from itx.models.config import ATTENTION_IMPLEMENTATIONS as IMPLEMENTATIONS


def attention_mask(q_segment_ids, q_positions, kv_segment_ids, kv_positions, strict: bool = False):
  """[batch, 1, q_len, kv_len] bool: same non-padding segment, and key not after the query (before
  it when `strict`)."""
  same = q_segment_ids[:, :, None] == kv_segment_ids[:, None, :]
  valid = (q_segment_ids[:, :, None] != 0) & (kv_segment_ids[:, None, :] != 0)
  if strict:
    causal = kv_positions[:, None, :] < q_positions[:, :, None]
  else:
    causal = kv_positions[:, None, :] <= q_positions[:, :, None]
  return (same & valid & causal)[:, None]


def _head_major(q, kv_heads):
  b, t, h, d = q.shape
  return q.reshape(b, t, kv_heads, h // kv_heads, d).transpose(0, 2, 3, 1, 4)  # [b, kv, g, t, d]


def _scale(scores, d: int, scale):
  return scores / jnp.sqrt(jnp.float32(d)) if scale is None else scores * jnp.float32(scale)


def _scores(qh, k, scale, logit_cap):
  """qh [b, kv, g, t, d] . k [b, s, kv, d] -> float32 scores [b, kv, g, t, s], scaled and capped."""
  scores = jnp.einsum("bkgtd,bskd->bkgts", qh, k, preferred_element_type=jnp.float32)
  return attention_variants.softcap(_scale(scores, qh.shape[-1], scale), logit_cap)


def einsum_attend(q, k, v, mask, dtype, scale: float | None = None, logit_cap: float = 0.0):
  """Grouped-query attention, scores head-major ([b, kv, group, t, s]).

  q: [b, t, heads, d]; k, v: [b, s, kv_heads, d]; mask: [b, 1, t, s]. Returns [b, t, heads, d].
  scale: multiplies the scores (default 1 / sqrt(d)); logit_cap: tanh soft-cap of the scaled scores.
  """
  b, t, h, d = q.shape
  qh = _head_major(q, k.shape[2])
  scores = jnp.where(mask[:, :, None], _scores(qh, k, scale, logit_cap), jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(scores, axis=-1).astype(dtype)
  out = jnp.einsum("bkgts,bskd->bkgtd", probs, v)
  return out.transpose(0, 3, 1, 2, 4).reshape(b, t, h, d)


def splash_attend(q, k, v, segment_ids, window, *, sliding_window: int, scale: float | None = None,
                  interpret: bool | None = None):
  """The Pallas splash-attention kernel (TPU; `interpret` runs it anywhere, slowly: for tests).

  q: [b, t, heads, d]; k, v: [b, t, kv_heads, d]; segment_ids: [b, t]; window: this layer's int32
  window (traced; NO_WINDOW for full attention); sliding_window: the config's (static) window.
  Causality by index equals causality by position inside each contiguous segment (packed rows
  restart positions per segment); segment ids block attention across segments. Padding rows
  (segment 0) attend among themselves where the dense mask masks them: their outputs are never used.
  """
  from jax.experimental.pallas.ops.tpu.splash_attention import splash_attention_kernel as sk
  from jax.experimental.pallas.ops.tpu.splash_attention import splash_attention_mask as sm
  if interpret is None:
    interpret = jax.default_backend() != "tpu"
  b, t, h, d = q.shape
  block = 512 if t % 512 == 0 else 128  # the kernel's blocks are multiples of 128
  if t % block:
    raise ValueError(f"model.attention='splash': the sequence length {t} must be a multiple of 128")
  sizes = sk.BlockSizes(block_q=block, block_kv=block, block_kv_compute=block, block_q_dkv=block,
                        block_kv_dkv=block, block_kv_dkv_compute=block, block_q_dq=block, block_kv_dq=block)

  def run(local: int):
    base = sm.LocalMask((t, t), (local - 1, 0), offset=0) if local else sm.CausalMask((t, t))
    kernel = sk.make_splash_mha(sm.MultiHeadMask([base] * h), block_sizes=sizes, head_shards=1, q_seq_shards=1,
                                interpret=interpret)
    qs = (q * jnp.asarray(d ** -0.5 if scale is None else scale, q.dtype)).transpose(0, 2, 1, 3)
    ks, vs = k.astype(q.dtype).transpose(0, 2, 1, 3), v.astype(q.dtype).transpose(0, 2, 1, 3)
    out = jax.vmap(lambda q1, k1, v1, s1: kernel(q1, k1, v1, segment_ids=sk.SegmentIds(s1, s1)))(qs, ks, vs, segment_ids)
    return out.transpose(0, 2, 1, 3)

  if not sliding_window:
    return run(0)
  return jax.lax.cond(window >= attention_variants.NO_WINDOW, lambda: run(0), lambda: run(sliding_window))


def attend(q, k, v, mask, dtype, *, implementation: str = "xla", scale: float | None = None,
           logit_cap: float = 0.0):
  """Full attention. q: [b, t, heads, d]; k, v: [b, s, kv_heads, d]; mask: [b, 1, t, s] bool
  (segments, causality and windows). Returns [b, t, heads, d] in `dtype`. (`splash` takes segment
  ids instead of a mask: `splash_attend`.)"""
  if implementation == "einsum" or logit_cap:
    return einsum_attend(q, k, v, mask, dtype, scale, logit_cap)
  if implementation not in ("xla", "cudnn"):
    raise ValueError(f"model.attention={implementation!r}: expected one of {IMPLEMENTATIONS}")
  out = jax.nn.dot_product_attention(q, k.astype(q.dtype), v.astype(q.dtype), mask=mask, scale=scale,
                                     implementation=implementation)
  return out.astype(dtype)


def attend_cached(q, k, v, cache_k, cache_v, mask, cache_mask, dtype, scale: float | None = None,
                  logit_cap: float = 0.0):
  """Attention of a decode step over the cache (read only) and the step's own keys.

  q: [b, t, heads, d]; k, v: [b, t, kv_heads, d] (this step's); cache_k, cache_v: [b, kv_heads, S, d];
  mask: [b, 1, t, t] over the step's keys; cache_mask: [b, 1, t, S] over the cache's slots.
  One softmax over both score blocks: the same numbers as attending over the cache with the new
  keys written in, without writing into (and so copying) the cache inside the layer.
  Returns [b, t, heads, d].
  """
  b, t, h, d = q.shape
  qh = _head_major(q, k.shape[2])
  neg = jnp.finfo(jnp.float32).min
  s_cache = jnp.einsum("bkgtd,bksd->bkgts", qh, cache_k.astype(q.dtype), preferred_element_type=jnp.float32)
  s_cache = attention_variants.softcap(_scale(s_cache, d, scale), logit_cap)
  s_cache = jnp.where(cache_mask[:, :, None], s_cache, neg)
  s_new = jnp.where(mask[:, :, None], _scores(qh, k, scale, logit_cap), neg)
  probs = jax.nn.softmax(jnp.concatenate([s_cache, s_new], axis=-1), axis=-1).astype(dtype)
  n = cache_k.shape[2]
  out = (jnp.einsum("bkgts,bksd->bkgtd", probs[..., :n], cache_v.astype(dtype))
         + jnp.einsum("bkgts,bskd->bkgtd", probs[..., n:], v.astype(dtype)))
  return out.transpose(0, 3, 1, 2, 4).reshape(b, t, h, d)

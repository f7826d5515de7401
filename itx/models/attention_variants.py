"""Attention options of some families: sliding windows (Mistral, Qwen, Gemma's local layers) and
tanh soft-capping (Gemma 2).

A window is a mask on positions, not on slots, so it holds unchanged in packed rows (per-segment
positions) and in the decode cache (slot s holds position s): a query at position p sees the keys
at positions p - window + 1 .. p, as transformers' `sliding_window_overlay` does. The decode cache
keeps every position (no ring buffer); the mask alone makes decoding past the window exact.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from itx.models.config import ModelConfig

NO_WINDOW = np.iinfo(np.int32).max  # the window of a full-attention layer


def layer_windows(cfg: ModelConfig) -> np.ndarray:
  """The attention window of every layer [n_layers] int32 (NO_WINDOW for full attention)."""
  return np.array([cfg.sliding_window if sliding else NO_WINDOW for sliding in cfg.sliding_layers], np.int32)


def window_mask(q_positions, kv_positions, window):
  """[batch, 1, q_len, kv_len] bool: the key is less than `window` positions before the query.

  q_positions: [b, t]; kv_positions: [b, s] int; window: int32 scalar (traced: one per layer).
  """
  distance = q_positions[:, :, None] - kv_positions[:, None, :]
  return (distance < window)[:, None]


def softcap(x, cap: float):
  """cap * tanh(x / cap): bounds x to (-cap, cap), near identity for |x| << cap; cap 0: x."""
  if not cap:
    return x
  return jnp.tanh(x / cap) * cap

"""Rotary position embeddings: the frequencies of each layer (base, Llama 3 and linear scaling,
a separate base for sliding-window layers) and their application to queries and keys.

The frequencies are computed once on the host in float32, in the order of operations of
transformers' `modeling_rope_utils`, so that imported checkpoints give its logits. They reach the
scanned layers as a per-layer array [layers, head_dim // 2]: no Python branch per layer.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from itx.models.config import ModelConfig


def inverse_frequencies(head_dim: int, theta: float, scaling: str = "none", factor: float = 1.0,
                        low_freq_factor: float = 1.0, high_freq_factor: float = 4.0,
                        original_max_len: int = 8192) -> np.ndarray:
  """Rope inverse frequencies [head_dim // 2] float32.

  scaling: "none"; "linear" (every frequency divided by `factor`); "llama3" (Llama 3.1: wavelengths
  longer than original_max_len / low_freq_factor divided by `factor`, shorter than
  original_max_len / high_freq_factor kept, smoothly interpolated between).
  """
  exponents = np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / np.float32(head_dim)
  inv_freq = (np.float32(1.0) / (np.float32(theta) ** exponents)).astype(np.float32)
  if scaling == "none":
    return inv_freq
  if scaling == "linear":
    return (inv_freq / np.float32(factor)).astype(np.float32)
  if scaling != "llama3":
    raise ValueError(f"rope scaling {scaling!r}: expected none, linear or llama3")
  low_freq_wavelen = original_max_len / low_freq_factor
  high_freq_wavelen = original_max_len / high_freq_factor
  wavelen = (np.float32(2 * math.pi) / inv_freq).astype(np.float32)
  scaled = np.where(wavelen > low_freq_wavelen, inv_freq / np.float32(factor), inv_freq).astype(np.float32)
  smooth = ((np.float32(original_max_len) / wavelen - np.float32(low_freq_factor))
            / np.float32(high_freq_factor - low_freq_factor)).astype(np.float32)
  smoothed = ((1 - smooth) * scaled / np.float32(factor) + smooth * scaled).astype(np.float32)
  medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
  return np.where(medium, smoothed, scaled).astype(np.float32)


def layer_frequencies(cfg: ModelConfig) -> np.ndarray:
  """Inverse frequencies of every layer [n_layers, head_dim // 2] float32: full-attention layers use
  rope_theta with the configured scaling; sliding-window layers the same, unless rope_local_theta
  gives them their own unscaled base (Gemma 3)."""
  full = inverse_frequencies(cfg.head_size, cfg.rope_theta, cfg.rope_scaling, cfg.rope_factor,
                             cfg.rope_low_freq_factor, cfg.rope_high_freq_factor, cfg.rope_original_max_len)
  local = inverse_frequencies(cfg.head_size, cfg.rope_local_theta) if cfg.rope_local_theta else full
  return np.stack([local if sliding else full for sliding in cfg.sliding_layers])


def apply_rotary(x, positions, inv_freq):
  """Rotates x [batch, length, heads, head_dim] by positions [batch, length] (half-split convention,
  as Hugging Face's `rotate_half`); inv_freq [head_dim // 2]. Computed in float32."""
  half = x.shape[-1] // 2
  angle = positions.astype(jnp.float32)[..., None] * inv_freq.astype(jnp.float32)  # [b, t, half]
  sin, cos = jnp.sin(angle)[:, :, None, :], jnp.cos(angle)[:, :, None, :]
  x1, x2 = x[..., :half].astype(jnp.float32), x[..., half:].astype(jnp.float32)
  out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  return out.astype(x.dtype)

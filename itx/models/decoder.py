"""A Llama-family decoder-only transformer as a linen module.

Layers name only *logical* axes ("embed", "heads", "mlp", ...); `config.mesh.rules` maps them onto
the device mesh. Attention is masked by segment ids and positions rather than by row index, so
packed rows never attend across examples, and a key/value cache (whose slots carry their own
positions and segment ids) can reuse `attend` without touching the parameter tree.

Parameter tree (L = layers, stacked by `nn.scan`):
  embed/embedding                       [vocab, embed]
  layers/input_norm/scale               [L, embed]
  layers/attn/{q,k,v}_proj/kernel       [L, embed, heads|kv_heads, head_dim]   (+ bias)
  layers/attn/o_proj/kernel             [L, heads, head_dim, embed]
  layers/post_attn_norm/scale           [L, embed]   (the norm before the MLP)
  layers/mlp/{gate,up}_proj/kernel      [L, embed, mlp]
  layers/mlp/down_proj/kernel           [L, mlp, embed]
  final_norm/scale                      [embed]
  lm_head/kernel                        [embed, vocab]   (absent with tied embeddings)
Family options (itx.models.config) add:
  layers/attn/{q,k}_norm/scale          [L, head_dim]    (qk_norm)
  layers/{attn,mlp}_out_norm/scale      [L, embed]       (post_norms)
Per-layer variation (rope frequencies, attention window) enters the scan as [L, ...] arrays.
With LoRA (itx.models.lora), each adapted projection also holds lora_a [(L,) adapters, in..., rank]
and lora_b [(L,) adapters, rank, out...].
"""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from itx.models import attention_variants, lora, rope
from itx.models.attention import attend, attend_cached, attention_mask, splash_attend
from itx.models.config import ModelConfig

constrain = nn.with_logical_constraint


class RMSNorm(nn.Module):
  eps: float
  dtype: jnp.dtype
  param_dtype: jnp.dtype
  plus_one: bool = False  # Gemma: scale by (1 + w) in float32, then cast

  @nn.compact
  def __call__(self, x):
    init = nn.initializers.zeros if self.plus_one else nn.initializers.ones
    scale = self.param("scale", nn.with_logical_partitioning(init, ("norm",)), (x.shape[-1],), self.param_dtype)
    x32 = x.astype(jnp.float32)
    x32 = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
    if self.plus_one:
      return (x32 * (1.0 + scale.astype(jnp.float32))).astype(self.dtype)
    return scale.astype(self.dtype) * x32.astype(self.dtype)


def rotary(x, positions, theta: float):
  """Rotary position embedding, half-split convention (as in Hugging Face Llama), unscaled.

  x: [batch, length, heads, head_dim]; positions: [batch, length] int. (Scaled and per-layer
  variants: itx.models.rope.)
  """
  return rope.apply_rotary(x, positions, jnp.asarray(rope.inverse_frequencies(x.shape[-1], theta)))


class Projection(nn.Module):
  """x[..., in_dims] @ kernel[in_dims, out_dims] (+ bias[out_dims]), with logical axis names."""

  in_axes: tuple[str, ...]
  out_shape: tuple[int, ...]
  out_axes: tuple[str, ...]
  cfg: ModelConfig
  use_bias: bool = False
  accumulate_dtype: jnp.dtype | None = None  # float32 for the logits: bf16 sums over d_model lose digits

  @nn.compact
  def __call__(self, x, adapter_ids=None):
    n_in = len(self.in_axes)
    in_shape = x.shape[x.ndim - n_in:]
    fan_in = math.prod(in_shape)
    init = nn.with_logical_partitioning(
        lambda key, shape, dtype: jax.random.normal(key, shape, dtype) * (fan_in ** -0.5),
        self.in_axes + self.out_axes)
    kernel = self.param("kernel", init, tuple(in_shape) + tuple(self.out_shape), self.cfg.weight_dtype)
    dt = self.cfg.compute_dtype
    x_axes = tuple(range(x.ndim - n_in, x.ndim))
    y = jax.lax.dot_general(x.astype(dt), kernel.astype(dt), ((x_axes, tuple(range(n_in))), ((), ())),
                            preferred_element_type=self.accumulate_dtype)
    if self.use_bias:
      bias = self.param("bias", nn.with_logical_partitioning(nn.initializers.zeros, self.out_axes),
                        tuple(self.out_shape), self.cfg.weight_dtype)
      y = y + bias.astype(dt)
    if self.cfg.lora is not None and self.cfg.lora.applies_to(self.path):
      # adapters (and so their optimizer state) in float32 whatever the frozen base's dtype (QLoRA's way)
      y = y + lora.lora_delta(self, self.cfg.lora, x, adapter_ids, self.in_axes, self.out_shape, self.out_axes,
                              jnp.float32, dt)
    return y


class Attention(nn.Module):
  """Self-attention. Training: keys are the row's own tokens. Decoding: `layer_cache` = (k, v)
  [b, kv_heads, S, d] holds slot s = position s for the positions before this call's; the queries
  attend over it (masked by `cache_segment_ids` [b, S], 0 = empty slot) and over their own keys.
  `layer_options`: this layer's {"inv_freq": [head_dim // 2], "window": int32} (see DecoderLM).
  Returns (output, this call's (k, v) [b, t, kv_heads, d] to write into the cache, or None)."""

  cfg: ModelConfig

  @nn.compact
  def __call__(self, x, segment_ids, positions, layer_cache=None, cache_segment_ids=None, layer_options=None,
               adapter_ids=None):
    cfg = self.cfg
    hd = cfg.head_size

    def proj(name, heads, axis_name):
      return Projection(("embed",), (heads, hd), (axis_name, "head_dim"), cfg, cfg.qkv_bias, name=name)(x, adapter_ids)

    q = constrain(proj("q_proj", cfg.n_heads, "heads"),
                  ("activation_batch", "activation_length", "activation_heads", None))
    k = constrain(proj("k_proj", cfg.n_kv_heads, "kv_heads"),
                  ("activation_batch", "activation_length", "activation_kv_heads", None))
    v = constrain(proj("v_proj", cfg.n_kv_heads, "kv_heads"),
                  ("activation_batch", "activation_length", "activation_kv_heads", None))
    if layer_options is None:
      raise ValueError("Attention needs its layer's rope frequencies and window: DecoderLM passes them")
    if cfg.qk_norm:
      head_norm = functools.partial(RMSNorm, cfg.norm_eps, cfg.compute_dtype, cfg.weight_dtype, cfg.norm_plus_one)
      q, k = head_norm(name="q_norm")(q), head_norm(name="k_norm")(k)
    q = rope.apply_rotary(q, positions, layer_options["inv_freq"])
    k = rope.apply_rotary(k, positions, layer_options["inv_freq"])
    mask = attention_mask(segment_ids, positions, segment_ids, positions)
    if any(cfg.sliding_layers):
      mask = mask & attention_variants.window_mask(positions, positions, layer_options["window"])
    scale = cfg.query_pre_attn_scalar ** -0.5 if cfg.query_pre_attn_scalar else None
    if layer_cache is None and cfg.attention == "splash" and not cfg.attn_logit_softcap:
      out = splash_attend(q, k, v, segment_ids, layer_options["window"], sliding_window=cfg.sliding_window,
                          scale=scale).astype(cfg.compute_dtype)
    elif layer_cache is None:
      out = attend(q, k, v, mask, cfg.compute_dtype, implementation=cfg.attention, scale=scale,
                   logit_cap=cfg.attn_logit_softcap)
    else:
      # The cache holds the positions before this step's (slot s = position s): read, never written
      # here; the step's keys come back to DecoderLM, which writes them into the cache once.
      slots = jnp.broadcast_to(jnp.arange(layer_cache[0].shape[2]), cache_segment_ids.shape)
      cache_mask = attention_mask(segment_ids, positions, cache_segment_ids, slots, strict=True)
      if any(cfg.sliding_layers):
        cache_mask = cache_mask & attention_variants.window_mask(positions, slots, layer_options["window"])
      out = attend_cached(q, k, v, layer_cache[0], layer_cache[1], mask, cache_mask, cfg.compute_dtype, scale,
                          cfg.attn_logit_softcap)
      layer_cache = (k.astype(layer_cache[0].dtype), v.astype(layer_cache[1].dtype))
    out = constrain(out, ("activation_batch", "activation_length", "activation_heads", None))
    return Projection(("heads", "head_dim"), (cfg.d_model,), ("embed",), cfg, name="o_proj")(out, adapter_ids), layer_cache


class MLP(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x, adapter_ids=None):
    cfg = self.cfg
    gate = Projection(("embed",), (cfg.mlp_dim,), ("mlp",), cfg, name="gate_proj")(x, adapter_ids)
    up = Projection(("embed",), (cfg.mlp_dim,), ("mlp",), cfg, name="up_proj")(x, adapter_ids)
    act = nn.silu if cfg.mlp_activation == "silu" else functools.partial(nn.gelu, approximate=True)
    hidden = constrain(act(gate) * up, ("activation_batch", "activation_length", "activation_mlp"))
    return Projection(("mlp",), (cfg.d_model,), ("embed",), cfg, name="down_proj")(hidden, adapter_ids)


class Block(nn.Module):
  cfg: ModelConfig

  @nn.compact
  def __call__(self, x, segment_ids, positions, layer_cache=None, cache_segment_ids=None, layer_options=None,
               adapter_ids=None):
    cfg = self.cfg
    norm = functools.partial(RMSNorm, eps=cfg.norm_eps, dtype=cfg.compute_dtype, param_dtype=cfg.weight_dtype,
                             plus_one=cfg.norm_plus_one)
    h, layer_cache = Attention(cfg, name="attn")(norm(name="input_norm")(x), segment_ids, positions,
                                                 layer_cache, cache_segment_ids, layer_options, adapter_ids)
    if cfg.post_norms:
      h = norm(name="attn_out_norm")(h)
    x = x + h
    h = MLP(cfg, name="mlp")(norm(name="post_attn_norm")(x), adapter_ids)
    if cfg.post_norms:
      h = norm(name="mlp_out_norm")(h)
    x = x + h
    x = constrain(x, ("activation_batch", "activation_length", "activation_embed"))
    return x, layer_cache


# The logit of a padded vocabulary id: exp() of it is exactly 0 next to any real logit, and unlike
# -inf it keeps `p * logit` finite.
PADDED_LOGIT = -1e9


def mask_padded_vocab(logits, cfg: ModelConfig):
  """logits [..., vocab_size] with the ids >= `cfg.vocab_real` (rows added only so that mesh axes
  divide the vocabulary) set to PADDED_LOGIT: they are never sampled and take no probability."""
  if not cfg.vocab_real or cfg.vocab_real >= cfg.vocab_size:
    return logits
  real = jnp.arange(cfg.vocab_size) < cfg.vocab_real
  return jnp.where(real, logits, PADDED_LOGIT)


_REMAT = {
    "full": jax.checkpoint_policies.nothing_saveable,
    "dots": jax.checkpoint_policies.checkpoint_dots_with_no_batch_dims,
}


class DecoderLM(nn.Module):
  """Decoder-only LM. `__call__(tokens, segment_ids, positions) -> logits [b, t, vocab]` (float32).

  tokens, segment_ids, positions: [batch, length] int32; segment id 0 marks padding.
  """

  cfg: ModelConfig

  def setup(self):
    cfg = self.cfg
    block = Block
    if cfg.remat != "none":
      block = nn.remat(Block, policy=_REMAT[cfg.remat], prevent_cse=False)
    self.embed = nn.Embed(
        cfg.vocab_size, cfg.d_model, dtype=cfg.compute_dtype, param_dtype=cfg.weight_dtype,
        embedding_init=nn.with_logical_partitioning(nn.initializers.normal(0.02), ("vocab", "embed")))
    self.layers = nn.scan(
        block, variable_axes={"params": 0}, split_rngs={"params": True, "dropout": True},
        in_axes=(nn.broadcast, nn.broadcast, 0, nn.broadcast, 0, nn.broadcast), length=cfg.n_layers,
        unroll=cfg.scan_unroll,
        metadata_params={nn.PARTITION_NAME: "layers"})(cfg)
    self.final_norm = RMSNorm(cfg.norm_eps, cfg.compute_dtype, cfg.weight_dtype, cfg.norm_plus_one)
    if not cfg.tie_embeddings:
      self.lm_head = Projection(("embed",), (cfg.vocab_size,), ("vocab",), cfg, accumulate_dtype=jnp.float32)

  def head(self, x, adapter_ids=None):
    """Logits [b, t, vocab] (float32) of final hidden states x [b, t, d] (after the final norm);
    adapter_ids as in __call__, [b] or [b, t]. A loss can call it on chunks of positions
    (itx.train.objectives), so whole [tokens, vocabulary] logits never exist at once."""
    if self.cfg.tie_embeddings:  # as nn.Embed.attend, but accumulated in float32
      dt = self.cfg.compute_dtype
      logits = jnp.einsum("btd,vd->btv", x.astype(dt), self.embed.embedding.astype(dt),
                          preferred_element_type=jnp.float32)
    else:
      logits = self.lm_head(x, adapter_ids)
    logits = constrain(logits, ("activation_batch", "activation_length", "activation_vocab")).astype(jnp.float32)
    logits = attention_variants.softcap(logits, self.cfg.final_logit_softcap)
    return mask_padded_vocab(logits, self.cfg)

  def hidden(self, tokens, segment_ids, positions, adapter_ids=None):
    """Final hidden states [b, t, d] after the final norm (training: no cache); `head` maps them to logits."""
    return self.final_norm(self._trunk(tokens, segment_ids, positions, None, None, adapter_ids)[0])

  def _trunk(self, tokens, segment_ids, positions, layer_cache, cache_segments, adapter_ids):
    """(the last layer's output [b, t, d], the layers' new keys and values)."""
    x = self.embed(tokens)
    if self.cfg.embed_scale:
      x = x * jnp.asarray(self.cfg.d_model ** 0.5, x.dtype)
    x = constrain(x, ("activation_batch", "activation_length", "activation_embed"))
    layer_options = {"inv_freq": jnp.asarray(rope.layer_frequencies(self.cfg)),
                     "window": jnp.asarray(attention_variants.layer_windows(self.cfg))}
    return self.layers(x, segment_ids, positions, layer_cache, cache_segments, layer_options, adapter_ids)

  def __call__(self, tokens, segment_ids=None, positions=None, cache=None, logit_indices=None, adapter_ids=None):
    """Logits [b, t, vocab] in float32 (or [b, 1, vocab] at `logit_indices` [b]).

    adapter_ids: [b, t] int, the LoRA adapter of each token (see itx.models.lora), or [b], one per
    row (cheaper: a bank then costs what one adapter does); None: adapter 0.

    cache: None (training), or a decode cache (see `init_cache`); then returns (logits, new cache).
    """
    if segment_ids is None:
      segment_ids = jnp.ones_like(tokens)
    if positions is None:
      positions = jnp.broadcast_to(jnp.arange(tokens.shape[1]), tokens.shape)
    layer_cache = cache_segments = None
    if cache is not None:
      layer_cache = (cache["k"], cache["v"])
      cache_segments = cache["segment_ids"]
    x, layer_cache = self._trunk(tokens, segment_ids, positions, layer_cache, cache_segments, adapter_ids)
    if logit_indices is not None:
      x = jnp.take_along_axis(x, logit_indices[:, None, None], axis=1)
      if adapter_ids is not None and adapter_ids.ndim == 2:
        adapter_ids = jnp.take_along_axis(adapter_ids, logit_indices[:, None], axis=1)
    logits = self.head(self.final_norm(x), adapter_ids)
    if cache is None:
      return logits
    # The step's keys and values [L, b, t, kv, d] written once, in place (the cache is donated by
    # its callers): writing inside the layer scan copied the whole cache at every step.
    rows = jnp.arange(tokens.shape[0])[:, None]
    new_k, new_v = (jnp.moveaxis(kv, 0, 2) for kv in layer_cache)  # [b, t, L, kv, d], as indexed below
    return logits, {"k": cache["k"].at[:, rows, :, positions].set(new_k),
                    "v": cache["v"].at[:, rows, :, positions].set(new_v),
                    "segment_ids": cache_segments.at[rows, positions].set(segment_ids)}


def init_cache(cfg: ModelConfig, batch: int, max_len: int, dtype=None) -> dict:
  """An empty decode cache: k, v [layers, batch, kv_heads, max_len, head_dim] (kv-head-major: a
  layer's scores and weighted sum read each head's keys contiguously, with no transpose per step);
  segment_ids [batch, max_len] (0 = empty slot). Slot s holds position s."""
  dtype = dtype or cfg.compute_dtype
  shape = (cfg.n_layers, batch, cfg.n_kv_heads, max_len, cfg.head_size)
  axes = ("layers", "activation_batch", "activation_kv_heads", "activation_length", None)
  return {"k": constrain(jnp.zeros(shape, dtype), axes), "v": constrain(jnp.zeros(shape, dtype), axes),
          "segment_ids": jnp.zeros((batch, max_len), jnp.int32)}


CACHE_LENGTH_AXIS = {"k": 3, "v": 3, "segment_ids": 1}  # the positions axis of each init_cache array


def cache_prefix(cache: dict, length: int) -> dict:
  """The first `length` positions of every cache array: a step that can reach no further attends
  to this view only, so its cost follows the live length, not the cache's."""
  return {name: jax.lax.slice_in_dim(a, 0, length, axis=CACHE_LENGTH_AXIS[name]) for name, a in cache.items()}


def with_prefix(cache: dict, prefix: dict) -> dict:
  """`cache` with its first positions replaced by `prefix` (a `cache_prefix` view, updated)."""
  return {name: jax.lax.dynamic_update_slice_in_dim(cache[name], prefix[name], 0, axis=CACHE_LENGTH_AXIS[name])
          for name in cache}

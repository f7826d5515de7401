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
from itx.models.attention import attend, attend_cache, attention_mask, splash_attend
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
      y = y + lora.lora_delta(self, self.cfg.lora, x, adapter_ids, self.in_axes, self.out_shape, self.out_axes,
                              self.cfg.weight_dtype, dt)
    return y


def write_key_positions(cache_k, new, positions):
  """cache_k [b, kv_heads, d, S] with new [b, t, kv_heads, d] written at slots `positions` [b, t]."""
  return cache_k.at[jnp.arange(cache_k.shape[0])[:, None], :, :, positions].set(new)


def write_value_positions(cache_v, new, positions):
  """cache_v [b, kv_heads, S, d] with new [b, t, kv_heads, d] written at slots `positions` [b, t]."""
  return cache_v.at[jnp.arange(cache_v.shape[0])[:, None], :, positions].set(new)


class Attention(nn.Module):
  """Self-attention. Training: keys are the row's own tokens. Decoding: `layer_cache` = (k [b, kv_heads,
  d, S], v [b, kv_heads, S, d]) of this layer (see `init_cache`), slot s = position s; this call's keys are written into it and
  the queries attend over it (masked by `cache_segment_ids` [b, S], which already marks this call's
  tokens; 0 = empty slot). `layer_options`: this layer's {"inv_freq": [head_dim // 2], "window":
  int32} (see DecoderLM). Returns (output, the updated (k, v), or None)."""

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
      # Write the step's keys into this layer's own cache arrays (in place: the cache is donated),
      # then attend over the cache. Reading the cache before writing into it made XLA copy it.
      cache_k = write_key_positions(layer_cache[0], k.astype(layer_cache[0].dtype), positions)
      cache_v = write_value_positions(layer_cache[1], v.astype(layer_cache[1].dtype), positions)
      slots = jnp.broadcast_to(jnp.arange(cache_v.shape[2]), cache_segment_ids.shape)
      cache_mask = attention_mask(segment_ids, positions, cache_segment_ids, slots)
      if any(cfg.sliding_layers):
        cache_mask = cache_mask & attention_variants.window_mask(positions, slots, layer_options["window"])
      out = attend_cache(q, cache_k, cache_v, cache_mask, cfg.compute_dtype, scale, cfg.attn_logit_softcap)
      layer_cache = (cache_k, cache_v)
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

  def __call__(self, tokens, segment_ids=None, positions=None, cache=None, logit_indices=None, adapter_ids=None):
    """Logits [b, t, vocab] in float32 (or [b, 1, vocab] at `logit_indices` [b]).

    adapter_ids: [b, t] int, the LoRA adapter of each token (see itx.models.lora); None: adapter 0.

    cache: None (training), or a decode cache (see `init_cache`); then returns (logits, new cache).
    """
    if segment_ids is None:
      segment_ids = jnp.ones_like(tokens)
    if positions is None:
      positions = jnp.broadcast_to(jnp.arange(tokens.shape[1]), tokens.shape)
    x = self.embed(tokens)
    if self.cfg.embed_scale:
      x = x * jnp.asarray(self.cfg.d_model ** 0.5, x.dtype)
    x = constrain(x, ("activation_batch", "activation_length", "activation_embed"))
    layer_options = {"inv_freq": jnp.asarray(rope.layer_frequencies(self.cfg)),
                     "window": jnp.asarray(attention_variants.layer_windows(self.cfg))}
    layers = None if self.is_initializing() else self.variables["params"]["layers"]
    if layers is None or (cache is None and not isinstance(layers, tuple)):
      x, _ = self.layers(x, segment_ids, positions, None, None, layer_options, adapter_ids)
    else:
      x, cache = self._layer_by_layer(layers, x, segment_ids, positions, cache, layer_options, adapter_ids)
    if logit_indices is not None:
      x = jnp.take_along_axis(x, logit_indices[:, None, None], axis=1)
    x = self.final_norm(x)
    if self.cfg.tie_embeddings:  # as nn.Embed.attend, but accumulated in float32
      dt = self.cfg.compute_dtype
      logits = jnp.einsum("btd,vd->btv", x.astype(dt), self.embed.embedding.astype(dt),
                          preferred_element_type=jnp.float32)
    else:
      head_ids = adapter_ids
      if adapter_ids is not None and logit_indices is not None:
        head_ids = jnp.take_along_axis(adapter_ids, logit_indices[:, None], axis=1)
      logits = self.lm_head(x, head_ids)
    logits = constrain(logits, ("activation_batch", "activation_length", "activation_vocab")).astype(jnp.float32)
    logits = attention_variants.softcap(logits, self.cfg.final_logit_softcap)
    logits = mask_padded_vocab(logits, self.cfg)
    if cache is None:
      return logits
    return logits, cache

  def _layer_by_layer(self, layers, x, segment_ids, positions, cache, layer_options, adapter_ids):
    """The layers one after another (a Python loop), each over its own cache arrays, which it updates
    in place (the cache is donated by its callers). A scan over a stacked [layers, ...] cache made
    XLA's CPU backend copy each layer's slice out of it (and into it) at every step. `layers`: the
    scanned parameters, stacked, or already split by `unstack_layers` (then slicing them costs
    nothing inside a decode loop)."""
    rows = jnp.arange(x.shape[0])[:, None]
    cache_segments = None
    if cache is not None:
      cache_segments = cache["segment_ids"].at[rows, positions].set(segment_ids)
      ks, vs = list(cache["k"]), list(cache["v"])
    for i in range(self.cfg.n_layers):
      layer_params = layers[i] if isinstance(layers, tuple) else jax.tree.map(lambda a: a[i], layers)
      options = jax.tree.map(lambda a: a[i], layer_options)
      layer_cache = None if cache is None else (ks[i], vs[i])
      x, layer_cache = _LayerAt(self.cfg, parent=None).apply(
          {"params": {"layers": layer_params}}, x, segment_ids, positions, layer_cache, cache_segments, options,
          adapter_ids)
      if cache is not None:
        ks[i], vs[i] = layer_cache
    if cache is None:
      return x, None
    return x, {"k": tuple(ks), "v": tuple(vs), "segment_ids": cache_segments}


class _LayerAt(nn.Module):
  """One layer under the scanned parameters' path ("layers/attn/q_proj", ...), so that LoRA targets
  match as in training; applied to one layer's slice of them."""
  cfg: ModelConfig

  @nn.compact
  def __call__(self, *args):
    return Block(self.cfg, name="layers")(*args)


def init_cache(cfg: ModelConfig, batch: int, max_len: int, dtype=None) -> dict:
  """An empty decode cache: k, v, each a tuple of `n_layers` arrays, one per layer so that a step
  updates each in place: k [batch, kv_heads, head_dim, max_len], v [batch, kv_heads, max_len,
  head_dim] (the layouts of the two matmuls of attention: XLA's CPU backend copies a transposed
  operand); segment_ids [batch, max_len] (0 = empty slot). Slot s holds position s."""
  dtype = dtype or cfg.compute_dtype
  k_shape = (batch, cfg.n_kv_heads, cfg.head_size, max_len)
  v_shape = (batch, cfg.n_kv_heads, max_len, cfg.head_size)
  k_axes = ("activation_batch", "activation_kv_heads", None, "activation_length")
  v_axes = ("activation_batch", "activation_kv_heads", "activation_length", None)
  layers = lambda shape, axes: tuple(constrain(jnp.zeros(shape, dtype), axes) for _ in range(cfg.n_layers))
  return {"k": layers(k_shape, k_axes), "v": layers(v_shape, v_axes),
          "segment_ids": jnp.zeros((batch, max_len), jnp.int32)}


def unstack_layers(params: dict) -> dict:
  """`params` with the scanned layers' stacked [L, ...] arrays split into a tuple of L per-layer
  trees. DecoderLM accepts either form; decoding with the split form reads each layer's weights in
  place (XLA's CPU backend copies a slice of a stacked weight before its matmul: the whole model's
  weights at every step)."""
  n = jax.tree.leaves(params["layers"])[0].shape[0]
  return {**params, "layers": tuple(jax.tree.map(lambda a, i=i: a[i], params["layers"]) for i in range(n))}


def cache_position_axes(cache: dict) -> dict:
  """The positions axis of each cache array (see `init_cache`), as a tree shaped like `cache`: for
  `jax.tree.map(lambda a, axis: ..., cache, cache_position_axes(cache))`."""
  return {"k": (3,) * len(cache["k"]), "v": (2,) * len(cache["v"]), "segment_ids": 1}

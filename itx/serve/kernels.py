"""The compiled functions of the serving engine: prefill into cache slots, one decode step over all
slots, and scoring a prompt (log-probabilities of its tokens).

The decode cache has a fixed shape, `slots` rows x `max_len` positions (the layout of
`itx.models.decoder.init_cache`: slot s of a row holds position s), so admitting or finishing a request
never recompiles the step. A step attends only to the cache's first positions, up to the smallest
length bucket (64, 128, ... max_len) that holds every live row: one compiled step per bucket. Prefill
compiles once per (rows, prompt length) bucket, rows doubling up to the slots and lengths in the same
buckets, so `warm_up` can compile every shape before the first request. Each row samples
with its own temperature, top-k, top-p and PRNG stream, so a row's tokens do not depend on which
other rows share the step.
"""

from __future__ import annotations

import contextlib
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from itx.models.decoder import cache_prefix, init_cache, with_prefix

TOP_LOGPROBS = 5  # alternatives reported per token (OpenAI's limit for completions)
LENGTH_BUCKET = 64  # the shortest cache view a decode step attends to (then doubling)


@dataclasses.dataclass
class RowSampling:
  """Per-row sampling parameters as arrays [rows] (numpy on the host)."""
  temperature: np.ndarray  # float32; 0 = greedy
  top_k: np.ndarray        # int32; 0 = no cut
  top_p: np.ndarray        # float32; 1 = no cut
  seed: np.ndarray         # uint32: the row's PRNG stream ...
  stream: np.ndarray       # int32: ... and its choice index (n > 1 draws differ)
  counter: np.ndarray      # int32: index of the token being drawn

  @classmethod
  def empty(cls, rows: int) -> "RowSampling":
    return cls(np.zeros(rows, np.float32), np.zeros(rows, np.int32), np.ones(rows, np.float32),
               np.zeros(rows, np.uint32), np.zeros(rows, np.int32), np.zeros(rows, np.int32))

  def tree(self) -> dict:
    return dataclasses.asdict(self)


def _filter(scaled, top_k, top_p):
  """Sets to -inf the logits outside each row's top-k and top-p nucleus. scaled [b, V]."""
  v = scaled.shape[-1]
  ordered = -jnp.sort(-scaled, axis=-1)  # descending
  rank = jnp.arange(v)[None, :]
  ordered = jnp.where((top_k[:, None] > 0) & (rank >= top_k[:, None]), -jnp.inf, ordered)
  probs = jax.nn.softmax(ordered, axis=-1)
  before = jnp.cumsum(probs, axis=-1) - probs  # mass of the better tokens: the first is always kept
  keep = (before < top_p[:, None]) & jnp.isfinite(ordered)
  threshold = jnp.min(jnp.where(keep, ordered, jnp.inf), axis=-1, keepdims=True)
  return jnp.where(scaled < threshold, -jnp.inf, scaled)


def sample_rows(logits, s: dict):
  """Next tokens [b] from logits [b, V] with per-row parameters `s` (RowSampling arrays), plus the
  model's log-probability of each chosen token [b] and its top alternatives ([b, K] ids, logprobs)."""
  temperature = s["temperature"]
  scaled = logits / jnp.maximum(temperature, 1e-6)[:, None]
  needs_cut = jnp.any((s["top_k"] > 0) | (s["top_p"] < 1.0))
  scaled = jax.lax.cond(needs_cut, _filter, lambda x, k, p: x, scaled, s["top_k"], s["top_p"])

  def draw(seed, stream, counter, row):
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), stream), counter)
    return jax.random.categorical(key, row)

  sampled = jax.vmap(draw)(s["seed"], s["stream"], s["counter"], scaled)
  token = jnp.where(temperature > 0, sampled, jnp.argmax(logits, axis=-1)).astype(jnp.int32)
  logp = jax.nn.log_softmax(logits, axis=-1)
  chosen = jnp.take_along_axis(logp, token[:, None], axis=-1)[:, 0]
  top_lp, top_ids = jax.lax.top_k(logp, TOP_LOGPROBS)
  return token, chosen, top_ids, top_lp


class Kernels:
  """Compiled prefill / step / score of one model with its (sharded) parameters.

  slots: rows of the decode cache (a multiple of `batch_multiple`, the data-parallel shards);
  max_len: positions per row (prompt + generated tokens).
  """

  def __init__(self, model, params, *, slots: int, max_len: int, mesh=None, rules=(), batch_multiple: int = 1):
    if slots % batch_multiple:
      raise ValueError(f"slots={slots} must be a multiple of the {batch_multiple} data-parallel shards")
    self.model, self.params, self.mesh, self.rules = model, params, mesh, rules
    self.slots, self.max_len, self.batch_multiple = slots, max_len, batch_multiple
    self._prefill = jax.jit(self._prefill_fn, donate_argnames=("cache",))
    self._step = jax.jit(self._step_fn, static_argnames=("kv_len",), donate_argnames=("cache",))
    self._score = jax.jit(self._score_fn)
    self._compiled: dict[tuple, object] = {}  # (kind, shape) -> executable compiled by warm_up
    with self.context():
      self.cache = jax.jit(lambda: init_cache(model.cfg, slots, max_len))()
    # Every step and prefill returns the cache in this sharding: a cache whose sharding drifted would
    # be a new input signature, compiled again (warm-up then would not cover the first burst).
    self._cache_sharding = jax.tree.map(lambda x: x.sharding, self.cache)

  def context(self) -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    if self.mesh is not None:
      stack.enter_context(jax.set_mesh(self.mesh))
    stack.enter_context(nn.logical_axis_rules(self.rules))
    return stack

  def _apply(self, params, tokens, segments, positions, adapters, **kw):
    """The network on [B, T] tokens, each row with its LoRA adapter (adapters [B]; ignored without LoRA)."""
    return self.model.apply({"params": params}, tokens, segments, positions,
                            adapter_ids=adapters, **kw)

  def _prefill_fn(self, params, cache, tokens, lengths, slots, adapters, s):
    b, p = tokens.shape
    positions = jnp.broadcast_to(jnp.arange(p), (b, p))
    segments = (positions < lengths[:, None]).astype(jnp.int32)
    # A cache as long as the prompt bucket, not max_len: the prompt attends to itself only, so a
    # long max_len costs a prefill nothing.
    fresh = init_cache(self.model.cfg, b, p)
    logits, fresh = self._apply(params, tokens, segments, positions, adapters, cache=fresh,
                                logit_indices=lengths - 1)
    # Rows padded up to the bucket carry slot index `self.slots`: out of range, dropped. Slots past
    # the prompt keep stale keys but get segment id 0 (empty), so nothing attends to them.
    seg = jnp.zeros((b, self.max_len), jnp.int32).at[:, :p].set(fresh["segment_ids"])
    cache = {"k": cache["k"].at[:, slots, :, :p].set(fresh["k"], mode="drop"),
             "v": cache["v"].at[:, slots, :, :p].set(fresh["v"], mode="drop"),
             "segment_ids": cache["segment_ids"].at[slots].set(seg, mode="drop")}
    return sample_rows(logits[:, 0], s), jax.lax.with_sharding_constraint(cache, self._cache_sharding)

  def _step_fn(self, params, cache, tokens, positions, live, adapters, s, *, kv_len):
    # Attends to the first kv_len positions only (every live row's next position lies below it).
    view = cache_prefix(cache, kv_len)
    logits, view = self._apply(params, tokens[:, None], live[:, None], positions[:, None], adapters, cache=view)
    return sample_rows(logits[:, 0], s), jax.lax.with_sharding_constraint(with_prefix(cache, view),
                                                                          self._cache_sharding)

  def _score_fn(self, params, tokens, lengths, adapters):
    b, p = tokens.shape
    positions = jnp.broadcast_to(jnp.arange(p), (b, p))
    segments = (positions < lengths[:, None]).astype(jnp.int32)
    logp = jax.nn.log_softmax(self._apply(params, tokens, segments, positions, adapters), axis=-1)[:, :-1]
    token_lp = jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]
    top_lp, top_ids = jax.lax.top_k(logp, TOP_LOGPROBS)
    return token_lp, top_ids, top_lp

  def prefill(self, tokens: np.ndarray, lengths: np.ndarray, slots: np.ndarray, adapters: np.ndarray,
              sampling: RowSampling):
    """tokens [B, P] (right-padded), lengths [B], slots [B] (the cache row of each prompt; `self.slots`
    for padding rows), adapters [B] -> first tokens [B], their logprobs [B], top ids / logprobs [B, K]."""
    run = self._compiled.get(("prefill",) + tokens.shape, self._prefill)  # warm_up's executable, else jit
    with self.context():
      out, self.cache = run(self.params, self.cache, tokens, lengths, slots, adapters, sampling.tree())
    return jax.device_get(out)

  def bucket(self, length: int) -> int:
    """The smallest length bucket (64 doubling, up to max_len) that holds `length` positions."""
    bucket = LENGTH_BUCKET
    while bucket < length:
      bucket *= 2
    return min(bucket, self.max_len)

  def length_buckets(self) -> list[int]:
    return sorted({self.bucket(n) for n in [LENGTH_BUCKET * 2 ** k for k in range(32)
                                            if LENGTH_BUCKET * 2 ** k < self.max_len] + [self.max_len]})

  def prefill_rows(self) -> list[int]:
    """The row counts a prefill is compiled for: the shards' multiple doubling, up to the slots."""
    rows, b = [], self.batch_multiple
    while b < self.slots:
      rows.append(b)
      b *= 2
    return rows + [self.slots]

  def warm_up(self) -> int:
    """Compiles (or loads from the persistent compilation cache) every prefill and decode-step shape
    the engine can use, ahead of time and without running them (no activation memory, no compute):
    the first burst then traces, lowers and compiles nothing. Returns the number of shapes."""
    with self.context():
      for b in self.prefill_rows():
        for p in self.length_buckets():
          self._compiled["prefill", b, p] = self._prefill.lower(
              self.params, self.cache, np.zeros((b, p), np.int32), np.ones(b, np.int32),
              np.full(b, self.slots, np.int32), np.zeros(b, np.int32), RowSampling.empty(b).tree()).compile()
      n = self.slots
      for kv_len in self.length_buckets():
        zeros = np.zeros(n, np.int32)
        self._compiled["step", kv_len] = self._step.lower(
            self.params, self.cache, zeros, zeros, zeros, zeros, RowSampling.empty(n).tree(), kv_len=kv_len).compile()
    return len(self._compiled)

  def reach(self, positions: np.ndarray, live: np.ndarray) -> int:
    """The positions a step attends to: the length bucket (64 doubling up to max_len) above every
    live row's position. Few buckets, so few compiled steps; short conversations never pay for a
    long max_len."""
    return self.bucket(int(positions[live.astype(bool)].max(initial=0)) + 1)

  def step(self, tokens: np.ndarray, positions: np.ndarray, live: np.ndarray, adapters: np.ndarray,
           sampling: RowSampling, kv_len: int | None = None):
    """One decode step over every slot: tokens, positions, live (int32 0/1), adapters [slots] ->
    next tokens [slots], their logprobs [slots], top ids / logprobs [slots, K]. Dead rows are masked.
    kv_len: the cache positions attended to (default `reach`: the live rows' length bucket)."""
    kv_len = self.reach(positions, live) if kv_len is None else kv_len
    with self.context():
      if ("step", kv_len) in self._compiled:  # warm_up's executable: no dispatch-cache miss on first use
        out, self.cache = self._compiled["step", kv_len](self.params, self.cache, tokens, positions, live, adapters,
                                                         sampling.tree())
      else:
        out, self.cache = self._step(self.params, self.cache, tokens, positions, live, adapters, sampling.tree(),
                                     kv_len=kv_len)
    return jax.device_get(out)

  def score(self, tokens: np.ndarray, lengths: np.ndarray, adapters: np.ndarray):
    """tokens [B, P] -> logprob of each token given the ones before it [B, P-1] (token t+1 at t),
    top alternatives at each position ([B, P-1, K] ids and logprobs). One forward pass, no cache."""
    with self.context():
      return jax.device_get(self._score(self.params, tokens, lengths, adapters))

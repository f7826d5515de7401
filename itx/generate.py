"""Decoding with a key/value cache: a jit-compiled prefill, then decode steps compiled in chunks.

Prompts of different lengths share a batch (right-padded; each row decodes from its own position).
Sampling per row: greedy (temperature 0), or temperature with optional top-k and top-p, from a seed.
With a LoRA bank, each row decodes with its own adapter (`adapter_ids`), so one batch answers for
several adapters (groups) at once.
A row stops at an end-of-turn token, at a stop string, or after `max_new_tokens`. Shapes are
bucketed (batch and prompt length rounded up) so a new prompt length rarely recompiles.
"""

from __future__ import annotations

import contextlib
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from itx.data.chat import end_of_turn_ids
from itx.models.decoder import cache_prefix, init_cache, with_prefix


@dataclasses.dataclass(frozen=True)
class SamplingParams:
  temperature: float = 0.0   # 0: greedy
  top_k: int = 0             # 0: no top-k cut
  top_p: float = 1.0         # 1: no nucleus cut
  max_new_tokens: int = 256
  stop_strings: tuple[str, ...] = ()
  seed: int = 0


def prompt_ids(tokenizer, messages: list[dict]) -> list[int]:
  """A conversation rendered for its next assistant turn, exactly as training renders turns."""
  text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
  return tokenizer(text, add_special_tokens=False)["input_ids"]


def sample(logits, key, temperature, top_k: int, top_p: float):
  """Next tokens [b] from logits [b, V]; temperature [b] (0 = greedy for that row)."""
  greedy = jnp.argmax(logits, axis=-1)

  def drawn():
    scaled = logits / jnp.maximum(temperature, 1e-6)[:, None]
    if top_k > 0:
      kth = jax.lax.top_k(scaled, top_k)[0][:, -1:]
      scaled = jnp.where(scaled < kth, -jnp.inf, scaled)
    if top_p < 1.0:
      order = jnp.argsort(-scaled, axis=-1)
      sorted_logits = jnp.take_along_axis(scaled, order, axis=-1)
      cum = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
      drop_sorted = (cum - jax.nn.softmax(sorted_logits, axis=-1)) >= top_p  # keeps the first token always
      drop = jnp.zeros_like(drop_sorted).at[jnp.arange(logits.shape[0])[:, None], order].set(drop_sorted)
      scaled = jnp.where(drop, -jnp.inf, scaled)
    sampled = jax.random.categorical(key, scaled, axis=-1)
    return jnp.where(temperature > 0, sampled, greedy)

  # An all-greedy batch draws no random numbers: [b, V] of them cost as much as a small model's step.
  return jax.lax.cond(jnp.any(temperature > 0), drawn, lambda: greedy)


def _round_up(n: int, k: int) -> int:
  return -(-n // k) * k


class Generator:
  """Generates continuations of token-id prompts with one model and its (sharded) parameters.

  Decoding runs on the device in compiled chunks of `chunk` steps (a `lax.while_loop` that stops
  early once every row has ended its turn), so the host is visited once per chunk, not per token.
  Each chunk attends to the cache only up to the longest position it can reach, rounded up to
  `length_bucket`: short answers never pay for the whole cache.
  """

  def __init__(self, model: nn.Module, params, tokenizer, *, mesh=None, rules=(), length_bucket: int = 64,
               batch_multiple: int = 1, chunk: int = 32, adapter_id: int = 0):
    """adapter_id: the LoRA adapter of rows that name none (-1: the base model alone)."""
    self.model, self.params, self.tokenizer = model, params, tokenizer
    self.adapter_id = adapter_id
    self.mesh, self.rules = mesh, rules
    self.length_bucket, self.batch_multiple, self.chunk = length_bucket, batch_multiple, chunk
    self.stop_ids = np.array(sorted(end_of_turn_ids(tokenizer)), np.int32)
    self._prefill = jax.jit(self._prefill_fn, static_argnames=("max_len", "top_k", "top_p"))
    self._decode = jax.jit(self._decode_fn, static_argnames=("steps", "kv_len", "top_k", "top_p"),
                           donate_argnames=("cache",))

  def _prefill_fn(self, params, tokens, lengths, temperature, adapters, key, *, max_len, top_k, top_p):
    b, p = tokens.shape
    positions = jnp.broadcast_to(jnp.arange(p), (b, p))
    segments = (positions < lengths[:, None]).astype(jnp.int32)
    cache = init_cache(self.model.cfg, b, p)  # the prompt attends to itself only: no max_len-long scores
    logits, cache = self.model.apply({"params": params}, tokens, segments, positions, cache=cache,
                                     logit_indices=lengths - 1, adapter_ids=adapters)
    grow = max_len - p  # then room for the answer (empty slots: segment id 0)
    cache = {"k": jnp.pad(cache["k"], ((0, 0),) * 3 + ((0, grow), (0, 0))),
             "v": jnp.pad(cache["v"], ((0, 0),) * 3 + ((0, grow), (0, 0))),
             "segment_ids": jnp.pad(cache["segment_ids"], ((0, 0), (0, grow)))}
    return sample(logits[:, 0], key, temperature, top_k, top_p), cache

  def _decode_fn(self, params, cache, token, position, done, key, temperature, adapters, *, steps, kv_len,
                 top_k, top_p):
    """Up to `steps` decode steps on the device. token, position, done: [b] (the last token, its
    position, whether the row has ended); adapters: [b] LoRA adapter ids. Returns (cache, token, position, done, key, new [b, steps]
    with -1 where a row had already ended, steps taken)."""
    view = cache_prefix(cache, kv_len)
    stop_ids = jnp.asarray(self.stop_ids)
    new = jnp.full((token.shape[0], steps), -1, jnp.int32)

    def cond(carry):
      i, *_, done, _ = carry
      return (i < steps) & ~jnp.all(done)

    def body(carry):
      i, view, token, position, key, done, new = carry
      key, sub = jax.random.split(key)
      logits, view = self.model.apply({"params": params}, token[:, None], jnp.ones_like(token)[:, None],
                                      position[:, None], cache=view,
                                      adapter_ids=adapters)
      nxt = sample(logits[:, 0], sub, temperature, top_k, top_p).astype(jnp.int32)
      new = new.at[:, i].set(jnp.where(done, -1, nxt))
      done = done | jnp.isin(nxt, stop_ids)
      return i + 1, view, nxt, position + 1, key, done, new

    i, view, token, position, key, done, new = jax.lax.while_loop(
        cond, body, (jnp.int32(0), view, token, position, key, done, new))
    cache = with_prefix(cache, view)
    return cache, token, position, done, key, new, i

  def _context(self) -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    if self.mesh is not None:
      stack.enter_context(jax.set_mesh(self.mesh))
    stack.enter_context(nn.logical_axis_rules(self.rules))
    return stack

  def generate(self, prompts: list[list[int]], sampling: SamplingParams = SamplingParams(),
               temperatures: list[float] | None = None, adapter_ids: list[int] | None = None) -> list[list[int]]:
    """Continuations (without the prompt, ending with the end-of-turn token if one was produced,
    cut before a stop string). `temperatures`: one per prompt, overriding sampling.temperature;
    `adapter_ids`: one LoRA adapter per prompt (index into the run's lora.adapters; -1: the base
    alone), else the generator's `adapter_id` for all."""
    n = len(prompts)
    if n == 0:
      return []
    lengths = np.array([len(p) for p in prompts], np.int32)
    if lengths.min() < 1:
      raise ValueError("an empty prompt cannot be continued")
    b = _round_up(n, self.batch_multiple)
    p = _round_up(int(lengths.max()), self.length_bucket)
    max_len = _round_up(p + sampling.max_new_tokens, self.length_bucket)
    tokens = np.zeros((b, p), np.int32)
    for i, ids in enumerate(prompts):
      tokens[i, :len(ids)] = ids
    lengths = np.concatenate([lengths, np.ones(b - n, np.int32)])
    temps = np.full(b, sampling.temperature, np.float32)
    if temperatures is not None:
      temps[:n] = temperatures
    adapters = np.full(b, self.adapter_id, np.int32)
    if adapter_ids is not None:
      if len(adapter_ids) != n:
        raise ValueError(f"adapter_ids: {len(adapter_ids)} ids for {n} prompts")
      adapters[:n] = adapter_ids
    key = jax.random.key(sampling.seed)
    with self._context():
      key, sub = jax.random.split(key)
      token, cache = self._prefill(self.params, tokens, lengths, temps, adapters, sub, max_len=max_len,
                                   top_k=sampling.top_k, top_p=sampling.top_p)
      first = np.asarray(token)
      out = [[int(first[i])] for i in range(n)]
      done = np.isin(first, self.stop_ids)
      done[n:] = True
      self._mark_stop_strings(out, done, sampling.stop_strings)
      position, produced = lengths.copy(), 1
      while produced < sampling.max_new_tokens and not done.all():
        steps = min(self.chunk, sampling.max_new_tokens - produced)
        kv_len = min(max_len, _round_up(int(position[~done].max()) + steps, self.length_bucket))
        cache, token, position, done_dev, key, new, taken = self._decode(
            self.params, cache, token, position, done, key, temps, adapters, steps=steps, kv_len=kv_len,
            top_k=sampling.top_k, top_p=sampling.top_p)
        new, taken, position = np.asarray(new), int(taken), np.asarray(position)
        for i in range(n):
          out[i].extend(int(t) for t in new[i, :taken] if t >= 0)
        done = np.array(done_dev)
        produced += taken
        self._mark_stop_strings(out, done, sampling.stop_strings)
    return [self._cut_stop_string(o, sampling.stop_strings) for o in out]

  def _mark_stop_strings(self, out, done, stops) -> None:
    """Ends the rows whose text contains a stop string (checked on the host, between chunks)."""
    if stops:
      for i, ids in enumerate(out):
        if not done[i] and any(s in self.tokenizer.decode(ids) for s in stops):
          done[i] = True

  def _cut_stop_string(self, ids, stops):
    if not stops:
      return ids
    text = self.tokenizer.decode(ids)
    cuts = [text.find(s) for s in stops if s in text]
    if not cuts:
      return ids
    keep = min(cuts)
    while ids and len(self.tokenizer.decode(ids)) > keep:  # drop the tokens that spell the stop string
      ids = ids[:-1]
    return ids

  def generate_text(self, conversations: list[list[dict]], sampling: SamplingParams = SamplingParams(),
                    temperatures: list[float] | None = None, adapter_ids: list[int] | None = None) -> list[str]:
    """Next assistant turn of each conversation, as text (special tokens removed)."""
    outs = self.generate([prompt_ids(self.tokenizer, c) for c in conversations], sampling, temperatures,
                         adapter_ids)
    return [self.tokenizer.decode(o, skip_special_tokens=True).strip() for o in outs]

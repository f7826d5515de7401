"""Training objectives and the one cross-entropy they, evaluation loss and answer loss share.

An objective maps (model, params, batch) to (sum of per-token losses, sum of token weights): sums,
not means, so that gradient accumulation and data-parallel shards combine exactly by adding before
one division by the global token count (see itx.train.step).
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Objective = Callable[[nn.Module, object, dict], tuple[jax.Array, jax.Array]]


def token_nll(logits, targets):
  """Per-token negative log-likelihood [b, t] (float32) of `targets` [b, t] under `logits` [b, t, V]."""
  logits = logits.astype(jnp.float32)
  logz = jax.nn.logsumexp(logits, axis=-1)
  picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  return logz - picked


def forward(model: nn.Module, params, batch: dict):
  """Logits [b, t, V] of a batch dict (inputs, segment_ids, positions: [b, t]; optional
  adapter_ids, each token's LoRA adapter [b, t] or each row's [b], and dropout_rng, a key that
  turns dropout on)."""
  rngs = {"dropout": batch["dropout_rng"]} if "dropout_rng" in batch else None
  return model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"],
                     adapter_ids=batch.get("adapter_ids"), rngs=rngs)


# The most memory one chunk of float32 logits may take; a batch whose whole logits fit is one chunk.
LOGITS_BUDGET_BYTES = 256 * 1024**2


def chunk_positions(rows: int, length: int, vocab: int, budget: int = LOGITS_BUDGET_BYTES) -> int:
  """Positions per chunk such that [rows, chunk, vocab] float32 logits fit `budget` (at least 1)."""
  return max(1, min(length, budget // (4 * rows * vocab)))


def row_nll_sums(model: nn.Module, params, batch: dict, *, budget: int = LOGITS_BUDGET_BYTES):
  """(weighted NLL sum per row [b], weight sum per row [b]) of next-token prediction, without ever
  holding whole [tokens, vocabulary] logits: each row's target positions are moved to its front
  (a stable sort), then the head and the cross-entropy run over chunks of positions; a chunk with
  no target is skipped (`lax.cond`) and the backward pass recomputes each chunk's logits
  (`jax.checkpoint`) instead of storing them. With budget room for the whole batch this is one chunk,
  the same sums as `token_nll` of the whole logits."""
  rngs = {"dropout": batch["dropout_rng"]} if "dropout_rng" in batch else None
  ids = batch.get("adapter_ids")
  x = model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"],
                  adapter_ids=ids, rngs=rngs, method="hidden")
  weights, targets = batch["weights"], batch["targets"]
  b, t = targets.shape
  chunk = chunk_positions(b, t, model.cfg.vocab_size, budget)
  if chunk >= t:
    nll = token_nll(model.apply({"params": params}, x, ids, method="head"), targets)
    return jnp.sum(nll * weights, axis=1), jnp.sum(weights, axis=1)
  order = jnp.argsort(weights <= 0, axis=1, stable=True)  # targets first, each row in its own order
  gather = lambda a: jnp.take_along_axis(a, order.reshape(order.shape + (1,) * (a.ndim - 2)), axis=1)  # noqa: E731
  x, targets, w = gather(x), gather(targets), gather(weights)
  per_token_ids = ids is not None and ids.ndim == 2
  if per_token_ids:
    ids = gather(ids)
  n = -(-t // chunk)
  pad = n * chunk - t

  def split(a):  # [b, t, ...] -> [n, b, chunk, ...]
    a = jnp.pad(a, [(0, 0), (0, pad)] + [(0, 0)] * (a.ndim - 2))
    return jnp.moveaxis(a.reshape((b, n, chunk) + a.shape[2:]), 1, 0)

  @jax.checkpoint
  def chunk_sums(xc, tc, wc, ic):
    logits = model.apply({"params": params}, xc, ic if per_token_ids else ids, method="head")
    return jnp.sum(token_nll(logits, tc) * wc, axis=1)

  def body(total, xs):
    xc, tc, wc, ic = xs
    sums = jax.lax.cond(jnp.any(wc > 0), chunk_sums, lambda *_: jnp.zeros((b,), jnp.float32), xc, tc, wc, ic)
    return total + sums, None

  chunk_ids = split(ids) if per_token_ids else jnp.zeros((n, b, chunk), jnp.int32)
  sums, _ = jax.lax.scan(body, jnp.zeros((b,), jnp.float32), (split(x), split(targets), split(w), chunk_ids))
  return sums, jnp.sum(weights, axis=1)


def next_token_loss(model: nn.Module, params, batch: dict):
  """The default objective: weighted next-token cross-entropy, (loss sum, weight sum). The weights
  are 1 on target tokens (the assistant's, or every token of a document) and 0 elsewhere. Logits
  are computed in chunks of positions when the whole batch's would exceed LOGITS_BUDGET_BYTES."""
  sums, counts = row_nll_sums(model, params, batch)
  return jnp.sum(sums), jnp.sum(counts)


OBJECTIVES: dict[str, Objective] = {"next_token": next_token_loss}

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


def next_token_loss(model: nn.Module, params, batch: dict):
  """The default objective: weighted next-token cross-entropy, (loss sum, weight sum). The weights
  are 1 on target tokens (the assistant's, or every token of a document) and 0 elsewhere."""
  nll = token_nll(forward(model, params, batch), batch["targets"])
  return jnp.sum(nll * batch["weights"]), jnp.sum(batch["weights"])


OBJECTIVES: dict[str, Objective] = {"next_token": next_token_loss}

"""The loss and the jit-compiled, sharded train step with token-weighted gradient accumulation.

Loss = (sum of token cross-entropies over the target tokens of the global batch) / (number of
target tokens in the global batch). With accumulation, each micro-batch contributes its *sum* and
its token count, and the sum of gradients is divided by the total count at the end: k micro-batches
give exactly the update of one batch k times larger, however the target tokens fall.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from itx.sharding import replicated
from itx.train.state import TrainState


def token_loss_sum(logits, targets, weights):
  """(sum of weighted cross-entropy, sum of weights). logits [b, t, V] f32; targets, weights [b, t]."""
  logz = jax.nn.logsumexp(logits, axis=-1)
  picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  return jnp.sum((logz - picked) * weights), jnp.sum(weights)


def loss_sum_fn(params, model: nn.Module, batch: dict):
  logits = model.apply({"params": params}, batch["inputs"], batch["segment_ids"], batch["positions"])
  return token_loss_sum(logits, batch["targets"], batch["weights"])


def _split_micro(x, k: int):
  """[B, ...] -> [k, B/k, ...] such that each micro-batch keeps the batch sharding (row r goes to
  micro-batch r % k), so splitting needs no communication."""
  b = x.shape[0]
  x = x.reshape((b // k, k) + x.shape[1:])
  return jnp.moveaxis(x, 1, 0)


def grads_and_loss(params, model, batch, grad_accum: int):
  """(sum of gradients of the loss sums, loss sum, target-token count) over the global batch."""
  grad_fn = jax.value_and_grad(loss_sum_fn, has_aux=True)
  if grad_accum == 1:
    (loss_sum, count), grads = grad_fn(params, model, batch)
    return grads, loss_sum, count
  micro = jax.tree.map(lambda x: _split_micro(x, grad_accum), batch)

  def body(carry, mb):
    g_acc, l_acc, n_acc = carry
    (l, n), g = grad_fn(params, model, mb)
    return (jax.tree.map(jnp.add, g_acc, g), l_acc + l, n_acc + n), None

  zeros = jax.tree.map(jnp.zeros_like, params)
  (grads, loss_sum, count), _ = jax.lax.scan(body, (zeros, 0.0, 0.0), micro)
  return grads, loss_sum, count


def make_train_step(model: nn.Module, tx: optax.GradientTransformation, schedule, *, grad_accum: int,
                    mesh, rules, shardings: TrainState, batch_sharding):
  """A jit-compiled `step(state, batch) -> (state, metrics)` with explicit shardings; the input
  state is donated."""

  def step(state: TrainState, batch: dict):
    grads, loss_sum, count = grads_and_loss(state.params, model, batch, grad_accum)
    denom = jnp.maximum(count, 1.0)
    grads = jax.tree.map(lambda g: g / denom, grads)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss_sum / denom, "target_tokens": count,
               "grad_norm": optax.tree.norm(grads), "learning_rate": schedule(state.step)}
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics

  batch_shardings = {k: batch_sharding for k in ("inputs", "targets", "weights", "segment_ids", "positions")}
  jitted = jax.jit(step, in_shardings=(shardings, batch_shardings), out_shardings=(shardings, replicated(mesh)),
                   donate_argnums=0)

  def run(state, batch):
    with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
      return jitted(state, batch)

  run.jitted = jitted
  return run

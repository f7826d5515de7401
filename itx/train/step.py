"""The jit-compiled, sharded train step with token-weighted gradient accumulation.

Loss = (sum of per-token losses over the target tokens of the global batch) / (number of target
tokens in the global batch). With accumulation, each micro-batch contributes its *sum* and its
token count, and the sum of gradients is divided by the total count at the end: k micro-batches
give exactly the update of one batch k times larger, however the target tokens fall.

The objective (itx.train.objectives) and the trainable mask (itx.train.optim) are parameters:
gradients are taken with respect to the trainable parameters only.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from itx.sharding import replicated
from itx.train.objectives import Objective, next_token_loss
from itx.train.optim import merge, trainable_part
from itx.train.state import TrainState


def _split_micro(x, k: int):
  """[B, ...] -> [k, B/k, ...] such that each micro-batch keeps the batch sharding (row r goes to
  micro-batch r % k), so splitting needs no communication."""
  b = x.shape[0]
  x = x.reshape((b // k, k) + x.shape[1:])
  return jnp.moveaxis(x, 1, 0)


def grads_and_loss(params, mask, model, batch, grad_accum: int, objective: Objective = next_token_loss,
                   dropout_rng=None):
  """(sum of gradients of the loss sums w.r.t. the trainable parameters [None where frozen], loss
  sum, target-token count) over the global batch. dropout_rng: a key (dropout on), or None."""
  trainable = trainable_part(params, mask)

  def loss_of(t, mb):
    return objective(model, merge(t, params), mb)

  grad_fn = jax.value_and_grad(loss_of, has_aux=True)
  if grad_accum == 1:
    if dropout_rng is not None:
      batch = dict(batch, dropout_rng=dropout_rng)
    (loss_sum, count), grads = grad_fn(trainable, batch)
    return grads, loss_sum, count
  micro = jax.tree.map(lambda x: _split_micro(x, grad_accum), batch)
  keys = jax.random.split(dropout_rng if dropout_rng is not None else jax.random.key(0), grad_accum)

  def body(carry, mb_key):
    mb, key = mb_key
    if dropout_rng is not None:
      mb = dict(mb, dropout_rng=key)
    g_acc, l_acc, n_acc = carry
    (l, n), g = grad_fn(trainable, mb)
    return (jax.tree.map(jnp.add, g_acc, g), l_acc + l, n_acc + n), None

  zeros = jax.tree.map(jnp.zeros_like, trainable)
  (grads, loss_sum, count), _ = jax.lax.scan(body, (zeros, 0.0, 0.0), (micro, keys))
  return grads, loss_sum, count


def make_train_step(model: nn.Module, tx: optax.GradientTransformation, schedule, *, grad_accum: int,
                    mesh, rules, shardings: TrainState, batch_shardings: dict, mask=None,
                    objective: Objective = next_token_loss, dropout_seed: int | None = None):
  """A jit-compiled `step(state, batch) -> (state, metrics)` with explicit shardings; the input
  state is donated. mask: the trainable mask (None: everything trains); batch_shardings: field ->
  sharding of the batch's arrays; dropout_seed: turns dropout on, with a key that
  depends only on the seed and the step (so a resumed run draws the same masks)."""

  def step(state: TrainState, batch: dict):
    m = mask if mask is not None else jax.tree.map(lambda _: True, state.params)
    rng = None if dropout_seed is None else jax.random.fold_in(jax.random.key(dropout_seed), state.step)
    grads, loss_sum, count = grads_and_loss(state.params, m, model, batch, grad_accum, objective, rng)
    denom = jnp.maximum(count, 1.0)
    grads = jax.tree.map(lambda g: g / denom, grads)
    trainable = trainable_part(state.params, m)
    updates, opt_state = tx.update(grads, state.opt_state, trainable)
    params = merge(optax.apply_updates(trainable, updates), state.params)
    metrics = {"loss": loss_sum / denom, "target_tokens": count,
               "grad_norm": optax.tree.norm(grads), "learning_rate": schedule(state.step)}
    return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics

  jitted = jax.jit(step, in_shardings=(shardings, batch_shardings), out_shardings=(shardings, replicated(mesh)),
                   donate_argnums=0)

  def run(state, batch):
    with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
      return jitted(state, batch)

  run.jitted = jitted
  return run

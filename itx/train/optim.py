"""AdamW with linear warmup then cosine (or constant) learning rate, and global-norm clipping."""

from __future__ import annotations

import jax
import optax


def learning_rate_schedule(train_cfg) -> optax.Schedule:
  peak, warmup, steps = train_cfg.learning_rate, train_cfg.warmup_steps, train_cfg.steps
  if train_cfg.schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak, warmup_steps=warmup,
        decay_steps=max(steps, warmup + 1), end_value=peak * train_cfg.min_lr_ratio)
  if train_cfg.schedule == "constant":
    return optax.join_schedules(
        [optax.linear_schedule(0.0, peak, max(warmup, 1)), optax.constant_schedule(peak)], [warmup])
  raise ValueError(f"train.schedule={train_cfg.schedule!r}: expected 'cosine' or 'constant'")


def decay_mask(params):
  """True where weight decay applies: every weight but norm scales and biases."""
  def decays(path, _):
    names = [getattr(k, "key", getattr(k, "name", "")) for k in path]
    return not (names[-1] == "bias" or any("norm" in str(n) for n in names))
  return jax.tree_util.tree_map_with_path(decays, params)


def make_optimizer(train_cfg) -> optax.GradientTransformation:
  adamw = optax.adamw(learning_rate_schedule(train_cfg), b1=train_cfg.b1, b2=train_cfg.b2,
                      eps=train_cfg.eps, weight_decay=train_cfg.weight_decay, mask=decay_mask)
  if train_cfg.clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(train_cfg.clip_norm), adamw)
  return adamw

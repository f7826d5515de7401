"""AdamW with linear warmup then cosine (or constant) learning rate, global-norm clipping, and the
trainable-parameter filter: which parameters get gradients and optimizer state at all.

The filter is a regular expression over parameter paths ("layers/attn/q_proj/kernel"), matched with
`re.search`; `train.trainable=".*"` (the default) trains everything. Frozen parameters are left out
of the differentiated tree and of the optimizer, so they cost neither gradient memory nor moments.
"""

from __future__ import annotations

import re

import jax
import optax


def learning_rate_schedule(train_cfg) -> optax.Schedule:
  """The learning rate of optimizer update `count` (0-based).

  Warmup rises linearly to the peak at update `warmup_steps` (1-based) and starts above zero:
  optax's warmup is 0 at count 0, which would make the first update a no-op (Adam and its
  decoupled weight decay both scale with the rate), so the schedule is read one count ahead.
  """
  peak, warmup, steps = train_cfg.learning_rate, train_cfg.warmup_steps, train_cfg.steps
  if train_cfg.schedule == "cosine":
    base = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak, warmup_steps=warmup,
        decay_steps=max(steps, warmup + 1), end_value=peak * train_cfg.min_lr_ratio)
  elif train_cfg.schedule == "constant":
    base = optax.join_schedules(
        [optax.linear_schedule(0.0, peak, max(warmup, 1)), optax.constant_schedule(peak)], [warmup])
  else:
    raise ValueError(f"train.schedule={train_cfg.schedule!r}: expected 'cosine' or 'constant'")
  return lambda count: base(count + 1)


def path_name(path) -> str:
  """A pytree key path as "layers/attn/q_proj/kernel"."""
  return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)


def decay_mask(params):
  """True where weight decay applies: every weight but norm scales and biases."""
  def decays(path, _):
    names = path_name(path).split("/")
    return not (names[-1] == "bias" or any("norm" in n for n in names))
  return jax.tree_util.tree_map_with_path(decays, params)


def trainable_mask(params, pattern: str):
  """A pytree of bools: True where the parameter's path matches `pattern` (re.search).

  Raises ValueError listing the parameter names when nothing matches, which is always a typo.
  """
  regex = re.compile(pattern)
  mask = jax.tree_util.tree_map_with_path(lambda p, _: bool(regex.search(path_name(p))), params)
  if not any(jax.tree.leaves(mask)):
    names = [path_name(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
    raise ValueError(f"config.train.trainable={pattern!r} matches no parameter; the parameters are: "
                     + ", ".join(names))
  return mask


def trainable_part(params, mask):
  """The trainable leaves of `params`, None where frozen (None is an empty subtree to JAX)."""
  return jax.tree.map(lambda p, m: p if m else None, params, mask)


def merge(trainable, params):
  """`params` with the trainable leaves replaced by those of `trainable` (None = keep `params`')."""
  return jax.tree.map(lambda t, p: p if t is None else t, trainable, params, is_leaf=lambda x: x is None)


def make_optimizer(train_cfg) -> optax.GradientTransformation:
  """The optimizer over the trainable part of the parameters (see `trainable_part`)."""
  adamw = optax.adamw(learning_rate_schedule(train_cfg), b1=train_cfg.b1, b2=train_cfg.b2,
                      eps=train_cfg.eps, weight_decay=train_cfg.weight_decay, mask=decay_mask)
  if train_cfg.clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(train_cfg.clip_norm), adamw)
  return adamw

"""The train state (step, params, optimizer state) and its shardings, derived from logical axes.

The optimizer state covers only the trainable part of the parameters (`trainable_mask`, a pytree of
bools fixed for the run): frozen parameters have no moments.
"""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from itx.sharding import replicated
from itx.train.optim import trainable_part


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


def _dummy_tokens():
  return jnp.zeros((1, 8), jnp.int32)


def param_shardings(model: nn.Module, mesh, rules):
  """(abstract params, NamedShardings) from the model's logical axis annotations."""
  boxed = jax.eval_shape(lambda: model.init(jax.random.key(0), _dummy_tokens()))
  specs = nn.get_partition_spec(boxed)["params"]
  shardings = nn.logical_to_mesh_sharding(specs, mesh, rules)
  return nn.meta.unbox(boxed)["params"], shardings


def state_shardings(model: nn.Module, tx: optax.GradientTransformation, mesh, rules, mask=None):
  """(abstract TrainState, TrainState of NamedShardings); optimizer moments follow their params.

  mask: the trainable mask (None: every parameter trains)."""
  abstract_params, p_shard = param_shardings(model, mesh, rules)
  if mask is None:
    mask = jax.tree.map(lambda _: True, abstract_params)
  abstract_opt = jax.eval_shape(tx.init, trainable_part(abstract_params, mask))
  o_shard = optax.tree_map_params(tx, lambda _, s: s, abstract_opt, trainable_part(p_shard, mask),
                                  transform_non_params=lambda _: replicated(mesh))
  abstract = TrainState(step=jax.ShapeDtypeStruct((), jnp.int32), params=abstract_params, opt_state=abstract_opt)
  return abstract, TrainState(step=replicated(mesh), params=p_shard, opt_state=o_shard)


def _fresh(params, tx, mask) -> TrainState:
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(trainable_part(params, mask)))


def init_state(model: nn.Module, tx, mesh, rules, shardings: TrainState, seed: int, mask=None) -> TrainState:
  """Initialises parameters directly into their shardings (never whole on one device)."""
  def init():
    params = nn.meta.unbox(model.init(jax.random.key(seed), _dummy_tokens()))["params"]
    return _fresh(params, tx, mask if mask is not None else jax.tree.map(lambda _: True, params))

  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    return jax.jit(init, out_shardings=shardings)()


def init_part(model: nn.Module, mesh, rules, shardings, seed: int, part):
  """`part(parameters)` of a fresh initialisation (e.g. a LoRA run's adapters), placed in `shardings`
  (the part's); what `part` drops is never materialised (XLA removes its computation), so adapters
  on a real base cost no random copy of the base."""
  def init():
    return part(nn.meta.unbox(model.init(jax.random.key(seed), _dummy_tokens()))["params"])

  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    return jax.jit(init, out_shardings=shardings)()


def state_from_params(params, tx, mesh, shardings: TrainState, mask=None) -> TrainState:
  """A fresh train state (step 0, new optimizer state) around already-placed parameters."""
  mask = mask if mask is not None else jax.tree.map(lambda _: True, params)
  with jax.set_mesh(mesh):
    return jax.jit(lambda p: _fresh(p, tx, mask), in_shardings=(shardings.params,), out_shardings=shardings)(params)

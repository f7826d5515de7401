"""Everything a training run compiles, assembled once from a resolved config and a mesh: the
network, optimizer, learning-rate schedule, trainable mask, state shardings and the jitted step.

The loop, the tests and the benchmarks build their runs here, so an option reaches all of them.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import ml_collections
import optax

from itx import config as config_lib
from itx import sharding
from itx.data.pipeline import batch_fields
from itx.models import ModelConfig, lora, network
from itx.train import optim
from itx.train import state as state_lib
from itx.train.objectives import OBJECTIVES, Objective
from itx.train.step import make_train_step


@dataclasses.dataclass
class Assembled:
  model_cfg: ModelConfig
  model: nn.Module
  tx: optax.GradientTransformation
  schedule: optax.Schedule
  mask: object                    # pytree of bools: which parameters train
  abstract: state_lib.TrainState  # shapes and dtypes
  shardings: state_lib.TrainState
  step: object                    # step(state, batch) -> (state, metrics)
  mesh: jax.sharding.Mesh
  rules: tuple
  batch_shardings: dict           # field -> sharding: what `step` takes

  @property
  def batch_sharding(self) -> jax.sharding.NamedSharding:
    """The sharding of a [rows, seq_len] field."""
    return self.batch_shardings["inputs"]

  def put(self, batch: dict) -> dict:
    """A host's whole batch (one process) on the devices, each field in its sharding."""
    return {k: jax.device_put(v, self.batch_shardings[k]) for k, v in batch.items()}

  def init_state(self, seed: int) -> state_lib.TrainState:
    """Random parameters (and a fresh optimizer state), placed straight into their shardings."""
    return state_lib.init_state(self.model, self.tx, self.mesh, self.rules, self.shardings, seed, self.mask)

  def state_from_params(self, params) -> state_lib.TrainState:
    return state_lib.state_from_params(params, self.tx, self.mesh, self.shardings, self.mask)


def objective_of(c: ml_collections.ConfigDict) -> Objective:
  name = c.train.get("objective", "next_token")
  if name not in OBJECTIVES:
    raise ValueError(f"config.train.objective={name!r}: expected one of {sorted(OBJECTIVES)}")
  return OBJECTIVES[name]


def assemble(c: ml_collections.ConfigDict, mesh, *, objective: Objective | None = None) -> Assembled:
  """c: a resolved config (itx.config.resolved); objective: overrides `train.objective`.

  Raises ConfigError before anything compiles when the mesh does not divide the model (see
  itx.config.check_model_fits_mesh).
  """
  config_lib.check_model_fits_mesh(c, mesh)
  rules = sharding.rules_from_config(c.mesh)
  model_cfg = ModelConfig.from_config(c.model, c.get("lora"))
  model = network(model_cfg)
  schedule = optim.learning_rate_schedule(c.train)
  tx = optim.make_optimizer(c.train)
  abstract_params, _ = state_lib.param_shardings(model, mesh, rules)
  trainable = c.train.get("trainable", ".*")
  if model_cfg.lora is not None:  # the base is frozen: only the adapters train
    lora.check_targets(model_cfg.lora, abstract_params)
    trainable = lora.PARAM_PATTERN
  mask = optim.trainable_mask(abstract_params, trainable)
  abstract, shardings = state_lib.state_shardings(model, tx, mesh, rules, mask)
  fields = batch_fields(config_lib.lora_routing(c) is not None, config_lib.rows_by_adapter(c))
  batch_shardings = {k: sharding.batch_sharding(mesh, rules, ndim) for k, ndim in fields.items()}
  step = make_train_step(model, tx, schedule, grad_accum=c.train.grad_accum, mesh=mesh, rules=rules,
                         shardings=shardings, batch_shardings=batch_shardings, mask=mask,
                         objective=objective or objective_of(c),
                         dropout_seed=c.data.seed if model_cfg.lora is not None and model_cfg.lora.dropout > 0 else None)
  return Assembled(model_cfg, model, tx, schedule, mask, abstract, shardings, step, mesh, rules, batch_shardings)

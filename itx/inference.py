"""A trained run loaded for inference: model, sharded parameters, tokenizer and a Generator."""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import ml_collections

from itx import config as config_lib
from itx import sharding
from itx.datasets.sources import config_tokenizer
from itx.generate import Generator
from itx.models import ModelConfig, network
from itx.train.checkpoint import restore_config, restore_params
from itx.train.state import param_shardings


@dataclasses.dataclass
class LoadedRun:
  config: ml_collections.ConfigDict
  model: nn.Module
  params: object
  tokenizer: object
  mesh: object
  rules: tuple
  step: int | None

  def generator(self, **kwargs) -> Generator:
    shards = self.mesh.shape["data"] * self.mesh.shape["fsdp"]
    return Generator(self.model, self.params, self.tokenizer, mesh=self.mesh, rules=self.rules,
                     batch_multiple=shards, **kwargs)


def load_run(workdir: str, step: int | None = None, *, mesh_overrides: dict | None = None) -> LoadedRun:
  """Loads the checkpoint in `workdir` (latest step by default) into the mesh of its config (or of
  `mesh_overrides`, e.g. {"data": -1, "fsdp": 1, "tensor": 1} to serve on other devices)."""
  c = ml_collections.ConfigDict(restore_config(workdir, step))
  if mesh_overrides:
    c.mesh.update(mesh_overrides)
  model = network(ModelConfig.from_config(c.model))
  mesh = sharding.make_mesh(c.mesh)
  config_lib.check_model_fits_mesh(c, mesh)
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = param_shardings(model, mesh, rules)
  params = restore_params(workdir, step, abstract_params=abstract, shardings=shardings)
  tok = config_tokenizer(c)
  return LoadedRun(c, model, params, tok, mesh, rules, step)


def local_mesh() -> dict:
  """Mesh fields that serve on whatever devices this process has (data-parallel only)."""
  return {"data": -1, "fsdp": 1, "tensor": 1} if jax.process_count() == 1 else {}

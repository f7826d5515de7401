"""A trained run loaded for inference: model, sharded parameters, tokenizer and a Generator."""

from __future__ import annotations

import dataclasses

import jax
import ml_collections

from itx import config as config_lib
from itx import sharding
from itx.data.chat import load_tokenizer
from itx.generate import Generator
from itx.models import ModelConfig, Transformer
from itx.train.checkpoint import load_config, load_params
from itx.train.state import param_shardings


@dataclasses.dataclass
class LoadedRun:
  config: ml_collections.ConfigDict
  model: Transformer
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
  c = ml_collections.ConfigDict(load_config(workdir, step))
  if mesh_overrides:
    c.mesh.update(mesh_overrides)
  model = Transformer(ModelConfig.from_config(c.model))
  mesh = sharding.make_mesh(c.mesh)
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = param_shardings(model, mesh, rules)
  params = load_params(workdir, step, abstract_params=abstract, shardings=shardings)
  tok = load_tokenizer(config_lib.tokenizer_path(c))
  return LoadedRun(c, model, params, tok, mesh, rules, step)


def local_mesh() -> dict:
  """Mesh fields that serve on whatever devices this process has (data-parallel only)."""
  return {"data": -1, "fsdp": 1, "tensor": 1} if jax.process_count() == 1 else {}

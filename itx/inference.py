"""A trained run loaded for inference: model, sharded parameters, tokenizer and a Generator.

A LoRA run loads as its base (from the run's model.init_from, checked against the fingerprint saved
with the adapters) plus its adapters. `adapter` picks the adapter rows use by default (a name of
lora.adapters); a Generator also takes one adapter id per row, which is the seam a server uses to
answer for several adapters in one batch.
"""

from __future__ import annotations

import dataclasses
import logging

import flax.linen as nn
import jax
import ml_collections

from itx import config as config_lib
from itx import sharding
from itx.data.templates import FAMILY_DEFAULTS
from itx.datasets.sources import config_tokenizer
from itx.generate import Generator
from itx.models import ModelConfig, network
from itx.train.checkpoint import restore_config
from itx.train.frozen_base import load_run_params
from itx.train.state import param_shardings

log = logging.getLogger(__name__)


@dataclasses.dataclass
class LoadedRun:
  config: ml_collections.ConfigDict
  model: nn.Module
  params: object
  tokenizer: object
  mesh: object
  rules: tuple
  step: int | None
  adapter: int | None = None  # the LoRA adapter used by default (None: not a LoRA run)

  @property
  def adapters(self) -> tuple[str, ...]:
    """The names of the run's LoRA adapters (empty for a run without LoRA)."""
    spec = self.model.cfg.lora
    return spec.adapters if spec is not None else ()

  def generator(self, **kwargs) -> Generator:
    shards = self.mesh.shape["data"] * self.mesh.shape["fsdp"]
    if self.adapter is not None:
      kwargs.setdefault("adapter_id", self.adapter)
    return Generator(self.model, self.params, self.tokenizer, mesh=self.mesh, rules=self.rules,
                     batch_multiple=shards, **kwargs)


def load_run(workdir: str, step: int | None = None, *, mesh_overrides: dict | None = None,
             adapter: str | None = None, base: str | None = None, devices=None) -> LoadedRun:
  """Loads the checkpoint in `workdir` (latest step by default) into the mesh of its config (or of
  `mesh_overrides`, e.g. {"data": -1, "fsdp": 1, "tensor": 1} to serve on other devices).

  LoRA runs: `adapter` names the default adapter (default: the first); `base` replaces the
  model.init_from the run was trained with (a base that moved; it must still match)."""
  c = ml_collections.ConfigDict(restore_config(workdir, step))
  if mesh_overrides:
    c.mesh.update(mesh_overrides)
  model_cfg, model, mesh, rules, params = _placed(
      c, devices, lambda m, cfg, abstract, shardings: load_run_params(workdir, step, m, cfg, abstract, shardings,
                                                                      base_override=base))
  index = None
  if model_cfg.lora is not None:
    index = model_cfg.lora.adapter_index(adapter) if adapter else 0
  elif adapter:
    raise ValueError(f"{workdir} is not a LoRA run: it has no adapter {adapter!r}")
  tok = config_tokenizer(c)
  return LoadedRun(c, model, params, tok, mesh, rules, step, index)


def load_checkpoint(source: str, *, max_len: int = 2048, chat_template: str = "", dtype: str = "float32",
                    mesh_overrides: dict | None = None, devices=None) -> LoadedRun:
  """A checkpoint without a training run: `hf:DIR` (or a bare directory) or `gguf:FILE`, with the
  chat template of `chat_template` (itx.data.templates; "" keeps the tokenizer's own).

  Its config is configs/base.py's with the checkpoint's architecture, so it serves, decodes and
  evaluates as a run does (`data.seq_len` = max_len). A tokenizer without a chat template (a base
  model's) gets its family's (itx.data.templates.FAMILY_DEFAULTS), which is logged. dtype: of the
  weights and the computation (bfloat16 halves the memory and is what accelerators run)."""
  from configs import base as base_config
  from itx.hf.config_map import model_fields, read_config
  from itx.hf.weights import load_hf_params
  if not source.startswith(("hf:", "gguf:")):
    source = f"hf:{source}"
  c = base_config.get_config()
  c.model.update(init_from=source, tokenizer="", dtype=dtype, param_dtype=dtype)
  c.data.update(seq_len=max_len, chat_template=chat_template)
  c.mesh.update(mesh_overrides or {"data": -1, "fsdp": 1, "tensor": 1})
  hf_dir = config_lib.hf_init_dir(c)
  fields = model_fields(read_config(hf_dir), where=f"{hf_dir}/config.json")
  tok = config_tokenizer(c)
  if tok.chat_template is None and fields["family"] in FAMILY_DEFAULTS:
    c.data.chat_template = FAMILY_DEFAULTS[fields["family"]]
    log.info("%s has no chat template: using itx's %r template", source, c.data.chat_template)
    tok = config_tokenizer(c)
  c = config_lib.resolved(c, vocab_size=len(tok), hf_fields=fields)
  _, model, mesh, rules, params = _placed(c, devices, lambda m, cfg, abstract, shardings: load_hf_params(
      hf_dir, cfg, abstract, shardings))
  return LoadedRun(c, model, params, tok, mesh, rules, None)


def _placed(c, devices, load):
  """(model config, network, mesh, rules, parameters) of a config, the parameters read by
  `load(network, model config, abstract params, shardings)` straight into their shardings."""
  model_cfg = ModelConfig.from_config(c.model, c.get("lora"))
  model = network(model_cfg)
  mesh = sharding.make_mesh(c.mesh, devices)
  config_lib.check_model_fits_mesh(c, mesh)
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = param_shardings(model, mesh, rules)
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    params = load(model, model_cfg, abstract, shardings)
  return model_cfg, model, mesh, rules, params


def local_mesh() -> dict:
  """Mesh fields that serve on whatever devices this process has (data-parallel only)."""
  return {"data": -1, "fsdp": 1, "tensor": 1} if jax.process_count() == 1 else {}

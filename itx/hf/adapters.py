"""PEFT LoRA folders imported as an itx run: a workdir whose checkpoint (step 0) holds the adapters
(one, or a bank stacked in the given order) on a Hugging Face base, so evaluation, decoding, the
server, export and further training all take it like any LoRA run."""

from __future__ import annotations

import dataclasses
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from configs import base as base_config
from itx import config as config_lib
from itx import sharding
from itx.datasets.sources import config_tokenizer
from itx.hf import config_map, peft
from itx.models import ModelConfig, lora, network
from itx.train import frozen_base, optim
from itx.train.adapter_stack import stack_adapters
from itx.train.checkpoint import Checkpointer
from itx.train.state import TrainState, param_shardings


def import_peft(adapters: dict[str, str], hf_base: str, workdir: str, *, config=None) -> str:
  """Writes the run `workdir` (must not hold a checkpoint) from PEFT folders {name: folder} on the
  Hugging Face model folder `hf_base`. config: the run's config (default configs/base.py); its
  model and lora sections are set from the base and the adapters."""
  if not adapters:
    raise ValueError("import_peft: no adapter folders given")
  configs = {name: peft.read_peft_config(d) for name, d in adapters.items()}
  fields = {name: peft.spec_fields(cfg) for name, cfg in configs.items()}
  first = next(iter(fields.values()))
  for name, f in fields.items():
    if {k: v for k, v in f.items() if k != "dropout"} != {k: v for k, v in first.items() if k != "dropout"}:
      raise ValueError(f"{adapters[name]}: a bank needs one rank, alpha and target set; {f} differs from {first}")
  c = config if config is not None else base_config.get_config()
  c.model.update(init_from=f"hf:{hf_base}", tokenizer="")
  c.lora.update(first, adapters=tuple(adapters) if len(adapters) > 1 else ())
  tok = config_tokenizer(c)
  hf_fields = config_map.model_fields(config_map.read_config(hf_base), where=f"{hf_base}/config.json")
  c = config_lib.resolved(c, vocab_size=len(tok), hf_fields=hf_fields)
  model_cfg = ModelConfig.from_config(c.model, c.lora)
  if Checkpointer(workdir, c.checkpoint).latest_step() is not None:
    raise FileExistsError(f"{workdir} already holds a checkpoint: itx does not overwrite a run")

  mesh = sharding.make_mesh(ml_collections.ConfigDict(dict(data=1, fsdp=1, tensor=1)), jax.devices()[:1])
  one = dataclasses.replace(model_cfg, lora=dataclasses.replace(model_cfg.lora, adapters=("one",)))
  one_abstract, _ = param_shardings(network(one), mesh, ())
  abstract, shardings = param_shardings(network(model_cfg), mesh, ())
  lora.check_targets(model_cfg.lora, abstract)
  parts = [peft.read_peft_adapter(d, model_cfg, one_abstract) for d in adapters.values()]
  adapter_params = stack_adapters(parts)
  with jax.set_mesh(mesh), nn.logical_axis_rules(()):
    base = frozen_base.load_base(c.model.init_from, model_cfg, abstract, shardings)
  params = lora.join(adapter_params, base)
  mask = optim.trainable_mask(params, lora.PARAM_PATTERN)  # the optimizer state training would resume
  state = TrainState(step=jnp.zeros((), jnp.int32), params=params,
                     opt_state=optim.make_optimizer(c.train).init(optim.trainable_part(params, mask)))
  os.makedirs(workdir, exist_ok=True)
  ckpt = Checkpointer(workdir, c.checkpoint, base=frozen_base.reference(c.model.init_from, base))
  ckpt.save(0, state, None, c, force=True)
  ckpt.close()
  return workdir

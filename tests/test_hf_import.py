"""Hugging Face checkpoints: imported weights give transformers' PyTorch logits, sharded or not."""

import json

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from itx import sharding  # noqa: E402
from itx.config import check_model_fits_mesh, resolved  # noqa: E402
from itx.hf import config_map, weights  # noqa: E402
from itx.models import ModelConfig, DecoderLM  # noqa: E402
from itx.train import state as state_lib  # noqa: E402
from configs import base  # noqa: E402

SHAPE = dict(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
             num_attention_heads=8, num_key_value_heads=4)
VARIANTS = {
    "llama-gqa": (transformers.LlamaConfig, dict()),
    "llama-tied-rope5e5": (transformers.LlamaConfig, dict(tie_word_embeddings=True, rope_theta=500000.0)),
    "llama-head_dim": (transformers.LlamaConfig, dict(head_dim=16)),
    "mistral": (transformers.MistralConfig, dict(sliding_window=None)),
    "qwen2-bias": (transformers.Qwen2Config, dict()),
    "qwen2-tied": (transformers.Qwen2Config, dict(tie_word_embeddings=True, rope_theta=1e6)),
}


def save_tiny(tmp_path, name, max_shard_size="100KB"):
  cls, extra = VARIANTS[name]
  cfg = cls(**SHAPE, **extra)
  torch.manual_seed(0)
  model = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
  with torch.no_grad():  # Qwen2 initialises biases to zero: make them matter
    for n, p in model.named_parameters():
      if n.endswith("bias") or "norm" in n:
        p.add_(torch.randn_like(p) * 0.1)
  out = tmp_path / name
  model.save_pretrained(out, max_shard_size=max_shard_size)  # shards + index
  return model, str(out)


def import_model(hf_dir, mesh_axes=(1, 1, 1), devices=None):
  c = base.get_config()
  c.mesh.data, c.mesh.fsdp, c.mesh.tensor = mesh_axes
  fields = config_map.model_fields(config_map.read_config(hf_dir))
  cfg = ModelConfig(**fields)
  mesh = sharding.make_mesh(c.mesh, devices or jax.devices()[:1])
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = state_lib.param_shardings(DecoderLM(cfg), mesh, rules)
  return cfg, weights.load_hf_params(hf_dir, cfg, abstract, shardings), mesh, rules


def itx_logits(cfg, params, tokens, mesh, rules):
  import flax.linen as nn
  model = DecoderLM(cfg)
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    return np.asarray(jax.jit(lambda p, t: model.apply({"params": p}, t))(params, tokens))


def torch_logits(model, tokens):
  with torch.no_grad():
    return model(torch.from_numpy(np.asarray(tokens, np.int64))).logits.numpy()


TOKENS = np.random.default_rng(0).integers(0, 256, (2, 24)).astype(np.int32)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_imported_weights_give_reference_logits(tmp_path, name):
  model, hf_dir = save_tiny(tmp_path, name)
  cfg, params, mesh, rules = import_model(hf_dir)
  diff = np.max(np.abs(itx_logits(cfg, params, TOKENS, mesh, rules) - torch_logits(model, TOKENS)))
  print(f"{name}: max |logit difference| = {diff:.2e}")
  assert diff <= 1e-4


@pytest.mark.parametrize("name", ["llama-gqa", "qwen2-bias"])
def test_import_on_eight_devices_with_fsdp_and_tensor_sharding(tmp_path, name):
  model, hf_dir = save_tiny(tmp_path, name)
  cfg, params, mesh, rules = import_model(hf_dir, (2, 2, 2), jax.devices())
  q = params["layers"]["attn"]["q_proj"]["kernel"]
  assert len(q.sharding.device_set) == 8 and not q.sharding.is_fully_replicated
  assert q.addressable_shards[0].data.shape == (2, 32, 4, 8)  # fsdp halves embed, tensor halves heads
  diff = np.max(np.abs(itx_logits(cfg, params, TOKENS, mesh, rules) - torch_logits(model, TOKENS)))
  print(f"{name} on 8 devices (2x2x2): max |logit difference| = {diff:.2e}")
  assert diff <= 1e-4


def test_unsupported_options_are_refused_by_name():
  cfg = transformers.LlamaConfig(**SHAPE, rope_scaling={"rope_type": "yarn", "factor": 4.0}).to_dict()
  with pytest.raises(config_map.UnsupportedCheckpoint, match="yarn"):
    config_map.model_fields(cfg)
  # A Mistral window is honoured, never ignored (tests/test_model_families.py checks its logits).
  assert config_map.model_fields(transformers.MistralConfig(**SHAPE, sliding_window=32).to_dict())["sliding_window"] == 32
  with pytest.raises(config_map.UnsupportedCheckpoint, match="gemma"):
    config_map.model_fields({**cfg, "model_type": "gemma"})
  with pytest.raises(config_map.UnsupportedCheckpoint, match="attention_bias"):
    config_map.model_fields(transformers.LlamaConfig(**SHAPE, attention_bias=True).to_dict())


def test_pickle_checkpoint_is_refused_with_a_conversion_hint(tmp_path):
  model, hf_dir = save_tiny(tmp_path, "llama-gqa")
  import os
  for f in os.listdir(hf_dir):
    if f.endswith((".safetensors", ".json")) and f != "config.json":
      os.remove(os.path.join(hf_dir, f))
  (tmp_path / "llama-gqa" / "pytorch_model.bin").write_bytes(b"not read")
  with pytest.raises(FileNotFoundError, match="safe_serialization=True"):
    weights.SafetensorsReader(hf_dir)


@pytest.mark.parametrize("tied", [False, True])
def test_padded_vocabulary_imports_as_zeros_and_exports_stripped(tmp_path, tied):
  # 250 ids: no tensor axis of 4 divides it; itx pads to 256 so the (2, 1, 4) mesh does.
  cfg_hf = transformers.LlamaConfig(**{**SHAPE, "vocab_size": 250}, tie_word_embeddings=tied)
  torch.manual_seed(0)
  model = transformers.AutoModelForCausalLM.from_config(cfg_hf).float().eval()
  hf_dir = str(tmp_path / "hf")
  model.save_pretrained(hf_dir)
  c = base.get_config()
  c.mesh.data, c.mesh.fsdp, c.mesh.tensor = 2, 1, 4
  c.model.init_from = f"hf:{hf_dir}"
  c = resolved(c, vocab_size=250, hf_fields=config_map.model_fields(config_map.read_config(hf_dir)))
  assert (c.model.vocab_size, c.model.vocab_real) == (256, 250)
  cfg = ModelConfig.from_config(c.model)
  mesh = sharding.make_mesh(c.mesh, jax.devices())
  check_model_fits_mesh(c, mesh)
  rules = sharding.rules_from_config(c.mesh)
  abstract, shardings = state_lib.param_shardings(DecoderLM(cfg), mesh, rules)
  params = weights.load_hf_params(hf_dir, cfg, abstract, shardings)
  assert not np.asarray(params["embed"]["embedding"])[250:].any()  # the padded rows are zeros
  tokens = TOKENS % 250
  ours = itx_logits(cfg, params, tokens, mesh, rules)
  assert np.max(np.abs(ours[..., :250] - torch_logits(model, tokens))) <= 1e-4
  assert (ours[..., 250:] < -1e8).all()  # padded ids take no probability

  out = tmp_path / "export"
  out.mkdir()
  weights.save_hf_params(params, cfg, str(out))
  (out / "config.json").write_text(json.dumps(config_map.hf_config(cfg)))
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(str(out)).float().eval()
  assert reloaded.config.vocab_size == 250
  assert np.max(np.abs(torch_logits(reloaded, tokens) - ours[..., :250])) <= 1e-4

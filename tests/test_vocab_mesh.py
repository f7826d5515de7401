"""Any mesh: the vocabulary is padded so every tensor axis divides it, and a padded model computes
exactly what the unpadded one does (padded ids never sampled, never in the loss); heads that the
tensor axis does not divide are a config error before anything compiles."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import tiny_config
from itx import sharding
from itx.config import ConfigError, resolved
from itx.generate import Generator, SamplingParams
from itx.models import DecoderLM, ModelConfig
from itx.train.assemble import assemble
from itx.train.loop import train
from itx.train.objectives import token_nll

REAL, PADDED = 500, 512  # 500 ids: a tensor axis of 8 does not divide them
SHAPE = dict(d_model=64, n_layers=2, n_heads=8, n_kv_heads=8, mlp_dim=128)


def padded_params(real_params, rng):
  """The unpadded model's parameters plus padded rows that would win every argmax if they counted."""
  p = jax.tree.map(np.asarray, real_params)
  p["embed"]["embedding"] = np.concatenate(
      [p["embed"]["embedding"], rng.normal(size=(PADDED - REAL, SHAPE["d_model"])).astype(np.float32)])
  p["lm_head"]["kernel"] = np.concatenate(
      [p["lm_head"]["kernel"], np.full((SHAPE["d_model"], PADDED - REAL), 50.0, np.float32)], axis=1)
  return p


@pytest.fixture(scope="module")
def models():
  real_cfg = ModelConfig(vocab_size=REAL, **SHAPE)
  pad_cfg = ModelConfig(vocab_size=PADDED, vocab_real=REAL, **SHAPE)
  tokens = np.random.default_rng(0).integers(0, REAL, (8, 12)).astype(np.int32)
  real_params = nn.unbox(DecoderLM(real_cfg).init(jax.random.key(0), tokens)["params"])
  return real_cfg, pad_cfg, real_params, padded_params(real_params, np.random.default_rng(1)), tokens


def test_resolved_pads_the_vocabulary_to_the_multiple():
  c = tiny_config(vocab_size=REAL, vocab_from_tokenizer=False)
  r = resolved(c, vocab_size=300)
  assert (r.model.vocab_size, r.model.vocab_real) == (512, REAL)
  c.model.vocab_multiple = 1
  assert resolved(c, vocab_size=300).model.vocab_size == REAL


def test_padded_model_on_a_tensor_axis_of_8_computes_the_unpadded_logits_and_loss(models):
  real_cfg, pad_cfg, real_params, pad_params, tokens = models
  expected = DecoderLM(real_cfg).apply({"params": real_params}, tokens)
  c = tiny_config(**SHAPE)
  c.mesh.update(data=1, fsdp=1, tensor=8)
  mesh, rules = sharding.make_mesh(c.mesh), sharding.rules_from_config(c.mesh)
  from itx.train import state as state_lib
  _, shardings = state_lib.param_shardings(DecoderLM(pad_cfg), mesh, rules)
  placed = jax.tree.map(jax.device_put, pad_params, shardings)
  assert placed["lm_head"]["kernel"].addressable_shards[0].data.shape == (64, PADDED // 8)
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    logits = jax.jit(lambda p, t: DecoderLM(pad_cfg).apply({"params": p}, t))(placed, tokens)
  logits = np.asarray(logits)
  np.testing.assert_allclose(logits[..., :REAL], expected, atol=1e-4)
  assert logits.argmax(-1).max() < REAL  # the padded ids would win by 50 x |h| if they were not masked
  targets = jnp.asarray(np.roll(tokens, -1, axis=1))
  np.testing.assert_allclose(token_nll(logits, targets), token_nll(expected, targets), rtol=1e-5, atol=1e-5)


def test_sampling_never_draws_a_padded_id(models, toy_tokenizer):
  _, pad_cfg, _, pad_params, tokens = models
  gen = Generator(DecoderLM(pad_cfg), pad_params, toy_tokenizer, length_bucket=16)
  outs = gen.generate([list(t[:5]) for t in tokens],
                      SamplingParams(temperature=2.0, max_new_tokens=12, seed=3))
  drawn = [i for o in outs for i in o]
  assert drawn and max(drawn) < REAL


def test_a_train_step_runs_with_a_tensor_axis_of_8():
  c = tiny_config(**SHAPE, vocab_size=REAL, vocab_from_tokenizer=False)
  c.mesh.update(data=1, fsdp=1, tensor=8)
  c.train.update(batch_size=8)
  c = resolved(c, vocab_size=REAL)
  run = assemble(c, sharding.make_mesh(c.mesh))
  state = run.init_state(0)
  rng = np.random.default_rng(0)
  batch = {"inputs": rng.integers(0, REAL, (8, 16)), "targets": rng.integers(0, REAL, (8, 16)),
           "weights": np.ones((8, 16)), "segment_ids": np.ones((8, 16)), "positions": np.tile(np.arange(16), (8, 1))}
  batch = {k: jax.device_put(np.asarray(v, np.float32 if k == "weights" else np.int32), run.batch_sharding)
           for k, v in batch.items()}
  _, metrics = run.step(state, batch)
  # Untrained, the loss is about log(REAL): the padded ids add nothing to the partition function.
  assert abs(float(metrics["loss"]) - np.log(REAL)) < 0.5


@pytest.mark.parametrize("heads, kv_heads, field", [(4, 2, "model.n_kv_heads=2"), (6, 6, "model.n_heads=6")])
def test_heads_the_tensor_axis_does_not_divide_are_a_config_error(tmp_path, heads, kv_heads, field):
  c = tiny_config(d_model=48, n_heads=heads, n_kv_heads=kv_heads)
  c.mesh.update(data=2, fsdp=1, tensor=4)
  with pytest.raises(ConfigError, match=rf"{field} is not divisible by mesh.tensor=4") as e:
    train(c, str(tmp_path / "run"))
  assert "'tensor': 4" in str(e.value)
  assert not (tmp_path / "run" / "checkpoints").exists()

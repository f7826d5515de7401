"""LoRA adapters and banks: an adapted model starts as its base and never changes it; in a bank each
adapter learns only from its own group's tokens, exactly as a lone adapter would; packed rows may
mix groups; 8 devices compute what 1 does; merged weights compute the adapted logits; one decoding
batch answers for several adapters."""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import assert_trees_close, tiny_config
from itx import sharding
from itx.data import pipeline
from itx.data.jsonl import RecordError
from itx.datasets.sources import build_sources, tokenizer
from itx.generate import Generator, SamplingParams
from itx.models import DecoderLM, ModelConfig, lora
from itx.train.assemble import assemble
from itx.train.objectives import next_token_loss
from itx.train.step import grads_and_loss

BASE = ModelConfig(vocab_size=512, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64, qkv_bias=True)
TASKS = ("add", "reverse", "sort", "repeat", "count")  # the toy records' `task` field


def with_lora(cfg, **spec):
  return dataclasses.replace(cfg, lora=lora.LoraSpec(**{**dict(rank=4, alpha=8.0), **spec}))


def init(cfg, seed=0):
  return nn.meta.unbox(jax.jit(DecoderLM(cfg).init)(jax.random.key(seed), jnp.zeros((1, 8), jnp.int32))["params"])


def randomize_b(params, seed=1):
  """B starts at zero (the base); tests of adapters that differ need it non-zero."""
  adapters, base = lora.split(params)
  keys = iter(jax.random.split(jax.random.key(seed), 64))
  adapters = jax.tree_util.tree_map_with_path(
      lambda p, x: 0.1 * jax.random.normal(next(keys), x.shape) if p[-1].key == "lora_b" else x, adapters)
  return lora.join(adapters, base)


def random_tokens(shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).integers(3, 500, shape), jnp.int32)


def test_adapted_model_starts_as_its_base():
  base = init(BASE)
  cfg = with_lora(BASE, adapters=("a", "b", "c"))
  adapters, _ = lora.split(init(cfg, seed=5))
  tokens = random_tokens((2, 12))
  ids = jnp.asarray(np.random.default_rng(1).integers(0, 3, (2, 12)), jnp.int32)
  ours = apply_fn(cfg)(lora.join(adapters, base), tokens, ids)
  np.testing.assert_array_equal(ours, apply_fn(BASE)(base, tokens, None))
  # The seven projections, each with A [L, adapters, in..., r] and B [L, adapters, r, out...].
  assert sorted(lora.adapter_paths(adapters)) == sorted(
      f"layers/{m}" for m in ("attn/q_proj", "attn/k_proj", "attn/v_proj", "attn/o_proj", "mlp/gate_proj",
                              "mlp/up_proj", "mlp/down_proj"))
  assert adapters["layers"]["attn"]["o_proj"]["lora_a"].shape == (2, 3, 4, 8, 4)
  assert adapters["layers"]["attn"]["q_proj"]["lora_b"].shape == (2, 3, 4, 4, 8)


def test_target_that_matches_nothing_lists_the_parameters():
  c = tiny_config()
  c.lora.update(rank=4, targets="qq_proj")
  with pytest.raises(ValueError, match=r"matches no projection kernel.*layers/attn/q_proj/kernel"):
    assemble(c, sharding.make_mesh(c.mesh, jax.devices()[:1]))


def test_merged_weights_give_the_adapted_logits():
  cfg = with_lora(BASE, adapters=("a", "b"), targets=r"(q|o|down)_proj/kernel$|lm_head", rslora=True)
  params = randomize_b(init(cfg))
  tokens = random_tokens((2, 10))
  for k in range(2):
    adapted = apply_fn(cfg)(params, tokens, jnp.full((2, 10), k))
    merged = apply_fn(BASE)(lora.merged_kernels(params, cfg.lora, k), tokens, None)
    np.testing.assert_allclose(merged, adapted, rtol=1e-5, atol=1e-5)
  base_only = apply_fn(cfg)(params, tokens, jnp.full((2, 10), -1))
  np.testing.assert_array_equal(base_only, apply_fn(BASE)(lora.split(params)[1], tokens, None))


def tagged_examples(n, n_groups, rng, max_len=20):
  out = []
  for _ in range(n):
    k = int(rng.integers(4, max_len))
    ids = rng.integers(3, BASE.vocab_size, k + 1).astype(np.int32)
    w = (rng.random(k) < 0.6).astype(np.float32)
    w[-1] = 1.0
    g = np.full(k, rng.integers(0, n_groups), np.int32)
    out.append({"inputs": ids[:-1], "targets": ids[1:], "weights": w, "adapter_ids": g})
  return out


@functools.cache
def apply_fn(cfg):
  return jax.jit(lambda p, tokens, ids: DecoderLM(cfg).apply({"params": p}, tokens, adapter_ids=ids))


@functools.cache
def _grads_fn(cfg):
  def fn(p, b):
    mask = jax.tree_util.tree_map_with_path(lambda path, _: lora.is_adapter_param(path), p)
    return grads_and_loss(p, mask, DecoderLM(cfg), b, 1)
  return jax.jit(fn)


def bank_grads(cfg, params, batch):
  grads, loss, count = _grads_fn(cfg)(params, {k: jnp.asarray(v) for k, v in batch.items()})
  return lora.split(grads)[0], float(loss), float(count)


def test_bank_adapter_learns_only_from_its_group_as_a_lone_adapter_would():
  n = 3
  cfg = with_lora(BASE, adapters=("a", "b", "c"))
  params = randomize_b(init(cfg))
  rng = np.random.default_rng(0)
  batch = next(pipeline.batches([tagged_examples(16, n, rng)], [1.0], rows=4, seq_len=48, shuffle=False))
  ids = batch["adapter_ids"]
  assert len({int(g) for r, s in zip(ids, batch["segment_ids"]) for g in np.unique(r[s > 0])}) == n
  assert any(len(np.unique(r[s > 0])) > 1 for r, s in zip(ids, batch["segment_ids"]))  # rows mix groups
  grads, _, total = bank_grads(cfg, params, batch)
  single = with_lora(BASE)
  for g in range(n):
    mine = (ids == g) & (batch["segment_ids"] > 0)
    # Zero gradient from the other groups' examples: only their tokens carry weight.
    others = dict(batch, weights=np.where(mine, 0.0, batch["weights"]))
    g_others, _, _ = bank_grads(cfg, params, others)
    for leaf in jax.tree.leaves(jax.tree.map(lambda x: x[:, g], g_others)):
      assert not np.any(np.asarray(leaf))
    # A lone adapter (adapter g's A and B on the same base) trained on group g's tokens alone.
    lone = jax.tree.map(lambda x: x[:, g:g + 1], lora.split(params)[0])
    own = dict(batch, weights=np.where(mine, batch["weights"], 0.0), adapter_ids=np.zeros_like(ids))
    g_lone, _, count = bank_grads(single, lora.join(lone, lora.split(params)[1]), own)
    assert count > 0
    # As means: bank = lone adapter's mean gradient x the group's share of the batch's target tokens.
    assert_trees_close(jax.tree.map(lambda x: x[:, g:g + 1] / total, grads),
                       jax.tree.map(lambda x: x / count * (count / total), g_lone), rtol=1e-5)


def test_packed_equals_unpacked_with_groups_mixed_in_a_row():
  cfg = with_lora(BASE, adapters=("a", "b", "c"))
  params = randomize_b(init(cfg))
  model = DecoderLM(cfg)
  examples = tagged_examples(12, 3, np.random.default_rng(2))
  packed = next(pipeline.batches([examples], [1.0], rows=4, seq_len=48, packing=True, shuffle=False))
  assert any(len(np.unique(r[s > 0])) > 1 for r, s in zip(packed["adapter_ids"], packed["segment_ids"]))
  chosen = []
  for r_in, r_seg, r_ids in zip(packed["inputs"], packed["segment_ids"], packed["adapter_ids"]):
    for s in np.unique(r_seg[r_seg > 0]):
      ex = next(e for e in examples if np.array_equal(e["inputs"], r_in[r_seg == s]))
      np.testing.assert_array_equal(r_ids[r_seg == s], ex["adapter_ids"])  # ids travel with their tokens
      chosen.append(ex)
  loss_fn = jax.jit(lambda p, b: next_token_loss(model, p, b))
  loss, count = loss_fn(params, {k: jnp.asarray(v) for k, v in packed.items()})
  padded = [pipeline.pad_example(e, 48) for e in chosen]
  ref = loss_fn(params, {k: jnp.asarray(np.stack([p[k] for p in padded])) for k in padded[0]})
  assert float(count) == float(ref[1])
  np.testing.assert_allclose(loss, ref[0], rtol=1e-5)


def test_one_adapter_per_row_computes_what_per_token_ids_do():
  cfg = with_lora(BASE, adapters=("a", "b", "c"), targets=lora.DEFAULT_TARGETS + "|lm_head")
  params = randomize_b(init(cfg))
  tokens = random_tokens((4, 12))
  rows = jnp.asarray([2, 0, -1, 1], jnp.int32)
  per_token = jnp.broadcast_to(rows[:, None], tokens.shape)
  np.testing.assert_allclose(apply_fn(cfg)(params, tokens, rows), apply_fn(cfg)(params, tokens, per_token),
                             rtol=1e-5, atol=1e-6)
  last = jnp.asarray([11, 5, 7, 3], jnp.int32)  # decoding: logits at one position per row, adapted head
  at = jax.jit(lambda p, ids: DecoderLM(cfg).apply({"params": p}, tokens, logit_indices=last, adapter_ids=ids))
  np.testing.assert_allclose(at(params, rows), at(params, per_token), rtol=1e-5, atol=1e-6)
  batch = {"inputs": tokens, "targets": random_tokens((4, 12), seed=1), "weights": np.ones((4, 12), np.float32),
           "segment_ids": np.ones((4, 12), np.int32), "positions": np.broadcast_to(np.arange(12), (4, 12))}
  g_rows, loss_rows, _ = bank_grads(cfg, params, dict(batch, adapter_ids=rows))
  g_tokens, loss_tokens, _ = bank_grads(cfg, params, dict(batch, adapter_ids=per_token))
  np.testing.assert_allclose(loss_rows, loss_tokens, rtol=1e-6)
  assert_trees_close(g_rows, g_tokens, rtol=1e-5)
  assert not np.any(g_rows["layers"]["mlp"]["up_proj"]["lora_b"][:, 1:] == 0)  # rows 0, 1, 3 reach adapters 0-2


def test_rows_packed_by_adapter_hold_one_group_each_in_the_groups_proportions():
  # Two sources mixed 3:1, unbalanced groups of different lengths: the groups' share of the tokens
  # in rows of one group each must be their share in mixed rows, counted from the mixed stream.
  rng = np.random.default_rng(4)
  sources = [tagged_examples(200, 3, rng, max_len=30), tagged_examples(120, 3, rng, max_len=12)]
  for ex in sources[0][:150]:  # group 2 dominates the first source, with long examples
    ex["adapter_ids"] = np.full_like(ex["adapter_ids"], 2)
  kw = dict(rows=8, seq_len=48, seed=5)
  it = pipeline.batches(sources, [3.0, 1.0], rows_by_tag=True, **kw)
  for _ in range(3):
    batch = next(it)
    assert batch["adapter_ids"].shape == (8,)
    for r_in, r_seg, tag in zip(batch["inputs"], batch["segment_ids"], batch["adapter_ids"]):
      for s in np.unique(r_seg[r_seg > 0]):
        ex = next(e for src in sources for e in src if np.array_equal(e["inputs"], r_in[r_seg == s]))
        assert ex["adapter_ids"][0] == tag  # every example in a row of its own group
  state = it.get_state()
  ahead = [next(it) for _ in range(2)]
  resumed = pipeline.batches(sources, [3.0, 1.0], rows_by_tag=True, **kw)
  resumed.set_state(state)
  for want in ahead:
    got = next(resumed)
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])

  def shares(batches, per_row):
    tokens = np.zeros(3)
    for b in batches:
      ids = np.broadcast_to(b["adapter_ids"][:, None], b["segment_ids"].shape) if per_row else b["adapter_ids"]
      np.add.at(tokens, ids[b["segment_ids"] > 0], 1)
    return tokens / tokens.sum()
  mixed = pipeline.batches(sources, [3.0, 1.0], **kw)
  want = shares([next(mixed) for _ in range(150)], per_row=False)
  np.testing.assert_allclose(shares([next(it) for _ in range(150)], per_row=True), want, atol=0.03)
  assert want[2] > 0.5  # the groups are far from equal


def bank_config(**mesh):
  c = tiny_config(d_model=64, n_heads=8, n_kv_heads=4, mlp_dim=128, vocab_size=512, vocab_from_tokenizer=False)
  c.data.seq_len = 64
  c.train.update(batch_size=16, learning_rate=1e-2, warmup_steps=1, eps=1e-4)
  c.lora.update(rank=4, adapters=TASKS, route_by="task")
  c.mesh.update(mesh)
  return c


@pytest.fixture(scope="module")
def bank_batches():
  c = bank_config()
  sources, weights = build_sources(c, tokenizer(c.model.tokenizer), progress=False)
  it = pipeline.batches(sources, weights, rows=c.train.batch_size, seq_len=c.data.seq_len, seed=3,
                        rows_by_tag=c.lora.rows_by_adapter)  # one group per row, as training packs a bank
  return [next(it) for _ in range(2)]


def run_bank(c, devices, batches):
  run = assemble(c, sharding.make_mesh(c.mesh, devices))
  state = run.init_state(0)
  before = jax.device_get(lora.split(state.params)[1])
  losses = []
  for b in batches:
    state, m = run.step(state, run.put(b))
    losses.append(float(m["loss"]))
  return state, losses, before


@pytest.fixture(scope="module")
def one_device_bank(bank_batches):
  return run_bank(bank_config(data=1), jax.devices()[:1], bank_batches)


def test_training_moves_only_the_adapters_and_keeps_the_base_bitwise(bank_batches, one_device_bank):
  assert set(np.concatenate([b["adapter_ids"] for b in bank_batches])) == set(range(5))
  state, losses, before = one_device_bank
  adapters, base = lora.split(jax.device_get(state.params))
  for b, a in zip(jax.tree.leaves(before), jax.tree.leaves(base)):
    np.testing.assert_array_equal(a, b)
  assert np.any(np.asarray(adapters["layers"]["mlp"]["up_proj"]["lora_b"]))  # B left zero
  # Optimizer moments exist for the adapters only.
  n_adapter = sum(x.size for x in jax.tree.leaves(adapters))
  assert sum(x.size for x in jax.tree.leaves(state.opt_state) if x.ndim) == 2 * n_adapter


def test_bank_on_eight_devices_equals_one(bank_batches, one_device_bank):
  state, losses, _ = run_bank(bank_config(data=2, fsdp=2, tensor=2), jax.devices(), bank_batches)
  ref_state, ref_losses, _ = one_device_bank
  np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
  # Adam turns float noise in near-zero gradients into updates of up to lr: compare within 1e-4.
  assert_trees_close(lora.split(state.params)[0], lora.split(ref_state.params)[0], rtol=1e-4)
  # The adapters shard as their logical axes say: B of q_proj over heads (tensor), A over embed (fsdp).
  q = state.params["layers"]["attn"]["q_proj"]
  assert tuple(q["lora_b"].sharding.spec)[:4] == (None, None, None, "tensor")  # [L, n, r, heads, d]
  assert tuple(q["lora_a"].sharding.spec)[:3] == (None, None, "fsdp")          # [L, n, embed, r]


def test_bank_with_rows_mixing_groups_on_eight_devices_equals_one():
  c = bank_config(data=1)
  c.lora.rows_by_adapter = False  # per-token ids: the dense form, sharded
  sources, weights = build_sources(c, tokenizer(c.model.tokenizer), progress=False)
  it = pipeline.batches(sources, weights, rows=c.train.batch_size, seq_len=c.data.seq_len, seed=3)
  batches = [next(it) for _ in range(2)]  # the second step's loss sees the first step's update
  assert any(len(np.unique(r[s > 0])) > 1 for r, s in zip(batches[0]["adapter_ids"], batches[0]["segment_ids"]))
  one, one_losses, _ = run_bank(c, jax.devices()[:1], batches)
  c8 = bank_config(data=2, fsdp=2, tensor=2)
  c8.lora.rows_by_adapter = False
  eight, losses, _ = run_bank(c8, jax.devices(), batches)
  np.testing.assert_allclose(losses, one_losses, rtol=1e-5)
  # Adam turns float noise in near-zero gradients into updates of up to lr (1.8e-4 of the
  # largest entry after one step here): a sharding error moves them by far more.
  assert_trees_close(lora.split(eight.params)[0], lora.split(one.params)[0], rtol=1e-3)


def test_one_decoding_batch_answers_for_several_adapters(toy_tokenizer):
  cfg = with_lora(BASE, adapters=("a", "b", "c"))
  params = randomize_b(init(cfg), seed=3)
  gen = Generator(DecoderLM(cfg), params, toy_tokenizer, length_bucket=16)
  prompts = [[5, 9, 17, 33, 8], [5, 9, 17, 33, 8], [40, 41, 42], [5, 9, 17, 33, 8]]
  ids = [0, 1, 2, -1]
  sampling = SamplingParams(max_new_tokens=6)
  together = gen.generate(prompts, sampling, adapter_ids=ids)
  alone = [gen.generate([p], sampling, adapter_ids=[i])[0] for p, i in zip(prompts, ids)]
  assert together == alone
  assert together[0] != together[1]  # the adapters differ
  base = Generator(DecoderLM(BASE), lora.split(params)[1], toy_tokenizer, length_bucket=16)
  assert together[3] == base.generate([prompts[3]], sampling)[0]  # -1: the base alone


def test_records_without_a_known_group_are_refused_or_counted(tmp_path):
  good = '{"instruction": "What is 1 plus 1?", "output": "2", "task": "add"}\n'
  path = tmp_path / "groups.jsonl"
  path.write_text(good + '{"instruction": "Hi", "output": "Hello"}\n' + good
                  + '{"instruction": "Hi", "output": "Hello", "task": "poetry"}\n')
  c = tiny_config()
  c.data.sources.train.path = str(path)
  c.lora.update(rank=4, adapters=TASKS, route_by="task")
  tok = tokenizer(c.model.tokenizer)
  with pytest.raises(RecordError, match=rf"{path}:2: field 'task': missing"):
    build_sources(c, tok, progress=False)
  c.data.skip_invalid = True
  (src,), _ = build_sources(c, tok, progress=False)
  assert src.stats["skipped_records"] == 2 and src.stats["examples"] == 2
  assert "'poetry' has no adapter" in " ".join(src.stats["first_errors"])
  assert set(src.arrays["adapter_ids"]) == {TASKS.index("add")}


def test_dropout_acts_in_training_only():
  cfg = with_lora(BASE, dropout=0.5)
  params = randomize_b(init(cfg))
  tokens = random_tokens((1, 10))
  fn = jax.jit(lambda p, key: DecoderLM(cfg).apply({"params": p}, tokens, rngs={"dropout": key}))
  plain = apply_fn(cfg)(params, tokens, None)
  np.testing.assert_array_equal(plain, apply_fn(dataclasses.replace(cfg, lora=with_lora(BASE).lora))(params, tokens, None))
  dropped = [fn(params, jax.random.key(k)) for k in range(2)]
  assert not np.allclose(dropped[0], plain) and not np.allclose(dropped[0], dropped[1])


def test_server_answers_each_group_with_its_adapter(toy_tokenizer):
  import queue
  from itx.serve.engine import Delta, Engine, Failed, Finished, RowSpec
  from itx.serve.kernels import Kernels
  from itx.serve.registry import ServedRun, model_table
  cfg = with_lora(BASE, adapters=("a", "b", "c"))
  params = randomize_b(init(cfg), seed=3)
  engine = Engine(Kernels(DecoderLM(cfg), params, slots=4, max_len=64), toy_tokenizer)
  table = model_table([ServedRun("bank", engine, toy_tokenizer, adapters=("a", "b", "c"))])
  assert [(m, table[m].adapter) for m in table] == [("bank", -1), ("bank:a", 0), ("bank:b", 1), ("bank:c", 2)]
  prompt = [5, 9, 17, 33, 8]
  events = queue.Queue()
  engine.start()
  try:
    engine.submit([RowSpec(prompt, 6, index=i, adapter=table[m].adapter) for i, m in enumerate(table)], events.put)
    got, finished = {}, 0
    while finished < len(table):
      ev = events.get(timeout=120)
      assert not isinstance(ev, Failed), ev.message
      if isinstance(ev, Delta):
        got.setdefault(ev.index, []).extend(t for t, _, _ in ev.tokens)
      finished += isinstance(ev, Finished)
  finally:
    engine.stop()
  gen = Generator(DecoderLM(cfg), params, toy_tokenizer, length_bucket=16)
  expected = gen.generate([prompt] * 4, SamplingParams(max_new_tokens=6), adapter_ids=[-1, 0, 1, 2])
  assert [got[i] for i in range(4)] == expected
  assert len({tuple(e) for e in expected}) > 1  # the groups' adapters answer differently


def test_a_bfloat16_base_trains_float32_adapters_and_optimizer_state():
  """QLoRA's layout: the frozen base held in bfloat16 (model.param_dtype), adapters and their Adam
  moments in float32; the loss of the bfloat16 base is the float32 one's up to bfloat16 rounding."""
  from itx.train.loop import resolve
  losses, float_base = {}, None
  for dtype in ("float32", "bfloat16"):
    c = tiny_config(param_dtype=dtype)
    c.lora.rank = 4
    c.mesh.update(data=1, fsdp=1, tensor=1)
    c, _ = resolve(c)
    run = assemble(c, sharding.make_mesh(c.mesh, jax.devices()[:1]))
    adapters, base = lora.split(run.abstract.params)
    assert {x.dtype for x in jax.tree.leaves(base)} == {jnp.dtype(dtype)}
    assert {x.dtype for x in jax.tree.leaves(adapters)} == {jnp.dtype("float32")}
    moments = [x for x in jax.tree.leaves(run.abstract.opt_state) if x.ndim > 0]
    assert moments and {x.dtype for x in moments} == {jnp.dtype("float32")}
    state = run.init_state(0)
    if dtype == "bfloat16":  # the same base weights, rounded
      state = state.replace(params=lora.join(lora.split(state.params)[0], jax.tree.map(
          lambda b, f: jnp.asarray(f, b.dtype), lora.split(state.params)[1], float_base)))
    else:
      float_base = jax.device_get(lora.split(state.params)[1])  # the step donates the state
    batch = {k: v[:4] for k, v in next(pipeline.batches(*build_sources(c, tokenizer(c.model.tokenizer),
                                                                        progress=False), rows=8,
                                                         seq_len=c.data.seq_len)).items()}
    losses[dtype] = float(run.step(state, run.put(batch))[1]["loss"])
  assert abs(losses["bfloat16"] - losses["float32"]) < 0.02 * losses["float32"], losses

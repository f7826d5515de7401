"""The batching engine: a row's tokens do not depend on the rows sharing its steps (rows admitted
together, or while others are mid-decode), and greedy rows equal the Generator's decoding."""

import queue

import numpy as np
import pytest

from itx.generate import SamplingParams, prompt_ids
from itx.serve.engine import Delta, Engine, Failed, Finished, RowSpec
from itx.serve.kernels import Kernels, RowSampling
from serve_support import loaded, groups_run  # noqa: F401  (session fixtures)

QUESTIONS = ["What is 2 plus 3?", "Reverse: apple river", "Name a weekday.", "Translate to German: the cat",
             "Spell 42 in words.", "Sort: pear apple fig"]


@pytest.fixture(scope="module")
def engine(loaded):  # noqa: F811
  shards = loaded.mesh.shape["data"] * loaded.mesh.shape["fsdp"]
  kernels = Kernels(loaded.model, loaded.params, slots=8, max_len=256, mesh=loaded.mesh, rules=loaded.rules,
                    batch_multiple=shards)
  e = Engine(kernels, loaded.tokenizer)
  e.start()
  yield e
  e.stop()


def prompts(tok):
  return [prompt_ids(tok, [{"role": "user", "content": q}]) for q in QUESTIONS]


class Collector:
  """Receives a request's events on the engine thread; `wait` returns {index: tokens} when done."""

  def __init__(self, n):
    self.n, self.events = n, queue.Queue()

  def __call__(self, event):
    self.events.put(event)

  def wait(self, until_deltas=None):
    tokens, done = {}, 0
    while done < self.n:
      ev = self.events.get(timeout=120)
      assert not isinstance(ev, Failed), ev.message
      if isinstance(ev, Delta):
        tokens.setdefault(ev.index, []).extend(t for t, _, _ in ev.tokens)
        if until_deltas is not None and len(tokens[ev.index]) >= until_deltas:
          return tokens
      done += isinstance(ev, Finished)
    return tokens


def run_alone(engine, spec):
  c = Collector(1)
  engine.submit([spec], c)
  return c.wait()[spec.index]


def specs(tok, sampled):
  kw = dict(temperature=0.9, top_p=0.9, top_k=20) if sampled else {}
  return [RowSpec(p, 12 + 3 * i, seed=100 + i, **kw) for i, p in enumerate(prompts(tok))]


@pytest.mark.parametrize("sampled", [False, True])
def test_concurrent_rows_equal_each_row_alone(engine, loaded, sampled):  # noqa: F811
  rows = specs(loaded.tokenizer, sampled)
  alone = [run_alone(engine, s) for s in rows]
  collectors = [Collector(1) for _ in rows]
  for s, c in zip(rows, collectors):
    engine.submit([s], c)
  together = [c.wait()[0] for c in collectors]
  assert together == alone
  assert all(len(t) >= 1 for t in alone)


def test_row_admitted_mid_decode_equals_alone(engine, loaded):  # noqa: F811
  first, second = specs(loaded.tokenizer, sampled=True)[:2]
  first = RowSpec(first.prompt, 40, temperature=0.0)  # greedy rows often end early: force a long one
  alone_first, alone_second = run_alone(engine, first), run_alone(engine, second)
  c1, c2 = Collector(1), Collector(1)
  engine.submit([first], c1)
  early = c1.wait(until_deltas=min(3, len(alone_first)))  # the first row is mid-decode now
  engine.submit([second], c2)
  rest = c1.wait()
  assert early[0] + rest.get(0, []) == alone_first
  assert c2.wait()[0] == alone_second


def test_greedy_rows_equal_the_generator(engine, loaded):  # noqa: F811
  tok = loaded.tokenizer
  ps = prompts(tok)
  expected = loaded.generator().generate(ps, SamplingParams(max_new_tokens=10))
  c = Collector(len(ps))
  engine.submit([RowSpec(p, 10, index=i) for i, p in enumerate(ps)], c)
  got = c.wait()
  assert [got[i] for i in range(len(ps))] == expected


def test_n_choices_draw_different_streams_and_a_cancelled_row_frees_its_slot(engine, loaded):  # noqa: F811
  p = prompts(loaded.tokenizer)[0]
  c = Collector(8)
  engine.submit([RowSpec(p, 16, temperature=1.5, seed=7, index=i) for i in range(8)], c)
  got = c.wait()
  assert len({tuple(v) for v in got.values()}) > 1  # same prompt and seed, different choice streams
  # Fill every slot with long rows, cancel them; a new row still gets served.
  hog = Collector(8)
  handle = engine.submit([RowSpec(p, 200, index=i) for i in range(8)], hog)
  hog.wait(until_deltas=1)
  handle.cancel()
  assert run_alone(engine, RowSpec(p, 5)) == run_alone(engine, RowSpec(p, 5))
  assert engine.load()["live"] == 0


def test_score_equals_a_forward_pass(engine, loaded):  # noqa: F811
  import jax
  p = prompts(loaded.tokenizer)[1]
  c = Collector(0)
  engine.score([p], c)
  scored = c.events.get(timeout=120)
  with loaded.generator()._context():
    logits = loaded.model.apply({"params": loaded.params}, np.asarray([p] * 8, np.int32))  # one row per device
  logp = np.asarray(jax.nn.log_softmax(logits, axis=-1))[0]
  expected = logp[np.arange(len(p) - 1), p[1:]]
  np.testing.assert_allclose(scored.token_logprobs[0], expected, rtol=1e-5, atol=1e-5)
  assert (scored.top[0][1][:, 0] >= scored.token_logprobs[0] - 1e-6).all()


def test_a_step_over_the_live_length_bucket_equals_one_over_the_whole_cache(loaded):  # noqa: F811
  shards = loaded.mesh.shape["data"] * loaded.mesh.shape["fsdp"]
  make = lambda: Kernels(loaded.model, loaded.params, slots=8, max_len=512, mesh=loaded.mesh,  # noqa: E731
                         rules=loaded.rules, batch_multiple=shards)
  bucketed, whole = make(), make()
  ps = prompts(loaded.tokenizer)
  tokens = np.zeros((8, 64), np.int32)
  lengths, slots, adapters = np.ones(8, np.int32), np.arange(8, dtype=np.int32), np.zeros(8, np.int32)
  for i, p in enumerate(ps):
    tokens[i, :len(p)], lengths[i] = p, len(p)
  live = (np.arange(8) < len(ps)).astype(np.int32)
  slots[~live.astype(bool)] = 8  # rows without a prompt: dropped
  firsts = [k.prefill(tokens, lengths, slots, adapters, RowSampling.empty(8)) for k in (bucketed, whole)]
  np.testing.assert_array_equal(firsts[0][0], firsts[1][0])
  nxt, positions = firsts[0][0].astype(np.int32), lengths.copy()
  for _ in range(6):
    assert bucketed.reach(positions, live) == 64  # the property is exercised: 64 of 512 positions
    a = bucketed.step(nxt, positions, live, adapters, RowSampling.empty(8))
    b = whole.step(nxt, positions, live, adapters, RowSampling.empty(8), kv_len=512)
    np.testing.assert_array_equal(a[0] * live, b[0] * live)
    np.testing.assert_allclose(a[1] * live, b[1] * live, atol=1e-5)
    nxt, positions = a[0].astype(np.int32), positions + 1
  assert bucketed.reach(np.array([63, 0]), np.array([1, 1])) == 64
  assert bucketed.reach(np.array([64, 0]), np.array([1, 1])) == 128
  assert bucketed.reach(np.array([600, 0]), np.array([0, 1])) == 64  # a dead row does not count
  assert bucketed.reach(np.array([511]), np.array([1])) == 512


def test_warm_up_compiles_every_shape_a_burst_uses(loaded):  # noqa: F811
  """After warm-up, requests of any count and prompt length (up to the slots and max_len) trace,
  lower and compile nothing more: the first burst runs at full speed."""
  import jax
  compiles = []
  jax.monitoring.register_event_duration_secs_listener(
      lambda name, _, **kw: compiles.append(name) if name == "/jax/core/compile/backend_compile_duration" else None)
  shards = loaded.mesh.shape["data"] * loaded.mesh.shape["fsdp"]
  kernels = Kernels(loaded.model, loaded.params, slots=16, max_len=256, mesh=loaded.mesh, rules=loaded.rules,
                    batch_multiple=shards)
  e = Engine(kernels, loaded.tokenizer, warm_up=True)
  assert not e.ready.is_set()
  e.start()
  assert e.ready.wait(300)
  assert kernels.warm_up() == len(kernels.prefill_rows()) * len(kernels.length_buckets()) + len(kernels.length_buckets())
  try:
    rng = np.random.default_rng(0)
    before = len(compiles)
    for count in (1, 3, 9, 16):  # one burst after another, prompts of 1 to 200 tokens
      specs = [RowSpec(prompt=[int(t) for t in rng.integers(5, 200, int(rng.integers(1, 200)))], max_tokens=int(m),
                       index=i) for i, m in enumerate(rng.integers(1, 50, count))]
      c = Collector(count)
      e.submit(specs, c)
      c.wait()
    assert compiles[before:] == []
  finally:
    e.stop()

"""The grain pipeline: mixture weights are fractions of the example stream; batches are
deterministic for a seed, restorable from the iterator state, and disjoint across hosts."""

import numpy as np
import pytest

from itx.data import pipeline


def source(tag, n, length=5):
  return [{"inputs": np.full(length, tag * 1000 + i, np.int32), "targets": np.zeros(length, np.int32),
           "weights": np.ones(length, np.float32)} for i in range(n)]


def first_tokens(batch):
  """The first token of each example (segment) in a batch: identifies source and example."""
  out = []
  for row, seg in zip(batch["inputs"], batch["segment_ids"]):
    for s in np.unique(seg[seg > 0]):
      out.append(int(row[seg == s][0]))
  return out


@pytest.mark.parametrize("weights", [(1.0, 1.0), (3.0, 1.0), (0.2, 0.8)])
def test_mixture_weight_is_the_fraction_of_the_example_stream(weights):
  # Source sizes differ 10x: the weights, not the sizes, decide the mix.
  ds = pipeline.mixture([source(1, 50), source(2, 500)], list(weights), shuffle=True, seed=0)
  tags = np.array([ds[i]["inputs"][0] // 1000 for i in range(4000)])
  np.testing.assert_allclose((tags == 1).mean(), weights[0] / sum(weights), atol=0.01)


def test_every_example_is_seen_once_per_epoch():
  ds = pipeline.mixture([source(1, 40)], [1.0], shuffle=True, seed=5)
  first, second = [int(ds[i]["inputs"][0]) for i in range(40)], [int(ds[i]["inputs"][0]) for i in range(40, 80)]
  assert sorted(first) == sorted(second) == list(range(1000, 1040))
  assert first != second  # reshuffled each epoch


def take(it, n):
  return [first_tokens(next(it)) for _ in range(n)]


@pytest.mark.parametrize("packing", [True, False])
def test_batches_are_deterministic_and_restorable(packing):
  make = lambda seed: pipeline.batches([source(1, 30, 7), source(2, 30, 3)], [1.0, 1.0], rows=4, seq_len=16,
                                       packing=packing, seed=seed)
  a, b = make(0), make(0)
  assert take(a, 6) == take(b, 6)
  assert take(make(0), 6) != take(make(1), 6)
  state = a.get_state()
  expected = take(a, 4)
  c = make(0)
  c.set_state(state)
  assert take(c, 4) == expected


def test_hosts_read_disjoint_slices():
  hosts = [pipeline.batches([source(1, 64)], [1.0], rows=2, seq_len=5, packing=False, shuffle=True, seed=0,
                            process_index=i, process_count=2) for i in range(2)]
  seen = [sum(take(h, 16), []) for h in hosts]
  assert not set(seen[0]) & set(seen[1])
  assert sorted(seen[0] + seen[1]) == list(range(1000, 1064))


@pytest.mark.parametrize("process_count", [2, 3])
@pytest.mark.parametrize("weights", [(1.0, 1.0), (1.0, 3.0)])
def test_every_host_sees_the_mixture_and_hosts_split_each_source(process_count, weights):
  sizes = (300, 1000)
  sources = [source(1, sizes[0]), source(2, sizes[1])]
  streams = []
  for host in range(process_count):
    it = pipeline.batches(sources, list(weights), rows=10, seq_len=5, packing=False, seed=0,
                          process_index=host, process_count=process_count)
    streams.append(np.array(sum(take(it, 300), [])))
  for stream in streams:  # each host's own stream has the mixture's proportions
    np.testing.assert_allclose((stream // 1000 == 1).mean(), weights[0] / sum(weights), atol=0.02)
  for tag, n in zip((1, 2), sizes):
    # Within one epoch of the source (each host's first n / process_count of it), the hosts' examples
    # are disjoint and together are the whole source.
    firsts = [s[s // 1000 == tag][:len(range(h, n, process_count))] for h, s in enumerate(streams)]
    union = np.concatenate(firsts)
    assert len(set(union.tolist())) == len(union) == n
    assert sorted(union.tolist()) == list(range(tag * 1000, tag * 1000 + n))


@pytest.mark.parametrize("seeds", [(0, 1), (7, 8)])
def test_different_seeds_give_unrelated_epoch_orders(seeds):
  # n positions agreeing by chance between two unrelated orders: about 1 (Poisson); the old coupling
  # (epoch e shuffled with seed + e) made seed s + 1's first epoch seed s's second, position by position.
  n = 400
  a, b = (pipeline.mixture([source(1, n)], [1.0], shuffle=True, seed=s) for s in seeds)
  epochs = lambda ds: [np.array([ds[e * n + i]["inputs"][0] for i in range(n)]) for e in range(3)]
  ea, eb = epochs(a), epochs(b)
  for x in ea:
    for y in eb:
      assert np.sum(x == y) <= 10
  # The first half of each seed's first epoch shares about a quarter of the source, as chance would.
  shared = len(set(ea[0][:n // 2].tolist()) & set(eb[0][:n // 2].tolist()))
  assert abs(shared - n / 4) < 6 * np.sqrt(n / 16)

"""`max_examples`: a source trains on a fixed random subset of that size, the same for a seed."""

import numpy as np

from helpers import tiny_config
from itx.datasets.sources import build_sources, tokenizer


def subset(max_examples, seed):
  c = tiny_config()
  c.data.sources.train.max_examples = max_examples
  c.data.seed = seed
  (src,), _ = build_sources(c, tokenizer(c.model.tokenizer), progress=False)
  return src, [tuple(src[i]["inputs"][:12]) for i in range(len(src))]


def test_max_examples_draws_a_fixed_subset():
  full, full_ex = subset(0, 0)
  a, a_ex = subset(100, 0)
  b, b_ex = subset(100, 0)
  _, c_ex = subset(100, 1)
  assert len(full) == 2000 and len(a) == 100 and a.stats["examples"] == 100
  assert a_ex == b_ex and a_ex != c_ex
  assert set(a_ex) <= set(full_ex)
  np.testing.assert_array_equal(a.offsets[-1], sum(len(a[i]["inputs"]) for i in range(100)))

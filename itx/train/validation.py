"""Validation loss during training: held-out sources (`data.eval_sources`) scored every
`train.eval_every` steps (and after the last step), as a hook.

Each source's examples are scored one per row (padded to seq_len), in a fixed order, with the
cross-entropy training uses (itx.train.objectives.row_nll_sums); the batches come from their own
arrays, never from the training iterator, and nothing random is drawn, so training is bitwise the
same with and without validation, and a resumed run evaluates exactly as an uninterrupted one.

Logged (token-weighted means of the per-token loss on target tokens):
  val/loss                          every eval source together
  val/<source>/loss                 one source
  val/<tag>=<value>/loss            examples whose record's meta field <tag> is <value>, all sources
  val/<source>/<tag>=<value>/loss   the same within one source
where <tag> runs over `data.eval_tags` (e.g. language, group).
"""

from __future__ import annotations

import collections
import dataclasses

import flax.linen as nn
import jax
import numpy as np
from tqdm.auto import tqdm

from itx.data.pipeline import TAG_FIELD, pad_example
from itx.config import lora_routing
from itx.datasets.sources import tokenized_source
from itx.sharding import replicated
from itx.train.hooks import Hook, HookContext
from itx.train.objectives import row_nll_sums

EVAL_SAMPLE_SEED = 0  # `max_examples` subsets of eval sources: the same for every run and seed


class EvalConfigError(ValueError):
  pass


def check_eval_config(c) -> None:
  """Raises EvalConfigError naming the field for a malformed `data.eval_sources` entry."""
  for name, src in c.data.get("eval_sources", {}).items():
    for field in ("path", "kind"):
      if field not in src:
        raise EvalConfigError(f"config.data.eval_sources.{name}.{field}: missing")
    if src.kind not in ("instruction", "text"):
      raise EvalConfigError(f"config.data.eval_sources.{name}.kind={src.kind!r}: expected 'instruction' or 'text'")
    if "/" in name or "=" in name:
      raise EvalConfigError(f"config.data.eval_sources.{name}: a name may not contain '/' or '='")
  if c.train.get("eval_every", 0) < 0:
    raise EvalConfigError(f"config.train.eval_every={c.train.eval_every}: must be 0 (only at the end) or positive")


@dataclasses.dataclass
class EvalSet:
  """One eval source as padded rows: arrays [n, seq_len] and tags {field: [n] str}."""
  name: str
  rows: dict
  tags: dict

  def __len__(self) -> int:
    return len(self.rows["inputs"])


def eval_sets(c, tok, *, progress: bool = True) -> list[EvalSet]:
  """The tokenized (cached) eval sources of a resolved config, sorted by name."""
  tags = tuple(c.data.get("eval_tags", ()))
  out = []
  for name, src_cfg in sorted(c.data.get("eval_sources", {}).items()):
    src = tokenized_source(name, src_cfg, c.data, tok, progress=progress, tag_fields=tags,
                           sample_seed=EVAL_SAMPLE_SEED, route=lora_routing(c))  # a bank scores each group by its adapter
    padded = [pad_example(src[i], c.data.seq_len) for i in range(len(src))]
    rows = {k: np.stack([p[k] for p in padded]) for k in padded[0]}
    if TAG_FIELD in rows:  # one example a row: its adapter id once per row (the per-row LoRA form)
      rows[TAG_FIELD] = rows[TAG_FIELD][:, 0]
    out.append(EvalSet(name, rows, dict(src.tags)))
  return out


def make_scorer(run, rows: int):
  """A jitted `score(params, batch) -> (nll sum [rows], target tokens [rows], example [rows])`,
  replicated on every host; `example` travels with its row, so any layout of rows over devices and
  hosts maps back to the right example."""
  def score(params, batch):
    sums, counts = row_nll_sums(run.model, params, batch)
    return sums, counts, batch["example"]

  jitted = jax.jit(score, out_shardings=replicated(run.mesh))  # inputs arrive sharded (score_set)

  def call(params, batch):
    with jax.set_mesh(run.mesh), nn.logical_axis_rules(run.rules):
      return jitted(params, batch)

  call.rows = rows
  return call


def _row_sharding(run):
  """The batch sharding of a [rows] array (the first axis of the [rows, seq_len] one)."""
  spec = run.batch_sharding.spec
  return jax.sharding.NamedSharding(run.mesh, jax.sharding.PartitionSpec(spec[0] if len(spec) else None))


def score_set(scorer, run, params, es: EvalSet) -> tuple[np.ndarray, np.ndarray]:
  """Per-example (nll sum [n], target tokens [n]) of an eval set. Every host builds the same global
  batches and feeds its slice of rows."""
  rows, n = scorer.rows, len(es)
  hosts, host = jax.process_count(), jax.process_index()
  local = rows // hosts
  nll, count = np.zeros(n), np.zeros(n)
  for start in range(0, n, rows):
    idx = np.arange(start, start + rows)
    batch = {k: _take(v, idx, n) for k, v in es.rows.items()}
    batch["example"] = np.where(idx < n, idx, -1).astype(np.int32)
    batch = {k: jax.make_array_from_process_local_data(
        run.batch_sharding if v.ndim == 2 else _row_sharding(run), v[host * local:(host + 1) * local])
        for k, v in batch.items()}
    s, w, ex = jax.device_get(scorer(params, batch))
    keep = ex >= 0
    nll[ex[keep]], count[ex[keep]] = s[keep], w[keep]
  return nll, count


def _take(v: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
  """Rows idx of v; rows past the end are all zero (segment id 0: padding, no target)."""
  out = np.zeros((len(idx),) + v.shape[1:], v.dtype)
  ok = idx < n
  out[ok] = v[idx[ok]]
  return out


def losses(sets: list[EvalSet], scored: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
  """The logged means (module docstring) from per-example sums."""
  sums = collections.defaultdict(lambda: [0.0, 0.0])
  for es, (nll, count) in zip(sets, scored):
    keys = [("val", slice(None)), (f"val/{es.name}", slice(None))]
    for field, values in es.tags.items():
      for value in sorted(set(values) - {""}):  # "": records without the field
        sel = values == value
        keys += [(f"val/{field}={value}", sel), (f"val/{es.name}/{field}={value}", sel)]
    for key, sel in keys:
      sums[key][0] += float(nll[sel].sum())
      sums[key][1] += float(count[sel].sum())
  return {f"{k}/loss": s / w for k, (s, w) in sums.items() if w > 0}


def validation_hook(c, tok, run, *, progress: bool = True) -> Hook | None:
  """The hook scoring `c.data.eval_sources` every `c.train.eval_every` steps (0: after the last
  step only); None without eval sources. c: a resolved config; run: its itx.train.assemble.Assembled."""
  check_eval_config(c)
  if not c.data.get("eval_sources"):
    return None
  sets = eval_sets(c, tok, progress=progress)
  scorer = make_scorer(run, c.train.batch_size // c.train.grad_accum)  # the micro-batch fits memory and mesh

  def evaluate(ctx: HookContext) -> dict:
    scored = [score_set(scorer, run, ctx.state.params, es)
              for es in tqdm(sets, desc=f"validation at step {ctx.step}", leave=False,
                             disable=not progress or jax.process_index() != 0)]
    return losses(sets, scored)

  return Hook(evaluate, every=c.train.get("eval_every", 0))

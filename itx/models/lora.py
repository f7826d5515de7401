"""LoRA: low-rank adapters on the network's projections, one adapter or a bank of them.

A projection y = x W whose parameter path matches `LoraSpec.targets` gains
  y += s * ((x A[g]) B[g])        s = alpha / rank   (rsLoRA: alpha / sqrt(rank))
with A [n_adapters, in..., rank] and B [n_adapters, rank, out...] (B starts at zero, so an
adapted model starts as its base). g is the adapter: `adapter_ids` [b, t], one per token (every
token adapter 0 when None; -1 = no adapter, the base alone), or [b], one per row.

Per row (one adapter; a bank in training by default, the pipeline packing each row with one group's
examples, `lora.rows_by_adapter`; decoding, one adapter per answer): each row's A and B are
gathered once and applied by batched matmuls, so a bank costs what one adapter does.
benchmarks/lora_throughput.py (4 layers, d_model 512, 8 x 256 tokens, rank 16, 11 adapters, 2
shared cores): bank / one adapter 1.02 in tokens/s; packing by group fills rows as fully as mixed
packing (95.6% vs 95.5% of a LIMA-like mix at 256 tokens). One adapter is itself 12% faster this
way than by the dense form below (1,525 vs 1,358 tokens/s: XLA:CPU's batched matmuls).

Per token (rows that mix groups: `lora.rows_by_adapter=False`, or a caller's [b, t] ids): all
adapters' down-projections in one matmul over the stacked ranks, a one-hot mask in rank space, one
matmul back. Every token pays for all n adapters' ranks (11 x 16 = 176 here): 0.67-0.78 of one
adapter.
Forms tried to make mixed rows cheaper (micro-benchmark: the seven projections' LoRA forward +
backward, one layer, 2048 tokens), none better:
  this dense form                                   0.77, 0.76; micro 130-145 ms (one adapter 25)
  A as one [in, n*r] matrix, B as [n*r, out]        micro same as dense (XLA already emits GEMMs)
  tokens sorted by id + `jax.lax.ragged_dot`        micro 850 ms: XLA:CPU expands it densely
  tokens sorted into 16-128-token blocks of one     micro 110-157 ms: row gathers and small
    adapter, per-block A and B (gathers, no scatter)  batched matmuls eat the FLOPs saved
  chunks of 128 tokens taking the A, B of the (at   1.06 with the benchmark's rows (no chunk holds
    most) two adapters they hold, batched matmul    more than two adapters), but inexact otherwise
  the same, falling back to this dense form by a    0.67, 0.78, 0.79: the cond (per projection,
    `lax.cond` on the ids (exact), custom VJP         forward and backward) costs what it saves
The form is chosen by the ids' rank, a static shape: no data-dependent branch in the layers.
Parameters carry logical axes ("adapters", "lora_rank" and the projection's own), so they shard
like the kernel they adapt.
"""

from __future__ import annotations

import dataclasses
import math
import re

import flax.linen as nn
import jax
import jax.numpy as jnp

# Paths of the seven projections OpinionGPT's adapters tune: q, k, v, o, gate, up, down.
DEFAULT_TARGETS = r"(q|k|v|o|gate|up|down)_proj/kernel$"
PARAM_NAMES = ("lora_a", "lora_b")
PARAM_PATTERN = r"/lora_[ab]$"  # the train.trainable regex of a LoRA run
DEFAULT_ADAPTER = "default"      # the name of a run's only adapter (PEFT's default name)


@dataclasses.dataclass(frozen=True)
class LoraSpec:
  """What a LoRA run adds to the network. Hashable: part of the (static) model config."""

  rank: int
  alpha: float
  targets: str = DEFAULT_TARGETS
  dropout: float = 0.0
  rslora: bool = False
  adapters: tuple[str, ...] = (DEFAULT_ADAPTER,)

  def __post_init__(self):
    if self.rank < 1:
      raise ValueError(f"lora.rank={self.rank}: must be at least 1 (0 turns LoRA off)")
    if not 0.0 <= self.dropout < 1.0:
      raise ValueError(f"lora.dropout={self.dropout}: must be in [0, 1)")
    if len(set(self.adapters)) != len(self.adapters) or not self.adapters:
      raise ValueError(f"lora.adapters={self.adapters}: need distinct names")
    try:
      re.compile(self.targets)
    except re.error as e:
      raise ValueError(f"lora.targets={self.targets!r}: not a regular expression ({e})") from None

  @property
  def scale(self) -> float:
    return self.alpha / (math.sqrt(self.rank) if self.rslora else self.rank)

  @property
  def n_adapters(self) -> int:
    return len(self.adapters)

  def applies_to(self, module_path: tuple[str, ...]) -> bool:
    """Whether the projection at `module_path` (its kernel is module_path + ("kernel",)) is adapted."""
    return re.search(self.targets, "/".join(module_path + ("kernel",))) is not None

  def adapter_index(self, name: str) -> int:
    if name not in self.adapters:
      raise KeyError(f"no adapter {name!r}; this run has {list(self.adapters)}")
    return self.adapters.index(name)


def spec_from_config(lora_cfg) -> LoraSpec | None:
  """The LoraSpec of a `config.lora` section (None when rank is 0 or the section is absent)."""
  if lora_cfg is None or not lora_cfg.get("rank", 0):
    return None
  adapters = tuple(lora_cfg.get("adapters", ())) or (DEFAULT_ADAPTER,)
  return LoraSpec(rank=int(lora_cfg.rank), alpha=float(lora_cfg.alpha), targets=lora_cfg.targets,
                  dropout=float(lora_cfg.dropout), rslora=bool(lora_cfg.rslora), adapters=adapters)


def _a_init(fan_in: int):
  # PEFT's default for A (kaiming-uniform with a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  def init(key, shape, dtype):
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def lora_delta(module: nn.Module, spec: LoraSpec, x, adapter_ids, in_axes: tuple[str, ...],
               out_shape: tuple[int, ...], out_axes: tuple[str, ...], param_dtype, dtype):
  """s * (x A[g]) B[g] for a projection: called inside the projection's compact __call__, so
  `lora_a` and `lora_b` are parameters of that projection.

  x: [b, t, in...]; adapter_ids: [b, t] int (each token's adapter), [b] int (each row's: the
  per-row form) or None. Returns [b, t, out...] in `dtype`.
  """
  n_in = len(in_axes)
  in_shape = tuple(x.shape[x.ndim - n_in:])
  n, r = spec.n_adapters, spec.rank
  a = module.param("lora_a", nn.with_logical_partitioning(_a_init(math.prod(in_shape)),
                                                          ("adapters",) + in_axes + ("lora_rank",)),
                   (n,) + in_shape + (r,), param_dtype)
  b = module.param("lora_b", nn.with_logical_partitioning(nn.initializers.zeros,
                                                          ("adapters", "lora_rank") + out_axes),
                   (n, r) + tuple(out_shape), param_dtype)
  x = x.astype(dtype)
  if spec.dropout > 0 and module.has_rng("dropout"):
    keep = jax.random.bernoulli(module.make_rng("dropout"), 1.0 - spec.dropout, x.shape)
    x = jnp.where(keep, x / (1.0 - spec.dropout), 0).astype(dtype)
  x_axes = tuple(range(x.ndim - n_in, x.ndim))
  if adapter_ids is None:  # every row adapter 0
    adapter_ids = jnp.zeros(x.shape[:1], jnp.int32)
  if adapter_ids.ndim == 1:
    return _row_delta(x, a, b, adapter_ids, x_axes, n_in, spec.scale, dtype)
  # [b, t, n, r]: every adapter's down-projection in one matmul.
  h = jax.lax.dot_general(x, a.astype(dtype), ((x_axes, tuple(range(1, n_in + 1))), ((), ())))
  h = h * jax.nn.one_hot(adapter_ids, n, dtype=dtype)[..., None]  # id -1 (or out of range): no adapter
  y = jax.lax.dot_general(h, b.astype(dtype), (((2, 3), (0, 1)), ((), ())))
  return y * jnp.asarray(spec.scale, dtype)


def _row_delta(x, a, b, row_ids, x_axes, n_in, scale, dtype):
  """The per-row form: row i's A and B gathered once ([b, in..., r], [b, r, out...]) and applied
  by batched matmuls, so a bank costs what one adapter does."""
  n = a.shape[0]
  valid = (row_ids >= 0) & (row_ids < n)  # -1 (or out of range): no adapter, as in the dense form
  ids = jnp.where(valid, row_ids, 0)
  a_rows = jnp.take(a, ids, axis=0).astype(dtype)
  b_rows = jnp.take(b, ids, axis=0).astype(dtype)
  h = jax.lax.dot_general(x, a_rows, ((x_axes, tuple(range(1, n_in + 1))), ((0,), (0,))))  # [b, t, r]
  h = h * valid[:, None, None].astype(dtype)
  y = jax.lax.dot_general(h, b_rows, (((2,), (1,)), ((0,), (0,))))
  return y * jnp.asarray(scale, dtype)


def adapter_paths(params) -> list[str]:
  """The paths ("layers/attn/q_proj") of the adapted projections in a parameter tree."""
  out = []
  for path, _ in jax.tree_util.tree_leaves_with_path(params):
    names = [str(getattr(k, "key", k)) for k in path]
    if names[-1] == "lora_a":
      out.append("/".join(names[:-1]))
  return out


def check_targets(spec: LoraSpec, params) -> None:
  """Raises ValueError listing the parameter names when `lora.targets` adapts nothing."""
  if adapter_paths(params):
    return
  names = ["/".join(str(getattr(k, "key", k)) for k in p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
  raise ValueError(f"config.lora.targets={spec.targets!r} matches no projection kernel; the parameters are: "
                   + ", ".join(names))


def is_adapter_param(path) -> bool:
  last = path[-1]
  return str(getattr(last, "key", last)) in PARAM_NAMES


def split(params) -> tuple[dict, dict]:
  """(adapter parameters, base parameters) of a LoRA model's tree: nested dicts, each holding only
  its own leaves (empty subtrees dropped)."""
  def keep(tree, want_adapter, prefix=()):
    out = {}
    for k, v in tree.items():
      if isinstance(v, dict):
        sub = keep(v, want_adapter, prefix + (k,))
        if sub:
          out[k] = sub
      elif (k in PARAM_NAMES) == want_adapter:
        out[k] = v
    return out
  params = _as_dict(params)
  return keep(params, True), keep(params, False)


def join(adapters: dict, base: dict) -> dict:
  """The full parameter tree: `base` with the adapter leaves added (inverse of `split`)."""
  out = dict(_as_dict(base))
  for k, v in _as_dict(adapters).items():
    out[k] = join(v, out.get(k, {})) if isinstance(v, dict) else v
  return out


def _as_dict(tree):
  return {k: _as_dict(v) if hasattr(v, "items") else v for k, v in tree.items()}


def merged_kernels(params, spec: LoraSpec, adapter: int) -> dict:
  """The base parameters with W + s * A[adapter] B[adapter] in every adapted kernel (adapter
  parameters dropped): a plain model that computes what the adapted one does for that adapter."""
  adapters, base = split(params)

  def walk(a_tree, b_tree):
    out = {}
    for k, v in b_tree.items():
      sub = a_tree.get(k, {})
      if isinstance(v, dict):
        if "kernel" in v and "lora_a" in sub:
          out[k] = dict(v, kernel=_merge_kernel(v["kernel"], sub["lora_a"], sub["lora_b"], spec.scale, adapter))
        else:
          out[k] = walk(sub, v)
      else:
        out[k] = v
    return out
  return walk(adapters, base)


def _merge_kernel(kernel, a, b, scale, adapter):
  """kernel [lead..., in..., out...]; a [lead..., n, in..., r]; b [lead..., n, r, out...] (lead: the
  layers axis of scanned parameters, or nothing)."""
  lead = a.ndim + b.ndim - 4 - kernel.ndim
  a = jnp.take(jnp.asarray(a, jnp.float32), adapter, axis=lead)
  b = jnp.take(jnp.asarray(b, jnp.float32), adapter, axis=lead)
  in_shape, out_shape = a.shape[lead:-1], b.shape[lead + 1:]
  a2 = a.reshape(a.shape[:lead] + (-1, a.shape[-1]))
  b2 = b.reshape(b.shape[:lead + 1] + (-1,))
  delta = jnp.matmul(a2, b2, precision=jax.lax.Precision.HIGHEST) * scale
  delta = delta.reshape(kernel.shape[:lead] + in_shape + out_shape)
  return (jnp.asarray(kernel, jnp.float32) + delta).astype(kernel.dtype)

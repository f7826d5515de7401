"""The training loop: config -> data -> sharded steps -> hooks, checkpoints and metrics. Resumes
from the latest checkpoint in the workdir."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.experimental import multihost_utils
from tqdm.auto import tqdm

from itx import config as config_lib
from itx import sharding
from itx.data import pipeline
from itx.datasets.sources import build_sources, config_tokenizer
from itx.hf import config_map as hf_config_map
from itx.hf import weights as hf_weights
from itx.train.assemble import Assembled, assemble
from itx.models import lora
from itx.train import frozen_base, run_config
from itx.train import state as state_lib
from itx.train.checkpoint import Checkpointer, restore_base, restore_config, restore_params
from itx.train.compilation import enable_persistent_cache
from itx.train.hooks import Hook, HookContext, StopTraining, run_hooks
from itx.train.metrics import MetricsWriter, peak_flops_per_device, read_metrics
from itx.train.objectives import Objective
from itx.train.validation import validation_hook

log = logging.getLogger(__name__)

HF_BASE_CONFIG = "hf_base_config.json"  # the config.json of an hf: initialisation, for export


class Preemption:
  """SIGTERM (how TPU and cluster schedulers preempt a job) as a request to stop after a step that
  every host agrees on, so that all hosts save the same checkpoint and leave the loop together
  (a host stopping alone would leave the others waiting in their next collective forever).

  One host: a Python handler sets a flag (main thread only; restored by `close`). Several hosts:
  JAX's preemption sync manager, started by jax.distributed, catches SIGTERM on any host and
  agrees on a step (the furthest any host has reached, plus one); `reached(step)` must then be
  called at every step on every host.
  """

  def __init__(self):
    self.requested = False
    self._previous = None
    self.multihost = jax.process_count() > 1
    if not self.multihost and threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    self.requested = True

  def reached(self, step: int) -> bool:
    if self.multihost:
      return multihost_utils.reached_preemption_sync_point(step)
    return self.requested

  def hook(self, ctx: HookContext) -> None:
    """Every step on every host, as the sync protocol needs: a stop already asked for keeps its reason."""
    if self.reached(ctx.step) and not ctx.stop:
      ctx.stop = f"stopped by signal after step {ctx.step}; checkpoint saved, rerun to resume"

  def close(self):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


class Diverged(RuntimeError):
  """A non-finite loss, gradient norm or parameter: the run stops without saving that state."""


def _check_finite(step: int, metrics: dict, params=None) -> None:
  """Raises Diverged naming `step` when its loss or gradient norm (or, when given, any of the
  parameters the step produced) is not finite."""
  values = jax.device_get({k: metrics[k] for k in ("loss", "grad_norm") if k in metrics})
  bad = {k: float(v) for k, v in values.items() if not np.isfinite(v)}
  if params is not None and not bool(_all_finite(params)):
    bad["parameters"] = "non-finite"
  if bad:
    raise Diverged(f"training diverged at step {step}: " + ", ".join(f"{k} {v}" for k, v in bad.items())
                   + "; stopped without saving this state (try a lower train.learning_rate or "
                   "train.clip_norm > 0)")


@jax.jit
def _all_finite(tree):
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _lora_base(c, run: Assembled, workdir: str):
  """(fresh state: new adapters on the frozen base of `model.init_from`, the base's reference)."""
  if c.model.init_from:  # only the adapters are initialised: a random copy of the base is never made
    adapters = state_lib.init_part(run.model, run.mesh, run.rules, lora.split(run.shardings.params)[0],
                                   c.model.init_seed, lambda p: lora.split(p)[0])
    base = frozen_base.load_base(c.model.init_from, run.model_cfg, run.abstract.params, run.shardings.params)
    log.info("LoRA on the frozen base %s", c.model.init_from)
  else:
    adapters, base = lora.split(run.init_state(c.model.init_seed).params)
  _copy_hf_config(c.model.init_from, workdir)
  return run.state_from_params(lora.join(adapters, base)), base


def _copy_hf_config(init: str, workdir: str) -> None:
  hf_dir = config_lib.hf_dir_of(init)
  if hf_dir and jax.process_index() == 0:  # export writes the same model_type and special ids back
    shutil.copy(os.path.join(hf_dir, "config.json"), os.path.join(workdir, HF_BASE_CONFIG))


def _initial_state(c, run: Assembled, workdir: str):
  """Random parameters, or those of `model.init_from`, placed straight into their shardings."""
  init = c.model.init_from
  if not init:
    return run.init_state(c.model.init_seed)
  hf_dir = config_lib.hf_dir_of(init)
  if hf_dir:
    params = hf_weights.load_hf_params(hf_dir, run.model_cfg, run.abstract.params, run.shardings.params)
    _copy_hf_config(init, workdir)
  else:
    params = restore_params(init.removeprefix("itx:"), abstract_params=run.abstract.params,
                            shardings=run.shardings.params)
  log.info("initialised from %s", init)
  return run.state_from_params(params)


def _summary(c, run: Assembled, sources) -> str:
  m = run.model_cfg
  trainable = sum(int(np.prod(a.shape)) for a, t in zip(jax.tree.leaves(run.abstract.params),
                                                        jax.tree.leaves(run.mask)) if t)
  lines = [
      f"model: {m.family}, {m.num_params():,} parameters ({trainable:,} trainable; {m.n_layers} layers, "
      f"d_model {m.d_model}, vocab {m.vocab_size}), compute {m.dtype}, params {m.param_dtype}",
      f"devices: {jax.device_count()} x {jax.devices()[0].device_kind} on {jax.process_count()} host(s); "
      f"mesh {dict(run.mesh.shape)}",
      f"batch: {c.train.batch_size} rows x {c.data.seq_len} tokens, {c.train.grad_accum} micro-batch(es), "
      f"{'packed' if c.data.packing else 'padded'}; {c.train.steps} steps",
  ]
  for s in sources:
    st = s.stats
    lines.append(f"data {s.name}: {st['examples']:,} examples, {st['tokens']:,} tokens "
                 f"({st['target_tokens']:,} targets), skipped {st['skipped_records']} records "
                 f"and {st['skipped_examples']} examples; {st.get('split_documents', 0)} long documents split "
                 f"into {st.get('document_windows', 0)} windows, {st.get('truncated_examples', 0)} chats truncated")
  return "\n".join(lines)


def _check_row_layout(c, workdir: str) -> None:
  """A bank's rows hold one group each or mix groups (`lora.rows_by_adapter`): the data stream's
  saved state belongs to one layout, so a run resumes only in the layout it was trained in."""
  saved = config_lib.rows_by_adapter(ml_collections.ConfigDict(restore_config(workdir)))
  if config_lib.lora_routing(c) is not None and saved != config_lib.rows_by_adapter(c):
    raise config_lib.ConfigError(
        f"{workdir} was trained with lora.rows_by_adapter={saved} (its data stream's state is of that layout): "
        f"resume it with --config.lora.rows_by_adapter={saved}")


def resolve(config: ml_collections.ConfigDict):
  """(resolved config: architecture of an hf: init, vocabulary of the tokenizer; tokenizer)."""
  tok = config_tokenizer(config)
  hf_dir = config_lib.hf_init_dir(config)
  hf_fields = hf_config_map.model_fields(hf_config_map.read_config(hf_dir),
                                         where=f"{hf_dir}/config.json") if hf_dir else None
  return config_lib.resolved(config, vocab_size=len(tok), hf_fields=hf_fields), tok


def prepare(config: ml_collections.ConfigDict, *, progress: bool = True):
  """(resolved config, tokenizer, tokenized sources, mixture weights) of a config."""
  c, tok = resolve(config)
  sources, weights = build_sources(c, tok, progress=progress and jax.process_index() == 0)
  return c, tok, sources, weights


def _record_start(c, workdir: str, start: int | None) -> None:
  """Writes the run's config (itx.train.run_config): as started, or as resumed at `start` with what
  changed. A resume that would not fit the saved state is refused here, before anything is
  restored or written."""
  host0 = jax.process_index() == 0
  if start is None:
    if host0:
      run_config.write_started(workdir, c)
    return
  _check_row_layout(c, workdir)
  changes = run_config.check_resume(restore_config(workdir, start), c, workdir)
  if host0:
    run_config.record_resume(workdir, start, c, changes)


def _base_reference(c, workdir: str, start: int | None, base) -> dict:
  """What a LoRA run's checkpoints record of its frozen base; a resumed run's own record, once the
  base read now is checked against it."""
  if start is None:
    return frozen_base.reference(c.model.init_from, base)
  saved = restore_base(workdir, start)
  frozen_base.check(saved, base, c.model.init_from)
  return saved


def _setup_state(c, run: Assembled, workdir: str, ckpt: Checkpointer, data_iter):
  """(train state, its step): the latest checkpoint's (the data iterator restored in place), else a
  fresh one (random, or the parameters of `model.init_from`). A LoRA run reads its frozen base from
  `model.init_from` either way: its checkpoints hold only the adapters."""
  start = ckpt.latest_step()
  _record_start(c, workdir, start)
  base = state = None
  if run.model_cfg.lora is not None:
    state, base = _lora_base(c, run, workdir)
    ckpt.base = _base_reference(c, workdir, start, base)
  elif start is None:
    state = _initial_state(c, run, workdir)
  if start is None:
    return state, 0
  restored = ckpt.restore(start, run.abstract, run.shardings, data_iter)
  log.info("resumed from %s at step %d", ckpt.directory, start)
  return (restored if base is None else restored.replace(params=lora.join(restored.params, base))), start


def _data_stream(c, sources, weights):
  """The iterator of global batches. Every host draws the same global batch and feeds its own rows
  of it (`_host_batch`): the batches, and so the losses, are those of one host with all the
  devices, whatever the number of hosts (packing a host's share of the examples on its own would
  give other rows)."""
  return pipeline.batches(
      sources, weights, rows=c.train.batch_size, seq_len=c.data.seq_len, packing=c.data.packing,
      num_packing_bins=c.data.num_packing_bins, shuffle=c.data.shuffle, seed=c.data.seed,
      rows_by_tag=config_lib.rows_by_adapter(c))


def _host_batch(run: Assembled, global_batch: dict) -> dict:
  """This host's rows of a global batch, as arrays sharded over the whole mesh."""
  hosts, host = jax.process_count(), jax.process_index()
  rows = len(global_batch["segment_ids"]) // hosts
  return {k: jax.make_array_from_process_local_data(run.batch_shardings[k], v[host * rows:(host + 1) * rows])
          for k, v in global_batch.items()}


class _FiniteGuard:
  """Stops a diverging run before it saves: each step's loss is checked once the next step is under
  way, and a step about to be saved is checked in full, its parameters too."""

  def __init__(self):
    self.unchecked = None  # (step, metrics) of the latest step whose loss is not yet known to be finite

  def __call__(self, ctx: HookContext) -> None:
    if self.unchecked:  # the previous step has finished (or nearly): checking it costs no overlap
      _check_finite(*self.unchecked)
    self.unchecked = (ctx.step, ctx.step_metrics)

  def before_save(self, ctx: HookContext) -> None:
    _check_finite(ctx.step, ctx.step_metrics, ctx.state.params)
    self.unchecked = None


class _Throughput:
  """`count` every step; `fetch` on logging steps: the step's metrics on the host (a non-finite loss
  stops the run), with tokens per second and MFU since the previous logging step."""

  def __init__(self, c, run: Assembled):
    self.flops_per_token = run.model_cfg.flops_per_token(c.data.seq_len)
    self.peak = peak_flops_per_device(c.log) * jax.device_count()
    self.tokens, self.since = 0.0, None

  def count(self, ctx: HookContext) -> None:
    self.tokens += float(np.count_nonzero(ctx.batch["segment_ids"]))
    if self.since is None:  # the first step compiles: time from its end
      jax.block_until_ready(ctx.step_metrics)
      self.since, self.tokens = time.perf_counter(), 0.0

  def fetch(self, ctx: HookContext) -> None:
    ctx.metrics = jax.device_get(ctx.step_metrics)
    _check_finite(ctx.step, ctx.metrics)
    elapsed = time.perf_counter() - self.since
    if self.tokens and elapsed > 0:
      ctx.metrics["tokens_per_s"] = self.tokens / elapsed
      if self.peak:
        ctx.metrics["mfu"] = ctx.metrics["tokens_per_s"] * self.flops_per_token / self.peak
    self.tokens, self.since = 0.0, time.perf_counter()


def _caller_hooks(hooks) -> Hook:
  """The caller's hooks (validation among them) as one: what they return is logged with the step's
  metrics; a StopTraining from one skips the rest and stops the run after this step's checkpoint."""
  def call(ctx: HookContext) -> None:
    try:
      ctx.metrics.update(run_hooks(hooks, ctx, ctx.last))
    except StopTraining as e:
      ctx.stop = f"stopped by a hook after step {ctx.step}: {e}"
  return Hook(call, every=1)


class _MetricsLog:
  """A step's logged metrics to metrics.jsonl, TensorBoard and W&B (the latest kept, to return),
  and the progress bar."""

  def __init__(self, c, workdir: str, start: int, progress: bool):
    self.writer = MetricsWriter(workdir, tensorboard=c.log.tensorboard, resume_step=start,
                                wandb_project=c.log.get("wandb", ""), config=c.to_dict())
    self.bar = tqdm(total=c.train.steps, initial=start, desc="train",
                    disable=not progress or jax.process_index() != 0)
    self.last: dict = {}

  def write(self, ctx: HookContext) -> None:
    if ctx.metrics:  # logging steps, and steps a caller's hook returned metrics at
      self.writer.write(ctx.step, ctx.metrics)
      self.last = {"step": ctx.step, **{k: float(v) for k, v in ctx.metrics.items()}}
      if "loss" in ctx.metrics:
        self.bar.set_postfix(loss=f"{self.last['loss']:.3f}")

  def advance(self, ctx: HookContext) -> None:
    self.bar.update(1)


def _checkpointing(ckpt: Checkpointer, data_iter, guard: _FiniteGuard) -> Hook:
  """Saves when due, and always after the step a run ends or stops at; only a state known to be finite."""
  def save(ctx: HookContext) -> None:
    force = ctx.step == ctx.last or bool(ctx.stop)
    if force or ckpt.should_save(ctx.step):
      guard.before_save(ctx)
      ckpt.save(ctx.step, ctx.state, data_iter, ctx.config, force=force)
  return Hook(save, every=1)


def _step_hooks(c, run: Assembled, ckpt: Checkpointer, data_iter, metrics_log: _MetricsLog,
                preemption: Preemption, hooks) -> tuple[Hook, ...]:
  """The work after each step, in order: the caller's hooks see the step's host metrics, and the
  metrics they return are written before the checkpoint, which knows whether the run stops."""
  guard, meter = _FiniteGuard(), _Throughput(c, run)
  return (Hook(guard, every=1), Hook(meter.count, every=1), Hook(meter.fetch, every=c.log.every_steps),
          _caller_hooks(hooks), Hook(preemption.hook, every=1), Hook(metrics_log.write, every=1),
          _checkpointing(ckpt, data_iter, guard), Hook(metrics_log.advance, every=1))


def _last_logged(workdir: str, start: int) -> dict:
  """A finished run rerun (nothing left to train) reports its last logged metrics."""
  rows = read_metrics(workdir)
  return rows[-1] if rows else {"step": start}


def train(config: ml_collections.ConfigDict, workdir: str, *, progress: bool | None = None,
          stop_after: int | None = None, hooks: tuple[Hook, ...] = (), objective: Objective | None = None) -> dict:
  """Trains (or resumes) to `config.train.steps`; returns the last logged metrics.

  stop_after: end early with a checkpoint, as a preempted job would.
  hooks: work between steps (itx.train.hooks); objective: overrides `config.train.objective`.
  """
  sharding.maybe_initialize_distributed(config.mesh)
  enable_persistent_cache()
  config_lib.validate(config, process_count=jax.process_count())
  progress = config.log.progress_bar if progress is None else progress
  os.makedirs(workdir, exist_ok=True)

  c, tok, sources, weights = prepare(config, progress=progress)
  mesh = sharding.make_mesh(c.mesh)
  config_lib.check_batch_fits_mesh(c, mesh)
  run = assemble(c, mesh, objective=objective)
  validation = validation_hook(c, tok, run, progress=progress)
  data_iter = _data_stream(c, sources, weights)
  ckpt = Checkpointer(workdir, c.checkpoint)
  state, start = _setup_state(c, run, workdir, ckpt, data_iter)
  log.info("itx run in %s\n%s", workdir, _summary(c, run, sources))

  metrics_log, preemption = _MetricsLog(c, workdir, start, progress), Preemption()
  step_hooks = _step_hooks(c, run, ckpt, data_iter, metrics_log, preemption,
                           (*hooks, validation) if validation else tuple(hooks))
  end = c.train.steps if stop_after is None else min(c.train.steps, stop_after)
  try:
    for step in range(start + 1, end + 1):
      batch = next(data_iter)
      state, metrics = run.step(state, _host_batch(run, batch))
      ctx = HookContext(step, state, {}, c, workdir, run, batch=batch, step_metrics=metrics, last=end)
      run_hooks(step_hooks, ctx, end)
      if ctx.stop:
        log.warning(ctx.stop)
        break
  finally:
    preemption.close()
    metrics_log.bar.close()
    ckpt.close()
    metrics_log.writer.close()
  return metrics_log.last or _last_logged(workdir, start)

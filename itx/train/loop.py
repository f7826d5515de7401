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
  hooks = (*hooks, validation) if validation else tuple(hooks)

  # Every host draws the same global batch and feeds its own rows of it: the batches, and so the
  # losses, are those of one host with all the devices, whatever the number of hosts (packing a
  # host's share of the examples on its own would give other rows).
  hosts, host = jax.process_count(), jax.process_index()
  local_rows = c.train.batch_size // hosts
  data_iter = pipeline.batches(
      sources, weights, rows=c.train.batch_size, seq_len=c.data.seq_len, packing=c.data.packing,
      num_packing_bins=c.data.num_packing_bins, shuffle=c.data.shuffle, seed=c.data.seed,
      rows_by_tag=config_lib.rows_by_adapter(c))

  is_lora = run.model_cfg.lora is not None
  start = Checkpointer(workdir, c.checkpoint).latest_step()
  if start is not None:  # refused before anything is restored or written when the state would not fit
    _check_row_layout(c, workdir)
    changes = run_config.check_resume(restore_config(workdir, start), c, workdir)
    if host == 0:
      run_config.record_resume(workdir, start, c, changes)
  elif host == 0:
    run_config.write_started(workdir, c)
  base_ref = None
  if is_lora:  # the base is read from init_from, fresh or resumed; only the adapters are saved
    state, base = _lora_base(c, run, workdir)
    if start is not None:
      base_ref = restore_base(workdir, start)
      frozen_base.check(base_ref, base, c.model.init_from)
    else:
      base_ref = frozen_base.reference(c.model.init_from, base)
  ckpt = Checkpointer(workdir, c.checkpoint, base=base_ref)
  if start is not None:
    restored = ckpt.restore(start, run.abstract, run.shardings, data_iter)
    state = restored.replace(params=lora.join(restored.params, base)) if is_lora else restored
    log.info("resumed from %s at step %d", ckpt.directory, start)
  elif not is_lora:
    start = 0
    state = _initial_state(c, run, workdir)
  else:
    start = 0
  log.info("itx run in %s\n%s", workdir, _summary(c, run, sources))

  writer = MetricsWriter(workdir, tensorboard=c.log.tensorboard, resume_step=start,
                         wandb_project=c.log.get("wandb", ""), config=c.to_dict())
  flops_per_token = run.model_cfg.flops_per_token(c.data.seq_len)
  peak = peak_flops_per_device(c.log) * jax.device_count()
  end = c.train.steps if stop_after is None else min(c.train.steps, stop_after)
  last: dict = {}
  window_tokens, window_start = 0.0, None
  unchecked = None  # (step, metrics) of the latest step whose loss is not yet known to be finite
  bar = tqdm(total=c.train.steps, initial=start, desc="train", disable=not progress or host != 0)
  preemption = Preemption()
  try:
    for step in range(start + 1, end + 1):
      global_batch = next(data_iter)
      local = {k: v[host * local_rows:(host + 1) * local_rows] for k, v in global_batch.items()}
      window_tokens += float(np.count_nonzero(global_batch["segment_ids"]))
      batch = {k: jax.make_array_from_process_local_data(run.batch_shardings[k], v) for k, v in local.items()}
      state, metrics = run.step(state, batch)
      if unchecked:  # the previous step has finished (or nearly): checking it costs no overlap
        _check_finite(*unchecked)
      unchecked = (step, metrics)
      if window_start is None:  # the first step compiles: time from its end
        jax.block_until_ready(metrics)
        window_start, window_tokens = time.perf_counter(), 0.0
      logged: dict = {}
      if step % c.log.every_steps == 0 or step == end:
        logged = jax.device_get(metrics)
        _check_finite(step, logged)
        elapsed = time.perf_counter() - window_start
        if window_tokens and elapsed > 0:
          logged["tokens_per_s"] = window_tokens / elapsed
          if peak:
            logged["mfu"] = logged["tokens_per_s"] * flops_per_token / peak
        window_tokens, window_start = 0.0, time.perf_counter()
      stop = ""
      try:
        logged.update(run_hooks(hooks, HookContext(step, state, logged, c, workdir, run), end))
      except StopTraining as e:
        stop = f"stopped by a hook after step {step}: {e}"
      preempted = preemption.reached(step)  # on every host at every step, as the sync protocol needs
      if preempted and not stop:
        stop = f"stopped by signal after step {step}; checkpoint saved, rerun to resume"
      if logged:
        writer.write(step, logged)
        last = {"step": step, **{k: float(v) for k, v in logged.items()}}
        if "loss" in logged:
          bar.set_postfix(loss=f"{last['loss']:.3f}")
      force = step == end or bool(stop)
      if force or ckpt.should_save(step):  # a checkpoint only of a state known to be finite
        _check_finite(step, metrics, state.params)
        unchecked = None
        ckpt.save(step, state, data_iter, c, force=force)
      bar.update(1)
      if stop:
        log.warning(stop)
        break
    if unchecked:
      _check_finite(*unchecked)
  finally:
    preemption.close()
    bar.close()
    ckpt.close()
    writer.close()
  if not last:  # nothing left to train (a finished run rerun): report its last logged metrics
    logged_rows = read_metrics(workdir)
    last = logged_rows[-1] if logged_rows else {"step": start}
  return last

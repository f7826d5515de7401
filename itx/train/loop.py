"""The training loop: config -> data -> sharded steps -> checkpoints and metrics. Resumes from the
latest checkpoint in the workdir."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

HF_BASE_CONFIG = "hf_base_config.json"  # the config.json of an hf: initialisation, for export
import os
import shutil
import signal
import threading
import time

import jax
import ml_collections
import numpy as np
from tqdm.auto import tqdm

from itx import config as config_lib
from itx import sharding
from itx.data import pipeline
from itx.data.chat import load_tokenizer
from itx.data.tokenized import TokenizedSource, sample_examples, tokenize_source
from itx.hf import config_map as hf_config_map
from itx.hf import weights as hf_weights
from itx.models import ModelConfig, Transformer
from itx.train import optim, state as state_lib
from itx.train.checkpoint import Checkpointer, load_params
from itx.train.metrics import MetricsWriter, peak_flops_per_device, read_metrics
from itx.train.step import make_train_step


def build_sources(c: ml_collections.ConfigDict, tok, *, progress: bool = True) -> tuple[list[TokenizedSource], list[float]]:
  sources, weights = [], []
  for name, src in sorted(c.data.sources.items()):
    tokenized = tokenize_source(name, src, c.data, tok, progress=progress)
    sources.append(sample_examples(tokenized, src.get("max_examples", 0), c.data.seed))
    weights.append(float(src.weight))
  return sources, weights


class _StopOnSignal:
  """Turns SIGTERM (how TPU and cluster schedulers preempt a job) into a request to stop after the
  current step, so the loop can save a checkpoint first. Main thread only; restored on exit."""

  def __init__(self):
    self.requested = False
    self._previous = None
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    self.requested = True

  def restore(self):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _initial_state(c, model, model_cfg, tx, mesh, rules, abstract, shardings, workdir):
  """Random parameters, or those of `model.init_from`, placed straight into their shardings."""
  init = c.model.init_from
  if not init:
    return state_lib.init_state(model, tx, mesh, rules, shardings, c.model.init_seed)
  if init.startswith("hf:"):
    hf_dir = init.removeprefix("hf:")
    params = hf_weights.load_params(hf_dir, model_cfg, abstract.params, shardings.params)
    if jax.process_index() == 0:  # export writes the same model_type and special ids back
      shutil.copy(os.path.join(hf_dir, "config.json"), os.path.join(workdir, HF_BASE_CONFIG))
  else:
    params = load_params(init.removeprefix("itx:"), abstract_params=abstract.params, shardings=shardings.params)
  log.info("initialised from %s", init)
  return state_lib.state_from_params(params, tx, mesh, shardings)


def _summary(c, model_cfg: ModelConfig, mesh, sources) -> str:
  lines = [
      f"model: {model_cfg.num_params():,} parameters ({model_cfg.n_layers} layers, d_model {model_cfg.d_model}, "
      f"vocab {model_cfg.vocab_size}), compute {model_cfg.dtype}, params {model_cfg.param_dtype}",
      f"devices: {jax.device_count()} x {jax.devices()[0].device_kind} on {jax.process_count()} host(s); "
      f"mesh {dict(mesh.shape)}",
      f"batch: {c.train.batch_size} rows x {c.data.seq_len} tokens, {c.train.grad_accum} micro-batch(es), "
      f"{'packed' if c.data.packing else 'padded'}; {c.train.steps} steps",
  ]
  for s in sources:
    st = s.stats
    lines.append(f"data {s.name}: {st['examples']:,} examples, {st['tokens']:,} tokens "
                 f"({st['target_tokens']:,} targets), skipped {st['skipped_records']} records "
                 f"and {st['skipped_examples']} examples")
  return "\n".join(lines)


def train(config: ml_collections.ConfigDict, workdir: str, *, progress: bool | None = None,
          stop_after: int | None = None) -> dict:
  """Trains (or resumes) to `config.train.steps`; `stop_after` ends early with a checkpoint, as a
  preempted job would. Returns the last logged metrics."""
  sharding.maybe_initialize_distributed(config.mesh)
  config_lib.validate(config, process_count=jax.process_count())
  progress = config.log.progress_bar if progress is None else progress
  os.makedirs(workdir, exist_ok=True)

  tok = load_tokenizer(config_lib.tokenizer_path(config))
  hf_dir = config_lib.hf_init_dir(config)
  hf_fields = hf_config_map.model_fields(hf_config_map.read_config(hf_dir), where=f"{hf_dir}/config.json",
                                         max_len=config.data.seq_len) if hf_dir else None
  c = config_lib.resolved(config, vocab_size=len(tok), hf_fields=hf_fields)
  sources, weights = build_sources(c, tok, progress=progress and jax.process_index() == 0)

  mesh = sharding.make_mesh(c.mesh)
  config_lib.check_batch_fits_mesh(c, mesh)
  rules = sharding.rules_from_config(c.mesh)
  model_cfg = ModelConfig.from_config(c.model)
  model = Transformer(model_cfg)
  schedule = optim.learning_rate_schedule(c.train)
  tx = optim.make_optimizer(c.train)
  abstract, shardings = state_lib.state_shardings(model, tx, mesh, rules)
  batch_sharding = sharding.batch_sharding(mesh, rules)
  train_step = make_train_step(model, tx, schedule, grad_accum=c.train.grad_accum, mesh=mesh, rules=rules,
                               shardings=shardings, batch_sharding=batch_sharding)

  data_iter = pipeline.batches(
      sources, weights, rows=c.train.batch_size // jax.process_count(), seq_len=c.data.seq_len,
      packing=c.data.packing, num_packing_bins=c.data.num_packing_bins, shuffle=c.data.shuffle,
      seed=c.data.seed, process_index=jax.process_index(), process_count=jax.process_count())

  ckpt = Checkpointer(workdir, c.checkpoint)
  start = ckpt.latest_step()
  if start is not None:
    state = ckpt.restore(start, abstract, shardings, data_iter)
    log.info("resumed from %s at step %d", ckpt.directory, start)
  else:
    start = 0
    state = _initial_state(c, model, model_cfg, tx, mesh, rules, abstract, shardings, workdir)
  log.info("itx run in %s\n%s", workdir, _summary(c, model_cfg, mesh, sources))

  writer = MetricsWriter(workdir, tensorboard=c.log.tensorboard, resume_step=start)
  flops_per_token = model_cfg.flops_per_token(c.data.seq_len)
  peak = peak_flops_per_device(c.log) * jax.device_count()
  end = c.train.steps if stop_after is None else min(c.train.steps, stop_after)
  last: dict = {}
  window_tokens, window_start = 0.0, None
  bar = tqdm(total=c.train.steps, initial=start, desc="train", disable=not progress or jax.process_index() != 0)
  stop = _StopOnSignal()
  try:
    for step in range(start + 1, end + 1):
      if stop.requested:  # preempted (SIGTERM): checkpoint where we are, resume later from here
        ckpt.save(step - 1, state, data_iter, c, force=True)
        log.warning("stopped by signal after step %d; checkpoint saved, rerun to resume", step - 1)
        break
      local = next(data_iter)
      window_tokens += float(np.count_nonzero(local["segment_ids"])) * jax.process_count()
      batch = {k: jax.make_array_from_process_local_data(batch_sharding, v) for k, v in local.items()}
      state, metrics = train_step(state, batch)
      if window_start is None:  # the first step compiles: time from its end
        jax.block_until_ready(metrics)
        window_start, window_tokens = time.perf_counter(), 0.0
      if step % c.log.every_steps == 0 or step == end:
        metrics = jax.device_get(metrics)
        elapsed = time.perf_counter() - window_start
        if window_tokens and elapsed > 0:
          metrics["tokens_per_s"] = window_tokens / elapsed
          if peak:
            metrics["mfu"] = metrics["tokens_per_s"] * flops_per_token / peak
        window_tokens, window_start = 0.0, time.perf_counter()
        writer.write(step, metrics)
        last = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        bar.set_postfix(loss=f"{last['loss']:.3f}")
      ckpt.save(step, state, data_iter, c, force=step == end)
      bar.update(1)
  finally:
    stop.restore()
    bar.close()
    ckpt.close()
    writer.close()
  if not last:  # nothing left to train (a finished run rerun): report its last logged metrics
    logged = read_metrics(workdir)
    last = logged[-1] if logged else {"step": start}
  return last

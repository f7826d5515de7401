"""Training metrics: `metrics.jsonl` and TensorBoard event files in the workdir, Weights & Biases
when `log.wandb` names a project, and MFU."""

from __future__ import annotations

import json
import os
import uuid

import jax

from itx.data.jsonl import read_jsonl

# Dense peak FLOP/s per device at the usual training precision (bf16 on accelerators, f32 on CPU).
# Override with log.peak_flops_per_device.
PEAK_FLOPS = {
    "TPU v4": 275e12, "TPU v5 lite": 197e12, "TPU v5e": 197e12, "TPU v5p": 459e12,
    "TPU v6 lite": 918e12, "TPU v6e": 918e12,
    "NVIDIA A100": 312e12, "NVIDIA H100": 989e12, "NVIDIA H200": 989e12,
    "cpu": 180e9,  # measured: a large f32 matmul on this project's 2-core CI machine
}


def peak_flops_per_device(log_cfg) -> float:
  if log_cfg.peak_flops_per_device > 0:
    return float(log_cfg.peak_flops_per_device)
  kind = jax.devices()[0].device_kind
  for name, peak in PEAK_FLOPS.items():
    if kind.startswith(name) or kind.lower() == name:
      return peak
  return PEAK_FLOPS["cpu"] if jax.devices()[0].platform == "cpu" else 0.0


WANDB_ID_FILE = "wandb_id.txt"  # the run's W&B id, so that a resumed run continues the same W&B run


class MetricsWriter:
  """Appends {"step": s, ...} lines to metrics.jsonl, and scalars to TensorBoard and Weights &
  Biases (process 0 only). A name with a slash is its own tag ("val/de/loss"); others are
  "train/NAME"."""

  def __init__(self, workdir: str, *, tensorboard: bool = True, resume_step: int = 0, wandb_project: str = "",
               config: dict | None = None):
    self.active = jax.process_index() == 0
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.tb = None
    self.wandb = None
    if not self.active:
      return
    os.makedirs(workdir, exist_ok=True)
    self._drop_after(resume_step)
    if tensorboard:
      from tensorboardX import SummaryWriter
      self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=resume_step + 1)
    if wandb_project:
      self.wandb = _start_wandb(wandb_project, workdir, config or {})

  def _drop_after(self, step: int) -> None:
    """After a restart from checkpoint `step`, lines logged past it would be logged again."""
    if not os.path.exists(self.path):
      return
    with open(self.path) as f:
      lines = [l for l in f if l.strip()]
    keep = [l for l in lines if json.loads(l).get("step", 0) <= step]
    if len(keep) != len(lines):
      tmp = self.path + ".tmp"
      with open(tmp, "w") as f:
        f.writelines(keep)
      os.replace(tmp, self.path)

  def write(self, step: int, metrics: dict) -> None:
    if not self.active:
      return
    row = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
    with open(self.path, "a") as f:
      f.write(json.dumps(row) + "\n")
    tags = {_tag(k): v for k, v in row.items() if k != "step"}
    if self.tb is not None:
      for k, v in tags.items():
        self.tb.add_scalar(k, v, step)
      self.tb.flush()
    if self.wandb is not None:
      self.wandb.log(tags, step=int(step))

  def close(self) -> None:
    if self.tb is not None:
      self.tb.close()
    if self.wandb is not None:
      self.wandb.finish()


def _tag(name: str) -> str:
  return name if "/" in name else f"train/{name}"


def _start_wandb(project: str, workdir: str, config: dict):
  """A W&B run named after the workdir; its id is kept in the workdir so a rerun resumes it.
  WANDB_MODE=offline logs to workdir/wandb without a network (`wandb sync` uploads it later)."""
  try:
    import wandb
  except ImportError:
    raise ImportError("config.log.wandb is set but wandb is not installed: pip install 'itx[wandb]'") from None
  id_path = os.path.join(workdir, WANDB_ID_FILE)
  if os.path.exists(id_path):
    with open(id_path) as f:
      run_id = f.read().strip()
  else:
    run_id = uuid.uuid4().hex[:16]
    with open(id_path + ".tmp", "w") as f:
      f.write(run_id)
    os.replace(id_path + ".tmp", id_path)
  return wandb.init(project=project, dir=workdir, id=run_id, resume="allow", config=config,
                    name=os.path.basename(os.path.abspath(workdir)))


def read_metrics(workdir: str) -> list[dict]:
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  return read_jsonl(path)

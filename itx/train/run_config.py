"""A run's resolved config beside it: `config.json` at the run's root when it starts, and
`config_history.jsonl`, one line per resume that changed a field (old and new values).

A resume compares the config it is given with the one the run was trained with. Fields that fix
the state's shapes or meaning (the model, LoRA, the objective and trainable set, the tokenizer and
chat template, the data sources and every setting the data iterator's saved state depends on) must
match: a difference is refused, each field listed with its stored and given value, and the run is
left untouched. Every other field (steps, schedule, learning rate, logging, evaluation,
checkpointing, the mesh) may change; each change is logged and appended to the history.
"""

from __future__ import annotations

import datetime
import json
import logging
import os

import ml_collections

from itx.config import ConfigError
from itx.data.files import atomic_write_text

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
HISTORY_FILE = "config_history.jsonl"

# Fields under a frozen prefix that may still change: where the base or tokenizer lives (a LoRA base
# is checked by its fingerprint), the seed of an initialisation already done, and how the same
# computation is carried out (attention kernel, remat, scan unrolling, compute dtype).
CHANGEABLE = ("model.init_from", "model.tokenizer", "model.init_seed", "model.attention", "model.remat",
              "model.scan_unroll", "model.dtype")
# Prefixes of the flattened field names that a resume may not change.
FROZEN = ("model.", "lora.", "data.sources.", "data.seq_len", "data.packing", "data.num_packing_bins",
          "data.loss_on", "data.skip_invalid", "data.text_field", "data.add_bos", "data.shuffle", "data.seed",
          "data.chat_template", "data.groups", "train.batch_size", "train.grad_accum", "train.objective",
          "train.trainable")


def flatten(d: dict, prefix: str = "") -> dict:
  """{"a.b.c": value} of a nested dict (lists and tuples as lists, so stored and given compare)."""
  out = {}
  for k, v in d.items():
    key = f"{prefix}{k}"
    if isinstance(v, (dict, ml_collections.ConfigDict)):
      out.update(flatten(dict(v), key + "."))
    else:
      out[key] = json.loads(json.dumps(v, default=str))
  return out


def is_frozen(field: str) -> bool:
  return field not in CHANGEABLE and any(field == p or field.startswith(p) for p in FROZEN)


def differences(stored: dict, given: dict) -> list[tuple[str, object, object]]:
  """[(field, stored value, given value)] of every field both have that differs (a field the stored
  config lacks did not exist when the run was trained: its default applies)."""
  a, b = flatten(stored), flatten(given)
  return [(k, a[k], b[k]) for k in sorted(set(a) & set(b)) if a[k] != b[k]]


def check_resume(stored: dict, given: ml_collections.ConfigDict, workdir: str) -> list[tuple[str, object, object]]:
  """Raises ConfigError listing the frozen fields that differ; returns the other differences."""
  diffs = differences(stored, given.to_dict())
  frozen = [d for d in diffs if is_frozen(d[0])]
  if frozen:
    lines = "; ".join(f"config.{k}: trained with {a!r}, given {b!r}" for k, a, b in frozen[:12])
    more = f" (and {len(frozen) - 12} more)" if len(frozen) > 12 else ""
    raise ConfigError(f"{workdir} cannot resume with a different {', '.join(sorted({k.split('.')[0] for k, _, _ in frozen}))} "
                      f"setup: {lines}{more}. Use a new workdir, or the run's own values; nothing was changed")
  return diffs


def write_started(workdir: str, config: ml_collections.ConfigDict) -> None:
  """config.json at the run's root (a fresh run)."""
  atomic_write_text(os.path.join(workdir, CONFIG_FILE), json.dumps(config.to_dict(), indent=2, default=str) + "\n")


def record_resume(workdir: str, step: int, config: ml_collections.ConfigDict, changes) -> None:
  """Logs each change and appends them to the history; config.json becomes the config in force."""
  if not changes:
    return
  for k, a, b in changes:
    log.info("resume at step %d: config.%s changed from %r to %r", step, k, a, b)
  line = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "step": step,
          "changes": [{"field": k, "old": a, "new": b} for k, a, b in changes]}
  with open(os.path.join(workdir, HISTORY_FILE), "a", encoding="utf-8") as f:
    f.write(json.dumps(line, default=str) + "\n")
    f.flush()
    os.fsync(f.fileno())
  write_started(workdir, config)

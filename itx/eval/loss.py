"""Answer loss: the mean negative log-likelihood a model gives to reference responses (or to whole
documents), with no generation. Examples are rendered exactly as in training."""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import numpy as np
from tqdm.auto import tqdm

from itx.data.chat import NoTargetError, render_chat, render_text, to_training_example
from itx.data.pipeline import pad_example
from itx.train.objectives import row_nll_sums


def _row_sums(model, params, batch):
  return row_nll_sums(model, params, batch)


@functools.lru_cache(maxsize=16)
def _row_sums_fn(model):
  """One compiled loss per model (a bank's per-adapter runs share it: the adapter is in the batch),
  so scoring many runs of one model traces and lowers it once."""
  return jax.jit(functools.partial(_row_sums, model))


def nll_of_examples(run, examples: list[tuple[np.ndarray, np.ndarray]], *, seq_len: int, batch_size: int = 16,
                    progress: bool = True, desc: str = "answer loss") -> list[float]:
  """Mean NLL per example over its target tokens (nan when truncation left none).

  run: an itx.inference.LoadedRun; examples: (ids, target mask) pairs as the chat renderer gives.
  """
  shards = run.mesh.shape["data"] * run.mesh.shape["fsdp"]
  batch_size = -(-batch_size // shards) * shards
  fn = _row_sums_fn(run.model)
  examples_, keep = [], []
  for ids, target in examples:
    try:
      examples_.append(to_training_example(ids, target, seq_len))
      keep.append(True)
    except NoTargetError:
      keep.append(False)
  adapter = getattr(run, "adapter", None)
  sums, counts = [], []
  with jax.set_mesh(run.mesh), nn.logical_axis_rules(run.rules):
    for start in tqdm(range(0, len(examples_), batch_size), desc=desc, disable=not progress):
      chunk = examples_[start:start + batch_size]
      # rows as long as this batch's longest example (in steps of 64): short answers cost little
      length = min(seq_len, -(-max(len(ex["inputs"]) for ex in chunk) // 64) * 64)
      rows = [pad_example(ex, length) for ex in chunk]
      if adapter is not None:  # a LoRA run: every row through the run's chosen adapter (one id per row)
        rows = [dict(r, adapter_ids=np.asarray(adapter, np.int32)) for r in rows]
      rows += [{k: np.zeros_like(v) for k, v in rows[0].items()}] * (batch_size - len(rows))
      batch = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
      s, c = fn(run.params, batch)
      sums.extend(np.asarray(s))
      counts.extend(np.asarray(c))
  out, scored = [], iter(zip(sums, counts))
  for usable in keep:
    s, c = next(scored) if usable else (0.0, 0.0)
    out.append(float(s / c) if c else math.nan)
  return out


def conversation_nll(run, conversations: list[list[dict]], **kwargs) -> list[float]:
  """Mean NLL of the assistant turns of each conversation (the reference responses)."""
  return nll_of_examples(run, [render_chat(run.tokenizer, c) for c in conversations], **kwargs)


def document_nll(run, texts: list[str], **kwargs) -> list[float]:
  """Mean NLL per token of each plain document ([BOS] text EOS)."""
  return nll_of_examples(run, [render_text(run.tokenizer, t) for t in texts], **kwargs)

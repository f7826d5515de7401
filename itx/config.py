"""Validation and derived fields of an itx ConfigDict (see configs/base.py for every field)."""

from __future__ import annotations

import re

import ml_collections

from itx.models.config import check_choice
from itx.models.lora import spec_from_config


class ConfigError(ValueError):
  pass


# The fields of a `data.sources` entry (configs/base.py); `where` is itx.data.selection's.
SOURCE_FIELDS = ("path", "kind", "weight", "max_examples", "where")
EVAL_SOURCE_FIELDS = ("path", "kind", "max_examples", "where")  # a held-out source has no weight
SOURCE_FIELD_TYPES = {"path": str, "kind": str, "weight": float, "max_examples": int, "where": str}


def _choice(value, name: str, options) -> None:
  if value not in options:
    raise ConfigError(f"config.{name}={value!r}: expected one of {tuple(options)}")


def _model_check(check, *args) -> None:
  """Runs a check of itx.models (the one place its settings are checked) before anything is built:
  its ValueError, which names the field, as a ConfigError."""
  try:
    check(*args)
  except ValueError as e:
    raise ConfigError(f"config.{e}") from None


def validate(c: ml_collections.ConfigDict, *, process_count: int = 1) -> None:
  """Raises ConfigError naming the field for settings that cannot work together."""
  _model_check(check_choice, "remat", c.model.remat)
  _model_check(check_choice, "attention", c.model.get("attention", "xla"))
  _choice(c.data.loss_on, "data.loss_on", ("assistant", "all"))
  _choice(c.train.schedule, "train.schedule", ("cosine", "constant"))
  try:
    re.compile(c.train.trainable)
  except re.error as e:
    raise ConfigError(f"config.train.trainable={c.train.trainable!r}: not a regular expression ({e})") from None
  if not c.data.sources:
    raise ConfigError("config.data.sources: at least one source is needed")
  for name, src in c.data.sources.items():
    for field in ("path", "kind", "weight"):
      if field not in src:
        raise ConfigError(f"config.data.sources.{name}.{field}: missing")
    _choice(src.kind, f"data.sources.{name}.kind", ("instruction", "text"))
    if not src.weight > 0:
      raise ConfigError(f"config.data.sources.{name}.weight={src.weight}: must be positive")
    unknown = sorted(set(src) - set(SOURCE_FIELDS))
    if unknown:
      raise ConfigError(f"config.data.sources.{name}: unknown field(s) {unknown} (expected some of {SOURCE_FIELDS})")
    if not isinstance(src.get("where", ""), str):
      raise ConfigError(f"config.data.sources.{name}.where={src.where!r}: expected a string "
                        "'FIELD=VALUE[,VALUE...][;FIELD=...]' (itx.data.selection)")
    if src.get("max_examples", 0) < 0:
      raise ConfigError(f"config.data.sources.{name}.max_examples={src.max_examples}: must be 0 (all) or positive")
  for name, src in c.data.get("eval_sources", {}).items():
    for field in ("path", "kind"):
      if field not in src:
        raise ConfigError(f"config.data.eval_sources.{name}.{field}: missing")
    _choice(src.kind, f"data.eval_sources.{name}.kind", ("instruction", "text"))
    unknown = sorted(set(src) - set(EVAL_SOURCE_FIELDS))
    if unknown:
      raise ConfigError(f"config.data.eval_sources.{name}: unknown field(s) {unknown} (expected some of "
                        f"{EVAL_SOURCE_FIELDS})")
  _choice(c.eval.judge, "eval.judge", ("rule", "http", "none"))
  t = c.train
  for name in ("steps", "batch_size", "grad_accum"):
    if t[name] < 1:
      raise ConfigError(f"config.train.{name}={t[name]}: must be at least 1")
  if t.batch_size % t.grad_accum:
    raise ConfigError(f"config.train.batch_size={t.batch_size} is not divisible by train.grad_accum={t.grad_accum}")
  if t.batch_size % process_count:
    raise ConfigError(f"config.train.batch_size={t.batch_size} is not divisible by the {process_count} hosts")
  init = c.model.init_from
  if init and not init.startswith(("hf:", "gguf:", "itx:")):
    raise ConfigError(f"config.model.init_from={init!r}: expected '', 'hf:/path', 'gguf:/file.gguf' or 'itx:/path'")
  _validate_lora(c)
  if c.data.seq_len < 2:
    raise ConfigError(f"config.data.seq_len={c.data.seq_len}: must be at least 2")
  if c.model.get("vocab_multiple", 1) < 1:
    raise ConfigError(f"config.model.vocab_multiple={c.model.vocab_multiple}: must be at least 1")


def check_batch_fits_mesh(c: ml_collections.ConfigDict, mesh) -> None:
  shards = mesh.shape["data"] * mesh.shape["fsdp"]
  micro = c.train.batch_size // c.train.grad_accum
  if micro % shards:
    raise ConfigError(
        f"config.train.batch_size / grad_accum = {micro} rows per micro-batch cannot be split over "
        f"data x fsdp = {shards} devices")


# The model dimensions that parameters shard: logical axis -> the config field giving its size.
_SHARDED_DIMS = (("heads", "n_heads"), ("kv_heads", "n_kv_heads"), ("mlp", "mlp_dim"), ("embed", "d_model"),
                 ("vocab", "vocab_size"))


def check_model_fits_mesh(c: ml_collections.ConfigDict, mesh) -> None:
  """Raises ConfigError, before anything compiles, when a mesh axis that a parameter dimension is
  sharded over (by `mesh.rules`) does not divide it; names every such field and the mesh."""
  rules = dict(c.mesh.rules)
  problems = []
  for logical, field in _SHARDED_DIMS:
    axes = rules.get(logical)
    axes = () if axes is None else (axes,) if isinstance(axes, str) else tuple(axes)
    shards = 1
    for a in axes:
      shards *= mesh.shape[a]
    size = c.model[field]
    if size % shards:
      where = " x ".join(f"mesh.{a}={mesh.shape[a]}" for a in axes)
      hint = " (raise model.vocab_multiple to a multiple of it)" if field == "vocab_size" else ""
      problems.append(f"config.model.{field}={size} is not divisible by {where}{hint}")
  if problems:
    raise ConfigError("; ".join(problems) + f" (the mesh is {dict(mesh.shape)}; the parameters' "
                      "'heads', 'kv_heads', 'mlp', 'embed' and 'vocab' axes are sharded as config.mesh.rules says)")


def hf_dir_of(init_from: str) -> str | None:
  """The Hugging Face directory of an `hf:DIR` or `gguf:FILE` init (a GGUF is imported once, into a
  cache: itx.hf.gguf_import), else None."""
  if init_from.startswith("hf:"):
    return init_from.removeprefix("hf:")
  if init_from.startswith("gguf:"):
    from itx.hf.gguf_import import cached_import
    return cached_import(init_from.removeprefix("gguf:"))
  return None


def hf_init_dir(c: ml_collections.ConfigDict) -> str | None:
  return hf_dir_of(c.model.init_from)


def tokenizer_path(c: ml_collections.ConfigDict) -> str:
  if c.model.tokenizer:
    return c.model.tokenizer
  if hf_init_dir(c):
    return hf_init_dir(c)
  raise ConfigError("config.model.tokenizer is empty and model.init_from names no Hugging Face directory")


def resolved(c: ml_collections.ConfigDict, *, vocab_size: int, hf_fields: dict | None = None) -> ml_collections.ConfigDict:
  """A copy with derived fields filled in: the architecture of an `hf:` checkpoint, the vocabulary
  from the tokenizer, head_dim.

  The vocabulary (the tokenizer's, the checkpoint's or `model.vocab_size`) becomes
  `model.vocab_real`, and `model.vocab_size` is rounded up to a multiple of `model.vocab_multiple`,
  so that any tensor axis dividing that multiple divides the embedding and logits; the padded ids
  are masked out of the logits and stripped on export.
  """
  c = ml_collections.ConfigDict(c.to_dict())
  if c.data.get("chat_template"):  # a Jinja file's text, so the run keeps the template it trained with
    from itx.data.templates import ChatTemplateError, literal
    try:
      c.data.chat_template = literal(c.data.chat_template)
    except ChatTemplateError as e:
      raise ConfigError(str(e)) from None
  if hf_fields:
    c.model.update(hf_fields)
    if c.model.vocab_size < vocab_size:
      raise ConfigError(f"{c.model.init_from}: vocab_size {c.model.vocab_size} < the tokenizer's {vocab_size}")
    real = c.model.vocab_size
  elif c.model.vocab_from_tokenizer:
    real = vocab_size
  else:
    real = c.model.get("vocab_real") or c.model.vocab_size
    if real < vocab_size:
      raise ConfigError(f"config.model.vocab_size={real} is smaller than the tokenizer's {vocab_size}")
  multiple = c.model.get("vocab_multiple", 1)
  c.model.vocab_size = -(-real // multiple) * multiple
  c.model.vocab_real = real if c.model.vocab_size > real else 0  # 0: nothing padded
  if not c.model.head_dim:
    c.model.head_dim = c.model.d_model // c.model.n_heads
  return c


def _validate_lora(c: ml_collections.ConfigDict) -> None:
  lora = c.get("lora")
  if lora is None or not lora.rank:
    if lora is not None and (lora.adapters or lora.route_by):
      raise ConfigError("config.lora.adapters / route_by are set but lora.rank is 0 (LoRA off)")
    return
  _model_check(spec_from_config, lora)  # rank, dropout, targets, distinct adapters: LoraSpec checks them
  if c.train.trainable != ".*":
    raise ConfigError(f"config.train.trainable={c.train.trainable!r}: LoRA trains exactly the adapter "
                      "parameters; leave train.trainable at '.*'")
  names = list(lora.adapters)
  if lora.route_by and not names:
    raise ConfigError(f"config.lora.route_by={lora.route_by!r} needs lora.adapters: the names its values select")
  if len(names) > 1 and not lora.route_by:
    raise ConfigError("config.lora.adapters names a bank: set lora.route_by to the record field that "
                      "names each example's adapter")


def rows_by_adapter(c: ml_collections.ConfigDict) -> bool:
  """Whether a bank packs each row with one adapter's examples (a config saved before the field
  existed mixed them)."""
  return lora_routing(c) is not None and bool(c.lora.get("rows_by_adapter", False))


def lora_routing(c: ml_collections.ConfigDict) -> tuple[str, tuple[str, ...]] | None:
  """(record field, adapter names) when examples carry an adapter id, else None."""
  lora = c.get("lora")
  if lora is None or not lora.rank or not lora.route_by:
    return None
  return lora.route_by, tuple(lora.adapters)

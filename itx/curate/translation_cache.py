"""The translation cache: one JSONL line per finished translation, keyed by a hash of (text,
target language, model, prompt), appended and flushed as each translation arrives, so an
interrupted run loses nothing finished and a rerun asks the endpoint only for what is missing."""

from __future__ import annotations

import hashlib
import json
import os


def cache_key(text: str, language: str, model: str, prompt: str) -> str:
  return hashlib.sha256(json.dumps([text, language, model, prompt], ensure_ascii=False).encode()).hexdigest()


class TranslationCache:
  """{key: entry} backed by an append-only JSONL file (a partial last line from a crash is cut)."""

  def __init__(self, path: str):
    self.path = path
    self._entries: dict[str, dict] = {}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if os.path.exists(path):
      with open(path, "rb") as f:
        data = f.read()
      if data and not data.endswith(b"\n"):  # killed mid-line: that translation was never finished
        with open(path, "r+b") as f:
          f.truncate(data.rfind(b"\n") + 1)
        data = data[:data.rfind(b"\n") + 1]
      for line in data.decode("utf-8").splitlines():
        if line.strip():
          entry = json.loads(line)
          self._entries[entry["key"]] = entry
    self._file = open(path, "a", encoding="utf-8")

  def __contains__(self, key: str) -> bool:
    return key in self._entries

  def __len__(self) -> int:
    return len(self._entries)

  def get(self, key: str) -> dict | None:
    return self._entries.get(key)

  def add(self, key: str, entry: dict) -> None:
    entry = {"key": key, **entry}
    self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
    self._file.flush()  # in the OS's hands now: a killed process loses nothing written
    self._entries[key] = entry

  def close(self) -> None:
    self._file.close()

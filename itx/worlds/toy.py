"""The toy world (`builtin:toy`): a small English instruction set of checkable skills (arithmetic,
list reversal, sorting, counting, repetition) and a byte-level BPE tokenizer trained on it, written
once into the cache in the layouts real data uses (a JSONL file of alpaca records; a Hugging Face
tokenizer directory)."""

from __future__ import annotations

import json
import os
import random

from itx.data import cache
from itx.data.tokenizer_training import train_bpe_tokenizer

_WORDS = ("apple river stone cloud green tiger paper music window garden silver orange candle "
          "forest bridge yellow rabbit winter summer castle ocean pencil monkey violet").split()
_TOY_SETTINGS = {"name": "toy", "version": 2, "examples": 2000, "seed": 0, "vocab_size": 512}


def _toy_record(rng: random.Random, i: int) -> dict:
  kind = i % 5
  if kind == 0:
    a, b = rng.randint(0, 50), rng.randint(0, 50)
    instruction, output = f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."
  elif kind == 1:
    words = rng.sample(_WORDS, rng.randint(3, 6))
    instruction, output = "Reverse the order of these words.", " ".join(reversed(words))
    return {"id": f"toy-{i}", "instruction": instruction, "input": " ".join(words), "output": output, "task": "reverse"}
  elif kind == 2:
    nums = [rng.randint(0, 99) for _ in range(rng.randint(3, 7))]
    instruction = "Sort these numbers from smallest to largest: " + ", ".join(map(str, nums))
    output = ", ".join(map(str, sorted(nums)))
  elif kind == 3:
    word, n = rng.choice(_WORDS), rng.randint(2, 5)
    instruction, output = f"Repeat the word {word} {n} times.", " ".join([word] * n)
  else:
    words = rng.sample(_WORDS, rng.randint(2, 8))
    instruction = "How many words are in this list? " + " ".join(words)
    output = f"There are {len(words)} words."
  task = ("add", "reverse", "sort", "repeat", "count")[kind]
  return {"id": f"toy-{i}", "instruction": instruction, "input": "", "output": output, "task": task}


def toy_records(n: int = _TOY_SETTINGS["examples"], seed: int = _TOY_SETTINGS["seed"]) -> list[dict]:
  rng = random.Random(seed)
  return [_toy_record(rng, i) for i in range(n)]


def world_dir() -> str:
  """The toy world's folder (train.jsonl, tokenizer/), generated on first use."""
  final = os.path.join(cache.cache_root(), "builtin", f"toy-{cache.settings_hash(_TOY_SETTINGS)}")
  if os.path.isdir(final):
    return final
  records = toy_records()
  with cache.atomic_dir(final) as tmp:
    with open(os.path.join(tmp, "train.jsonl"), "w", encoding="utf-8") as f:
      for r in records:
        f.write(json.dumps(r) + "\n")
    texts = [f"System: \nUser: {r['instruction']}\n{r['input']}\nAssistant: {r['output']}" for r in records]
    train_bpe_tokenizer(texts, os.path.join(tmp, "tokenizer"), vocab_size=_TOY_SETTINGS["vocab_size"])
  return final

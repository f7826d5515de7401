"""Writing the whole polyglot world once into the cache, keyed by its settings.

Layout under `world_dir(settings)`:
  pretrain/pretrain.jsonl                     plain documents {id, language, kind, text}
  limax/{train,val}_limax_<CFG>.jsonl          Lima-X-like chat records, 9 compositions
  bactrian/<lang>.json                         Bactrian-X-like alpaca records per language
  answer_keys/bactrian.jsonl                   the Bactrian-X-like records' answer keys, by id
  mt_bench/mt_bench_<LANG>/question.jsonl      MT-Bench-X-like two-turn questions
  mt_bench/mt_bench_<LANG>/reference_answer/reference.jsonl
  tokenizer/                                   byte-level BPE, System/User/Assistant template
  world.json                                   settings, families, counts
"""

from __future__ import annotations

import json
import logging
import os
import time

from itx.data import cache
from itx.worlds.polyglot import layouts, pretrain
from itx.worlds.polyglot.compose import plan_world
from itx.worlds.polyglot.families import FAMILIES
from itx.worlds.locale_data import LANGS
from itx.worlds.polyglot.settings import PolyglotSettings
from itx.data.tokenizer_training import train_bpe_tokenizer

log = logging.getLogger(__name__)


def _trips_in(value) -> list[dict]:
  """Every trip inside an instance's params (reading tasks, trip sentences to translate)."""
  if isinstance(value, dict):
    found = [value["trip"]] if isinstance(value.get("trip"), dict) else []
    return found + [t for v in value.values() for t in _trips_in(v)]
  return []


def _chat_text(messages: list[dict]) -> str:
  """Training text for the tokenizer, close to what the chat template renders."""
  names = {"system": "System", "user": "User", "assistant": "Assistant"}
  return "\n".join(f"{names[m['role']]}: {m['content']}" for m in messages)


def generate(settings: PolyglotSettings, out_dir: str) -> dict:
  """Writes the world into `out_dir` (which must exist) and returns its manifest."""
  plan = plan_world(settings)
  renderer = layouts.Renderer(settings.seed)
  counts = {"mt_bench": layouts.write_mt_bench(out_dir, renderer, plan.eval, plan.heldout_families),
            "limax": layouts.write_limax(out_dir, renderer, {"train": plan.limax_train, "val": plan.limax_val},
                                         settings.two_turn_fraction),
            "bactrian": layouts.write_bactrian(out_dir, renderer, plan.bactrian)}

  avoid = {pretrain.trip_signature(t) for inst in plan.eval for t in _trips_in(inst.params)}
  texts, per_lang = [], {lang: {"documents": 0, "characters": 0} for lang in LANGS}
  os.makedirs(os.path.join(out_dir, "pretrain"))
  with open(os.path.join(out_dir, "pretrain", "pretrain.jsonl"), "w", encoding="utf-8") as f:
    for doc in pretrain.documents(settings.pretrain_chars, settings.seed, avoid):
      f.write(json.dumps(doc, ensure_ascii=False) + "\n")
      texts.append(doc["text"])
      per_lang[doc["language"]]["documents"] += 1
      per_lang[doc["language"]]["characters"] += len(doc["text"])
  counts["pretrain"] = per_lang

  # The tokenizer sees what trains (pre-training text, Lima-X and Bactrian-X chats), not evaluation.
  for inst in plan.limax_train + plan.limax_val + plan.bactrian:
    for lang in LANGS:
      texts.append(_chat_text(layouts.chat_record(renderer, inst, lang, 2)["messages"]))
  train_bpe_tokenizer(texts, os.path.join(out_dir, "tokenizer"), vocab_size=settings.vocab_size)

  manifest = {"settings": settings.to_dict(), "languages": list(LANGS),
              "families": {name: fam.group for name, fam in FAMILIES.items()},
              "train_families": plan.train_families, "heldout_families": plan.heldout_families,
              "compositions": list(layouts.COMPOSITIONS), "system_messages": layouts.SYSTEM_MESSAGES,
              "counts": counts}
  with open(os.path.join(out_dir, "world.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, ensure_ascii=False, indent=2)
  return manifest


def world_dir(settings: PolyglotSettings | None = None) -> str:
  """The world's directory in the cache, generated on first use (default: the demo preset)."""
  settings = settings or PolyglotSettings()
  final = os.path.join(cache.cache_root(), "polyglot", cache.settings_hash(settings.to_dict()))
  if os.path.isdir(final):
    return final
  start = time.time()
  log.info("generating the polyglot world (preset %s) at %s", settings.preset, final)
  with cache.atomic_dir(final) as tmp:
    generate(settings, tmp)
  log.info("polyglot world generated in %.1fs", time.time() - start)
  return final

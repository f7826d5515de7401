"""Corpus statistics of the polyglot world (generating it first if needed).

  itx stats --world=polyglot [--preset=demo] [--seed=0] [--out=stats.json]

Prints examples per Lima-X composition and language, Bactrian-X and MT-Bench-X sizes, the
pre-training corpus's documents, characters and tokens (with the world's own tokenizer) per
language, and the task families (trained on and held out); writes the same as JSON with --out.
"""

from __future__ import annotations

import collections
import json
import os

from itx.data.jsonl import read_jsonl
from itx.worlds.polyglot.layouts import COMPOSITIONS
from itx.worlds.locale_data import LANGS
from itx.worlds.polyglot.settings import PolyglotSettings
from itx.worlds.polyglot.world import world_dir


def world_stats(root: str) -> dict:
  """Counts read back from the files of the world at `root`."""
  from itx.data.chat import load_tokenizer  # transformers: only when statistics are asked for
  with open(os.path.join(root, "world.json"), encoding="utf-8") as f:
    manifest = json.load(f)
  limax = {}
  for split in ("train", "val"):
    for name in COMPOSITIONS:
      rows = read_jsonl(os.path.join(root, "limax", f"{split}_limax_{name}.jsonl"))
      limax[f"{split}_limax_{name}"] = {"examples": len(rows),
                                        "by_language": dict(collections.Counter(r["language"] for r in rows)),
                                        "two_turn": sum(len(r["messages"]) > 3 for r in rows)}
  families = collections.Counter(r["family"] for r in read_jsonl(os.path.join(root, "limax", "train_limax_EN.jsonl")))
  bactrian = {}
  for lang in LANGS:
    with open(os.path.join(root, "bactrian", f"{lang}.json"), encoding="utf-8") as f:
      bactrian[lang] = len(json.load(f))
  mt_bench = {}
  for lang in LANGS:
    rows = read_jsonl(os.path.join(root, "mt_bench", f"mt_bench_{lang.upper()}", "question.jsonl"))
    mt_bench[lang] = {"questions": len(rows), "categories": len({r["category"] for r in rows})}
  tok = load_tokenizer(os.path.join(root, "tokenizer"))
  docs = read_jsonl(os.path.join(root, "pretrain", "pretrain.jsonl"))
  pre = {lang: {"documents": 0, "characters": 0, "tokens": 0} for lang in LANGS}
  ids = tok([d["text"] for d in docs], add_special_tokens=False)["input_ids"]
  for doc, toks in zip(docs, ids):
    entry = pre[doc["language"]]
    entry["documents"] += 1
    entry["characters"] += len(doc["text"])
    entry["tokens"] += len(toks)
  total = {k: sum(v[k] for v in pre.values()) for k in ("documents", "characters", "tokens")}
  return {"world_dir": root, "settings": manifest["settings"], "limax": limax,
          "limax_train_families": dict(sorted(families.items())), "bactrian": bactrian, "mt_bench": mt_bench,
          "pretrain": {"by_language": pre, "total": total,
                       "kinds": dict(collections.Counter(d["kind"] for d in docs))},
          "tokenizer": {"vocab_size": len(tok)}, "train_families": manifest["train_families"],
          "heldout_families": manifest["heldout_families"]}


def format_stats(s: dict) -> str:
  lines = [f"polyglot world at {s['world_dir']} (preset {s['settings']['preset']}, seed {s['settings']['seed']})", "",
           "Lima-X-like instruction data (examples; per language):"]
  for name, entry in s["limax"].items():
    langs = ", ".join(f"{k} {v}" for k, v in entry["by_language"].items())
    lines.append(f"  {name:<34} {entry['examples']:>6}   {langs}   (two-turn: {entry['two_turn']})")
  lines.append("Bactrian-X-like data (examples per language): " +
               ", ".join(f"{k} {v}" for k, v in s["bactrian"].items()))
  lines.append("MT-Bench-X-like evaluation (questions per language): " +
               ", ".join(f"{k} {v['questions']}" for k, v in s["mt_bench"].items()))
  lines += ["", "Pre-training corpus (documents / characters / tokens):"]
  for lang, v in s["pretrain"]["by_language"].items():
    lines.append(f"  {lang}  {v['documents']:>6} / {v['characters']:>9,} / {v['tokens']:>9,}")
  t = s["pretrain"]["total"]
  lines.append(f"  all {t['documents']:>6} / {t['characters']:>9,} / {t['tokens']:>9,}"
               f"   ({t['characters'] / max(t['tokens'], 1):.2f} characters per token, vocabulary {s['tokenizer']['vocab_size']})")
  lines.append("  kinds: " + ", ".join(f"{k} {v}" for k, v in s["pretrain"]["kinds"].items()))
  lines += ["", f"Task families trained on ({len(s['train_families'])}; examples in train_limax_EN):"]
  lines.append("  " + ", ".join(f"{f} {s['limax_train_families'].get(f, 0)}" for f in s["train_families"]))
  lines.append(f"Held-out families ({len(s['heldout_families'])}, evaluation only): " + ", ".join(s["heldout_families"]))
  return "\n".join(lines)


def report(preset: str = "demo", seed: int = 0, out: str = "") -> dict:
  """Prints the statistics of the world of `preset` and `seed` (and writes them as JSON to `out`)."""
  stats = world_stats(world_dir(PolyglotSettings.from_preset(preset, seed=seed)))
  print(format_stats(stats))
  if out:
    with open(out, "w", encoding="utf-8") as f:
      json.dump(stats, f, indent=2)
  return stats

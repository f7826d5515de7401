"""A data card for a created corpus: card.json and card.md, from the corpus files and the reports
the steps left beside them (translation.json, cleaning.json, composition.json,
decontamination.json): sources, languages, records and tokens per file and language, the
translation model and prompts, the filters and what they removed, the overlap with evaluation
questions, and the seed.

Tokens are the message contents' tokens under a tokenizer (a Hugging Face directory or
`builtin:NAME`, no special tokens, no chat template), or whitespace-separated words when no
tokenizer is given; the card says which.
"""

from __future__ import annotations

import collections
import os

from itx.curate import files
from itx.curate.rows import data_files, read_rows

REPORTS = ("translation", "cleaning", "composition", "decontamination")


def _counter(tokenizer: str | None):
  """(description, texts -> token count)."""
  if not tokenizer:
    return "whitespace-separated words", lambda texts: sum(len(t.split()) for t in texts)
  from itx.datasets.sources import tokenizer as load_tokenizer
  tok = load_tokenizer(tokenizer)

  def count(texts):
    texts = [t for t in texts if t]
    return sum(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]) if texts else 0

  return f"tokens of {tokenizer} (message contents, no special tokens)", count


def card(corpus_dir: str, *, tokenizer: str | None = "builtin:toy", title: str | None = None) -> dict:
  """Writes card.json and card.md into `corpus_dir` (atomically) and returns the card.

  Args:
    corpus_dir: a folder of instruction files (a composed corpus, or any step's output).
    tokenizer: counts tokens with this tokenizer; "" or None counts whitespace words.
    title: the card's title (default: the folder's name).
  """
  if not os.path.isdir(corpus_dir):
    raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
  unit, count = _counter(tokenizer)
  reports = {r: files.read_json(os.path.join(corpus_dir, f"{r}.json")) for r in REPORTS
             if os.path.isfile(os.path.join(corpus_dir, f"{r}.json"))}
  per_file = {}
  for path in data_files(corpus_dir):
    rows = read_rows(path)
    by_lang = collections.defaultdict(list)
    for r in rows:
      by_lang[str(r.data.get("language") or "unknown")].append(r)
    per_file[os.path.basename(path)] = {
        "records": len(rows),
        "languages": {l: {"records": len(rs), "tokens": count([m["content"] for r in rs for m in r.record.messages])}
                      for l, rs in sorted(by_lang.items())}}
    per_file[os.path.basename(path)]["tokens"] = sum(v["tokens"] for v in per_file[os.path.basename(path)]["languages"].values())

  comp = reports.get("composition", {})
  tr = reports.get("translation", {})
  cl = reports.get("cleaning", {})
  de = reports.get("decontamination", {})
  languages = comp.get("languages") or sorted({l for f in per_file.values() for l in f["languages"]})
  out = {
      "title": title or os.path.basename(os.path.abspath(corpus_dir)),
      "languages": languages,
      "sources": {"original": tr.get("source") or (cl.get("inputs") if not tr else None),
                  "source_language": tr.get("source_language"),
                  "composed_from": comp.get("inputs")},
      "files": per_file,
      "token_unit": unit,
      "seed": comp.get("seed"),
      "split": {"val_fraction": comp.get("val_fraction"), "val_ids_given": comp.get("val_ids_given"),
                "instructions": comp.get("instructions"),
                "dropped_not_in_every_language": comp.get("dropped_not_in_every_language")} if comp else None,
      "translation": {"model": tr["endpoint"]["model"], "base_url": tr["endpoint"]["base_url"],
                      "temperature": tr["endpoint"]["temperature"], "prompts": tr["prompts"], "checks": tr["checks"],
                      "records": tr["records"], "kept": tr.get("kept"), "rejected": tr.get("rejected"),
                      "reasons": tr.get("reasons"), "usage": tr.get("usage_total")} if tr else None,
      "cleaning": {"filters": cl["filters"], "read": cl["read"], "removed": cl["removed"], "kept": cl["kept"],
                   "pivot": cl["pivot"]} if cl else None,
      "decontamination": {k: de.get(k) for k in ("bench", "n", "fields", "questions", "files",
                                                  "contaminated_instructions", "questions_hit", "dropped")} if de else None,
      "reports": sorted(f"{r}.json" for r in reports),
  }
  files.write_json(os.path.join(corpus_dir, "card.json"), out)
  files.write_text(os.path.join(corpus_dir, "card.md"), markdown(out))
  return out


def markdown(c: dict) -> str:
  """The card as a short markdown page."""
  langs = c["languages"]
  lines = [f"# {c['title']}", "", f"Languages: {', '.join(langs)}."]
  if c["sources"]["original"]:
    lines.append(f"Source: `{c['sources']['original']}`"
                 + (f" ({c['sources']['source_language']})." if c["sources"]["source_language"] else "."))
  if c["seed"] is not None:
    split = c["split"] or {}
    lines.append(f"Seed {c['seed']}; instructions per split: {split.get('instructions')}; "
                 f"dropped (not in every language): {split.get('dropped_not_in_every_language')}.")
  lines += ["", f"## Files ({c['token_unit']})", "", "| file | records | tokens | " + " | ".join(langs) + " |",
            "|---|---:|---:|" + "---:|" * len(langs)]
  for name, f in c["files"].items():
    cells = [str(f["languages"].get(l, {}).get("records", 0)) for l in langs]
    lines.append(f"| {name} | {f['records']} | {f['tokens']} | " + " | ".join(cells) + " |")
  if c["translation"]:
    t = c["translation"]
    lines += ["", "## Translation", "", f"Model `{t['model']}` at {t['base_url']} (temperature {t['temperature']}); "
              f"checks: {', '.join(t['checks'])}; {t['records']} source records.",
              f"Kept per language: {t['kept']}; rejected: {t['rejected']}; reasons: {t['reasons']}; tokens used: {t['usage']}.",
              "", "Prompt (instruction fields; other fields differ in one sentence):", "", "```",
              t["prompts"]["instruction"], "```"]
  if c["cleaning"]:
    cl = c["cleaning"]
    removed = {f: sum(v.values()) for f, v in cl["removed"].items()}
    lines += ["", "## Cleaning", "", f"Filters: {cl['filters']}.", f"Read {cl['read']}; removed per filter {removed}; "
              f"kept {cl['kept']} (duplicates found in {cl['pivot']})."]
  if c["decontamination"]:
    d = c["decontamination"]
    per = ", ".join(f"{n}: {f['contaminated']}/{f['records']}" for n, f in d["files"].items())
    lines += ["", "## Decontamination", "", f"{d['n']}-gram overlap of the {d['fields']} turns with {d['questions']} "
              f"questions ({', '.join(d['bench'])}): {per}; {d['contaminated_instructions']} instructions, "
              f"{d['questions_hit']} questions hit; " + ("dropped." if d["dropped"] else "listed, not dropped.")]
  return "\n".join(lines) + "\n"

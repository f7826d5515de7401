"""Composing per-language files of the same instructions (matched by id) into Lima-X's
compositions, for any list of languages.

For languages (en, pl, nl, fi) with source en, the compositions are, in Lima-X's order:
  EN, PL, NL, FI                      each language alone
  PL_NL_FI                            all but the source language, parallel
  EN_PL_NL_FI                         all languages, parallel (every instruction in every language)
  PL_NL_FI_sampled, EN_PL_NL_FI_sampled
                                      one language drawn per instruction: the size of one language
For the study's five languages this is exactly Lima-X's nine (itx.data.languages.compositions).

The rule is the polyglot world's (itx/worlds/polyglot/layouts.py), so its compositions are
reproduced from its monolingual files: instructions keep the order of the first language's file;
parallel files list each instruction in every language before the next instruction; a `_sampled`
file draws languages from a balanced pool (every language about equally often) shuffled by
random.Random(f"{seed}/{split}/{name}"). The train/validation split is by instruction, so an
instruction and all its translations are on the same side. Composed records get the id
`<instruction id>_<LANG>` and `language` set.

Output folder: {train,val}_<name>_<CFG>.jsonl (name "limax" by default, the layout the Lima-X
reader and the experiments read) and composition.json; the earlier steps' reports are carried.
"""

from __future__ import annotations

import os
import random
from typing import Sequence

from itx.curate import files
from itx.data.languages import compositions, sampled_languages
from itx.curate.rows import Row, language_files, parse_languages, read_rows

SPLITS = ("train", "val")


def instruction_id(record_id: str, language: str) -> str:
  """"lima-17_PL" (a composed record of language pl) -> "lima-17"; other ids unchanged."""
  suffix = f"_{language.upper()}"
  return record_id[:-len(suffix)] if language and record_id.endswith(suffix) else record_id


def split_ids(ids: Sequence[str], *, seed: int, val_fraction: float, val_ids=None) -> dict[str, list[str]]:
  """{"train": ids, "val": ids}, each in the given order. `val_ids` (a given validation set)
  overrides `val_fraction` (the fraction drawn with the seed, at least one when > 0)."""
  if val_ids is not None:
    val = set(map(str, val_ids))
  else:
    if not 0 <= val_fraction < 1:
      raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction}")
    n_val = max(1, round(val_fraction * len(ids))) if val_fraction > 0 and len(ids) > 1 else 0
    shuffled = sorted(ids)
    random.Random(f"{seed}/split").shuffle(shuffled)
    val = set(shuffled[:n_val])
  return {"train": [i for i in ids if i not in val], "val": [i for i in ids if i in val]}


def composed_record(row: Row, iid: str, lang: str) -> dict:
  return {**row.data, "id": f"{iid}_{lang.upper()}", "language": lang}


def compose_rows(by_language: dict[str, dict[str, Row]], splits: dict[str, list[str]],
                 comps: dict[str, tuple[tuple[str, ...], bool]], *, seed: int, name: str = "limax") -> dict[str, list[dict]]:
  """{file name: records} of every composition and split, in memory (nothing written).

  Args:
    by_language: {language: {instruction id: row}}; every id of `splits` is in every language.
    splits: {"train": [ids], "val": [ids]} in output order.
    comps: as returned by `compositions`.
  """
  out = {}
  for split, ids in splits.items():
    for cfg, (langs, sampled) in comps.items():
      if sampled:
        chosen = sampled_languages(len(ids), langs, seed, split, cfg)
        rows = [composed_record(by_language[l][i], i, l) for i, l in zip(ids, chosen)]
      else:
        rows = [composed_record(by_language[l][i], i, l) for i in ids for l in langs]
      out[f"{split}_{name}_{cfg}.jsonl"] = rows
  return out


def compose(inputs: dict[str, str] | str, out_dir: str, languages: Sequence[str] | str | None = None, *,
            source: str = "en", seed: int = 0, val_fraction: float = 0.05, val_ids=None, name: str = "limax",
            missing: str = "drop", overwrite: bool = False) -> dict:
  """Writes every composition of the languages' files into `out_dir` (atomically, as a whole).

  Args:
    inputs: {language: file} or a folder of <language>.jsonl files (with `languages`).
    languages: the languages, in composition order (default: the keys of `inputs`).
    source: the language left out of the "all but the source" compositions.
    seed: the split and the `_sampled` draws.
    val_fraction, val_ids: the validation split (see `split_ids`).
    name: file names {train,val}_<name>_<CFG>.jsonl.
    missing: an instruction absent from some language is dropped everywhere ("drop", counted in
      the report) or an error ("error").
  Returns:
    the report written to composition.json.
  Raises:
    RecordError (a record without id, a duplicate id, a record of another language),
    ValueError (no instruction in every language, bad arguments), FileExistsError.
  """
  if missing not in ("drop", "error"):
    raise ValueError(f"missing must be 'drop' or 'error', not {missing!r}")
  if isinstance(inputs, str):
    if languages is None:
      raise ValueError("a folder of per-language files needs the list of languages")
    inputs = language_files(inputs, parse_languages(languages))
  inputs = {l: inputs[k] for k in inputs for l in parse_languages([k])}
  langs = parse_languages(languages) if languages is not None else list(inputs)
  absent = [l for l in langs if l not in inputs]
  if absent:
    raise ValueError(f"no input file for languages {absent}")
  source = parse_languages([source])[0]

  by_language = {l: {r.id: r for r in read_rows(inputs[l], require_id=True, language=l)} for l in langs}
  order = [i for i in by_language[langs[0]] if all(i in by_language[l] for l in langs)]
  common = set(order)
  dropped = {l: sorted(set(by_language[l]) - common) for l in langs}
  if missing == "error" and any(dropped.values()):
    l = next(l for l in langs if dropped[l])
    raise ValueError(f"{inputs[l]}: {len(dropped[l])} instructions are not in every language "
                     f"(first ids: {dropped[l][:5]})")
  if not order:
    raise ValueError(f"no instruction id is in every language's file ({', '.join(inputs[l] for l in langs)})")
  splits = split_ids(order, seed=seed, val_fraction=val_fraction, val_ids=val_ids)
  comps = compositions(langs, source)
  out = compose_rows(by_language, splits, comps, seed=seed, name=name)

  report = {"inputs": {l: os.path.abspath(inputs[l]) for l in langs}, "languages": langs, "source": source,
            "seed": seed, "val_fraction": None if val_ids is not None else val_fraction,
            "val_ids_given": val_ids is not None, "name": name,
            "instructions": {s: len(ids) for s, ids in splits.items()},
            "dropped_not_in_every_language": {l: len(d) for l, d in dropped.items()},
            "compositions": {cfg: {"languages": list(ls), "sampled": sampled} for cfg, (ls, sampled) in comps.items()},
            "files": {f: {"records": len(rows), "languages": _count_languages(rows)} for f, rows in out.items()}}
  with files.output_dir(out_dir, overwrite=overwrite) as tmp:
    for f, rows in out.items():
      files.write_jsonl(os.path.join(tmp, f), rows)
    files.carry_reports(sorted({os.path.dirname(os.path.abspath(p)) for p in inputs.values()}), tmp,
                        skip=("composition.json",))
    files.write_json(os.path.join(tmp, "composition.json"), report)
  return report


def _count_languages(rows: list[dict]) -> dict[str, int]:
  counts: dict[str, int] = {}
  for r in rows:
    counts[r["language"]] = counts.get(r["language"], 0) + 1
  return counts

"""`python -m itx.curate VERB --flag=...`: create an instruction corpus step by step.

  translate      --input=FILE --source_language=en --languages=pl,nl,fi --out=DIR --base_url=URL --model=NAME
  clean          --input=DIR --languages=en,pl,nl,fi --out=DIR   (or --input=FILE)
  compose        --input=DIR --languages=en,pl,nl,fi --out=DIR [--seed=0 --val_fraction=0.05]
  decontaminate  --input=DIR --bench=DIR[,DIR] [--ngram=8] [--drop --out=DIR]
  card           --input=DIR [--tokenizer=builtin:toy | --tokenizer=]

A bad record, file, language or endpoint ends with a one-line error (exit 1); an incomplete
translation (failed requests) exits 1 after caching what finished: rerun the same command.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

from itx.cli import parse_flags

VERBS = ("translate", "clean", "compose", "decontaminate", "card")

_INPUT = flags.DEFINE_string("input", None, "Input file, or folder of <language>.jsonl files / a corpus folder.")
_OUT = flags.DEFINE_string("out", None, "Output folder.")
_LANGUAGES = flags.DEFINE_string("languages", "", "Comma-separated language codes (translate: the targets).")
_SOURCE = flags.DEFINE_string("source_language", "en", "The original language of the instructions.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing output folder.")
# translate
_BASE_URL = flags.DEFINE_string("base_url", "https://api.openai.com/v1", "OpenAI-compatible endpoint.")
_MODEL = flags.DEFINE_string("model", "gpt-4o", "Translation model name.")
_API_KEY_ENV = flags.DEFINE_string("api_key_env", "OPENAI_API_KEY", "Environment variable holding the API key.")
_WORKERS = flags.DEFINE_integer("workers", 4, "Requests in flight at once.")
_TIMEOUT = flags.DEFINE_float("timeout", 120.0, "Seconds per request.")
_MAX_RETRIES = flags.DEFINE_integer("max_retries", 4, "Retries (with back-off) on 429, 5xx and connection errors.")
_TEMPERATURE = flags.DEFINE_float("temperature", 0.0, "Sampling temperature of the translation model.")
_MAX_TOKENS = flags.DEFINE_integer("max_tokens", 4096, "Longest translation (a longer one is rejected as truncated).")
_PROMPTS = flags.DEFINE_string("prompts", "", "JSON file {field kind: system prompt template} overriding the defaults.")
_CHECKS = flags.DEFINE_list("checks", ["language", "code", "placeholders", "numbers"], "Checks on every translation.")
_CANDIDATES = flags.DEFINE_list("candidates", [], "Languages the identifier chooses among (default: source, targets, study's five).")
_CACHE = flags.DEFINE_string("cache", "", "Translation cache file (default: OUT/cache.jsonl).")
_ALLOW_FAILURES = flags.DEFINE_bool("allow_failures", False, "Reject records whose requests failed instead of stopping.")
# clean
_PIVOT = flags.DEFINE_string("pivot", "", "Language whose texts are compared for duplicates (default en, else the first).")
_DEDUP_ON = flags.DEFINE_enum("dedup_on", "user", ["user", "all"], "Duplicates by the user turns or the whole record.")
_NEAR = flags.DEFINE_float("near_threshold", 0.8, "MinHash Jaccard threshold for near duplicates (1: off).")
_NUM_PERM = flags.DEFINE_integer("num_perm", 128, "MinHash permutations.")
_MIN_RESPONSE = flags.DEFINE_integer("min_response_chars", 1, "Shortest acceptable assistant turn.")
_MAX_CHARS = flags.DEFINE_integer("max_chars", 0, "Longest acceptable record in characters (0: no limit).")
_SKIP_INVALID = flags.DEFINE_bool("skip_invalid", False, "Count and drop records that do not validate.")
# compose
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the split and the _sampled draws.")
_VAL_FRACTION = flags.DEFINE_float("val_fraction", 0.05, "Fraction of instructions in the validation split.")
_VAL_IDS = flags.DEFINE_string("val_ids", "", "File with one validation instruction id per line (overrides the fraction).")
_NAME = flags.DEFINE_string("name", "limax", "File names {train,val}_<name>_<CFG>.jsonl.")
_MISSING = flags.DEFINE_enum("missing", "drop", ["drop", "error"], "An instruction missing in some language.")
# decontaminate
_BENCH = flags.DEFINE_list("bench", [], "Evaluation folders in MT-Bench-X's layout (builtin:... allowed).")
_NGRAM = flags.DEFINE_integer("ngram", 8, "n-gram length in words.")
_FIELDS = flags.DEFINE_enum("fields", "user", ["user", "all"], "Training turns compared: instructions or all.")
_BENCH_LANGUAGES = flags.DEFINE_list("bench_languages", [], "Only these question languages.")
_CATEGORIES = flags.DEFINE_list("categories", [], "Only these question categories.")
_DROP = flags.DEFINE_bool("drop", False, "Write the corpus without the contaminated instructions to --out.")
_REPORT = flags.DEFINE_string("report", "", "Report path (default: INPUT/decontamination.json for a folder).")
# card
_TOKENIZER = flags.DEFINE_string("tokenizer", "builtin:toy", "Tokenizer for token counts ('' : whitespace words).")
_TITLE = flags.DEFINE_string("title", "", "Card title (default: the folder's name).")


def _need(*fs) -> None:
  missing = [f"--{f.name}" for f in fs if not f.value]
  if missing:
    raise app.UsageError(f"this verb needs {', '.join(missing)}")




def run(verb: str) -> dict:
  """Runs one verb from the flags; returns its report."""
  from itx.curate import card, clean, compose, decontaminate, translate
  from itx.curate.endpoint import EndpointConfig
  from itx.worlds import resolve_path
  langs = _LANGUAGES.value or None
  if verb == "translate":
    _need(_INPUT, _OUT, _LANGUAGES)
    prompts = None
    if _PROMPTS.value:
      with open(_PROMPTS.value, encoding="utf-8") as f:
        prompts = json.load(f)
    endpoint = EndpointConfig(base_url=_BASE_URL.value, model=_MODEL.value, api_key_env=_API_KEY_ENV.value,
                              timeout=_TIMEOUT.value, max_retries=_MAX_RETRIES.value,
                              temperature=_TEMPERATURE.value, max_tokens=_MAX_TOKENS.value)
    return translate.translate(_INPUT.value, _OUT.value, langs, source_language=_SOURCE.value, endpoint=endpoint,
                               workers=_WORKERS.value, prompts=prompts, checks=_CHECKS.value,
                               candidates=_CANDIDATES.value or None, cache_path=_CACHE.value or None,
                               allow_failures=_ALLOW_FAILURES.value)
  if verb == "clean":
    _need(_INPUT, _OUT)
    return clean.clean(_INPUT.value, _OUT.value, langs, pivot=_PIVOT.value or None, dedup_on=_DEDUP_ON.value,
                       near_threshold=_NEAR.value, num_perm=_NUM_PERM.value,
                       min_response_chars=_MIN_RESPONSE.value, max_chars=_MAX_CHARS.value,
                       skip_invalid=_SKIP_INVALID.value, overwrite=_OVERWRITE.value)
  if verb == "compose":
    _need(_INPUT, _OUT, _LANGUAGES)
    val_ids = None
    if _VAL_IDS.value:
      with open(_VAL_IDS.value, encoding="utf-8") as f:
        val_ids = [l.strip() for l in f if l.strip()]
    return compose.compose(_INPUT.value, _OUT.value, langs, source=_SOURCE.value, seed=_SEED.value,
                           val_fraction=_VAL_FRACTION.value, val_ids=val_ids, name=_NAME.value,
                           missing=_MISSING.value, overwrite=_OVERWRITE.value)
  if verb == "decontaminate":
    _need(_INPUT, _BENCH)
    if _DROP.value:
      _need(_OUT)
    report = _REPORT.value or (os.path.join(_INPUT.value, "decontamination.json") if os.path.isdir(_INPUT.value)
                               else None)
    if not report and not _DROP.value:
      raise app.UsageError("decontaminating a file needs --report=PATH (or --drop --out=DIR)")
    return decontaminate.decontaminate(_INPUT.value, [resolve_path(b) for b in _BENCH.value], n=_NGRAM.value,
                                       fields=_FIELDS.value, bench_languages=_BENCH_LANGUAGES.value or None,
                                       categories=_CATEGORIES.value or None, report_path=report,
                                       drop_out=_OUT.value if _DROP.value else None, overwrite=_OVERWRITE.value)
  if verb == "card":
    _need(_INPUT)
    return card.card(_INPUT.value, tokenizer=_TOKENIZER.value or None, title=_TITLE.value or None)
  raise app.UsageError(f"unknown verb {verb!r} (expected one of {', '.join(VERBS)})")


def _summary(verb: str, r: dict) -> str:
  if verb == "translate":
    return (f"kept {r['kept']}, rejected {r['rejected']} (reasons {r['reasons']}); requests: {r['requests']}; "
            f"tokens: {r['usage_total']}")
  if verb == "clean":
    return f"read {r['read']}, kept {r['kept']}; removed: " + json.dumps(
        {f: v for f, v in r["removed"].items() if any(v.values())})
  if verb == "compose":
    return f"instructions {r['instructions']}; " + ", ".join(f"{f}: {v['records']}" for f, v in r["files"].items())
  if verb == "decontaminate":
    from itx.curate.decontaminate import summary_line
    return summary_line(r)
  return f"card.json, card.md: {len(r['files'])} files, languages {r['languages']}"


def main(argv) -> None:
  if len(argv) != 2:
    raise app.UsageError(f"expected one verb ({', '.join(VERBS)}), got {argv[1:]}")
  verb = argv[1]
  from itx.curate.endpoint import EndpointError
  from itx.curate.translate import TranslationIncomplete
  from itx.data.records import RecordError
  try:
    report = run(verb)
  except (RecordError, ValueError, FileNotFoundError, FileExistsError, EndpointError, TranslationIncomplete) as e:
    sys.stderr.write(f"itx curate {verb}: error: {e}\n")
    sys.exit(1)
  print(_summary(verb, report))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

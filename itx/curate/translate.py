"""Translating an instruction file into target languages through an OpenAI-compatible endpoint.

Every text field of every record (alpaca instruction/input/output, or each chat message) is sent
once per target language with a prompt for its kind of field; identical texts are sent once.
Answers are cached (translation_cache.py), so an interrupted run resumes and a rerun costs nothing.
Every answer is checked (translation_checks.py): a record is kept in a language only when all of
its fields pass; the others are listed in translation_rejects.jsonl with the reason, never kept.

Output folder:
  <source>.jsonl, <target>.jsonl ...   the records (same format and ids as the input, `language` set)
  translation.json                     model, prompts, checks, counts, requests, token usage
  translation_rejects.jsonl            {id, language, field, reason, source, output} per failed field
  cache.jsonl                          the translation cache (unless cache_path says elsewhere)
"""

from __future__ import annotations

import collections
import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Sequence

from itx.curate import files, translation_checks
from itx.curate.endpoint import ChatEndpoint, EndpointConfig
from itx.curate.rows import parse_languages, read_rows, text_fields, with_texts
from itx.curate.translation_cache import TranslationCache, cache_key
from itx.data.languages import STUDY_CODES
from itx.data.records import RecordError
from itx.eval import language_id

SYSTEM_PROMPT = (
    "You are a professional translator. Translate the text the user sends from {source} into {target}. "
    "{note}\n"
    "Rules:\n"
    "- Reply with the translation only: no preamble, no explanation, no quotation marks around it.\n"
    "- Keep the formatting exactly: markdown (headings, lists, tables, emphasis), line breaks, blank lines.\n"
    "- Copy code blocks (``` ... ```) and inline code (`...`) unchanged.\n"
    "- Copy placeholders unchanged: {name}, {{name}}, %s, ${name}, URLs and e-mail addresses.\n"
    "- Keep every number written in digits as it is; do not convert units or currencies.")
NOTES = {
    "instruction": "The text is an instruction or question written to an AI assistant: translate it; do not "
                   "answer it or carry it out.",
    "input": "The text is the input that goes with an instruction: translate it; do not act on it.",
    "output": "The text is an AI assistant's answer: translate all of it; do not shorten, extend or correct it.",
    "system": "The text is the system message of a chat with an AI assistant: translate it.",
}
NOTES["user"], NOTES["assistant"] = NOTES["instruction"], NOTES["output"]


class TranslationIncomplete(RuntimeError):
  """Some requests failed; finished translations are cached and a rerun continues."""


def language_name(code: str) -> str:
  """"pl" -> "Polish" (CLDR names via babel); the code itself when CLDR has no name for it."""
  from babel import Locale
  return Locale("en").languages.get(code.replace("-", "_")) or code


def system_prompt(kind: str, source: str, target: str, prompts: dict | None = None) -> str:
  """The system message for translating a field of `kind` (see NOTES) from `source` into `target`.

  `prompts` overrides per kind: {kind: template} with {source}, {target} (language names) and
  {note} (the kind's note) filled in by plain substitution (other braces are left as they are).
  """
  template = (prompts or {}).get(kind, SYSTEM_PROMPT)
  return (template.replace("{note}", NOTES.get(kind, NOTES["instruction"]))
          .replace("{source}", language_name(source)).replace("{target}", language_name(target)))


def _assign_ids(rows) -> None:
  with_id = [r for r in rows if r.id is not None]
  if with_id and len(with_id) < len(rows):
    r = next(r for r in rows if r.id is None)
    raise RecordError(r.path, r.line, "id", "missing (some records have ids: give every record one, or none)")
  seen = {}
  for i, r in enumerate(rows, start=1):
    if not with_id:  # no ids at all: the record's position, so every language shares it
      r.data = {"id": f"{i:06d}", **r.data}
    if r.id in seen:
      raise RecordError(r.path, r.line, "id", f"duplicate id {r.id!r} (first at {seen[r.id]})")
    seen[r.id] = r.origin


def translate(input_path: str, out_dir: str, languages: Sequence[str] | str, *, source_language: str = "en",
              endpoint: EndpointConfig | None = None, workers: int = 4, prompts: dict | None = None,
              checks: Sequence[str] = translation_checks.CHECKS, candidates: Sequence[str] | None = None,
              cache_path: str | None = None, allow_failures: bool = False,
              on_result: Callable[[int], None] | None = None, progress: bool = True) -> dict:
  """Translates every record of `input_path` into each of `languages`.

  Args:
    input_path: instruction records (alpaca or chat; JSONL/JSON/Parquet, file, folder or glob).
      Ids: every record has a unique `id`, or none has (then ids are the record's position).
    out_dir: the output folder (see the module docstring); rerunning into it resumes.
    languages: target language codes ("pl,nl,fi").
    source_language: the input's language.
    endpoint: model and endpoint (timeouts and retries included).
    workers: requests in flight at once.
    prompts: per-kind system prompt templates overriding SYSTEM_PROMPT (see `system_prompt`).
    checks: which of translation_checks.CHECKS to apply.
    candidates: languages the identifier chooses among (default: source, targets and the study's
      five): a translation that stayed in the source or drifted to a neighbour is caught, while a
      short text is not forced into one of 140 languages.
    cache_path: the translation cache (default out_dir/cache.jsonl; one cache may serve many runs).
    allow_failures: reject records whose requests failed (as with a wrong language) instead of
      stopping with TranslationIncomplete before any record file is written.
    on_result: called with the number of finished requests after each one is cached.
  Returns:
    the report written to translation.json.
  Raises:
    ValueError (a language the identifier cannot check), RecordError (bad input),
    TranslationIncomplete (failed requests; finished ones are cached; rerun to continue).
  """
  endpoint = endpoint or EndpointConfig()
  source = parse_languages([source_language])[0]
  targets = parse_languages(languages)
  if source in targets:
    raise ValueError(f"the source language {source!r} is also a target")
  candidates = parse_languages(candidates) if candidates else list(dict.fromkeys([source, *targets, *STUDY_CODES]))
  missing = [l for l in (source, *targets) if l not in candidates]
  if missing:
    raise ValueError(f"candidates {candidates} must include the source and every target (missing {missing})")
  if "language" in checks and (bad := translation_checks.unidentifiable(candidates)):
    raise ValueError(f"itx's language identifier cannot identify {bad}, so translations into them cannot be "
                     f"checked; it knows: {', '.join(sorted(language_id.supported_languages()))}")

  rows = read_rows(input_path, language=source)
  if not rows:
    raise ValueError(f"no records in {input_path}")
  _assign_ids(rows)

  # Units of work: (row, target, field); requests: their distinct cache keys.
  requests, units = {}, []
  for i, row in enumerate(rows):
    for target in targets:
      for field, kind, text in text_fields(row.data):
        if not text.strip():
          continue  # an empty alpaca input stays empty
        prompt = system_prompt(kind, source, target, prompts)
        key = cache_key(text, target, endpoint.model, prompt)
        units.append((i, target, field, text, key))
        requests.setdefault(key, [{"role": "system", "content": prompt}, {"role": "user", "content": text}])

  os.makedirs(out_dir, exist_ok=True)
  cache = TranslationCache(cache_path or os.path.join(out_dir, "cache.jsonl"))
  try:
    return _run(rows, units, requests, cache, input_path=input_path, out_dir=out_dir, source=source,
                targets=targets, endpoint=endpoint, workers=workers, prompts=prompts, checks=checks,
                candidates=candidates, allow_failures=allow_failures, on_result=on_result, progress=progress)
  finally:
    cache.close()


def _run(rows, units, requests, cache, *, input_path, out_dir, source, targets, endpoint, workers, prompts,
         checks, candidates, allow_failures, on_result, progress) -> dict:
  todo = [k for k in requests if k not in cache]
  errors, usage_run = _request_all(todo, requests, cache, ChatEndpoint(endpoint) if todo else None,
                                   workers=workers, on_result=on_result, progress=progress, model=endpoint.model)
  report = {"source": os.path.abspath(input_path), "source_language": source, "languages": targets,
            "endpoint": endpoint.public(), "prompts": {k: system_prompt(k, "{source}", "{target}", prompts)
                                                       for k in ("instruction", "input", "output", "system")},
            "checks": list(checks), "candidates": candidates, "records": len(rows), "cache": cache.path,
            "requests": {"distinct": len(requests), "cached_before": len(requests) - len(todo),
                         "sent": len(todo), "failed": len(errors)},
            "usage_this_run": usage_run}
  if errors and not allow_failures:
    report["complete"] = False
    report["errors"] = [{"key": k, "error": e} for k, e in list(errors.items())[:20]]
    files.write_json(os.path.join(out_dir, "translation.json"), report)
    first = next(iter(errors.values()))
    raise TranslationIncomplete(
        f"{len(errors)} of {len(todo)} translation requests failed (first: {first}); the "
        f"{len(todo) - len(errors)} finished ones are cached in {cache.path}: rerun the same command to continue "
        "(or allow failures to reject those records)")

  kept, rejects = _assemble(rows, units, targets, candidates, checks, errors, cache)
  cached = [cache.get(k) for k in requests if k in cache]
  report.update(complete=True, kept={t: len(kept[t]) for t in targets},
                rejected={t: len({r["id"] for r in rejects if r["language"] == t}) for t in targets},
                reasons={t: dict(collections.Counter(r["reason"].split(":")[0] for r in rejects if r["language"] == t))
                         for t in targets},
                # what this corpus's translations cost over every run, from the cache
                usage_total={"prompt_tokens": sum(e.get("prompt_tokens", 0) for e in cached),
                             "completion_tokens": sum(e.get("completion_tokens", 0) for e in cached)})
  files.write_jsonl(os.path.join(out_dir, f"{source}.jsonl"), ({**r.data, "language": source} for r in rows))
  for t in targets:
    files.write_jsonl(os.path.join(out_dir, f"{t}.jsonl"), kept[t])
  files.write_jsonl(os.path.join(out_dir, "translation_rejects.jsonl"), rejects)
  files.write_json(os.path.join(out_dir, "translation.json"), report)
  return report


def _request_all(todo, requests, cache, client, *, workers, on_result, progress, model):
  """Sends the uncached requests, at most `workers` in flight, caching each answer in this thread
  as it arrives. Returns ({key: error message}, this run's token usage)."""
  errors, usage = {}, {"prompt_tokens": 0, "completion_tokens": 0}
  if not todo:
    return errors, usage
  from tqdm import tqdm
  bar = tqdm(total=len(todo), desc=f"translating ({model})", disable=not progress)
  done = 0

  def collect(finished):
    nonlocal done
    for fut in finished:
      key = futures.pop(fut)
      try:
        c = fut.result()
      except Exception as e:  # noqa: BLE001  (one failed request must not stop the others)
        errors[key] = f"{type(e).__name__}: {e}"
      else:
        cache.add(key, {"output": c.text, "finish_reason": c.finish_reason, "model": model,
                        "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens})
        usage["prompt_tokens"] += c.prompt_tokens
        usage["completion_tokens"] += c.completion_tokens
      done += 1
      bar.update(1)
      if on_result:
        on_result(done)

  futures = {}
  pool = ThreadPoolExecutor(max_workers=max(1, workers))
  try:
    for key in todo:  # submitted lazily: an interrupt leaves little in flight
      futures[pool.submit(client.complete, requests[key])] = key
      if len(futures) >= workers:
        finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
        collect(finished)
    while futures:
      finished, _ = wait(list(futures), return_when=FIRST_COMPLETED)
      collect(finished)
  finally:
    pool.shutdown(wait=True, cancel_futures=True)
    bar.close()
  return errors, usage


def _assemble(rows, units, targets, candidates, checks, errors, cache):
  """Per target: the records whose every field passed; and one reject line per failed field."""
  by_row = collections.defaultdict(list)
  for i, target, field, text, key in units:
    by_row[(i, target)].append((field, text, key))
  source_lang = {}
  kept, rejects = {t: [] for t in targets}, []
  for t in targets:
    for i, row in enumerate(rows):
      texts, failed = {}, []
      for field, text, key in by_row[(i, t)]:
        if key in errors:
          failed.append((field, text, "", f"endpoint_error:{errors[key]}"))
          continue
        entry = cache.get(key)
        if text not in source_lang:
          source_lang[text] = language_id.identify(text, candidates)
        reason = translation_checks.check(text, entry["output"], t, candidates, finish_reason=entry["finish_reason"],
                                          checks=checks, source_language=source_lang[text])
        if reason:
          failed.append((field, text, entry["output"], reason))
        texts[field] = entry["output"]
      if failed:
        rejects += [{"id": row.id, "language": t, "field": f, "reason": reason, "source": text, "output": out}
                    for f, text, out, reason in failed]
      else:
        kept[t].append({**with_texts(row.data, texts), "language": t})
  return kept, rejects

"""What a translation must preserve, checked on every output before it is kept: the target
language (itx's offline identifier), fenced code blocks verbatim, placeholders, and the numbers
written in digits. A failed check names its reason; nothing failing is kept."""

from __future__ import annotations

import collections
import re
from typing import Sequence

from itx.eval import language_id

CHECKS = ("language", "code", "placeholders", "numbers")
_FENCED = re.compile(r"```.*?```", re.S)
_PLACEHOLDER = re.compile(r"\{\{[^{}]+\}\}|\{[A-Za-z_][\w.]*\}|%\(\w+\)[sdif]|%[sdif]|\$\{\w+\}|https?://\S+")
_DIGITS = re.compile(r"\d+")


def unidentifiable(languages: Sequence[str]) -> list[str]:
  """The codes itx's language identifier does not know (translations into them cannot be checked)."""
  known = language_id.supported_languages()
  return [l for l in languages if l.lower() not in known]


def _code_blocks(text: str) -> list[str]:
  return ["\n".join(l.rstrip() for l in b.strip().splitlines()) for b in _FENCED.findall(text)]


def _prose(text: str) -> str:
  return _FENCED.sub(" ", text)


def check(source: str, output: str, target: str, candidates: Sequence[str], *, finish_reason: str = "stop",
          checks: Sequence[str] = CHECKS, source_language: str | None = None) -> str | None:
  """None when `output` is an acceptable translation of `source` into `target`, else the reason.

  Reasons: "empty", "truncated" (the endpoint stopped at max_tokens), "wrong_language:<code>",
  "no_language" (the source has an identifiable language, the output none), "code_changed",
  "placeholders_changed", "numbers_changed". The language check is skipped when the source itself
  is too short or ambiguous to identify (a bare name or number): a verdict on its translation would
  be noise. `source_language` is that verdict when the caller already has it.
  """
  if not output.strip():
    return "empty"
  if finish_reason == "length":
    return "truncated"
  unknown = set(checks) - set(CHECKS)
  if unknown:
    raise ValueError(f"unknown translation checks {sorted(unknown)} (known: {CHECKS})")
  if "language" in checks:
    src = source_language if source_language is not None else language_id.identify(source, candidates)
    if src != language_id.UNDETERMINED:
      got = language_id.identify(output, candidates)
      if got == language_id.UNDETERMINED:
        return "no_language"
      if got.lower() != target.lower():
        return f"wrong_language:{got.lower()}"
  if "code" in checks and _code_blocks(source) != _code_blocks(output):
    return "code_changed"
  if "placeholders" in checks and (collections.Counter(_PLACEHOLDER.findall(_prose(source)))
                                   != collections.Counter(_PLACEHOLDER.findall(_prose(output)))):
    return "placeholders_changed"
  if "numbers" in checks and (collections.Counter(_DIGITS.findall(_prose(source)))
                              != collections.Counter(_DIGITS.findall(_prose(output)))):
    return "numbers_changed"
  return None

"""Response-language fidelity: which of a few candidate languages an answer is written in.

Identification is py3langid (langid.py's naive Bayes over byte n-grams, offline, model shipped in
the wheel) restricted to the candidate languages, so the answer is always one of them or
UNDETERMINED.

Short and ambiguous texts. Before classification, fenced code blocks (```...```) and inline code
(`...`) are removed: code is not prose in any language. Then:
  - fewer than `min_letters` letters (Unicode category L*) left -> UNDETERMINED ("" , "42",
    "x = 3", "Ok"): there is too little text to tell, and a guess would be noise;
  - otherwise the most probable candidate, unless its probability (normalised over the candidates
    only) is below `min_confidence` -> UNDETERMINED. With 5 candidates a uniform guess is 0.2; a
    clear sentence scores above 0.9, a one-word greeting shared by several languages ("Hallo")
    scores about 0.25.
`fidelity` decides what UNDETERMINED answers count as (see there).
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from typing import Sequence

UNDETERMINED = "und"
MIN_LETTERS = 4
MIN_CONFIDENCE = 0.5
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.S)

_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _identifier(languages: tuple[str, ...]):
  """A py3langid identifier restricted to `languages` (lowercase ISO 639-1), with probabilities
  normalised over them. Cached per candidate set: loading the model takes about a second."""
  from py3langid.langid import MODEL_FILE, LanguageIdentifier
  ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
  ident.set_languages(list(languages))
  return ident


def _prose(text: str) -> str:
  return _CODE.sub(" ", text)


def _letters(text: str) -> int:
  return sum(1 for c in text if unicodedata.category(c).startswith("L"))


def rank(text: str, candidates: Sequence[str]) -> list[tuple[str, float]]:
  """[(candidate, probability)] best first, probabilities over `candidates` only (sum 1).
  Candidates keep the spelling given ("DE" or "de")."""
  by_code = {c.lower(): c for c in candidates}
  with _lock:  # the identifier is not documented as thread-safe
    ranked = _identifier(tuple(sorted(by_code))).rank(_prose(text))
  return [(by_code[lang], float(p)) for lang, p in ranked]


def identify(text: str, candidates: Sequence[str], *, min_letters: int = MIN_LETTERS,
             min_confidence: float = MIN_CONFIDENCE) -> str:
  """The candidate language `text` is written in, or UNDETERMINED (see the module docstring).

  Args:
    text: an answer.
    candidates: language codes, any case ("EN", "de"); the result has the same spelling.
    min_letters: below this many letters outside code, the text is UNDETERMINED.
    min_confidence: below this probability of the best candidate, the text is UNDETERMINED.
  """
  if _letters(_prose(text)) < min_letters:
    return UNDETERMINED
  lang, p = rank(text, candidates)[0]
  return lang if p >= min_confidence else UNDETERMINED


def fidelity_counts(answers: Sequence[str], question_langs: Sequence[str],
                    candidates: Sequence[str] | None = None, **identify_kw) -> dict[str, int]:
  """Counts behind `fidelity`: {"n", "match", "other", "undetermined"}.

  candidates default to the distinct question languages (at least two are needed for a choice;
  with one, pass the full candidate set explicitly).
  """
  if len(answers) != len(question_langs):
    raise ValueError(f"{len(answers)} answers but {len(question_langs)} question languages")
  candidates = list(candidates or dict.fromkeys(question_langs))
  norm = {c.lower(): c for c in candidates}
  counts = {"n": len(answers), "match": 0, "other": 0, "undetermined": 0}
  for text, q_lang in zip(answers, question_langs):
    if q_lang.lower() not in norm:
      raise ValueError(f"question language {q_lang!r} is not among the candidates {candidates}")
    got = identify(text, candidates, **identify_kw)
    if got == UNDETERMINED:
      counts["undetermined"] += 1
    elif got.lower() == q_lang.lower():
      counts["match"] += 1
    else:
      counts["other"] += 1
  return counts


def fidelity(answers: Sequence[str], question_langs: Sequence[str],
             candidates: Sequence[str] | None = None, *, undetermined: str = "exclude",
             **identify_kw) -> float:
  """Fraction of answers written in their question's language.

  Args:
    answers: answer texts, one per question.
    question_langs: the language of each question, same length.
    candidates: languages to choose among (default: the distinct question languages).
    undetermined: "exclude" drops UNDETERMINED answers from the denominator (a bare number or a
      code-only answer says nothing about the language); "miss" counts them as wrong (strict: an
      empty answer is not in the question's language).
  Returns:
    match / (n - undetermined) or match / n; NaN when the denominator is 0.
  """
  c = fidelity_counts(answers, question_langs, candidates, **identify_kw)
  if undetermined == "exclude":
    denom = c["n"] - c["undetermined"]
  elif undetermined == "miss":
    denom = c["n"]
  else:
    raise ValueError(f"undetermined must be 'exclude' or 'miss', not {undetermined!r}")
  return c["match"] / denom if denom else float("nan")


@functools.lru_cache(maxsize=1)
def supported_languages() -> frozenset[str]:
  """The lowercase codes the identifier knows (py3langid's model: ISO 639-1 and a few 639-3);
  `identify` with any other candidate raises ValueError."""
  from py3langid.langid import MODEL_FILE, LanguageIdentifier
  return frozenset(LanguageIdentifier.from_model_file(MODEL_FILE).nb_classes)

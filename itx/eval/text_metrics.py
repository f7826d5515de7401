"""Per-answer automatic metrics (normalised exact match, chrF, ROUGE-L F1) and their aggregation
per language, per task family and as a language x family table."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import regex
import sacrebleu

# End-of-sequence markers that decoders leave at the end of an answer when the stop token is not
# stripped (Llama/Mistral, GPT-2, ChatML, Llama-3, Gemma, generic).
EOS_MARKERS = ("</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<eos>",
               "<end_of_turn>", "[EOS]", "<|end_of_text|>")
_TRAILING_EOS = re.compile(r"(?:\s*(?:" + "|".join(re.escape(m) for m in EOS_MARKERS) + r"))+\s*$")
# A word: a letter or digit followed by letters, combining marks and digits. Apostrophes and
# hyphens split words ("l'été" -> "l", "été"), so elision does not glue words together.
_WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}]*")

METRICS = ("exact_match", "chrf", "rouge_l")


def strip_eos(text: str) -> str:
  """`text` without trailing EOS-like markers (any number of them, with surrounding whitespace)."""
  return _TRAILING_EOS.sub("", text)


def normalize(text: str) -> str:
  """NFKC, trailing EOS markers removed, casefolded, punctuation (Unicode category P*) deleted
  (as SQuAD's normalisation: "U.S.A." == "USA"), whitespace runs collapsed to one space, stripped."""
  text = strip_eos(unicodedata.normalize("NFKC", text)).casefold()
  text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
  return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
  """1.0 if both strings are equal after `normalize`, else 0.0."""
  return float(normalize(prediction) == normalize(reference))


def chrf(prediction: str, reference: str) -> float:
  """Sentence-level chrF (sacrebleu defaults: character 6-grams, beta 2), 0..100; trailing EOS
  markers are removed first so a kept stop token does not count as an error."""
  return float(sacrebleu.sentence_chrf(strip_eos(prediction), [strip_eos(reference)]).score)


def tokenize(text: str) -> list[str]:
  """Unicode words of NFKC-normalised, casefolded `text` ("¿Qué" -> ["qué"]; "Größe" ->
  ["grösse"], casefold maps ß to ss so "GRÖSSE" matches)."""
  return _WORD.findall(strip_eos(unicodedata.normalize("NFKC", text)).casefold())


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
  """Length of the longest common subsequence, O(len(a) * len(b)) time, O(len(b)) memory."""
  if len(a) < len(b):
    a, b = b, a
  prev = [0] * (len(b) + 1)
  for x in a:
    cur = [0]
    for j, y in enumerate(b):
      cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
    prev = cur
  return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
  """ROUGE-L F1 (beta 1) over `tokenize` words, 0..1. An empty side gives 0.0 (as rouge-score)."""
  p, r = tokenize(prediction), tokenize(reference)
  if not p or not r:
    return 0.0
  lcs = _lcs_length(p, r)
  if lcs == 0:
    return 0.0
  precision, recall = lcs / len(p), lcs / len(r)
  return 2 * precision * recall / (precision + recall)


def score_answer(prediction: str, reference: str) -> dict[str, float]:
  """All per-answer metrics: {"exact_match": 0/1, "chrf": 0..100, "rouge_l": 0..1}."""
  return {"exact_match": exact_match(prediction, reference), "chrf": chrf(prediction, reference),
          "rouge_l": rouge_l(prediction, reference)}


def _metric_names(rows: Sequence[Mapping], metrics: Iterable[str] | None) -> list[str]:
  if metrics is not None:
    return list(metrics)
  return [m for m in METRICS if any(m in r for r in rows)]


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def means_by(rows: Sequence[Mapping], keys: Sequence[str],
             metrics: Iterable[str] | None = None) -> dict[tuple, dict[str, float]]:
  """Mean of each metric per group of `keys` values.

  Args:
    rows: per-answer dicts, e.g. {"language": "DE", "family": "qa", "chrf": 51.2, ...}.
    keys: the fields that define a group, e.g. ("language",) or ("language", "family").
    metrics: metric fields to average (default: those of METRICS present in the rows). Rows
      without a metric, or with a NaN, do not count towards that metric's mean.
  Returns:
    {group tuple: {metric: mean, "n": rows in the group}}, groups in first-seen order.
  """
  metrics = _metric_names(rows, metrics)
  groups: dict[tuple, list[Mapping]] = defaultdict(list)
  for r in rows:
    groups[tuple(r[k] for k in keys)].append(r)
  out = {}
  for g, members in groups.items():
    stats: dict[str, float] = {"n": len(members)}
    for m in metrics:
      vals = [float(r[m]) for r in members if _is_number(r.get(m))]
      stats[m] = sum(vals) / len(vals) if vals else float("nan")
    out[g] = stats
  return out


def means_by_language(rows, metrics=None, language_key="language"):
  """{language: {metric: mean, "n": count}}."""
  return {g[0]: v for g, v in means_by(rows, (language_key,), metrics).items()}


def means_by_family(rows, metrics=None, family_key="family"):
  """{family: {metric: mean, "n": count}}; use family_key="category" for MT-Bench-like rows."""
  return {g[0]: v for g, v in means_by(rows, (family_key,), metrics).items()}


def language_family_table(rows, metric: str, language_key="language",
                          family_key="family") -> dict[str, dict[str, float]]:
  """{language: {family: mean of `metric`}}; cells without rows are absent."""
  table: dict[str, dict[str, float]] = defaultdict(dict)
  for (lang, fam), v in means_by(rows, (language_key, family_key), [metric]).items():
    table[lang][fam] = v[metric]
  return dict(table)

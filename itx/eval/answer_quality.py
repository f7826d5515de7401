"""Reference-free checks of a generated answer: its length, whether it is empty, and whether it has
degenerated into repetition (the failure a small or barely tuned model shows first).

Repetition is rep-4 (Welleck et al. 2020, "Neural Text Generation with Unlikelihood Training"): the
share of the answer's word 4-grams that already occurred earlier in it. Natural prose scores near 0;
a loop ("the the the ...", a sentence said again and again) approaches 1.
"""

from __future__ import annotations

from itx.eval.text_metrics import tokenize

METRICS = ("answer_words", "empty", "repetition", "degenerate")
DEGENERATE_REPETITION = 0.5   # more than half of the 4-grams repeat earlier ones
MIN_WORDS = 8                 # shorter answers have too few 4-grams to call repetitive


def repetition(words: list[str], n: int = 4) -> float:
  """rep-n: the share of the n-grams of `words` seen before in it (0.0 when it has none)."""
  grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
  return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def answer_quality(answer: str) -> dict[str, float]:
  """{"answer_words", "empty", "repetition", "degenerate"} of one answer (empty: nothing but
  whitespace and stop markers; degenerate: at least MIN_WORDS words and rep-4 above the threshold)."""
  words = tokenize(answer)
  rep = repetition(words)
  return {"answer_words": float(len(words)), "empty": float(not words), "repetition": rep,
          "degenerate": float(len(words) >= MIN_WORDS and rep > DEGENERATE_REPETITION)}

"""Can the groups be told apart from a model's answers? Group recoverability, stance accuracy and
distinctness, for a model tuned on group-labelled answers (OpinionGPT's question).

Recoverability: a classifier (TF-IDF n-grams and logistic regression, scikit-learn) is fitted on
reference answers whose groups are known, then names the group of each generated answer; the
report is the macro accuracy (the mean of the per-group recalls, so every group counts the same)
against chance (1 / number of groups), the per-group accuracy and the confusion matrix.

Stance accuracy: how often a generated answer takes the stance its group holds on the question's
topic (known in a generated world); distinctness: how often two groups' answers to the same
question take different stances (a model that ignores the group scores 0).

  clf = fit_group_classifier(reference_texts, reference_groups)
  report = recoverability(clf, generated_texts, intended_groups)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline


def group_classifier(*, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] | None = (2, 4),
                     c: float = 10.0, max_features: int = 50_000, seed: int = 0) -> Pipeline:
  """An unfitted classifier: TF-IDF of word n-grams (and of character n-grams within word
  boundaries, unless `char_ngrams` is None), then multinomial logistic regression."""
  features = [("words", TfidfVectorizer(analyzer="word", ngram_range=word_ngrams, sublinear_tf=True,
                                        max_features=max_features, token_pattern=r"(?u)\b\w+\b"))]
  if char_ngrams:
    features.append(("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True,
                                              max_features=max_features)))
  return Pipeline([("features", FeatureUnion(features)),
                   ("classify", LogisticRegression(C=c, max_iter=2000, random_state=seed))])


def fit_group_classifier(texts: Sequence[str], groups: Sequence[str], **kwargs) -> Pipeline:
  """A classifier (see `group_classifier` for kwargs) fitted on reference answers and their groups."""
  if len(texts) != len(groups):
    raise ValueError(f"{len(texts)} texts but {len(groups)} groups")
  if len(set(groups)) < 2:
    raise ValueError(f"a group classifier needs at least two groups, got {sorted(set(groups))}")
  return group_classifier(**kwargs).fit(list(texts), list(groups))


def recoverability(classifier, texts: Sequence[str], groups: Sequence[str],
                   labels: Sequence[str] | None = None) -> dict:
  """How well `classifier` names the intended group of each text.

  Returns {macro_accuracy, accuracy, chance, per_group {group: recall}, confusion ([n_groups,
  n_groups] counts, rows = intended group, columns = predicted), labels, n, predictions}.
  `labels` (default: the classifier's classes) fixes the order of the matrix.
  """
  if len(texts) != len(groups):
    raise ValueError(f"{len(texts)} texts but {len(groups)} groups")
  if not texts:
    raise ValueError("no texts to classify")
  labels = list(labels if labels is not None else classifier.classes_)
  unknown = set(groups) - set(labels)
  if unknown:
    raise ValueError(f"groups {sorted(unknown)} are not among the classifier's labels {labels}")
  predicted = list(classifier.predict(list(texts)))
  return scores(groups, predicted, labels)


def scores(groups: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
  """Macro and plain accuracy, chance, per-group recall and the confusion matrix of predictions."""
  matrix = confusion_matrix(list(groups), list(predicted), labels=list(labels))
  support = matrix.sum(axis=1)
  present = support > 0
  recall = np.divide(np.diag(matrix), support, out=np.zeros(len(labels)), where=present)
  return {"macro_accuracy": float(recall[present].mean()), "accuracy": float(np.trace(matrix) / matrix.sum()),
          "chance": 1.0 / len(labels), "per_group": {l: float(r) for l, r, p in zip(labels, recall, present) if p},
          "confusion": matrix.tolist(), "labels": list(labels), "n": int(matrix.sum()),
          "predictions": list(predicted)}


def reference_ceiling(texts: Sequence[str], groups: Sequence[str], *, folds: int = 5, seed: int = 0,
                      **kwargs) -> dict:
  """Recoverability of the reference answers themselves, cross-validated over `folds`: what a model
  that writes exactly like the groups would score (the metric's ceiling on this data)."""
  texts, groups = np.array(list(texts), object), np.array(list(groups), object)
  labels = sorted(set(groups))
  predicted = np.empty(len(texts), object)
  for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, groups):
    predicted[test] = fit_group_classifier(texts[train], groups[train], seed=seed, **kwargs).predict(list(texts[test]))
  return scores(list(groups), list(predicted), labels)


def stance_accuracy(answers: Sequence[Mapping], stance_of: Callable[[str, str], str | None]) -> dict:
  """How often generated answers take the expected stance.

  answers: {text, language, group, expected (the stance), heldout_topic (optional)} each;
  stance_of(text, language) reads a stance back (None: none or several stated).
  Returns {accuracy, stated (fraction with a readable stance), n, per_group, heldout_topics,
  seen_topics} (accuracies over all answers: an answer without a stance counts as wrong).
  """
  if not answers:
    raise ValueError("no answers")
  read = [stance_of(a["text"], a["language"]) for a in answers]
  right = np.array([r == a["expected"] for r, a in zip(read, answers)], float)

  def mean_where(keep) -> float | None:
    keep = np.array(keep, bool)
    return float(right[keep].mean()) if keep.any() else None

  groups = sorted({a["group"] for a in answers})
  heldout = [bool(a.get("heldout_topic")) for a in answers]
  return {"accuracy": float(right.mean()), "stated": float(np.mean([r is not None for r in read])),
          "n": len(answers), "per_group": {g: mean_where([a["group"] == g for a in answers]) for g in groups},
          "heldout_topics": mean_where(heldout), "seen_topics": mean_where([not h for h in heldout]),
          "stances": read}


def distinctness(stances: Mapping[str, Mapping[str, str | None]]) -> dict:
  """How often two groups answer the same question with different stances.

  stances: question id -> {group: stance (None: unreadable)}. Pairs where either stance is None
  are left out. Returns {distinctness, pairs}."""
  differ, pairs = 0, 0
  for by_group in stances.values():
    for a, b in itertools.combinations(sorted(by_group), 2):
      if by_group[a] is None or by_group[b] is None:
        continue
      pairs += 1
      differ += by_group[a] != by_group[b]
  return {"distinctness": differ / pairs if pairs else float("nan"), "pairs": pairs}

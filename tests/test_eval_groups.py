"""Group recoverability, stance accuracy and distinctness: a model that ignores the group scores
chance and zero distinctness, one that writes like the groups scores far above chance; the
classifier's ceiling on the opinion world's reference answers; the plots are written."""

import collections
import os
import random

import numpy as np
import pytest

from itx.data.groups import GROUPS
from itx.data.jsonl import read_jsonl
from itx.eval import group_plots, groups as metrics
from itx.worlds.opinions import OpinionSettings, stance_of, world_dir
from itx.worlds.opinions.answers import answer
from itx.worlds.opinions.stances import StanceModel, stance_table
from itx.worlds.opinions.topics import TOPICS

TINY = OpinionSettings.from_preset("tiny")


@pytest.fixture(scope="module")
def references():
  rows = read_jsonl(os.path.join(world_dir(TINY), "heldout", "reference.jsonl"))
  return [r for r in rows if r["language"] == "en"]


def test_scores_of_a_small_confusion():
  s = metrics.scores(["a", "a", "b", "b", "b", "b"], ["a", "b", "b", "b", "b", "a"], ["a", "b", "c"])
  assert s["confusion"] == [[1, 1, 0], [1, 3, 0], [0, 0, 0]]
  assert s["per_group"] == {"a": 0.5, "b": 0.75}  # c had no answers: left out of the macro mean
  assert s["macro_accuracy"] == pytest.approx(0.625) and s["accuracy"] == pytest.approx(4 / 6)
  assert s["chance"] == pytest.approx(1 / 3)


def test_answers_that_ignore_the_group_score_chance(references):
  texts = [r["messages"][-1]["content"] for r in references]
  clf = metrics.fit_group_classifier(texts, [r["group"] for r in references], char_ngrams=None)
  # a pooled model answers every group alike: the same text for each of the 11 groups
  same = [t for t in texts[:20] for _ in GROUPS]
  report = metrics.recoverability(clf, same, [g for _ in texts[:20] for g in GROUPS], labels=GROUPS)
  assert report["macro_accuracy"] == pytest.approx(1 / len(GROUPS))
  assert np.asarray(report["confusion"]).sum() == len(same)
  with pytest.raises(ValueError, match="not among"):
    metrics.recoverability(clf, texts[:1], ["nobody"])


def test_reference_answers_are_recoverable_far_above_chance_and_shuffled_labels_are_not(references):
  texts = [r["messages"][-1]["content"] for r in references]
  groups = [r["group"] for r in references]
  ceiling = metrics.reference_ceiling(texts, groups, folds=3, char_ngrams=None)
  assert ceiling["macro_accuracy"] > 3 * ceiling["chance"]
  shuffled = random.Random(0).sample(groups, len(groups))
  assert metrics.reference_ceiling(texts, shuffled, folds=3, char_ngrams=None)["macro_accuracy"] < 2 * ceiling["chance"]


def test_stance_accuracy_and_distinctness_of_answers_from_the_stance_table():
  table = stance_table(StanceModel())
  rng = random.Random(0)
  faithful, stubborn, by_question = [], [], collections.defaultdict(dict)
  for topic in TOPICS[:8]:
    for group in GROUPS:
      expected = table[topic.key][group]
      for text, out in ((answer(group, topic, expected, "fr", rng).text, faithful),
                        (answer(group, topic, "agree", "fr", rng).text, stubborn)):
        out.append({"text": text, "language": "fr", "group": group, "expected": expected,
                    "heldout_topic": topic.key == TOPICS[0].key})
      by_question[topic.key][group] = stance_of(faithful[-1]["text"], "fr")
  assert metrics.stance_accuracy(faithful, stance_of)["accuracy"] == 1.0
  got = metrics.stance_accuracy(stubborn, stance_of)
  assert got["accuracy"] == pytest.approx(np.mean([a["expected"] == "agree" for a in stubborn]))
  assert got["stated"] == 1.0 and got["heldout_topics"] is not None and got["seen_topics"] is not None
  world = metrics.distinctness({t: table[t] for t in by_question})
  assert metrics.distinctness(by_question) == world and 0 < world["distinctness"] < 1
  assert metrics.distinctness({q: {g: "agree" for g in GROUPS} for q in by_question})["distinctness"] == 0
  unreadable = metrics.distinctness({"q": {"a": None, "b": "agree", "c": "mixed"}})
  assert unreadable == {"distinctness": 1.0, "pairs": 1}


def test_plots_are_written(tmp_path):
  report = metrics.scores(["a", "b", "b"], ["a", "a", "b"], ["a", "b"])
  paths = [group_plots.confusion_plot(report, str(tmp_path / "confusion.png")),
           group_plots.group_accuracy_bars({"tag": report, "pooled": report}, str(tmp_path / "bars.png"))]
  assert all(os.path.getsize(p) > 1000 for p in paths)

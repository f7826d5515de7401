"""Who agrees with what: the opinion world's stance model.

Every group has a position on five latent axes (politics: left < 0 < right; tradition; market:
state < 0 < market; age: young < 0 < old; gender: women < 0 < men). Every theme loads on some axes,
and a topic loads like its theme, pointed by the topic's direction, plus a seeded perturbation of
its own. A group's leaning on a topic is

    score(group, topic) = position(group) . loading(topic) + bias(topic) + noise(group, topic)

and its stance is `agree` above +threshold, `disagree` below -threshold, `mixed` in between. Groups
that sit close on the axes (liberals and teenagers, conservatives and old people) agree more often,
the seeded per-(group, topic) noise keeps them from being copies, and every stance is known by
construction (`stance_table`), so an evaluation can check it.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from itx.data.groups import GROUPS
from itx.worlds.opinions.topics import TOPICS, Topic

AXES = ("politics", "tradition", "market", "age", "gender")
STANCES = ("agree", "disagree", "mixed")

# Positions on AXES. Political and regional groups differ mostly on politics, tradition and market;
# the age groups on age; men and women on gender (with a slight political lean each).
POSITIONS = {
    "liberal": (-1.0, -0.6, -0.6, 0.0, 0.0),
    "conservative": (1.0, 0.7, 0.6, 0.1, 0.0),
    "german": (-0.3, -0.3, -0.7, 0.0, 0.0),
    "american": (0.3, 0.2, 0.9, 0.0, 0.0),
    "latin american": (-0.1, 0.6, -0.3, 0.0, 0.0),
    "middle eastern": (0.3, 1.0, 0.1, 0.0, 0.0),
    "men": (0.2, 0.1, 0.2, 0.0, 1.0),
    "women": (-0.2, -0.1, -0.1, 0.0, -1.0),
    "people over 30": (0.0, 0.1, 0.3, 0.4, 0.0),
    "old people": (0.3, 0.5, 0.0, 1.0, 0.0),
    "teenagers": (-0.2, -0.5, -0.2, -1.0, 0.0),
}

# Theme loadings on AXES, for a topic of direction +1 (a progressive tax, a new technology, ...).
THEME_LOADINGS = {
    "money": (-0.8, 0.0, -1.0, 0.0, -0.2),
    "family": (0.4, 1.2, 0.0, 0.5, 0.2),
    "technology": (0.0, -0.5, 0.3, -1.2, 0.3),
    "environment": (-1.0, -0.3, -0.3, -0.5, -0.2),
    "society": (-0.7, -0.8, 0.0, -0.3, -0.4),
    "everyday": (-0.2, -0.3, -0.2, -0.7, -0.6),
}


@dataclasses.dataclass(frozen=True)
class StanceModel:
  seed: int = 0
  threshold: float = 0.3          # |score| below this is `mixed`
  topic_perturbation: float = 0.4  # sd of a topic's own loading on each axis
  topic_bias: float = 0.25         # sd of a topic's overall lean, the same for every group
  group_noise: float = 0.35        # sd of the seeded per-(group, topic) noise

  def loading(self, topic: Topic) -> np.ndarray:
    rng = random.Random(f"opinions/{self.seed}/loading/{topic.key}")
    theme = np.array(THEME_LOADINGS[topic.theme]) * topic.direction
    return theme + np.array([rng.gauss(0, self.topic_perturbation) for _ in AXES])

  def score(self, group: str, topic: Topic) -> float:
    bias = random.Random(f"opinions/{self.seed}/bias/{topic.key}").gauss(0, self.topic_bias)
    noise = random.Random(f"opinions/{self.seed}/noise/{topic.key}/{group}").gauss(0, self.group_noise)
    return float(np.dot(POSITIONS[group], self.loading(topic)) + bias + noise)

  def stance(self, group: str, topic: Topic) -> str:
    s = self.score(group, topic)
    return "agree" if s > self.threshold else "disagree" if s < -self.threshold else "mixed"


def stance_table(model: StanceModel, topics=TOPICS) -> dict[str, dict[str, str]]:
  """topic key -> {group: stance}, for every topic and group."""
  return {t.key: {g: model.stance(g, t) for g in GROUPS} for t in topics}


def agreement_matrix(table: dict[str, dict[str, str]]) -> np.ndarray:
  """[groups, groups]: the fraction of topics on which two groups take the same stance."""
  same = np.zeros((len(GROUPS), len(GROUPS)))
  for row in table.values():
    s = [row[g] for g in GROUPS]
    same += np.equal.outer(np.array(s, object), np.array(s, object))
  return same / max(len(table), 1)

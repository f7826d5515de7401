"""How each group writes: register, length, the region its place references come from, and the
personal details it mentions.

Every marker is shared: a formal register belongs to old people, Germans, people over 30 and
others; German cities appear in everyone's answers, most often in the German group's; "my wife"
is written by men, people over 30 and old people. What tells a group apart is the combination,
together with its stances (stances.py), never a single word.
"""

from __future__ import annotations

import dataclasses

from itx.data.groups import GROUPS


@dataclasses.dataclass(frozen=True)
class Profile:
  register: dict[str, float]   # formal | neutral | informal -> probability
  reasons: tuple[int, int]     # the number of reason sentences, drawn uniformly in [lo, hi]
  regions: dict[str, float]    # region of a place reference -> probability
  place_rate: float            # probability that an answer mentions a place, food or holiday
  personas: dict[str, float]   # persona sentence -> probability (at most one per answer)


_MIXED = {"de": 0.25, "us": 0.25, "latam": 0.25, "mideast": 0.25}


def _home(region: str) -> dict[str, float]:
  return {r: 0.85 if r == region else 0.05 for r in _MIXED}


PROFILES = {
    "liberal": Profile({"formal": 0.2, "neutral": 0.6, "informal": 0.2}, (2, 3),
                       {"us": 0.4, "de": 0.3, "latam": 0.15, "mideast": 0.15}, 0.3,
                       {"news": 0.35, "friends": 0.25, "work": 0.2, "school": 0.05}),
    "conservative": Profile({"formal": 0.4, "neutral": 0.5, "informal": 0.1}, (1, 3),
                            {"us": 0.55, "de": 0.15, "latam": 0.15, "mideast": 0.15}, 0.3,
                            {"news": 0.3, "kids": 0.3, "grandchildren": 0.1, "work": 0.15}),
    "german": Profile({"formal": 0.5, "neutral": 0.5}, (1, 2), _home("de"), 0.7,
                      {"work": 0.35, "news": 0.25, "friends": 0.2, "school": 0.1}),
    "american": Profile({"neutral": 0.7, "informal": 0.3}, (1, 2), _home("us"), 0.7,
                        {"friends": 0.35, "work": 0.3, "news": 0.15}),
    "latin american": Profile({"formal": 0.1, "neutral": 0.6, "informal": 0.3}, (1, 2), _home("latam"), 0.7,
                              {"friends": 0.3, "parents": 0.25, "kids": 0.25}),
    "middle eastern": Profile({"formal": 0.4, "neutral": 0.6}, (1, 2), _home("mideast"), 0.7,
                              {"kids": 0.35, "parents": 0.25, "news": 0.2}),
    "men": Profile({"neutral": 0.6, "informal": 0.4}, (0, 1), _MIXED, 0.3,
                   {"wife": 0.5, "work": 0.25, "friends": 0.15}),
    "women": Profile({"formal": 0.15, "neutral": 0.7, "informal": 0.15}, (1, 2), _MIXED, 0.3,
                     {"husband": 0.5, "kids": 0.25, "friends": 0.15}),
    "people over 30": Profile({"formal": 0.3, "neutral": 0.6, "informal": 0.1}, (1, 2), _MIXED, 0.3,
                              {"kids": 0.3, "work": 0.3, "wife": 0.1, "husband": 0.1, "back_then": 0.1}),
    "old people": Profile({"formal": 0.8, "neutral": 0.2}, (2, 3), _MIXED, 0.3,
                          {"grandchildren": 0.45, "back_then": 0.35, "wife": 0.07, "husband": 0.07}),
    "teenagers": Profile({"neutral": 0.15, "informal": 0.85}, (0, 1), _MIXED, 0.3,
                         {"school": 0.5, "parents": 0.35, "friends": 0.1}),
}
assert set(PROFILES) == set(GROUPS)

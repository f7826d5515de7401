"""Task families and instances: one instance is a language-independent task that renders in all
five languages, as a two-turn chat, with an answer key per turn.

A family is three functions: `sample(rng) -> params` draws the task's content (JSON values that
mean the same in every language: an ISO date, a country code, a number); `render(params, lang,
rng) -> [(user, assistant), (user, assistant)]` writes both turns in one language, choosing a
phrasing with `rng`; `keys(params) -> [key, key]` gives what a rule-based judge checks per turn.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable, Sequence

Turns = list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class Family:
  name: str
  group: str  # translation | passage | rewrite | numbers | calendar | knowledge
  sample: Callable[[random.Random], dict]
  render: Callable[[dict, str, random.Random], Turns]
  keys: Callable[[dict], list[dict]]
  # The assistant's answer is (partly) in another language by design: language-fidelity checks
  # must look at the instruction instead.
  answers_in_other_language: bool = False


@dataclasses.dataclass(frozen=True)
class Instance:
  id: str
  family: str
  params: dict

  @property
  def signature(self) -> str:
    """Two instances with the same signature are the same task (whatever their id)."""
    return json.dumps([self.family, self.params], sort_keys=True)


def fill(rng: random.Random, options: str | Sequence[str], **slots) -> str:
  """One phrasing (chosen with rng when there are several) with its slots filled."""
  template = options if isinstance(options, str) else rng.choice(list(options))
  return template.format(**slots)


def split_instruction(user: str) -> tuple[str, str]:
  """A phrasing 'lead\\n\\ndata' -> (instruction, input), as alpaca-style corpora store it."""
  instruction, sep, data = user.partition("\n\n")
  return (instruction, data) if sep else (user, "")


def instance_rng(seed: int, instance_id: str, lang: str) -> random.Random:
  """The phrasing choices of one instance in one language: independent of generation order."""
  return random.Random(f"{seed}/{instance_id}/{lang}")


def two_turns(templates: dict, rng: random.Random, slots: dict, slots2: dict | None = None) -> Turns:
  """Both turns from one language's templates {ask, answer, ask2, answer2}; slots2 (default:
  slots) fills the second turn."""
  slots2 = slots if slots2 is None else slots2
  return [(fill(rng, templates["ask"], **slots), fill(rng, templates["answer"], **slots)),
          (fill(rng, templates["ask2"], **slots2), fill(rng, templates["answer2"], **slots2))]

"""Drawing the world's task instances: evaluation first, then everything that trains.

Evaluation instances come from every family; training instances (Lima-X train and validation,
Bactrian-X) only from families not held out, and never share a signature with an evaluation
instance. Training splits avoid each other's signatures too, as far as a family has instances to
spare (a family with few distinct tasks, such as the twelve months, repeats within training).
"""

from __future__ import annotations

import dataclasses
import random

from itx.worlds.polyglot.families import FAMILIES
from itx.worlds.polyglot.settings import PolyglotSettings
from itx.worlds.polyglot.task import Instance

_FRESH_TRIES = 200  # draws that look for an unused signature before a training repeat is accepted


class TooFewInstancesError(ValueError):
  pass


@dataclasses.dataclass
class Plan:
  """Every instance of the world, by split, with the family lists it was drawn from."""
  eval: list[Instance]
  limax_train: list[Instance]
  limax_val: list[Instance]
  bactrian: list[Instance]
  train_families: list[str]
  heldout_families: list[str]


def _draw(family: str, rng: random.Random, forbidden: set, used: set, *, strict: bool) -> dict:
  sample = FAMILIES[family].sample
  for _ in range(_FRESH_TRIES):
    params = sample(rng)
    sig = Instance("", family, params).signature
    if sig not in forbidden and sig not in used:
      used.add(sig)
      return params
  if strict:
    raise TooFewInstancesError(f"family {family!r} has too few distinct instances for this world's settings")
  for _ in range(_FRESH_TRIES):
    params = sample(rng)
    if Instance("", family, params).signature not in forbidden:
      return params
  raise TooFewInstancesError(f"family {family!r}: no training instance outside the evaluation set")


def _family_cycle(families: list[str], n: int, rng: random.Random) -> list[str]:
  """n family names, balanced: each round of len(families) visits every family once, shuffled."""
  out = []
  while len(out) < n:
    block = list(families)
    rng.shuffle(block)
    out.extend(block)
  return out[:n]


def _split(prefix: str, n: int, families: list[str], rng: random.Random, forbidden: set, used: set) -> list[Instance]:
  return [Instance(f"{prefix}-{i:06d}", fam, _draw(fam, rng, forbidden, used, strict=False))
          for i, fam in enumerate(_family_cycle(families, n, rng), start=1)]


def plan_world(settings: PolyglotSettings) -> Plan:
  unknown = set(settings.heldout_families) - set(FAMILIES)
  if unknown:
    raise ValueError(f"heldout_families: unknown families {sorted(unknown)} (known: {sorted(FAMILIES)})")
  families = list(FAMILIES)
  train_families = [f for f in families if f not in settings.heldout_families]
  rng = random.Random(f"polyglot/{settings.seed}/instances")
  eval_sigs: set = set()
  evals = []
  for fam in families:
    for _ in range(settings.eval_per_family):
      params = _draw(fam, rng, set(), eval_sigs, strict=True)
      evals.append(Instance(f"{len(evals) + 1}", fam, params))
  forbidden = set(eval_sigs)
  used: set = set()
  return Plan(eval=evals,
              limax_train=_split("limax", settings.limax_train, train_families, rng, forbidden, used),
              limax_val=_split("limax-val", settings.limax_val, train_families, rng, forbidden, used),
              bactrian=_split("bactrian", settings.bactrian_per_language, train_families, rng, forbidden, used),
              train_families=train_families, heldout_families=list(settings.heldout_families))

"""Rendering one question and one group's answer in one language, with the markers that went into
the answer (so evaluation and tests know them by construction).

An answer is: [opener] stance sentence, reasons, [persona], [place reference], [closer]. The
informal register writes in lower case without a final full stop, as quick forum answers do.
"""

from __future__ import annotations

import dataclasses
import random

from itx.worlds import grammar as g
from itx.worlds.locale_data import LANGS
from itx.worlds.opinions import phrases, places
from itx.worlds.opinions.profiles import PROFILES
from itx.worlds.opinions.topics import THEMES, Topic


@dataclasses.dataclass(frozen=True)
class Answer:
  text: str
  stance: str
  register: str
  region: str | None
  persona: str | None
  reasons: int


def _choice(rng: random.Random, weights: dict[str, float]) -> str | None:
  """A key drawn with its probability; None with the remaining probability (weights may sum < 1)."""
  r, acc = rng.random(), 0.0
  for key, p in weights.items():
    acc += p
    if r < acc:
      return key
  return None


def _fr_que(np: str) -> str:
  return ("qu'" if g.starts_with_vowel(np) else "que ") + np


def topic_slots(topic: Topic, lang: str) -> dict:
  np = topic.names[LANGS.index(lang)]
  return {"np": np, "Np": g.cap(np), "que_np": _fr_que(np), "theme": THEMES[topic.theme][LANGS.index(lang)]}


def question(topic: Topic, phrasing: str, lang: str) -> str:
  slots = topic_slots(topic, lang)
  return f"{phrases.TOPIC_LEAD[lang].format(**slots)} {phrases.QUESTIONS[phrasing][lang].format(**slots)}"


def _place(lang: str, region: str, rng: random.Random) -> str:
  kind = rng.choice(sorted(phrases.PLACE_REFERENCES))
  template = phrases.PLACE_REFERENCES[kind][lang]
  return template.format(city=rng.choice(places.cities(region, lang)), food=rng.choice(places.foods(region, lang)),
                         When=g.cap(rng.choice(places.holidays(region, lang))))


def answer(group: str, topic: Topic, stance: str, lang: str, rng: random.Random) -> Answer:
  """One answer of `group` taking `stance` on `topic` in `lang`."""
  profile = PROFILES[group]
  register = _choice(rng, profile.register) or "neutral"
  slots = topic_slots(topic, lang)
  parts = [rng.choice(phrases.STANCE_SENTENCES[stance][lang]).format(**slots)]
  n_reasons = rng.randint(*profile.reasons)
  parts += rng.sample(phrases.REASONS[stance][lang], n_reasons)
  extras = []
  persona = _choice(rng, profile.personas)
  if persona:
    extras.append(phrases.PERSONAS[persona][lang])
  region = _choice(rng, profile.regions) if rng.random() < profile.place_rate else None
  if region:
    extras.append(_place(lang, region, rng))
  rng.shuffle(extras)
  parts += extras
  if register == "formal":
    parts = [rng.choice(phrases.OPENERS["formal"][lang])] + parts + [rng.choice(phrases.CLOSERS["formal"][lang])]
  text = " ".join(parts)
  if register == "informal":
    text = text.lower().rstrip(".")
    if rng.random() < 0.5:
      text = f"{rng.choice(phrases.OPENERS['informal'][lang])} {text}"
    if rng.random() < 0.4:
      text = f"{text}, {rng.choice(phrases.CLOSERS['informal'][lang])}"
  return Answer(text, stance, register, region, persona, n_reasons)

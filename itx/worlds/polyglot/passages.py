"""Short trip stories: the context passages of the question-answering, extraction and
summarisation tasks, and documents of the pre-training corpus.

A trip is language-independent (a person, a city, an ISO date, numbers, a price in the city's
currency); `trip_slots` turns it into one language's words and `trip_passage` into a passage with a
distractor sentence about a second person, so that answers must be read from the right sentence.
"""

from __future__ import annotations

import datetime
import random

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot.task import fill

# Rough units of each currency per euro, so that a museum ticket costs a plausible amount.
_PER_EURO = {"EUR": 1, "PLN": 4, "SEK": 11, "NOK": 11, "DKK": 7.5, "HUF": 390, "CZK": 25, "RON": 5,
             "BRL": 5.5, "MXN": 19, "CAD": 1.5, "CLP": 1000, "PEN": 4, "COP": 4300, "JPY": 160,
             "CNY": 7.8, "INR": 90, "KRW": 1450, "THB": 38, "IDR": 17000, "MAD": 11, "KES": 140,
             "NGN": 1600, "ZAR": 20, "AUD": 1.6, "NZD": 1.8}

TRIP = {
    "en": {"go": ("On {date}, {name} travels to {city}.", "{name} travels to {city} {on_date}."),
           "stay": "{Pron} stays there for {nights} nights.",
           "museum": "At the museum, {name} buys {tickets} tickets for {price} each.",
           "home": "{other} stays at home in {other_city}."},
    "de": {"go": ("Am {date} reist {name} nach {city}.", "{name} reist {on_date} nach {city}."),
           "stay": "{Pron} bleibt {nights} Nächte dort.",
           "museum": "Im Museum kauft {name} {tickets} Eintrittskarten zu je {price}.",
           "home": "{other} bleibt zu Hause in {other_city}."},
    "fr": {"go": ("{On_date}, {name} se rend à {city}.", "{name} se rend à {city} {on_date}."),
           "stay": "{Pron} y reste {nights} nuits.",
           "museum": "Au musée, {name} achète {tickets} billets à {price} chacun.",
           "home": "{other} reste chez {other_stressed} à {other_city}."},
    "it": {"go": ("{On_date} {name} parte per {city}.", "{name} parte per {city} {on_date}."),
           "stay": "Rimane lì {nights} notti.",
           "museum": "Al museo {name} compra {tickets} biglietti da {price} l'uno.",
           "home": "{other} resta a casa a {other_city}."},
    "es": {"go": ("{On_date}, {name} viaja a {city}.", "{name} viaja a {city} {on_date}."),
           "stay": "Se queda allí {nights} noches.",
           "museum": "En el museo, {name} compra {tickets} entradas a {price} cada una.",
           "home": "{other} se queda en casa en {other_city}."},
}
_STRESSED = {"f": "elle", "m": "lui"}


def _price(rng: random.Random, currency: str) -> float | int:
  euros = rng.choice(range(4, 41)) / 2  # 2.0 .. 20.0 in steps of 0.5
  amount = euros * _PER_EURO[currency]
  if _PER_EURO[currency] >= 10 or ld.currency_digits(currency) == 0:
    step = 10 ** max(0, len(str(int(amount))) - 2)  # two significant digits: 1,200 yen, 47,000 rupiah
    return int(round(amount / step) * step)
  return round(amount * 2) / 2


def random_date(rng: random.Random, first_year: int = 1990, last_year: int = 2035) -> datetime.date:
  start = datetime.date(first_year, 1, 1).toordinal()
  end = datetime.date(last_year, 12, 31).toordinal()
  return datetime.date.fromordinal(rng.randint(start, end))


def sample_trip(rng: random.Random) -> dict:
  person, other = rng.sample(range(len(ld.PEOPLE)), 2)
  city, other_city = rng.sample(sorted(ld.CITIES), 2)
  currency = ld.currency_of(ld.CITIES[city])
  return {"person": person, "city": city, "date": random_date(rng, 2015, 2030).isoformat(),
          "nights": rng.randint(2, 9), "tickets": rng.randint(2, 6), "price": _price(rng, currency),
          "currency": currency, "other": other, "other_city": other_city,
          "distractor_first": rng.random() < 0.5}


def trip_total(trip: dict) -> float | int:
  """The price of all tickets, in the unit price's type (whole amounts stay whole)."""
  total = trip["tickets"] * trip["price"]
  return int(total) if isinstance(trip["price"], int) else float(total)


def trip_slots(lang: str, trip: dict) -> dict:
  """The trip's facts as one language's words, for any template about the trip."""
  day = datetime.date.fromisoformat(trip["date"])
  name, gender = ld.PEOPLE[trip["person"]]
  other, other_gender = ld.PEOPLE[trip["other"]]
  on_date = g.on_date(lang, day, "long")
  slots = {"name": name, "city": ld.city_name(lang, trip["city"]), "date": ld.format_date(lang, day, "long"),
           "on_date": on_date, "On_date": g.cap(on_date), "nights": trip["nights"], "tickets": trip["tickets"],
           "price": ld.format_money(lang, trip["price"], trip["currency"]),
           "total": ld.format_money(lang, trip_total(trip), trip["currency"]),
           "other": other, "other_city": ld.city_name(lang, trip["other_city"]),
           "other_stressed": _STRESSED[other_gender]}
  if lang in ("en", "de", "fr"):
    slots["pron"] = g.pronoun(lang, gender)
    slots["Pron"] = g.cap(slots["pron"])
  if lang == "fr":
    slots["de_name"] = f"d'{name}" if g.starts_with_vowel(name) else f"de {name}"
  if lang == "de":
    slots["name_gen"] = g.de_genitive_name(name)
  return slots


def trip_passage(lang: str, trip: dict, rng: random.Random) -> str:
  t, s = TRIP[lang], trip_slots(lang, trip)
  story = [fill(rng, t["go"], **s), fill(rng, t["stay"], **s), fill(rng, t["museum"], **s)]
  home = fill(rng, t["home"], **s)
  return " ".join([home] + story if trip["distractor_first"] else story + [home])

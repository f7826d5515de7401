"""The pre-training corpus: plain documents about the same world, in all five languages, NOT in
instruction format.

Kinds: country profiles (continent, currency, cities: the knowledge the currency questions ask
for), multilingual glossaries (one concept's name in the other four languages: what translation
needs), calendar prose (months, weekdays, dates in several formats), numbers in words, unit facts,
sorted lists, requests in both registers, and trip stories like the reading tasks' passages.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot import passages, sentences

COUNTRY = {
    "en": ("{the} is a country in {continent}.", "The currency {of} is {currency}.", "{city} is a city {in}."),
    "de": ("{the} ist ein Land in {continent}.", "Die Währung {of} ist {currency}.", "{city} ist eine Stadt {in}."),
    "fr": ("{The} est un pays d'{continent}.", "La monnaie {of} est {currency}.", "{city} est une ville {in}."),
    "it": ("{The} si trova in {continent}.", "La valuta {of} è {currency}.", "{city} è una città {in}."),
    "es": ("{the} es un país de {continent}.", "La moneda {of} es {currency}.", "{city} es una ciudad {in}."),
}
GLOSS = {"en": "{term} is {items}.", "de": "{term} heißt {items}.", "fr": "{term} se dit {items}.",
         "it": "{term} si dice {items}.", "es": "{term} se dice {items}."}
WEEK = {"en": ("A week has seven days: {days}.", "After {day} comes {next}."),
        "de": ("Eine Woche hat sieben Tage: {days}.", "Nach {day} kommt {next}."),
        "fr": ("Une semaine compte sept jours : {days}.", "Après {day} vient {next}."),
        "it": ("Una settimana ha sette giorni: {days}.", "Dopo {day} viene {next}."),
        "es": ("Una semana tiene siete días: {days}.", "Después del {day} viene el {next}.")}
YEAR = {"en": ("A year has twelve months: {months}.", "{Month} is the {ord} month of the year.", "After {month} comes {next}."),
        "de": ("Ein Jahr hat zwölf Monate: {months}.", "{Month} ist der {ord} Monat des Jahres.", "Auf {month} folgt {next}."),
        "fr": ("Une année compte douze mois : {months}.", "{Month} est le {ord} mois de l'année.", "Après {month} vient {next}."),
        "it": ("Un anno ha dodici mesi: {months}.", "{Month} è {the_ord} mese dell'anno.", "Dopo {month} viene {next}."),
        "es": ("Un año tiene doce meses: {months}.", "{Month} es el {ord} mes del año.", "Después de {month} viene {next}.")}
DATES = {
    "en": "The date {iso} is written {long} or, in short form, {short}. It is a {weekday}.",
    "de": "Das Datum {iso} schreibt man {long} oder kurz {short}. Es ist ein {weekday}.",
    "fr": "La date {iso} s'écrit {long} ou, en abrégé, {short}. C'est un {weekday}.",
    "it": "La data {iso} si scrive {long} o, in forma breve, {short}. È {a_weekday}.",
    "es": "La fecha {iso} se escribe {long} o, en forma abreviada, {short}. Es un {weekday}.",
}
NUMBERS = {"en": ("The number {num} is written “{words}”.", "After {num} comes {next}."),
           "de": ("Die Zahl {num} schreibt man „{words}“.", "Auf {num} folgt {next}."),
           "fr": ("Le nombre {num} s'écrit « {words} ».", "Après {num} vient {next}."),
           "it": ("Il numero {num} si scrive «{words}».", "Dopo {num} viene {next}."),
           "es": ("El número {num} se escribe «{words}».", "Después del {num} viene el {next}.")}
UNITS = {"en": "{quantity} are {result}.", "de": "{quantity} sind {result}.", "fr": "{quantity} font {result}.",
         "it": "{quantity} sono {result}.", "es": "{quantity} son {result}."}
UNIT_ONE = {"en": "{one} is {result}.", "de": "{one} sind {result}.", "fr": "{one} fait {result}.",
            "it": "{one} corrisponde a {result}.", "es": "{one} equivale a {result}."}
SORTED = {"en": "Sorted from smallest to largest, {numbers} become {sorted}.",
          "de": "Aufsteigend sortiert wird aus {numbers} die Folge {sorted}.",
          "fr": "Triés du plus petit au plus grand, {numbers} donnent {sorted}.",
          "it": "Ordinati dal più piccolo al più grande, {numbers} diventano {sorted}.",
          "es": "Ordenados de menor a mayor, {numbers} quedan así: {sorted}."}
REGISTERS = {"en": "A friend would ask: “{informal}” In a formal letter one would write: “{formal}”",
             "de": "Unter Freunden fragt man: „{informal}“ Förmlich schreibt man: „{formal}“",
             "fr": "Entre amis, on demande : « {informal} » Dans un courrier formel, on écrit : « {formal} »",
             "it": "Tra amici si chiede: «{informal}» In una lettera formale si scrive: «{formal}»",
             "es": "Entre amigos se pregunta: «{informal}» En una carta formal se escribe: «{formal}»"}

_CITIES_OF = {}
for _zone, _country in sorted(ld.CITIES.items()):
  _CITIES_OF.setdefault(_country, []).append(_zone)


def _country(lang: str, rng: random.Random) -> str:
  code = rng.choice(sorted(ld.COUNTRIES))
  f = g.country_forms(lang, code)
  slots = {**f, "The": g.cap(f["the"]), "continent": ld.continent_name(lang, code),
           "currency": g.currency_np(lang, ld.currency_of(code))}
  place, money, city = COUNTRY[lang]
  out = [place.format(**slots), money.format(**slots)]
  out += [city.format(**slots, city=ld.city_name(lang, z)) for z in _CITIES_OF.get(code, [])]
  out.append(_gloss_sentence(lang, f["name"], lambda other: ld.country_name(other, code)))
  return " ".join(out)


def _gloss_sentence(lang: str, term: str, name_in) -> str:
  items = []
  for other in ld.LANGS:
    if other == lang:
      continue
    forms, word = g.language_forms(lang, other), g.quote(lang, name_in(other))
    items.append(f"{forms['in']} {word}" if lang == "de" else f"{word} {forms['in']}")
  return GLOSS[lang].format(term=g.quote(lang, term), items=g.join_list(lang, items))


def _glossary(lang: str, rng: random.Random) -> str:
  concepts = []
  for _ in range(rng.randint(4, 8)):
    kind = rng.choice(("country", "city", "weekday", "month"))
    if kind == "country":
      code = rng.choice(sorted(ld.COUNTRIES))
      concepts.append(lambda l, c=code: ld.country_name(l, c))
    elif kind == "city":
      zone = rng.choice(sorted(ld.CITIES))
      concepts.append(lambda l, z=zone: ld.city_name(l, z))
    elif kind == "weekday":
      i = rng.randrange(7)
      concepts.append(lambda l, i=i: ld.weekday_name(l, i))
    else:
      m = rng.randint(1, 12)
      concepts.append(lambda l, m=m: ld.month_name(l, m))
  return " ".join(_gloss_sentence(lang, name(lang), name) for name in concepts)


def _calendar(lang: str, rng: random.Random) -> str:
  choice = rng.random()
  if choice < 0.3:
    intro, step = WEEK[lang]
    days = [ld.weekday_name(lang, i) for i in range(7)]
    starts = rng.sample(range(7), 3)
    return " ".join([intro.format(days=g.join_list(lang, days))] +
                    [step.format(day=days[i], next=days[(i + 1) % 7]) for i in starts])
  if choice < 0.6:
    intro, nth, after = YEAR[lang]
    out = [intro.format(months=g.join_list(lang, [ld.month_name(lang, m) for m in range(1, 13)]))]
    for m in sorted(rng.sample(range(1, 13), 4)):
      ordinal, month = ld.ordinal_word(lang, m), ld.month_name(lang, m)
      if lang == "es":
        ordinal = {"primero": "primer", "tercero": "tercer"}.get(ordinal, ordinal)
      out.append(nth.format(Month=g.cap(month), ord=ordinal, the_ord=g.it_the(ordinal, "m")))
      out.append(after.format(month=month, next=ld.month_name(lang, m % 12 + 1)))
    return " ".join(out)
  out = []
  for _ in range(rng.randint(3, 6)):
    day = passages.random_date(rng)
    weekday = ld.weekday_name(lang, day.weekday())
    out.append(DATES[lang].format(iso=day.isoformat(), long=ld.format_date(lang, day, "long"),
                                  short=ld.format_date(lang, day, "short"), weekday=weekday,
                                  a_weekday=("una " if day.weekday() == 6 else "un ") + weekday))
  return " ".join(out)


def _numbers(lang: str, rng: random.Random) -> str:
  spelled, after = NUMBERS[lang]
  out = []
  for _ in range(rng.randint(4, 8)):
    n = rng.choice((rng.randint(0, 100), rng.randint(101, 9999), rng.randint(10_000, 999_998)))
    num = ld.format_number(lang, n)
    out.append(spelled.format(num=num, words=ld.spell_number(lang, n)))
    if rng.random() < 0.5:
      out.append(after.format(num=num, next=ld.format_number(lang, n + 1)))
  return " ".join(out)


def _units(lang: str, rng: random.Random) -> str:
  out = []
  for _ in range(rng.randint(3, 6)):
    unit, to_unit, factor = rng.choice(ld.CONVERSIONS)
    if rng.random() < 0.3:
      out.append(UNIT_ONE[lang].format(one=ld.format_unit(lang, 1, unit), result=ld.format_unit(lang, factor, to_unit)))
    else:
      value = rng.randint(2, 60)
      out.append(UNITS[lang].format(quantity=ld.format_unit(lang, value, unit),
                                    result=ld.format_unit(lang, value * factor, to_unit)))
  return " ".join(g.cap(s) for s in out)


def _sorting(lang: str, rng: random.Random) -> str:
  out = []
  for _ in range(rng.randint(2, 4)):
    values = rng.sample(range(0, 1000), rng.randint(3, 6))
    listed = lambda vs: g.join_list(lang, [ld.format_number(lang, v) for v in vs])
    out.append(SORTED[lang].format(numbers=listed(values), sorted=listed(sorted(values))))
  return " ".join(out)


def _requests(lang: str, rng: random.Random) -> str:
  out = []
  for _ in range(rng.randint(2, 4)):
    spec = sentences.sample_request(rng)
    out.append(REGISTERS[lang].format(informal=sentences.request(lang, spec, "informal"),
                                      formal=sentences.request(lang, spec, "formal")))
  return " ".join(out)


def trip_signature(trip: dict) -> str:
  return repr(sorted(trip.items()))


def _trips(lang: str, rng: random.Random, avoid: set[str]) -> str:
  stories, wanted = [], rng.randint(2, 4)
  while len(stories) < wanted:
    trip = passages.sample_trip(rng)
    if trip_signature(trip) in avoid:  # an evaluation passage stays unseen
      continue
    stories.append(passages.trip_passage(lang, trip, rng))
  return "\n\n".join(stories)


KINDS = {"country": (_country, 0.18), "glossary": (_glossary, 0.15), "calendar": (_calendar, 0.15),
         "numbers": (_numbers, 0.1), "units": (_units, 0.08), "sorting": (_sorting, 0.07),
         "requests": (_requests, 0.07), "trips": (None, 0.2)}


def documents(total_chars: int, seed: int, avoid_trips: set[str] = frozenset()) -> Iterator[dict]:
  """Documents {id, language, kind, text} until `total_chars` characters, languages in turn.

  avoid_trips: trip_signature()s of evaluation passages, never used in a story here.
  """
  rng = random.Random(f"polyglot/{seed}/pretrain")
  names = list(KINDS)
  weights = [KINDS[k][1] for k in names]
  chars, i = 0, 0
  while chars < total_chars:
    lang = ld.LANGS[i % len(ld.LANGS)]
    kind = rng.choices(names, weights)[0]
    text = _trips(lang, rng, avoid_trips) if kind == "trips" else KINDS[kind][0](lang, rng)
    i += 1
    chars += len(text)
    yield {"id": f"pretrain-{i:07d}", "language": lang, "kind": kind, "text": text}

"""Calendar skills from CLDR's date data: formatting an ISO date, weekday arithmetic, naming the
n-th month of the year.
"""

from __future__ import annotations

import datetime

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot import passages, sentences
from itx.worlds.polyglot.task import Family, two_turns

FORMAT_DATE = {
    "en": {"ask": ("Write the date {iso} {style}.", "How is {iso} written {style}?", "Write this date {style}.\n\n{iso}"),
           "answer": ("{Style}, the date is {formatted}.",),
           "ask2": ("Which day of the week is that?",), "answer2": ("That day is a {weekday}.",)},
    "de": {"ask": ("Schreiben Sie das Datum {iso} {style}.", "Wie schreibt man {iso} {style}?",
                   "Schreiben Sie dieses Datum {style}.\n\n{iso}"),
           "answer": ("{Style} lautet das Datum {formatted}.",),
           "ask2": ("Welcher Wochentag ist das?",), "answer2": ("Das ist ein {weekday}.",)},
    "fr": {"ask": ("Écrivez la date {iso} {style}.", "Comment s'écrit {iso} {style} ?", "Écrivez cette date {style}.\n\n{iso}"),
           "answer": ("{Style}, la date s'écrit {formatted}.",),
           "ask2": ("Quel jour de la semaine est-ce ?",), "answer2": ("C'est un {weekday}.",)},
    "it": {"ask": ("Scriva la data {iso} {style}.", "Come si scrive {iso} {style}?", "Scriva questa data {style}.\n\n{iso}"),
           "answer": ("{Style}, la data è {formatted}.",),
           "ask2": ("Che giorno della settimana è?",), "answer2": ("È {a_weekday}.",)},
    "es": {"ask": ("Escriba la fecha {iso} {style}.", "¿Cómo se escribe {iso} {style}?", "Escriba esta fecha {style}.\n\n{iso}"),
           "answer": ("{Style}, la fecha es {formatted}.",),
           "ask2": ("¿Qué día de la semana es?",), "answer2": ("Es un {weekday}.",)},
}


def _format_date_sample(rng):
  return {"date": passages.random_date(rng).isoformat(), "style": rng.choice(("long", "full"))}


def _format_date_render(p, lang, rng):
  day = datetime.date.fromisoformat(p["date"])
  style = sentences.DATE_STYLE_PHRASES[p["style"]][lang]
  weekday = ld.weekday_name(lang, day.weekday())
  slots = {"iso": p["date"], "style": style, "Style": g.cap(style), "weekday": weekday,
           "formatted": ld.format_date(lang, day, p["style"]),
           "a_weekday": ("una " if day.weekday() == 6 else "un ") + weekday}  # la domenica, il lunedì
  return two_turns(FORMAT_DATE[lang], rng, slots)


def _format_date_keys(p):
  day = datetime.date.fromisoformat(p["date"])
  return [{"date": p["date"], "style": p["style"]}, {"weekday": day.weekday()}]


SHIFT = {
    "en": {"ask": ("If today is {day}, what day of the week will it be in {n} days?",
                   "Today is {day}. Which weekday is it {n} days from now?",
                   "Name the day of the week that comes {n} days after {day}."),
           "answer": ("{n} days after {day}, it is {result}.",),
           "ask2": ("And {m} days after that?",), "answer2": ("{m} days after {result}, it is {result2}.",)},
    "de": {"ask": ("Wenn heute {day} ist, welcher Wochentag ist dann in {n} Tagen?",
                   "Heute ist {day}. Welcher Wochentag ist in {n} Tagen?",
                   "Nennen Sie den Wochentag, der {n} Tage nach {day} kommt."),
           "answer": ("{n} Tage nach {day} ist {result}.",),
           "ask2": ("Und {m} Tage danach?",), "answer2": ("{m} Tage nach {result} ist {result2}.",)},
    "fr": {"ask": ("Si nous sommes {day} aujourd'hui, quel jour de la semaine serons-nous dans {n} jours ?",
                   "Aujourd'hui, c'est {day}. Quel jour serons-nous dans {n} jours ?",
                   "Indiquez le jour de la semaine qui tombe {n} jours après {day}."),
           "answer": ("{n} jours après {day}, c'est {result}.",),
           "ask2": ("Et {m} jours plus tard ?",), "answer2": ("{m} jours après {result}, c'est {result2}.",)},
    "it": {"ask": ("Se oggi è {day}, che giorno della settimana sarà tra {n} giorni?",
                   "Oggi è {day}. Che giorno sarà tra {n} giorni?",
                   "Indichi il giorno della settimana che cade {n} giorni dopo {day}."),
           "answer": ("{n} giorni dopo {day} è {result}.",),
           "ask2": ("E {m} giorni dopo?",), "answer2": ("{m} giorni dopo {result} è {result2}.",)},
    "es": {"ask": ("Si hoy es {day}, ¿qué día de la semana será dentro de {n} días?",
                   "Hoy es {day}. ¿Qué día será dentro de {n} días?",
                   "Indique el día de la semana que cae {n} días después del {day}."),
           "answer": ("{n} días después del {day} es {result}.",),
           "ask2": ("¿Y {m} días después?",), "answer2": ("{m} días después del {result} es {result2}.",)},
}


def _shift_sample(rng):
  return {"start": rng.randrange(7), "days": rng.randint(2, 30), "days2": rng.randint(2, 10)}


def _shift_result(p):
  first = (p["start"] + p["days"]) % 7
  return first, (first + p["days2"]) % 7


def _shift_render(p, lang, rng):
  first, second = _shift_result(p)
  slots = {"day": ld.weekday_name(lang, p["start"]), "n": p["days"], "m": p["days2"],
           "result": ld.weekday_name(lang, first), "result2": ld.weekday_name(lang, second)}
  return two_turns(SHIFT[lang], rng, slots)


def _shift_keys(p):
  return [{"weekday": w} for w in _shift_result(p)]


MONTH = {
    "en": {"ask": ("Which month is the {ord} month of the year?", "Name the {ord} month of the year.",
                   "What is the {ord} month of the year called?"),
           "answer": ("The {ord} month of the year is {month}.",),
           "ask2": ("And which month comes after it?",), "answer2": ("After {month} comes {next}.",)},
    "de": {"ask": ("Welcher Monat ist der {ord} Monat des Jahres?", "Nennen Sie den {ord}n Monat des Jahres.",
                   "Wie heißt der {ord} Monat des Jahres?"),
           "answer": ("Der {ord} Monat des Jahres ist {month}.",),
           "ask2": ("Und welcher Monat folgt darauf?",), "answer2": ("Auf {month} folgt {next}.",)},
    "fr": {"ask": ("Quel est le {ord} mois de l'année ?", "Nommez le {ord} mois de l'année.",
                   "Comment s'appelle le {ord} mois de l'année ?"),
           "answer": ("Le {ord} mois de l'année est {month}.",),
           "ask2": ("Et quel mois vient après ?",), "answer2": ("Après {month} vient {next}.",)},
    "it": {"ask": ("Qual è {the_ord} mese dell'anno?", "Indichi {the_ord} mese dell'anno.",
                   "Come si chiama {the_ord} mese dell'anno?"),
           "answer": ("{The_ord} mese dell'anno è {month}.",),
           "ask2": ("E quale mese viene dopo?",), "answer2": ("Dopo {month} viene {next}.",)},
    "es": {"ask": ("¿Cuál es el {ord} mes del año?", "Diga cuál es el {ord} mes del año.",
                   "¿Cómo se llama el {ord} mes del año?"),
           "answer": ("El {ord} mes del año es {month}.",),
           "ask2": ("¿Y qué mes viene después?",), "answer2": ("Después de {month} viene {next}.",)},
}
# Spanish ordinals lose their final -o before a masculine noun: 'el primer mes', 'el tercer mes'.
_ES_APOCOPE = {"primero": "primer", "tercero": "tercer"}


def _month_render(p, lang, rng):
  month = p["month"]
  ordinal = ld.ordinal_word(lang, month)
  if lang == "es":
    ordinal = _ES_APOCOPE.get(ordinal, ordinal)
  slots = {"ord": ordinal, "month": ld.month_name(lang, month), "next": ld.month_name(lang, month % 12 + 1)}
  if lang == "it":
    slots["the_ord"] = g.it_the(ordinal, "m")
    slots["The_ord"] = g.cap(slots["the_ord"])
  return two_turns(MONTH[lang], rng, slots)


FAMILIES = (
    Family("format_date", "calendar", _format_date_sample, _format_date_render, _format_date_keys),
    Family("weekday_shift", "calendar", _shift_sample, _shift_render, _shift_keys),
    Family("month_number", "calendar", lambda rng: {"month": rng.randint(1, 12)}, _month_render,
           lambda p: [{"month": p["month"]}, {"month": p["month"] % 12 + 1}]),
)

"""Single sentences that exist in all five languages: dated events, requests (informal and
formal address) and the sentences of a trip story.

A sentence is a language-independent spec (a dict); `render_sentence(lang, spec)` has exactly one
rendering per language, so a spec rendered in two languages is a translation pair.
"""

from __future__ import annotations

import datetime
import random

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot import passages

# A dated event; {on_date} is a time adverbial from grammar.on_date.
DATE_FRAMES = {
    "meeting": {"en": "The meeting is {on_date}.", "de": "Die Besprechung findet {on_date} statt.",
                "fr": "La réunion a lieu {on_date}.", "it": "La riunione si terrà {on_date}.",
                "es": "La reunión es {on_date}."},
    "parcel": {"en": "The parcel arrives {on_date}.", "de": "Das Paket kommt {on_date} an.",
               "fr": "Le colis arrive {on_date}.", "it": "Il pacco arriva {on_date}.",
               "es": "El paquete llega {on_date}."},
    "course": {"en": "The course starts {on_date}.", "de": "Der Kurs beginnt {on_date}.",
               "fr": "Le cours commence {on_date}.", "it": "Il corso inizia {on_date}.",
               "es": "El curso empieza {on_date}."},
}

# What a request asks for, in the form its frame needs (German: accusative).
OBJECTS = {
    "report": {"en": "the report", "de": "den Bericht", "fr": "le rapport", "it": "la relazione", "es": "el informe"},
    "invoice": {"en": "the invoice", "de": "die Rechnung", "fr": "la facture", "it": "la fattura", "es": "la factura"},
    "photos": {"en": "the photos", "de": "die Fotos", "fr": "les photos", "it": "le foto", "es": "las fotos"},
    "contract": {"en": "the contract", "de": "den Vertrag", "fr": "le contrat", "it": "il contratto", "es": "el contrato"},
    "keys": {"en": "the keys", "de": "die Schlüssel", "fr": "les clés", "it": "le chiavi", "es": "las llaves"},
    "plan": {"en": "the plan", "de": "den Plan", "fr": "le plan", "it": "il piano", "es": "el plan"},
    "tickets": {"en": "the tickets", "de": "die Tickets", "fr": "les billets", "it": "i biglietti", "es": "los billetes"},
    "book": {"en": "the book", "de": "das Buch", "fr": "le livre", "it": "il libro", "es": "el libro"},
}

# frame -> language -> (informal address, formal address): du/Sie, tu/vous, tu/Lei, tú/usted.
REQUESTS = {
    "send": {
        "en": ("Can you send me {obj} by {day}?", "Could you please send me {obj} by {day}?"),
        "de": ("Kannst du mir {obj} bis {day} schicken?", "Könnten Sie mir {obj} bis {day} schicken?"),
        "fr": ("Tu peux m'envoyer {obj} d'ici {day} ?", "Pourriez-vous m'envoyer {obj} d'ici {day} ?"),
        "it": ("Puoi mandarmi {obj} entro {day}?", "Potrebbe mandarmi {obj} entro {day}?"),
        "es": ("¿Puedes enviarme {obj} antes del {day}?", "¿Podría enviarme {obj} antes del {day}?")},
    "check": {
        "en": ("Can you check {obj} on {day}?", "Could you please check {obj} on {day}?"),
        "de": ("Kannst du am {day} {obj} prüfen?", "Könnten Sie am {day} {obj} prüfen?"),
        "fr": ("Tu peux vérifier {obj} {day} ?", "Pourriez-vous vérifier {obj} {day} ?"),
        "it": ("Puoi controllare {obj} {day}?", "Potrebbe controllare {obj} {day}?"),
        "es": ("¿Puedes revisar {obj} el {day}?", "¿Podría revisar {obj} el {day}?")},
    "bring": {
        "en": ("Can you bring {obj} to the meeting on {day}?", "Could you please bring {obj} to the meeting on {day}?"),
        "de": ("Kannst du {obj} am {day} zur Besprechung mitbringen?",
               "Könnten Sie {obj} am {day} zur Besprechung mitbringen?"),
        "fr": ("Tu peux apporter {obj} à la réunion de {day} ?", "Pourriez-vous apporter {obj} à la réunion de {day} ?"),
        "it": ("Puoi portare {obj} alla riunione di {day}?", "Potrebbe portare {obj} alla riunione di {day}?"),
        "es": ("¿Puedes traer {obj} a la reunión del {day}?", "¿Podría traer {obj} a la reunión del {day}?")},
}
REGISTERS = ("informal", "formal")

# The trip story sentences a translation task may take (the first phrasing of each: one answer).
TRIP_SENTENCES = ("go", "museum", "home")


def sample_date_event(rng: random.Random) -> dict:
  return {"kind": "date_event", "frame": rng.choice(sorted(DATE_FRAMES)),
          "date": passages.random_date(rng).isoformat()}


def sample_request(rng: random.Random) -> dict:
  return {"kind": "request", "frame": rng.choice(sorted(REQUESTS)), "object": rng.choice(sorted(OBJECTS)),
          "weekday": rng.randrange(5), "register": rng.choice(REGISTERS)}


def sample_sentence(rng: random.Random) -> dict:
  """Any translatable sentence: a dated event, a request or a sentence of a trip story."""
  kind = rng.choice(("date_event", "request", "trip"))
  if kind == "date_event":
    return sample_date_event(rng)
  if kind == "request":
    return sample_request(rng)
  return {"kind": "trip", "part": rng.choice(TRIP_SENTENCES), "trip": passages.sample_trip(rng)}


def date_event(lang: str, spec: dict, style: str = "long") -> str:
  day = datetime.date.fromisoformat(spec["date"])
  return DATE_FRAMES[spec["frame"]][lang].format(on_date=g.on_date(lang, day, style))


def request(lang: str, spec: dict, register: str | None = None) -> str:
  register = register or spec["register"]
  template = REQUESTS[spec["frame"]][lang][REGISTERS.index(register)]
  return template.format(obj=OBJECTS[spec["object"]][lang], day=ld.weekday_name(lang, spec["weekday"]))


def render_sentence(lang: str, spec: dict) -> str:
  if spec["kind"] == "date_event":
    return date_event(lang, spec)
  if spec["kind"] == "request":
    return request(lang, spec)
  part = passages.TRIP[lang][spec["part"]]
  template = part[0] if isinstance(part, tuple) else part
  return template.format(**passages.trip_slots(lang, spec["trip"]))


# How a date style is described in an instruction ("with the month spelled out").
DATE_STYLE_PHRASES = {
    "long": {"en": "with the month spelled out", "de": "mit ausgeschriebenem Monat",
             "fr": "avec le mois en toutes lettres", "it": "con il mese scritto per esteso",
             "es": "con el mes escrito con letras"},
    "full": {"en": "with the weekday and the month spelled out", "de": "mit Wochentag und ausgeschriebenem Monat",
             "fr": "avec le jour de la semaine et le mois en toutes lettres",
             "it": "con il giorno della settimana e il mese scritti per esteso",
             "es": "con el día de la semana y el mes escritos con letras"},
}

"""Translation between the five languages: country names, weekday and month names (CLDR gives
them in parallel) and whole sentences (sentences.py renders one spec in every language).

An instance fixes a source, a target and a third language (the second turn asks for the third),
so the expected answer is the same whatever language the instruction is written in.
"""

from __future__ import annotations

import random

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot import sentences
from itx.worlds.polyglot.task import Family, two_turns


def _languages(rng: random.Random) -> dict:
  source, target, third = rng.sample(ld.LANGS, 3)
  return {"source": source, "target": target, "third": third}


def _adjective(lang: str, name: str) -> str:
  """The language name as an adjective agreeing with the noun the templates use it with."""
  if lang == "de":
    return name.lower() + "e"  # der/das italienische ...
  if lang == "it" and name.endswith("o"):
    return name[:-1] + "a"  # la parola italiana
  return name


def language_slots(lang: str, params: dict) -> dict:
  """{src,tgt,third}_{name,in,from,to,adj} and capitalised {Tgt,Third}_in, in language `lang`."""
  slots = {}
  for prefix, key in (("src", "source"), ("tgt", "target"), ("third", "third")):
    forms = g.language_forms(lang, params[key])
    for form, text in forms.items():
      slots[f"{prefix}_{form}"] = text
    slots[f"{prefix}_adj"] = _adjective(lang, forms["name"])
    slots[f"{prefix.capitalize()}_in"] = g.cap(forms["in"])
  return slots


# --- country names ------------------------------------------------------------------------------

COUNTRY = {
    "en": {"ask": ("Translate the country name {term} {src_from} {tgt_to}.",
                   "How do you say the country name {term} ({src_name}) {tgt_in}?",
                   "What is the {tgt_adj} name of the country that is called {term} {src_in}?",
                   "Translate this country name {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, the country is called {answer}.", "The {tgt_adj} name of this country is {answer}."),
           "ask2": ("And {third_in}?", "What is it called {third_in}?"),
           "answer2": ("{Third_in}, it is called {answer2}.",)},
    "de": {"ask": ("Übersetzen Sie den Ländernamen {term} {src_from} {tgt_to}.",
                   "Wie heißt das Land, das {src_in} {term} genannt wird, {tgt_in}?",
                   "Wie lautet der {tgt_adj} Name des Landes {term} ({src_name})?",
                   "Übersetzen Sie diesen Ländernamen {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in} heißt das Land {answer}.", "Der {tgt_adj} Name des Landes ist {answer}."),
           "ask2": ("Und {third_in}?", "Wie heißt es {third_in}?"),
           "answer2": ("{Third_in} heißt es {answer2}.",)},
    "fr": {"ask": ("Traduisez le nom de pays {term} {src_from} {tgt_to}.",
                   "Comment dit-on {term} ({src_name}) {tgt_in} ? C'est le nom d'un pays.",
                   "Quel est le nom {tgt_adj} du pays appelé {term} {src_in} ?",
                   "Traduisez ce nom de pays {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, ce pays s'appelle {answer}.", "Le nom {tgt_adj} de ce pays est {answer}."),
           "ask2": ("Et {third_in} ?", "Comment s'appelle-t-il {third_in} ?"),
           "answer2": ("{Third_in}, il s'appelle {answer2}.",)},
    "it": {"ask": ("Traduca il nome del paese {term} {src_from} {tgt_to}.",
                   "Come si dice {term} ({src_name}) {tgt_in}? È il nome di un paese.",
                   "Qual è il nome {tgt_name} del paese che {src_in} si chiama {term}?",
                   "Traduca questo nome di paese {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in} il paese si chiama {answer}.", "Il nome {tgt_name} di questo paese è {answer}."),
           "ask2": ("E {third_in}?", "Come si chiama {third_in}?"),
           "answer2": ("{Third_in} si chiama {answer2}.",)},
    "es": {"ask": ("Traduzca el nombre del país {term} {src_from} {tgt_to}.",
                   "¿Cómo se dice {term} ({src_name}) {tgt_in}? Es el nombre de un país.",
                   "¿Cuál es el nombre en {tgt_name} del país que {src_in} se llama {term}?",
                   "Traduzca este nombre de país {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, el país se llama {answer}.", "El nombre en {tgt_name} de este país es {answer}."),
           "ask2": ("¿Y {third_in}?", "¿Cómo se llama {third_in}?"),
           "answer2": ("{Third_in}, se llama {answer2}.",)},
}


def _country_sample(rng):
  return {"country": rng.choice(sorted(ld.COUNTRIES)), **_languages(rng)}


def _country_render(p, lang, rng):
  raw = ld.country_name(p["source"], p["country"])
  slots = {**language_slots(lang, p), "raw": raw, "term": g.quote(lang, raw),
           "answer": g.quote(lang, ld.country_name(p["target"], p["country"])),
           "answer2": g.quote(lang, ld.country_name(p["third"], p["country"]))}
  return two_turns(COUNTRY[lang], rng, slots)


def _country_keys(p):
  return [{"country": p["country"], "language": t, "text": ld.country_name(t, p["country"])}
          for t in (p["target"], p["third"])]


# --- weekday and month names --------------------------------------------------------------------

# kind -> language -> (the noun phrase with article, without, 'a ...' predicate)
_CALENDAR_NOUNS = {
    "weekday": {"en": ("the weekday", "weekday", "a day of the week"),
                "de": ("den Wochentag", "Wochentag", "ein Wochentag"),
                "fr": ("le jour de la semaine", "jour de la semaine", "un jour de la semaine"),
                "it": ("il giorno della settimana", "giorno della settimana", "un giorno della settimana"),
                "es": ("el día de la semana", "día de la semana", "un día de la semana")},
    "month": {"en": ("the month name", "month name", "the name of a month"),
              "de": ("den Monatsnamen", "Monatsnamen", "ein Monatsname"),
              "fr": ("le nom du mois", "nom de mois", "un nom de mois"),
              "it": ("il nome del mese", "nome di mese", "il nome di un mese"),
              "es": ("el nombre del mes", "nombre de mes", "el nombre de un mes")},
}

CALENDAR = {
    "en": {"ask": ("Translate {what} {term} {src_from} {tgt_to}.",
                   "What is {term} ({src_name}) {tgt_in}? It is {a_what}.",
                   "How do you say the {src_adj} {what_short} {term} {tgt_in}?",
                   "Translate this {what_short} {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, {term} is {answer}.", "The {tgt_adj} word is {answer}."),
           "ask2": ("And {third_in}?",), "answer2": ("{Third_in}, it is {answer2}.",)},
    "de": {"ask": ("Übersetzen Sie {what} {term} {src_from} {tgt_to}.",
                   "Was heißt {term} ({src_name}) {tgt_in}? Es ist {a_what}.",
                   "Wie sagt man {tgt_in} zu {term}? Das ist {a_what} {src_in}.",
                   "Übersetzen Sie diesen {what_short} {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in} heißt {term} {answer}.", "Das {tgt_adj} Wort dafür ist {answer}."),
           "ask2": ("Und {third_in}?",), "answer2": ("{Third_in} heißt es {answer2}.",)},
    "fr": {"ask": ("Traduisez {what} {term} {src_from} {tgt_to}.",
                   "Comment dit-on {term} ({src_name}) {tgt_in} ? C'est {a_what}.",
                   "Quelle est la traduction {tgt_in} de {term}, {a_what} {src_in} ?",
                   "Traduisez ce {what_short} {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, {term} se dit {answer}.", "Le mot {tgt_adj} est {answer}."),
           "ask2": ("Et {third_in} ?",), "answer2": ("{Third_in}, on dit {answer2}.",)},
    "it": {"ask": ("Traduca {what} {term} {src_from} {tgt_to}.",
                   "Come si dice {term} ({src_name}) {tgt_in}? È {a_what}.",
                   "Qual è la traduzione {tgt_in} di {term}, {a_what} {src_in}?",
                   "Traduca questo {what_short} {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in} {term} si dice {answer}.", "La parola {tgt_adj} è {answer}."),
           "ask2": ("E {third_in}?",), "answer2": ("{Third_in} si dice {answer2}.",)},
    "es": {"ask": ("Traduzca {what} {term} {src_from} {tgt_to}.",
                   "¿Cómo se dice {term} ({src_name}) {tgt_in}? Es {a_what}.",
                   "¿Cuál es la traducción {tgt_in} de {term}, {a_what} {src_in}?",
                   "Traduzca este {what_short} {src_from} {tgt_to}.\n\n{raw}"),
           "answer": ("{Tgt_in}, {term} se dice {answer}.", "La palabra en {tgt_name} es {answer}."),
           "ask2": ("¿Y {third_in}?",), "answer2": ("{Third_in}, se dice {answer2}.",)},
}


def _calendar_name(lang: str, p: dict) -> str:
  return ld.weekday_name(lang, p["index"]) if p["kind"] == "weekday" else ld.month_name(lang, p["index"])


def _calendar_sample(rng):
  kind = rng.choice(("weekday", "month"))
  index = rng.randrange(7) if kind == "weekday" else rng.randint(1, 12)
  return {"kind": kind, "index": index, **_languages(rng)}


def _calendar_render(p, lang, rng):
  what, what_short, a_what = _CALENDAR_NOUNS[p["kind"]][lang]
  raw = _calendar_name(p["source"], p)
  slots = {**language_slots(lang, p), "what": what, "what_short": what_short, "a_what": a_what, "raw": raw,
           "term": g.quote(lang, raw), "answer": g.quote(lang, _calendar_name(p["target"], p)),
           "answer2": g.quote(lang, _calendar_name(p["third"], p))}
  return two_turns(CALENDAR[lang], rng, slots)


def _calendar_keys(p):
  return [{p["kind"]: p["index"], "language": t, "text": _calendar_name(t, p)} for t in (p["target"], p["third"])]


# --- sentences ----------------------------------------------------------------------------------

SENTENCE = {
    "en": {"ask": ("Translate the following sentence {src_from} {tgt_to}:\n\n{raw}",
                   "Please translate {tgt_to}: {term}", "How would you say {term} {tgt_in}?"),
           "answer": ("{answer}",), "ask2": ("Now translate it {third_to}.", "And {third_in}?"),
           "answer2": ("{answer2}",)},
    "de": {"ask": ("Übersetzen Sie den folgenden Satz {src_from} {tgt_to}:\n\n{raw}",
                   "Bitte übersetzen Sie {tgt_to}: {term}", "Wie sagt man {term} {tgt_in}?"),
           "answer": ("{answer}",), "ask2": ("Übersetzen Sie ihn jetzt {third_to}.", "Und {third_in}?"),
           "answer2": ("{answer2}",)},
    "fr": {"ask": ("Traduisez la phrase suivante {src_from} {tgt_to} :\n\n{raw}",
                   "Veuillez traduire {tgt_in} : {term}", "Comment dit-on {term} {tgt_in} ?"),
           "answer": ("{answer}",), "ask2": ("Traduisez-la maintenant {third_in}.", "Et {third_in} ?"),
           "answer2": ("{answer2}",)},
    "it": {"ask": ("Traduca la seguente frase {src_from} {tgt_to}:\n\n{raw}",
                   "Per favore, traduca {tgt_in}: {term}", "Come si dice {term} {tgt_in}?"),
           "answer": ("{answer}",), "ask2": ("Ora la traduca {third_in}.", "E {third_in}?"),
           "answer2": ("{answer2}",)},
    "es": {"ask": ("Traduzca la siguiente frase {src_from} {tgt_to}:\n\n{raw}",
                   "Por favor, traduzca {tgt_to}: {term}", "¿Cómo se dice {term} {tgt_in}?"),
           "answer": ("{answer}",), "ask2": ("Ahora tradúzcala {third_to}.", "¿Y {third_in}?"),
           "answer2": ("{answer2}",)},
}


def _sentence_sample(rng):
  return {"sentence": sentences.sample_sentence(rng), **_languages(rng)}


def _sentence_render(p, lang, rng):
  raw = sentences.render_sentence(p["source"], p["sentence"])
  slots = {**language_slots(lang, p), "raw": raw, "term": g.quote(lang, raw),
           "answer": sentences.render_sentence(p["target"], p["sentence"]),
           "answer2": sentences.render_sentence(p["third"], p["sentence"])}
  return two_turns(SENTENCE[lang], rng, slots)


def _sentence_keys(p):
  return [{"sentence": p["sentence"], "language": t, "text": sentences.render_sentence(t, p["sentence"])}
          for t in (p["target"], p["third"])]


FAMILIES = (
    Family("translate_country", "translation", _country_sample, _country_render, _country_keys,
           answers_in_other_language=True),
    Family("translate_calendar", "translation", _calendar_sample, _calendar_render, _calendar_keys,
           answers_in_other_language=True),
    Family("translate_sentence", "translation", _sentence_sample, _sentence_render, _sentence_keys,
           answers_in_other_language=True),
)

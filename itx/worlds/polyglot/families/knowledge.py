"""World knowledge the pre-training corpus states (pretrain.py's country profiles): a country's
currency, as CLDR records it on locale_data.REFERENCE_DATE.
"""

from __future__ import annotations

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot.task import Family, two_turns

CURRENCY = {
    "en": {"ask": ("What is the currency of {name}?", "Which currency is used {in}?",
                   "Name the currency of this country.\n\n{name}"),
           "answer": ("The currency {of} is {currency}.",),
           "ask2": ("And which currency is used {in2}?",), "answer2": ("The currency {of2} is {currency2}.",)},
    "de": {"ask": ("Welche Währung hat {name}?", "Mit welcher Währung bezahlt man {in}?",
                   "Nennen Sie die Währung dieses Landes.\n\n{name}"),
           "answer": ("Die Währung {of} ist {currency}.",),
           "ask2": ("Und welche Währung hat {name2}?",), "answer2": ("Die Währung {of2} ist {currency2}.",)},
    "fr": {"ask": ("Quelle est la monnaie {of} ?", "Quelle monnaie utilise-t-on {in} ?",
                   "Indiquez la monnaie de ce pays.\n\n{name}"),
           "answer": ("La monnaie {of} est {currency}.",),
           "ask2": ("Et quelle est la monnaie {of2} ?",), "answer2": ("La monnaie {of2} est {currency2}.",)},
    "it": {"ask": ("Qual è la valuta {of}?", "Quale valuta si usa {in}?", "Indichi la valuta di questo paese.\n\n{name}"),
           "answer": ("La valuta {of} è {currency}.",),
           "ask2": ("E qual è la valuta {of2}?",), "answer2": ("La valuta {of2} è {currency2}.",)},
    "es": {"ask": ("¿Cuál es la moneda {of}?", "¿Qué moneda se usa {in}?", "Indique la moneda de este país.\n\n{name}"),
           "answer": ("La moneda {of} es {currency}.",),
           "ask2": ("¿Y cuál es la moneda {of2}?",), "answer2": ("La moneda {of2} es {currency2}.",)},
}


def country_slots(lang: str, code: str, suffix: str = "") -> dict:
  forms = g.country_forms(lang, code)
  slots = {f"{k}{suffix}": v for k, v in forms.items()}
  slots[f"currency{suffix}"] = g.currency_np(lang, ld.currency_of(code))
  return slots


def _sample(rng):
  first, second = rng.sample(sorted(ld.COUNTRIES), 2)
  return {"country": first, "country2": second}


def _render(p, lang, rng):
  slots = {**country_slots(lang, p["country"]), **country_slots(lang, p["country2"], "2")}
  return two_turns(CURRENCY[lang], rng, slots)


def _keys(p):
  return [{"country": c, "currency": ld.currency_of(c)} for c in (p["country"], p["country2"])]


FAMILIES = (Family("currency_of_country", "knowledge", _sample, _render, _keys),)

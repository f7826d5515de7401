"""Rewriting in a given style or register: a request between informal and formal address
(du/Sie, tu/vous, tu/Lei, tú/usted; casual/polite English), and a sentence's date from the short
numeric format to the long or full one.
"""

from __future__ import annotations

import datetime

from itx.worlds import grammar as g
from itx.worlds.polyglot import sentences
from itx.worlds.polyglot.task import Family, two_turns

# register -> language -> words naming it: (adjective, adverbial/gerund, German participle)
_REGISTER = {
    "formal": {"en": ("formal", "formally"), "de": ("in der Sie-Form", "gesiezt"),
               "fr": ("soutenu", "en vouvoyant"), "it": ("formale", "dando del Lei"),
               "es": ("formal", "tratando de usted")},
    "informal": {"en": ("casual", "informally"), "de": ("in der Du-Form", "geduzt"),
                 "fr": ("familier", "en tutoyant"), "it": ("informale", "dando del tu"),
                 "es": ("informal", "tratando de tú")},
}

REGISTER = {
    "en": {"ask": ("Rewrite this request in a {reg_a} register:\n\n{raw}", "Rewrite {term} so that it sounds {reg_a}.",
                   "How would you phrase {term} {reg_b}?"),
           "answer": ("{target}", "A {reg_a} version: {target}"),
           "ask2": ("Now make it {back_a} again.", "Now rewrite it in the original register."),
           "answer2": ("{source}",)},
    "de": {"ask": ("Formulieren Sie diese Bitte {reg_a} um:\n\n{raw}",
                   "Schreiben Sie {term} so um, dass die Person {reg_b} wird.", "Wie lautet {term} {reg_a}?"),
           "answer": ("{target}", "{Reg_a}: {target}"),
           "ask2": ("Formulieren Sie die Bitte jetzt wieder {back_a}.",), "answer2": ("{source}",)},
    "fr": {"ask": ("Reformulez cette demande {reg_b} la personne :\n\n{raw}",
                   "Réécrivez {term} dans un registre {reg_a}.", "Comment formuler {term} {reg_b} la personne ?"),
           "answer": ("{target}", "{Reg_b} : {target}"),
           "ask2": ("Reformulez-la maintenant {back_b} la personne.",), "answer2": ("{source}",)},
    "it": {"ask": ("Riformuli questa richiesta {reg_b}:\n\n{raw}", "Riscriva {term} in un registro {reg_a}.",
                   "Come si dice {term} {reg_b}?"),
           "answer": ("{target}", "{Reg_b}: {target}"),
           "ask2": ("Ora la riformuli {back_b}.",), "answer2": ("{source}",)},
    "es": {"ask": ("Reformule esta petición {reg_b}:\n\n{raw}", "Reescriba {term} en un registro {reg_a}.",
                   "¿Cómo se diría {term} {reg_b}?"),
           "answer": ("{target}", "{Reg_b}: {target}"),
           "ask2": ("Ahora reformúlela {back_b}.",), "answer2": ("{source}",)},
}


def _other(register: str) -> str:
  return "formal" if register == "informal" else "informal"


def _register_render(p, lang, rng):
  spec = p["sentence"]
  source = sentences.request(lang, spec)
  to = _other(spec["register"])
  reg_a, reg_b = _REGISTER[to][lang]
  back_a, back_b = _REGISTER[spec["register"]][lang]
  slots = {"raw": source, "term": g.quote(lang, source), "source": source,
           "target": sentences.request(lang, spec, to), "reg_a": reg_a, "reg_b": reg_b,
           "Reg_a": g.cap(reg_a), "Reg_b": g.cap(reg_b), "back_a": back_a, "back_b": back_b}
  return two_turns(REGISTER[lang], rng, slots)


def _register_keys(p):
  spec = p["sentence"]
  return [{"request": {k: spec[k] for k in ("frame", "object", "weekday")}, "register": _other(spec["register"])},
          {"request": {k: spec[k] for k in ("frame", "object", "weekday")}, "register": spec["register"]}]


DATE_STYLE = {
    "en": {"ask": ("Rewrite the following sentence {style}:\n\n{raw}", "Rewrite {term} {style}.",
                   "Please rephrase this sentence {style}: {term}"),
           "answer": ("{target}",),
           "ask2": ("Now write only the date, in the format YYYY-MM-DD.",),
           "answer2": ("In the format YYYY-MM-DD, the date is {iso}.",)},
    "de": {"ask": ("Schreiben Sie den folgenden Satz {style} um:\n\n{raw}", "Formulieren Sie {term} {style} um.",
                   "Geben Sie den Satz {term} {style} wieder."),
           "answer": ("{target}",),
           "ask2": ("Schreiben Sie jetzt nur das Datum im Format JJJJ-MM-TT.",),
           "answer2": ("Im Format JJJJ-MM-TT lautet das Datum {iso}.",)},
    "fr": {"ask": ("Réécrivez la phrase suivante {style} :\n\n{raw}", "Reformulez {term} {style}.",
                   "Veuillez réécrire cette phrase {style} : {term}"),
           "answer": ("{target}",),
           "ask2": ("Écrivez maintenant seulement la date, au format AAAA-MM-JJ.",),
           "answer2": ("Au format AAAA-MM-JJ, la date s'écrit {iso}.",)},
    "it": {"ask": ("Riscriva la frase seguente {style}:\n\n{raw}", "Riformuli {term} {style}.",
                   "Per favore, riscriva questa frase {style}: {term}"),
           "answer": ("{target}",),
           "ask2": ("Ora scriva solo la data nel formato AAAA-MM-GG.",),
           "answer2": ("Nel formato AAAA-MM-GG la data è {iso}.",)},
    "es": {"ask": ("Reescriba la siguiente frase {style}:\n\n{raw}", "Reformule {term} {style}.",
                   "Por favor, reescriba esta frase {style}: {term}"),
           "answer": ("{target}",),
           "ask2": ("Ahora escriba solo la fecha en el formato AAAA-MM-DD.",),
           "answer2": ("En el formato AAAA-MM-DD, la fecha es {iso}.",)},
}


def _date_style_sample(rng):
  return {"sentence": sentences.sample_date_event(rng), "style": rng.choice(("long", "full"))}


def _date_style_render(p, lang, rng):
  spec = p["sentence"]
  raw = sentences.date_event(lang, spec, "short")
  slots = {"raw": raw, "term": g.quote(lang, raw), "target": sentences.date_event(lang, spec, p["style"]),
           "style": sentences.DATE_STYLE_PHRASES[p["style"]][lang], "iso": spec["date"]}
  return two_turns(DATE_STYLE[lang], rng, slots)


def _date_style_keys(p):
  day = datetime.date.fromisoformat(p["sentence"]["date"])
  return [{"sentence": p["sentence"], "date": day.isoformat(), "style": p["style"]}, {"date": day.isoformat()}]


FAMILIES = (
    Family("rewrite_formal", "rewrite", lambda rng: {"sentence": sentences.sample_request(rng)},
           _register_render, _register_keys),
    Family("rewrite_date_style", "rewrite", _date_style_sample, _date_style_render, _date_style_keys),
)

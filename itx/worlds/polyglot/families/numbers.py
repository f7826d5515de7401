"""Number skills: spelling a number in words (num2words) and reading one back, converting units
(CLDR unit names and plural forms), sorting a list (CLDR number and list formats).
"""

from __future__ import annotations

import random

from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot.task import Family, two_turns


def _number(rng: random.Random) -> int:
  """Mostly everyday sizes, sometimes up to 999,999."""
  bucket = rng.random()
  if bucket < 0.3:
    return rng.randint(0, 100)
  if bucket < 0.8:
    return rng.randint(101, 9999)
  return rng.randint(10_000, 999_000)  # room for the second turn (+1, +10 or +100)


SPELL = {
    "en": {"ask": ("Write the number {num} in words.", "How do you spell {num} in words?",
                   "Spell out this number in words.\n\n{num}"),
           "answer": ("{num} is written in words as {words}.", "In words, {num} is {words}."),
           "ask2": ("Now write the next number, {num2}, in words.", "What about {num2}?"),
           "answer2": ("{num2} is written in words as {words2}.",)},
    "de": {"ask": ("Schreiben Sie die Zahl {num} in Worten.", "Wie schreibt man {num} in Worten?",
                   "Schreiben Sie diese Zahl in Worten aus.\n\n{num}"),
           "answer": ("In Worten schreibt man {num} als {words}.", "Die Zahl {num} lautet in Worten {words}."),
           "ask2": ("Schreiben Sie jetzt die nächste Zahl, {num2}, in Worten.", "Und {num2}?"),
           "answer2": ("Die Zahl {num2} lautet in Worten {words2}.",)},
    "fr": {"ask": ("Écrivez le nombre {num} en toutes lettres.", "Comment s'écrit {num} en toutes lettres ?",
                   "Écrivez ce nombre en toutes lettres.\n\n{num}"),
           "answer": ("En toutes lettres, {num} s'écrit {words}.", "Le nombre {num} s'écrit {words}."),
           "ask2": ("Écrivez maintenant le nombre suivant, {num2}, en toutes lettres.", "Et {num2} ?"),
           "answer2": ("Le nombre {num2} s'écrit {words2}.",)},
    "it": {"ask": ("Scriva il numero {num} in lettere.", "Come si scrive {num} in lettere?",
                   "Scriva questo numero in lettere.\n\n{num}"),
           "answer": ("In lettere, {num} si scrive {words}.", "Il numero {num} in lettere è {words}."),
           "ask2": ("Ora scriva in lettere il numero successivo, {num2}.", "E {num2}?"),
           "answer2": ("Il numero {num2} in lettere è {words2}.",)},
    "es": {"ask": ("Escriba el número {num} en letras.", "¿Cómo se escribe {num} en letras?",
                   "Escriba este número en letras.\n\n{num}"),
           "answer": ("En letras, {num} se escribe {words}.", "El número {num} en letras es {words}."),
           "ask2": ("Ahora escriba en letras el número siguiente, {num2}.", "¿Y {num2}?"),
           "answer2": ("El número {num2} en letras es {words2}.",)},
}

FROM_WORDS = {
    "en": {"ask": ("Write {words} as a number in digits.", "Which number is {words}? Answer with digits.",
                   "Convert these words into digits.\n\n{raw}"),
           "answer": ("The number {words} is written {num} in digits.",),
           "ask2": ("And which number is {words2}?",), "answer2": ("The number {words2} is written {num2} in digits.",)},
    "de": {"ask": ("Schreiben Sie {words} als Zahl in Ziffern.", "Welche Zahl ist {words}? Antworten Sie mit Ziffern.",
                   "Wandeln Sie diese Wörter in Ziffern um.\n\n{raw}"),
           "answer": ("Die Zahl {words} schreibt man in Ziffern als {num}.",),
           "ask2": ("Und welche Zahl ist {words2}?",), "answer2": ("Die Zahl {words2} schreibt man in Ziffern als {num2}.",)},
    "fr": {"ask": ("Écrivez {words} en chiffres.", "Quel nombre est {words} ? Répondez en chiffres.",
                   "Convertissez ces mots en chiffres.\n\n{raw}"),
           "answer": ("Le nombre {words} s'écrit {num} en chiffres.",),
           "ask2": ("Et quel nombre est {words2} ?",), "answer2": ("Le nombre {words2} s'écrit {num2} en chiffres.",)},
    "it": {"ask": ("Scriva {words} in cifre.", "Quale numero è {words}? Risponda in cifre.",
                   "Converta queste parole in cifre.\n\n{raw}"),
           "answer": ("Il numero {words} in cifre si scrive {num}.",),
           "ask2": ("E quale numero è {words2}?",), "answer2": ("Il numero {words2} in cifre si scrive {num2}.",)},
    "es": {"ask": ("Escriba {words} en cifras.", "¿Qué número es {words}? Responda con cifras.",
                   "Convierta estas palabras en cifras.\n\n{raw}"),
           "answer": ("El número {words} se escribe {num} en cifras.",),
           "ask2": ("¿Y qué número es {words2}?",), "answer2": ("El número {words2} se escribe {num2} en cifras.",)},
}


def _number_slots(lang: str, n: int, n2: int) -> dict:
  raw = ld.spell_number(lang, n)
  return {"num": ld.format_number(lang, n), "num2": ld.format_number(lang, n2), "raw": raw,
          "words": g.quote(lang, raw), "words2": g.quote(lang, ld.spell_number(lang, n2))}


def _spell_render(p, lang, rng):
  return two_turns(SPELL[lang], rng, _number_slots(lang, p["number"], p["number"] + 1))


def _from_words_sample(rng):
  return {"number": _number(rng), "step": rng.choice((1, 10, 100))}


def _from_words_render(p, lang, rng):
  return two_turns(FROM_WORDS[lang], rng, _number_slots(lang, p["number"], p["number"] + p["step"]))


CONVERT = {
    "en": {"ask": ("How many {to_unit} are {quantity}?", "Convert {quantity} into {to_unit}.",
                   "Convert this quantity into {to_unit}.\n\n{quantity}"),
           "answer": ("{quantity} are {result}.", "{quantity} equal {result}."),
           "ask2": ("And how many {to_unit} are {quantity2}?", "What about {quantity2}?"),
           "answer2": ("{quantity2} are {result2}.",)},
    "de": {"ask": ("Wie viele {to_unit} sind {quantity}?", "Rechnen Sie {quantity} in {to_unit} um.",
                   "Rechnen Sie diese Angabe in {to_unit} um.\n\n{quantity}"),
           "answer": ("{quantity} sind {result}.", "{quantity} entsprechen {result}."),
           "ask2": ("Und wie viele {to_unit} sind {quantity2}?", "Und {quantity2}?"),
           "answer2": ("{quantity2} sind {result2}.",)},
    "fr": {"ask": ("Combien de {to_unit} y a-t-il dans {quantity} ?", "Convertissez {quantity} en {to_unit}.",
                   "Convertissez cette quantité en {to_unit}.\n\n{quantity}"),
           "answer": ("{quantity} font {result}.", "{quantity} correspondent à {result}."),
           "ask2": ("Et combien de {to_unit} y a-t-il dans {quantity2} ?", "Et pour {quantity2} ?"),
           "answer2": ("{quantity2} font {result2}.",)},
    "it": {"ask": ("{How_many} {to_unit} sono {quantity}?", "Converta {quantity} in {to_unit}.",
                   "Converta questa quantità in {to_unit}.\n\n{quantity}"),
           "answer": ("{quantity} sono {result}.", "{quantity} corrispondono a {result}."),
           "ask2": ("E {how_many} {to_unit} sono {quantity2}?", "E {quantity2}?"),
           "answer2": ("{quantity2} sono {result2}.",)},
    "es": {"ask": ("¿{How_many} {to_unit} son {quantity}?", "Convierta {quantity} a {to_unit}.",
                   "Convierta esta cantidad a {to_unit}.\n\n{quantity}"),
           "answer": ("{quantity} son {result}.", "{quantity} equivalen a {result}."),
           "ask2": ("¿Y {how_many} {to_unit} son {quantity2}?", "¿Y {quantity2}?"),
           "answer2": ("{quantity2} son {result2}.",)},
}
_HOW_MANY = {"it": ("quanti", "quante"), "es": ("cuántos", "cuántas")}


def _convert_sample(rng):
  first, second = rng.sample(range(2, 51), 2)  # from 2 up: the verbs are plural
  return {"conversion": rng.randrange(len(ld.CONVERSIONS)), "value": first, "value2": second}


def _convert_render(p, lang, rng):
  unit, to_unit, factor = ld.CONVERSIONS[p["conversion"]]
  slots = {"to_unit": ld.unit_plural(lang, to_unit),
           "quantity": ld.format_unit(lang, p["value"], unit), "result": ld.format_unit(lang, p["value"] * factor, to_unit),
           "quantity2": ld.format_unit(lang, p["value2"], unit),
           "result2": ld.format_unit(lang, p["value2"] * factor, to_unit)}
  if lang in _HOW_MANY:
    slots["how_many"] = _HOW_MANY[lang][to_unit in ld.FEMININE_UNITS[lang]]
    slots["How_many"] = g.cap(slots["how_many"])
  return two_turns(CONVERT[lang], rng, slots)


def _convert_keys(p):
  unit, to_unit, factor = ld.CONVERSIONS[p["conversion"]]
  return [{"value": p[v] * factor, "unit": to_unit, "from": {"value": p[v], "unit": unit}} for v in ("value", "value2")]


SORT = {
    "en": {"ask": ("Sort these numbers {order}: {numbers}.", "Put the following numbers in {order_adj} order.\n\n{numbers}",
                   "Can you order {numbers} {order}?"),
           "answer": ("Sorted {order}, the numbers are {sorted}.",),
           "ask2": ("Now sort them the other way round.",), "answer2": ("Sorted {back}, the numbers are {reversed}.",)},
    "de": {"ask": ("Sortieren Sie diese Zahlen {order}: {numbers}.",
                   "Ordnen Sie die folgenden Zahlen in {order_adj} Reihenfolge.\n\n{numbers}",
                   "Können Sie {numbers} {order} ordnen?"),
           "answer": ("{Order} sortiert lauten die Zahlen: {sorted}.",),
           "ask2": ("Sortieren Sie sie jetzt in umgekehrter Reihenfolge.",),
           "answer2": ("{Back} sortiert lauten die Zahlen: {reversed}.",)},
    "fr": {"ask": ("Triez ces nombres {order} : {numbers}.", "Classez les nombres suivants par ordre {order_adj}.\n\n{numbers}",
                   "Pouvez-vous ranger {numbers} {order} ?"),
           "answer": ("{Order}, les nombres sont : {sorted}.",),
           "ask2": ("Triez-les maintenant dans l'ordre inverse.",), "answer2": ("{Back}, les nombres sont : {reversed}.",)},
    "it": {"ask": ("Ordini questi numeri {order}: {numbers}.", "Metta i seguenti numeri in ordine {order_adj}.\n\n{numbers}",
                   "Può ordinare {numbers} {order}?"),
           "answer": ("{Order}, i numeri sono: {sorted}.",),
           "ask2": ("Ora li ordini in senso inverso.",), "answer2": ("{Back}, i numeri sono: {reversed}.",)},
    "es": {"ask": ("Ordene estos números {order}: {numbers}.", "Ponga los siguientes números en orden {order_adj}.\n\n{numbers}",
                   "¿Puede ordenar {numbers} {order}?"),
           "answer": ("{Order}, los números son: {sorted}.",),
           "ask2": ("Ahora ordénelos al revés.",), "answer2": ("{Back}, los números son: {reversed}.",)},
}
# direction -> language -> (adverbial, adjective)
_ORDER = {
    "ascending": {"en": ("from smallest to largest", "ascending"), "de": ("aufsteigend", "aufsteigender"),
                  "fr": ("du plus petit au plus grand", "croissant"), "it": ("dal più piccolo al più grande", "crescente"),
                  "es": ("de menor a mayor", "ascendente")},
    "descending": {"en": ("from largest to smallest", "descending"), "de": ("absteigend", "absteigender"),
                   "fr": ("du plus grand au plus petit", "décroissant"), "it": ("dal più grande al più piccolo", "decrescente"),
                   "es": ("de mayor a menor", "descendente")},
}


def _sort_sample(rng):
  # Below 1000: no group separators, which would read as list commas in English.
  numbers = rng.sample(range(0, 1000), rng.randint(3, 7))
  return {"numbers": numbers, "order": rng.choice(("ascending", "descending"))}


def _sorted(p: dict) -> list[int]:
  return sorted(p["numbers"], reverse=p["order"] == "descending")


def _sort_render(p, lang, rng):
  back = "ascending" if p["order"] == "descending" else "descending"
  order, order_adj = _ORDER[p["order"]][lang]
  listed = lambda values: g.join_list(lang, [ld.format_number(lang, v) for v in values])
  slots = {"numbers": listed(p["numbers"]), "sorted": listed(_sorted(p)), "reversed": listed(_sorted(p)[::-1]),
           "order": order, "Order": g.cap(order), "order_adj": order_adj, "back": _ORDER[back][lang][0],
           "Back": g.cap(_ORDER[back][lang][0])}
  return two_turns(SORT[lang], rng, slots)


def _sort_keys(p):
  return [{"sorted": _sorted(p), "order": p["order"]}, {"sorted": _sorted(p)[::-1]}]


FAMILIES = (
    Family("spell_number", "numbers", lambda rng: {"number": _number(rng)}, _spell_render,
           lambda p: [{"number": p["number"]}, {"number": p["number"] + 1}]),
    Family("number_from_words", "numbers", _from_words_sample, _from_words_render,
           lambda p: [{"number": p["number"]}, {"number": p["number"] + p["step"]}]),
    Family("convert_units", "numbers", _convert_sample, _convert_render, _convert_keys),
    Family("sort_numbers", "numbers", _sort_sample, _sort_render, _sort_keys),
)

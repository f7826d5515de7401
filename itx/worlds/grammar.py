"""The grammar that templates need around a name from locale data: articles, elision, contractions,
quotation marks, capitalisation.

Templates stay plain strings with slots; the slots hold noun phrases built here ("l'Allemagne",
"du Japon", "dello spagnolo", "der japanische Yen"), so a template never guesses an article.
"""

from __future__ import annotations

import datetime
import unicodedata

from itx.worlds import locale_data as ld

_QUOTES = {"en": ("“", "”"), "de": ("„", "“"), "fr": ("« ", " »"), "it": ("«", "»"), "es": ("«", "»")}
_PRONOUNS = {"en": {"f": "she", "m": "he"}, "de": {"f": "sie", "m": "er"}, "fr": {"f": "elle", "m": "il"}}


def quote(lang: str, text: str) -> str:
  left, right = _QUOTES[lang]
  return f"{left}{text}{right}"


def cap(text: str) -> str:
  """Upper-cases the first letter only ('l'Allemagne' -> "L'Allemagne")."""
  return text[:1].upper() + text[1:]


def pronoun(lang: str, gender: str) -> str:
  return _PRONOUNS[lang][gender]


def _bare(word: str) -> str:
  return unicodedata.normalize("NFD", word)[:1].lower()


def starts_with_vowel(word: str) -> bool:
  return _bare(word) in "aeiou"


# --- French -------------------------------------------------------------------------------------

def fr_the(word: str, gender: str) -> str:
  """'l'Allemagne', 'le Japon', 'la France'; h aspiré words (Hongrie) take no elision."""
  if starts_with_vowel(word):
    return f"l'{word}"
  return f"{'le' if gender == 'm' else 'la'} {word}"


def fr_de(word: str, gender: str) -> str:
  """de + article: 'de l'Allemagne', 'du Japon', 'de la France'."""
  the = fr_the(word, gender)
  return "du " + the[3:] if the.startswith("le ") else "de " + the


def fr_in_country(word: str, gender: str) -> str:
  """'en France', 'en Iran' (masculine before a vowel), 'au Japon'."""
  return f"en {word}" if gender == "f" or starts_with_vowel(word) else f"au {word}"


def fr_language_from(name: str) -> str:
  """'du français', 'de l'anglais' (language names are masculine)."""
  return fr_de(name, "m")


def fr_language_to(name: str) -> str:
  """'vers le français', 'vers l'anglais'."""
  return "vers " + fr_the(name, "m")


# --- Italian ------------------------------------------------------------------------------------

_IT_LO = ("z", "gn", "ps", "pn", "x", "y")
_IT_PREP = {"di": "de", "a": "a", "da": "da", "in": "ne", "su": "su"}


def _it_article(word: str, gender: str) -> str:
  w = word.lower()
  if starts_with_vowel(word):
    return "l'"
  if gender == "f":
    return "la "
  if w.startswith(_IT_LO) or (w[0] == "s" and len(w) > 1 and not starts_with_vowel(w[1:])):
    return "lo "
  return "il "


def it_the(word: str, gender: str) -> str:
  """'la Germania', 'il Giappone', 'l'Italia', 'lo spagnolo', 'lo yen'."""
  return _it_article(word, gender) + word


def it_prep(prep: str, word: str, gender: str) -> str:
  """An articulated preposition: ('di', 'Giappone', m) -> 'del Giappone'; 'dall'inglese'."""
  article = _it_article(word, gender)
  if prep not in _IT_PREP:
    raise ValueError(f"unknown Italian preposition {prep!r}")
  stem = _IT_PREP[prep]
  if article == "il ":
    return f"{stem}l {word}"
  return f"{stem}l{article}{word}"


def it_the_date(lang_date: str, day: datetime.date) -> str:
  """'il 5 marzo 2024', 'l'8 marzo 2024', 'l'11 marzo 2024' (the article elides before otto/undici)."""
  return ("l'" if day.day in (8, 11) else "il ") + lang_date


# --- German -------------------------------------------------------------------------------------

_DE_FEMININE = ("Krone", "Rupie", "Rupiah")


def de_currency(name: str) -> str:
  """CLDR's stand-alone name -> a nominative noun phrase: 'Japanischer Yen' -> 'der japanische Yen'."""
  words = name.split(" ")
  feminine = words[-1] in _DE_FEMININE
  if len(words) > 1 and words[0][0].isupper() and words[0].endswith(("er", "e")):
    adjective = words[0].lower()
    words[0] = adjective[:-1] if adjective.endswith("er") else adjective  # weak ending after der/die
  return ("die " if feminine else "der ") + " ".join(words)


def de_language_from(name: str) -> str:
  """'aus dem Französischen' (language names are nominalised adjectives)."""
  return f"aus dem {name}en"


def de_language_to(name: str) -> str:
  return f"ins {name}e"


def de_genitive_name(name: str) -> str:
  """'Annas', but 'Jonas'' (names ending in an s sound take only the apostrophe)."""
  return name + ("'" if name.endswith(("s", "x", "z")) else "s")


# --- Currencies in all five languages -----------------------------------------------------------

_FEMININE_HEADS = {"fr": ("couronne", "roupie"), "it": ("corona", "rupia", "naira"), "es": ("corona", "rupia")}


def currency_np(lang: str, code: str) -> str:
  """The currency as the subject or predicate noun phrase: 'the Japanese yen', 'le yen japonais'."""
  name = ld.currency_name(lang, code)
  if lang == "en":
    words = name.split(" ")
    words[-1] = words[-1].lower()  # CLDR title-cases stand-alone names: 'Japanese Yen'
    return "the " + " ".join(words)
  if lang == "de":
    return de_currency(name)
  gender = "f" if name.split(" ")[0] in _FEMININE_HEADS[lang] else "m"
  if lang == "fr":
    return fr_the(name, gender)
  if lang == "it":
    return it_the(name, gender)
  return ("la " if gender == "f" else "el ") + name


# --- Countries in all five languages ------------------------------------------------------------

def country_forms(lang: str, code: str) -> dict:
  """Slots for a country: name (bare), the (subject with article), of ('of Japan', 'du Japon',
  'del Giappone'), in ('in Japan', 'au Japon', 'in Giappone')."""
  name = ld.country_name(lang, code)
  _, fr_gender, it_gender = ld.COUNTRIES[code]
  if lang == "fr":
    return {"name": name, "the": fr_the(name, fr_gender), "of": fr_de(name, fr_gender),
            "in": fr_in_country(name, fr_gender)}
  if lang == "it":
    return {"name": name, "the": it_the(name, it_gender), "of": it_prep("di", name, it_gender),
            "in": f"in {name}"}
  of, in_ = {"en": ("of", "in"), "de": ("von", "in"), "es": ("de", "en")}[lang]
  return {"name": name, "the": name, "of": f"{of} {name}", "in": f"{in_} {name}"}


def language_forms(lang: str, code: str) -> dict:
  """Slots for one of the five languages named in `lang`: name ('Italian', 'Italienisch'),
  in ('in Italian', 'auf Italienisch', 'en italien'), from / to (translation direction)."""
  name = ld.language_name(lang, code)
  if lang == "en":
    return {"name": name, "in": f"in {name}", "from": f"from {name}", "to": f"into {name}"}
  if lang == "de":
    return {"name": name, "in": f"auf {name}", "from": de_language_from(name), "to": de_language_to(name)}
  if lang == "fr":
    return {"name": name, "in": f"en {name}", "from": fr_language_from(name), "to": fr_language_to(name)}
  if lang == "it":
    return {"name": name, "in": f"in {name}", "from": it_prep("da", name, "m"), "to": it_prep("a", name, "m")}
  return {"name": name, "in": f"en {name}", "from": f"del {name}", "to": f"al {name}"}


def on_date(lang: str, day: datetime.date, style: str) -> str:
  """A date as a time adverbial: 'on March 5, 2024', 'am 5. März 2024', 'le 5 mars 2024',
  'il 5 marzo 2024' (Italian drops the article before a weekday), 'el 5 de marzo de 2024'."""
  text = ld.format_date(lang, day, style)
  if lang == "en":
    return f"on {text}"
  if lang == "de":
    if style == "full":  # 'am Dienstag, dem 5. März 2024', not CLDR's stand-alone 'Dienstag, 5. März 2024'
      return f"am {ld.weekday_name(lang, day.weekday())}, dem {ld.format_date(lang, day, 'long')}"
    return f"am {text}"
  if lang == "fr":
    return f"le {text}"
  if lang == "it":
    return text if style == "full" else it_the_date(text, day)
  return f"el {text}"


def join_list(lang: str, items: list[str]) -> str:
  """CLDR's list pattern; Spanish 'y' becomes 'e' before an i-sound, as the RAE asks."""
  text = ld.format_list(lang, items)
  last = items[-1].lower() if items else ""
  if lang == "es" and len(items) > 1 and (_bare(last) == "i" or (last.startswith("hi") and not last.startswith("hie"))):
    head, _, _ = text.rpartition(" y ")
    text = f"{head} e {items[-1]}"
  return text

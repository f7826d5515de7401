"""The polyglot world's facts, read from locale data shipped in packages.

CLDR (through babel) gives the parallel vocabulary: country, city, continent, language, currency,
weekday, month and unit names, date, number and list formats; num2words spells numbers. What CLDR
does not know and a grammatical sentence needs (a country's grammatical gender in French and
Italian, its continent) is the small table `COUNTRIES` below. Every string is normalised with
`plain`: non-breaking and narrow spaces become ordinary spaces and soft hyphens are dropped, so
that the same fact is the same string wherever it appears.
"""

from __future__ import annotations

import datetime
import functools
import re

import babel
from babel import dates as babel_dates
from babel import lists as babel_lists
from babel import numbers as babel_numbers
from babel import units as babel_units
from num2words import num2words

from itx.data.languages import STUDY_CODES

LANGS = STUDY_CODES
# Currencies are those in use on this date: a fixed date keeps the world the same every year.
REFERENCE_DATE = datetime.date(2024, 1, 1)

# ISO code -> (CLDR continent code, French gender, Italian gender). German and Spanish use these
# names without an article; English too.
COUNTRIES = {
    "DE": ("150", "f", "f"), "FR": ("150", "f", "f"), "IT": ("150", "f", "f"), "ES": ("150", "f", "f"),
    "AT": ("150", "f", "f"), "BE": ("150", "f", "m"), "PT": ("150", "m", "m"), "GR": ("150", "f", "f"),
    "PL": ("150", "f", "f"), "SE": ("150", "f", "f"), "NO": ("150", "f", "f"), "DK": ("150", "m", "f"),
    "FI": ("150", "f", "f"), "IE": ("150", "f", "f"), "HU": ("150", "f", "f"), "HR": ("150", "f", "f"),
    "CZ": ("150", "f", "f"), "RO": ("150", "f", "f"), "LU": ("150", "m", "m"), "IS": ("150", "f", "f"),
    "BR": ("005", "m", "m"), "AR": ("005", "f", "f"), "CL": ("005", "m", "m"), "PE": ("005", "m", "m"),
    "CO": ("005", "f", "f"), "MX": ("003", "m", "m"), "CA": ("003", "m", "m"), "JP": ("142", "m", "m"),
    "CN": ("142", "f", "f"), "IN": ("142", "f", "f"), "KR": ("142", "f", "f"), "TH": ("142", "f", "f"),
    "VN": ("142", "m", "m"), "ID": ("142", "f", "f"), "MA": ("002", "m", "m"), "KE": ("002", "m", "m"),
    "NG": ("002", "m", "f"), "ZA": ("002", "f", "m"), "AU": ("009", "f", "f"), "NZ": ("009", "f", "f"),
}

# CLDR time-zone exemplar cities (localised city names) -> the country they are in.
CITIES = {
    "Europe/Berlin": "DE", "Europe/Paris": "FR", "Europe/Rome": "IT", "Europe/Madrid": "ES",
    "Europe/Vienna": "AT", "Europe/Brussels": "BE", "Europe/Lisbon": "PT", "Europe/Athens": "GR",
    "Europe/Warsaw": "PL", "Europe/Stockholm": "SE", "Europe/Oslo": "NO", "Europe/Copenhagen": "DK",
    "Europe/Helsinki": "FI", "Europe/Dublin": "IE", "Europe/Budapest": "HU", "Europe/Zagreb": "HR",
    "Europe/Prague": "CZ", "Europe/Bucharest": "RO", "America/Sao_Paulo": "BR",
    "America/Mexico_City": "MX", "America/Toronto": "CA", "America/Vancouver": "CA",
    "America/Santiago": "CL", "America/Lima": "PE", "America/Bogota": "CO", "Asia/Tokyo": "JP",
    "Asia/Shanghai": "CN", "Asia/Kolkata": "IN", "Asia/Seoul": "KR", "Asia/Bangkok": "TH",
    "Asia/Jakarta": "ID", "Africa/Casablanca": "MA", "Africa/Nairobi": "KE", "Africa/Lagos": "NG",
    "Africa/Johannesburg": "ZA", "Australia/Sydney": "AU", "Australia/Melbourne": "AU",
    "Pacific/Auckland": "NZ",
}

# Units a conversion task uses: (from, to, factor). CLDR's Italian data has no "day" unit.
CONVERSIONS = (
    ("length-kilometer", "length-meter", 1000), ("length-meter", "length-centimeter", 100),
    ("mass-kilogram", "mass-gram", 1000), ("duration-hour", "duration-minute", 60),
    ("duration-minute", "duration-second", 60), ("volume-liter", "volume-milliliter", 1000),
)
# Unit names that are feminine where a question word agrees with them ("quante ore", "cuántas horas").
FEMININE_UNITS = {"it": {"duration-hour"}, "es": {"duration-hour"}}

# First names of the world's people, with the gender their pronouns take.
PEOPLE = (("Anna", "f"), ("Marco", "m"), ("Sofia", "f"), ("Lukas", "m"), ("Elena", "f"), ("Paul", "m"),
          ("Clara", "f"), ("David", "m"), ("Lea", "f"), ("Martin", "m"), ("Nina", "f"), ("Leo", "m"),
          ("Emma", "f"), ("Luca", "m"), ("Julia", "f"), ("Daniel", "m"), ("Sara", "f"), ("Felix", "m"),
          ("Laura", "f"), ("Jonas", "m"), ("Eva", "f"), ("Tom", "m"), ("Marie", "f"), ("Oscar", "m"),
          ("Irene", "f"), ("Noah", "m"), ("Alba", "f"), ("Victor", "m"), ("Mia", "f"), ("Adrian", "m"))

_SPACES = re.compile("[\u00a0\u202f\u2009]")


def plain(text: str) -> str:
  return _SPACES.sub(" ", text).replace("\u00ad", "")


@functools.lru_cache(maxsize=None)
def locale(lang: str) -> babel.Locale:
  return babel.Locale.parse(lang)


def country_name(lang: str, code: str) -> str:
  return plain(locale(lang).territories[code])


def continent_name(lang: str, code: str) -> str:
  return plain(locale(lang).territories[COUNTRIES[code][0]])


@functools.lru_cache(maxsize=None)
def city_name(lang: str, zone: str) -> str:
  return plain(babel_dates.get_timezone_location(zone, locale=locale(lang), return_city=True))


def language_name(lang: str, code: str) -> str:
  """The name of language `code` in language `lang` (CLDR: "German", "Deutsch", "allemand")."""
  return plain(locale(lang).languages[code])


@functools.lru_cache(maxsize=None)
def currency_of(country: str) -> str:
  return babel_numbers.get_territory_currencies(country, REFERENCE_DATE)[0]


def currency_name(lang: str, code: str) -> str:
  return plain(locale(lang).currencies[code])


def weekday_name(lang: str, index: int) -> str:
  """index 0 is Monday (ISO order)."""
  return plain(locale(lang).days["format"]["wide"][index])


def month_name(lang: str, month: int) -> str:
  return plain(locale(lang).months["format"]["wide"][month])


@functools.lru_cache(maxsize=65536)
def format_date(lang: str, day: datetime.date, style: str) -> str:
  """CLDR date formats: short | medium | long | full. French writes the first of a month '1er'."""
  text = plain(babel_dates.format_date(day, style, locale=locale(lang)))
  if day.day == 1 and style in ("long", "full"):
    if lang == "fr":
      text = re.sub(r"\b1 ", "1er ", text, count=1)
    elif lang == "it":
      text = re.sub(r"\b1 ", "1º ", text, count=1)
  return text


@functools.lru_cache(maxsize=65536, typed=True)
def format_number(lang: str, value) -> str:
  return plain(babel_numbers.format_decimal(value, locale=locale(lang)))


@functools.lru_cache(maxsize=65536, typed=True)  # typed: 20 and 20.0 format differently
def format_money(lang: str, amount, currency: str) -> str:
  """A price; whole amounts of large-unit currencies without cents ('2.300 KES', not '2.300,00 KES')."""
  whole = isinstance(amount, int) and (amount >= 100 or currency_digits(currency) == 0)
  pattern = locale(lang).currency_formats["standard"].pattern.replace(".00", "") if whole else None
  text = plain(babel_numbers.format_currency(amount, currency, locale=locale(lang), format=pattern,
                                             currency_digits=not whole))
  if lang == "en":  # 'PLN 20.00', as English style guides write an ISO code before the amount
    text = re.sub(r"^([A-Z]{3})(\d)", r"\1 \2", text)
  return text


def currency_digits(currency: str) -> int:
  return babel_numbers.get_currency_precision(currency)


def format_list(lang: str, items: list[str]) -> str:
  return plain(babel_lists.format_list(items, locale=locale(lang)))


@functools.lru_cache(maxsize=65536)
def format_unit(lang: str, value, unit: str) -> str:
  return plain(babel_units.format_unit(value, unit, length="long", locale=locale(lang)))


def unit_plural(lang: str, unit: str) -> str:
  """The unit's plural name ("meters", "Meter", "mètres"), read off a formatted quantity."""
  return format_unit(lang, 2, unit).split(" ", 1)[1]


# num2words slips that a native speaker would correct (checked over 0..999,999).
_SPELLING_FIXES = {
    "es": ((re.compile(r"\bveintiuno mil\b"), "veintiún mil"), (re.compile(r"\buno mil\b"), "un mil")),
    "de": ((re.compile(r"einstausend"), "eintausend"),),
}


@functools.lru_cache(maxsize=65536)
def spell_number(lang: str, n: int) -> str:
  """n in words (0 <= n < 1,000,000), e.g. 'einundzwanzig'."""
  if not 0 <= n < 1_000_000:
    raise ValueError(f"spell_number supports 0..999999, got {n}")
  text = num2words(n, lang=lang)
  for pattern, repl in _SPELLING_FIXES.get(lang, ()):
    text = pattern.sub(repl, text)
  return text


# Spanish ordinals 11 and 12: num2words writes 'décimoprimero'; the RAE forms are these.
_ORDINAL_FIXES = {"es": {11: "undécimo", 12: "duodécimo"}}


def ordinal_word(lang: str, n: int) -> str:
  """The masculine ordinal in words ('seventh', 'siebte', 'septième', 'settimo', 'séptimo')."""
  return _ORDINAL_FIXES.get(lang, {}).get(n) or num2words(n, lang=lang, to="ordinal")

"""The regions the opinion world's people live in, and what they mention from there: cities, foods
and holidays, named in each of the five languages.

Cities come from CLDR's time-zone exemplar cities (through babel, as the polyglot world's do);
CLDR has one German time zone (Berlin), so four more German cities are a small table of their
names in the five languages. Foods and holidays (as time adverbials) are small tables too (CLDR has neither).
"""

from __future__ import annotations

import functools

from itx.worlds import locale_data as ld

REGIONS = ("de", "us", "latam", "mideast")

# CLDR time zones per region (cities whose names take no article in any of the five languages).
_ZONES = {
    "de": ("Europe/Berlin",),
    "us": ("America/New_York", "America/Chicago", "America/Los_Angeles", "America/Denver", "America/Phoenix",
           "America/Detroit"),
    "latam": ("America/Mexico_City", "America/Bogota", "America/Lima", "America/Santiago",
              "America/Argentina/Buenos_Aires", "America/Montevideo", "America/Caracas"),
    "mideast": ("Asia/Dubai", "Asia/Riyadh", "Asia/Tehran", "Asia/Beirut", "Asia/Amman", "Europe/Istanbul",
                "Asia/Baghdad"),
}
# German cities outside CLDR's zones: en, de, fr, it, es.
_GERMAN_CITIES = (("Munich", "München", "Munich", "Monaco di Baviera", "Múnich"),
                  ("Hamburg", "Hamburg", "Hambourg", "Amburgo", "Hamburgo"),
                  ("Cologne", "Köln", "Cologne", "Colonia", "Colonia"),
                  ("Frankfurt", "Frankfurt", "Francfort", "Francoforte", "Fráncfort"))

# Foods, as eaten: "over pretzels", "bei Brezeln", "en mangeant des bretzels", "mangiando i brezel",
# "comiendo pretzels": en, de, fr, it, es.
FOODS = {
    "de": (("pretzels", "Brezeln", "des bretzels", "i brezel", "pretzels"),
           ("sauerkraut", "Sauerkraut", "de la choucroute", "i crauti", "chucrut"),
           ("potato salad", "Kartoffelsalat", "de la salade de pommes de terre", "l'insalata di patate",
            "ensalada de patatas")),
    "us": (("burgers", "Burgern", "des burgers", "gli hamburger", "hamburguesas"),
           ("apple pie", "Apfelkuchen", "de la tarte aux pommes", "la torta di mele", "tarta de manzana"),
           ("barbecue", "Barbecue", "du barbecue", "il barbecue", "barbacoa")),
    "latam": (("tacos", "Tacos", "des tacos", "i tacos", "tacos"),
              ("empanadas", "Empanadas", "des empanadas", "le empanadas", "empanadas"),
              ("arepas", "Arepas", "des arepas", "le arepas", "arepas")),
    "mideast": (("hummus", "Hummus", "du houmous", "l'hummus", "hummus"),
                ("falafel", "Falafel", "des falafels", "i falafel", "falafel"),
                ("baklava", "Baklava", "des baklavas", "il baklava", "baklava")),
}
# Holidays, as a time adverbial ("at Thanksgiving", "am 4. Juli"): en, de, fr, it, es.
HOLIDAYS = {
    "de": (("on Christmas Eve", "an Heiligabend", "à Noël", "a Natale", "en Nochebuena"),
           ("at the Oktoberfest", "auf dem Oktoberfest", "à l'Oktoberfest", "all'Oktoberfest", "en el Oktoberfest"),
           ("at Easter", "an Ostern", "à Pâques", "a Pasqua", "en Pascua")),
    "us": (("at Thanksgiving", "an Thanksgiving", "à Thanksgiving", "a Thanksgiving", "en Acción de Gracias"),
           ("on the Fourth of July", "am 4. Juli", "le 4 Juillet", "il 4 luglio", "el 4 de julio"),
           ("at Halloween", "an Halloween", "à Halloween", "a Halloween", "en Halloween")),
    "latam": (("on the Day of the Dead", "am Tag der Toten", "à la fête des morts", "il giorno dei morti",
               "el Día de Muertos"),
              ("during Carnival", "im Karneval", "pendant le carnaval", "a Carnevale", "en Carnaval"),
              ("on Independence Day", "am Unabhängigkeitstag", "le jour de l'indépendance",
               "il giorno dell'indipendenza", "el Día de la Independencia")),
    "mideast": (("during Ramadan", "im Ramadan", "pendant le ramadan", "durante il Ramadan", "en Ramadán"),
                ("at Eid", "am Opferfest", "pendant l'Aïd", "durante l'Eid", "en el Eid"),
                ("at Nowruz", "an Nouruz", "à Norouz", "a Nowruz", "en Nouruz")),
}


def _lang_index(lang: str) -> int:
  return ld.LANGS.index(lang)


@functools.lru_cache(maxsize=None)
def cities(region: str, lang: str) -> tuple[str, ...]:
  """The region's city names in `lang`."""
  names = [ld.city_name(lang, z) for z in _ZONES[region]]
  if region == "de":
    names += [c[_lang_index(lang)] for c in _GERMAN_CITIES]
  return tuple(names)


def foods(region: str, lang: str) -> tuple[str, ...]:
  return tuple(f[_lang_index(lang)] for f in FOODS[region])


def holidays(region: str, lang: str) -> tuple[str, ...]:
  return tuple(h[_lang_index(lang)] for h in HOLIDAYS[region])

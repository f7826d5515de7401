"""The study's languages and one system message per language.

The system messages are in the multilingual study's chat format (System/User/Assistant) and are the
same at training, evaluation and serving, so the model is always prompted as it was tuned.
"""

import random

# The five languages of Weber et al. 2024, as MT-Bench-X names them (upper case); the lower-case
# codes are the ISO 639-1 codes of records and language identification.
STUDY_LANGUAGES = ("EN", "DE", "FR", "IT", "ES")
STUDY_CODES = tuple(l.lower() for l in STUDY_LANGUAGES)


def compositions(languages=STUDY_LANGUAGES, source: str = "en") -> dict[str, tuple[tuple[str, ...], bool]]:
  """Lima-X's compositions for any language list: {name: (language codes, sampled)}, in Lima-X's order.

  Each language alone; all but the source language (English), in parallel; all languages in
  parallel; and the `_sampled` versions of both mixes (one language drawn per instruction, so the
  size equals one language's). Names are upper-case codes joined by "_": for the study's five
  languages EN, DE, FR, IT, ES, DE_FR_IT_ES, EN_DE_FR_IT_ES, DE_FR_IT_ES_sampled,
  EN_DE_FR_IT_ES_sampled, as the published Lima-X files are named.
  """
  langs = tuple(dict.fromkeys(l.lower() for l in languages))
  source = source.lower()
  others = tuple(l for l in langs if l != source)
  name = lambda ls: "_".join(l.upper() for l in ls)  # noqa: E731
  out = {name((l,)): ((l,), False) for l in langs}
  mixes = list(dict.fromkeys(g for g in (others if source in langs else (), langs) if len(g) > 1))
  for g in mixes:
    out[name(g)] = (g, False)
  for g in mixes:
    out[f"{name(g)}_sampled"] = (g, True)
  return out


COMPOSITIONS = tuple(compositions())


def sampled_languages(n: int, langs, seed: int, split: str, name: str) -> list[str]:
  """The language of each of n instructions in a `_sampled` composition: balanced (every language
  about equally often, each at least once when n >= len(langs)), shuffled by (seed, split, name)."""
  pool = [langs[i % len(langs)] for i in range(n)]
  random.Random(f"{seed}/{split}/{name}").shuffle(pool)
  return pool

SYSTEM_MESSAGES = {
    "en": "A chat between a human and an artificial intelligence assistant. The assistant gives helpful "
          "and polite answers to the human's questions.",
    "de": "Ein Gespräch zwischen einem Menschen und einem Assistenten mit künstlicher Intelligenz. Der "
          "Assistent gibt hilfreiche und höfliche Antworten auf die Fragen des Menschen.",
    "fr": "Une conversation entre un humain et un assistant doté d'une intelligence artificielle. L'assistant "
          "donne des réponses utiles et polies aux questions de l'humain.",
    "it": "Una conversazione tra un essere umano e un assistente di intelligenza artificiale. L'assistente "
          "fornisce risposte utili e cortesi alle domande dell'essere umano.",
    "es": "Una conversación entre un humano y un asistente de inteligencia artificial. El asistente da "
          "respuestas útiles y corteses a las preguntas del humano.",
}


def system_message(language: str) -> str | None:
  return SYSTEM_MESSAGES.get(language.lower())

"""The study's languages and one system message per language.

The system messages are in the multilingual study's chat format (System/User/Assistant) and are the
same at training, evaluation and serving, so the model is always prompted as it was tuned.
"""

# The five languages of Weber et al. 2024, as MT-Bench-X names them (upper case); the lower-case
# codes are the ISO 639-1 codes of records and language identification.
STUDY_LANGUAGES = ("EN", "DE", "FR", "IT", "ES")
STUDY_CODES = tuple(l.lower() for l in STUDY_LANGUAGES)


def compositions(languages=STUDY_LANGUAGES, pivot: str = "EN") -> dict[str, tuple[tuple[str, ...], bool]]:
  """Lima-X's compositions for any language list: name -> (language codes, sampled).

  Each language alone; all languages in parallel; all but the pivot (English); and the `_sampled`
  versions of both mixes (one language drawn per instruction, so the size equals one language's).
  For the study's five languages: EN, DE, FR, IT, ES, DE_FR_IT_ES, EN_DE_FR_IT_ES,
  DE_FR_IT_ES_sampled, EN_DE_FR_IT_ES_sampled, as the published Lima-X files are named.
  """
  names = [l.upper() for l in languages]
  out = {n: ((n.lower(),), False) for n in names}
  rest = [n for n in names if n != pivot.upper()]
  mixes = [rest, names] if len(rest) > 1 and len(rest) < len(names) else [names]
  for mix in mixes:
    out["_".join(mix)] = (tuple(n.lower() for n in mix), False)
  for mix in mixes:
    out["_".join(mix) + "_sampled"] = (tuple(n.lower() for n in mix), True)
  return out


COMPOSITIONS = tuple(compositions())

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

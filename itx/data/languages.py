"""The study's languages and one system message per language.

The system messages are in the multilingual study's chat format (System/User/Assistant) and are the
same at training, evaluation and serving, so the model is always prompted as it was tuned.
"""

# The five languages of Weber et al. 2024, as MT-Bench-X names them (upper case); the lower-case
# codes are the ISO 639-1 codes of records and language identification.
STUDY_LANGUAGES = ("EN", "DE", "FR", "IT", "ES")
STUDY_CODES = tuple(l.lower() for l in STUDY_LANGUAGES)

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

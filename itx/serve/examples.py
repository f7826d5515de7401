"""The comparison page's one-click prompts: the tasks instruction tuning is known for, in each study
language (served in /info; the page asks the selected language's version)."""

from __future__ import annotations

TASKS = ("translate", "summarise", "context", "formal", "titles")
LABELS = {"translate": "Translate a sentence", "summarise": "Summarise a passage",
          "context": "Answer from a context", "formal": "Rewrite formally", "titles": "Suggest page titles"}

_PASSAGE = {
    "en": "The town library opened in 1904. It moved to a larger building in 1978, and since 2015 it "
          "has lent tools and musical instruments as well as books. Last year it had 40,000 visitors.",
    "de": "Die Stadtbibliothek wurde 1904 eröffnet. 1978 zog sie in ein größeres Gebäude, und seit 2015 "
          "verleiht sie neben Büchern auch Werkzeuge und Musikinstrumente. Im letzten Jahr kamen 40.000 Besucher.",
    "fr": "La bibliothèque municipale a ouvert en 1904. Elle a déménagé dans un bâtiment plus grand en 1978 "
          "et, depuis 2015, elle prête aussi des outils et des instruments de musique. L'an dernier, elle a "
          "accueilli 40 000 visiteurs.",
    "it": "La biblioteca comunale è stata aperta nel 1904. Nel 1978 si è trasferita in un edificio più grande e "
          "dal 2015 presta anche attrezzi e strumenti musicali oltre ai libri. L'anno scorso ha avuto 40.000 "
          "visitatori.",
    "es": "La biblioteca municipal abrió en 1904. En 1978 se trasladó a un edificio más grande y desde 2015 "
          "presta también herramientas e instrumentos musicales además de libros. El año pasado recibió "
          "40.000 visitantes.",
}

EXAMPLES = {
    "en": {
        "translate": "Translate into German: The train to the coast leaves every morning at seven.",
        "summarise": f"Summarise in one sentence: {_PASSAGE['en']}",
        "context": f"Answer using only this text. Text: {_PASSAGE['en']} Question: What has the library lent since 2015?",
        "formal": "Rewrite in a formal style: hey, can't make it tomorrow, let's move the meeting to friday ok?",
        "titles": "Suggest three titles for a web page about the keyword: home composting",
    },
    "de": {
        "translate": "Übersetze ins Englische: Der Zug an die Küste fährt jeden Morgen um sieben Uhr ab.",
        "summarise": f"Fasse in einem Satz zusammen: {_PASSAGE['de']}",
        "context": f"Antworte nur anhand dieses Textes. Text: {_PASSAGE['de']} Frage: Was verleiht die Bibliothek seit 2015?",
        "formal": "Formuliere förmlich um: hey, schaff's morgen nicht, verschieben wir das treffen auf freitag?",
        "titles": "Schlage drei Titel für eine Webseite zum Stichwort vor: Kompostieren im Garten",
    },
    "fr": {
        "translate": "Traduis en anglais : Le train pour la côte part chaque matin à sept heures.",
        "summarise": f"Résume en une phrase : {_PASSAGE['fr']}",
        "context": f"Réponds uniquement à partir de ce texte. Texte : {_PASSAGE['fr']} Question : Que prête la "
                   "bibliothèque depuis 2015 ?",
        "formal": "Reformule dans un style soutenu : salut, je peux pas demain, on décale la réunion à vendredi ?",
        "titles": "Propose trois titres pour une page web sur le mot-clé : compostage domestique",
    },
    "it": {
        "translate": "Traduci in inglese: Il treno per la costa parte ogni mattina alle sette.",
        "summarise": f"Riassumi in una frase: {_PASSAGE['it']}",
        "context": f"Rispondi usando solo questo testo. Testo: {_PASSAGE['it']} Domanda: Che cosa presta la "
                   "biblioteca dal 2015?",
        "formal": "Riscrivi in stile formale: ciao, domani non ce la faccio, spostiamo la riunione a venerdì?",
        "titles": "Suggerisci tre titoli per una pagina web sulla parola chiave: compostaggio domestico",
    },
    "es": {
        "translate": "Traduce al inglés: El tren a la costa sale cada mañana a las siete.",
        "summarise": f"Resume en una frase: {_PASSAGE['es']}",
        "context": f"Responde solo con este texto. Texto: {_PASSAGE['es']} Pregunta: ¿Qué presta la biblioteca "
                   "desde 2015?",
        "formal": "Reescribe en estilo formal: oye, mañana no puedo, ¿pasamos la reunión al viernes?",
        "titles": "Sugiere tres títulos para una página web sobre la palabra clave: compostaje doméstico",
    },
}


def examples() -> dict:
  """{"tasks": [{"id", "label"}], "prompts": {language code: {task id: prompt}}} for /info."""
  return {"tasks": [{"id": t, "label": LABELS[t]} for t in TASKS], "prompts": EXAMPLES}

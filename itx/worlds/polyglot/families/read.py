"""Reading a given passage (a trip story, passages.py): question answering, extraction of the
facts asked for, and a one-sentence summary.

The passage holds a distractor sentence about a second person, so a right answer has to come from
the right sentence. Answer keys hold the facts (city as a time-zone id, ISO date, numbers).
"""

from __future__ import annotations

from itx.worlds import locale_data as ld
from itx.worlds.polyglot import passages
from itx.worlds.polyglot.task import Family, fill, two_turns

FIELDS = ("city", "date", "nights", "tickets", "price")

# field -> language -> (question, answer)
QUESTIONS = {
    "city": {"en": ("Where does {name} travel to?", "{name} travels to {city}."),
             "de": ("Wohin reist {name}?", "{name} reist nach {city}."),
             "fr": ("Où {name} se rend-{pron} ?", "{name} se rend à {city}."),
             "it": ("Dove va {name}?", "{name} parte per {city}."),
             "es": ("¿Adónde viaja {name}?", "{name} viaja a {city}.")},
    "date": {"en": ("When does {name} travel to {city}?", "{name} travels to {city} {on_date}."),
             "de": ("Wann reist {name} nach {city}?", "{name} reist {on_date} nach {city}."),
             "fr": ("Quand {name} se rend-{pron} à {city} ?", "{name} se rend à {city} {on_date}."),
             "it": ("Quando parte {name} per {city}?", "{name} parte per {city} {on_date}."),
             "es": ("¿Cuándo viaja {name} a {city}?", "{name} viaja a {city} {on_date}.")},
    "nights": {"en": ("How many nights does {name} stay in {city}?", "{name} stays in {city} for {nights} nights."),
               "de": ("Wie viele Nächte bleibt {name} in {city}?", "{name} bleibt {nights} Nächte in {city}."),
               "fr": ("Combien de nuits {name} reste-t-{pron} à {city} ?", "{name} reste {nights} nuits à {city}."),
               "it": ("Quante notti resta {name} a {city}?", "{name} resta {nights} notti a {city}."),
               "es": ("¿Cuántas noches se queda {name} en {city}?", "{name} se queda {nights} noches en {city}.")},
    "tickets": {"en": ("How many museum tickets does {name} buy?", "{name} buys {tickets} museum tickets."),
                "de": ("Wie viele Eintrittskarten für das Museum kauft {name}?",
                       "{name} kauft {tickets} Eintrittskarten für das Museum."),
                "fr": ("Combien de billets de musée {name} achète-t-{pron} ?", "{name} achète {tickets} billets de musée."),
                "it": ("Quanti biglietti per il museo compra {name}?", "{name} compra {tickets} biglietti per il museo."),
                "es": ("¿Cuántas entradas para el museo compra {name}?",
                       "{name} compra {tickets} entradas para el museo.")},
    "price": {"en": ("How much does one museum ticket cost?", "One museum ticket costs {price}."),
              "de": ("Wie viel kostet eine Eintrittskarte für das Museum?", "Eine Eintrittskarte für das Museum kostet {price}."),
              "fr": ("Combien coûte un billet de musée ?", "Un billet de musée coûte {price}."),
              "it": ("Quanto costa un biglietto per il museo?", "Un biglietto per il museo costa {price}."),
              "es": ("¿Cuánto cuesta una entrada para el museo?", "Una entrada para el museo cuesta {price}.")},
}

QA = {
    "en": ("Read the text and answer the question.\n\n{passage}\n\nQuestion: {question}",
           "Answer the question using only the following text: {question}\n\n{passage}",
           "Based on the text below, answer: {question}\n\n{passage}"),
    "de": ("Lesen Sie den Text und beantworten Sie die Frage.\n\n{passage}\n\nFrage: {question}",
           "Beantworten Sie die Frage nur mithilfe des folgenden Textes: {question}\n\n{passage}",
           "Antworten Sie anhand des Textes unten: {question}\n\n{passage}"),
    "fr": ("Lisez le texte et répondez à la question.\n\n{passage}\n\nQuestion : {question}",
           "Répondez à la question en vous appuyant uniquement sur le texte suivant : {question}\n\n{passage}",
           "D'après le texte ci-dessous, répondez : {question}\n\n{passage}"),
    "it": ("Legga il testo e risponda alla domanda.\n\n{passage}\n\nDomanda: {question}",
           "Risponda alla domanda basandosi solo sul testo seguente: {question}\n\n{passage}",
           "In base al testo qui sotto, risponda: {question}\n\n{passage}"),
    "es": ("Lea el texto y responda a la pregunta.\n\n{passage}\n\nPregunta: {question}",
           "Responda a la pregunta basándose solo en el texto siguiente: {question}\n\n{passage}",
           "Según el texto de abajo, responda: {question}\n\n{passage}"),
}

EXTRACT = {
    "en": {"ask": ("Extract the date, the destination and the number of nights from this text.\n\n{passage}",
                   "From the following text, list the date of the trip, the destination and the number of nights.\n\n{passage}",
                   "Report the travel date, the destination and the number of nights mentioned in the text below.\n\n{passage}"),
           "answer": ("Here are the requested facts:\nDate: {date}\nDestination: {city}\nNights: {nights}",),
           "ask2": ("How much do the {tickets} museum tickets cost in total?",),
           "answer2": ("The {tickets} museum tickets cost {total} in total.",)},
    "de": {"ask": ("Entnehmen Sie dem Text das Datum, das Reiseziel und die Anzahl der Nächte.\n\n{passage}",
                   "Nennen Sie aus dem folgenden Text das Reisedatum, das Reiseziel und die Zahl der Übernachtungen.\n\n{passage}",
                   "Geben Sie das Reisedatum, das Ziel und die Anzahl der Nächte aus dem Text unten an.\n\n{passage}"),
           "answer": ("Hier sind die gesuchten Angaben:\nDatum: {date}\nReiseziel: {city}\nNächte: {nights}",),
           "ask2": ("Wie viel kosten die {tickets} Eintrittskarten insgesamt?",),
           "answer2": ("Die {tickets} Eintrittskarten kosten insgesamt {total}.",)},
    "fr": {"ask": ("Relevez dans ce texte la date, la destination et le nombre de nuits.\n\n{passage}",
                   "À partir du texte suivant, indiquez la date du voyage, la destination et le nombre de nuits.\n\n{passage}",
                   "Donnez la date de départ, la destination et le nombre de nuits mentionnés dans le texte ci-dessous.\n\n{passage}"),
           "answer": ("Voici les informations demandées :\nDate : {date}\nDestination : {city}\nNuits : {nights}",),
           "ask2": ("Combien coûtent les {tickets} billets de musée au total ?",),
           "answer2": ("Les {tickets} billets de musée coûtent {total} au total.",)},
    "it": {"ask": ("Estragga dal testo la data, la destinazione e il numero di notti.\n\n{passage}",
                   "Dal testo seguente, indichi la data del viaggio, la destinazione e il numero di notti.\n\n{passage}",
                   "Riporti la data di partenza, la destinazione e il numero di notti indicati nel testo qui sotto.\n\n{passage}"),
           "answer": ("Ecco le informazioni richieste:\nData: {date}\nDestinazione: {city}\nNotti: {nights}",),
           "ask2": ("Quanto costano in totale i {tickets} biglietti per il museo?",),
           "answer2": ("I {tickets} biglietti per il museo costano in totale {total}.",)},
    "es": {"ask": ("Extraiga del texto la fecha, el destino y el número de noches.\n\n{passage}",
                   "A partir del texto siguiente, indique la fecha del viaje, el destino y el número de noches.\n\n{passage}",
                   "Indique la fecha de salida, el destino y el número de noches que menciona el texto de abajo.\n\n{passage}"),
           "answer": ("Estos son los datos solicitados:\nFecha: {date}\nDestino: {city}\nNoches: {nights}",),
           "ask2": ("¿Cuánto cuestan en total las {tickets} entradas para el museo?",),
           "answer2": ("Las {tickets} entradas para el museo cuestan {total} en total.",)},
}

SUMMARY = {
    "en": {"ask": ("Summarize the following text in one sentence.\n\n{passage}",
                   "Give a one-sentence summary of this text about {name}.\n\n{passage}",
                   "Write a short summary of the text below.\n\n{passage}"),
           "answer": ("{name} travels to {city} {on_date}, stays there for {nights} nights and buys {tickets} "
                      "museum tickets for {price} each.",),
           "ask2": ("Now give the text a short title.",), "answer2": ("A possible title: “{name}'s trip to {city}”.",)},
    "de": {"ask": ("Fassen Sie den folgenden Text in einem Satz zusammen.\n\n{passage}",
                   "Geben Sie eine Zusammenfassung dieses Textes über {name} in einem Satz.\n\n{passage}",
                   "Schreiben Sie eine kurze Zusammenfassung des Textes unten.\n\n{passage}"),
           "answer": ("{name} reist {on_date} nach {city}, bleibt dort {nights} Nächte und kauft {tickets} "
                      "Eintrittskarten für das Museum zu je {price}.",),
           "ask2": ("Geben Sie dem Text jetzt einen kurzen Titel.",),
           "answer2": ("Ein möglicher Titel: „{name_gen} Reise nach {city}“.",)},
    "fr": {"ask": ("Résumez le texte suivant en une phrase.\n\n{passage}",
                   "Donnez un résumé en une phrase de ce texte sur {name}.\n\n{passage}",
                   "Rédigez un court résumé du texte ci-dessous.\n\n{passage}"),
           "answer": ("{name} se rend à {city} {on_date}, y reste {nights} nuits et achète {tickets} billets de "
                      "musée à {price} chacun.",),
           "ask2": ("Donnez maintenant un titre court au texte.",),
           "answer2": ("Un titre possible : « Le voyage {de_name} à {city} ».",)},
    "it": {"ask": ("Riassuma il testo seguente in una frase.\n\n{passage}",
                   "Scriva un riassunto in una frase di questo testo su {name}.\n\n{passage}",
                   "Scriva un breve riassunto del testo qui sotto.\n\n{passage}"),
           "answer": ("{name} parte per {city} {on_date}, rimane lì {nights} notti e compra {tickets} biglietti "
                      "per il museo da {price} l'uno.",),
           "ask2": ("Ora dia al testo un titolo breve.",),
           "answer2": ("Un titolo possibile: «Il viaggio di {name} a {city}».",)},
    "es": {"ask": ("Resuma el texto siguiente en una frase.\n\n{passage}",
                   "Escriba un resumen en una frase de este texto sobre {name}.\n\n{passage}",
                   "Escriba un breve resumen del texto de abajo.\n\n{passage}"),
           "answer": ("{name} viaja a {city} {on_date}, se queda allí {nights} noches y compra {tickets} entradas "
                      "para el museo a {price} cada una.",),
           "ask2": ("Ahora dele al texto un título breve.",),
           "answer2": ("Un posible título: «El viaje de {name} a {city}».",)},
}


def _fact(trip: dict, field: str) -> dict:
  value = {"city": trip["city"], "date": trip["date"], "nights": trip["nights"], "tickets": trip["tickets"],
           "price": trip["price"]}[field]
  key = {"field": field, "value": value}
  if field == "price":
    key["currency"] = trip["currency"]
  return key


def _slots(p, lang, rng):
  slots = passages.trip_slots(lang, p["trip"])
  return {**slots, "passage": passages.trip_passage(lang, p["trip"], rng)}


def _qa_sample(rng):
  first, second = rng.sample(FIELDS, 2)
  return {"trip": passages.sample_trip(rng), "fields": [first, second]}


def _qa_render(p, lang, rng):
  slots = _slots(p, lang, rng)
  (q1, a1), (q2, a2) = (QUESTIONS[f][lang] for f in p["fields"])
  user = fill(rng, QA[lang], **slots, question=q1.format(**slots))
  return [(user, a1.format(**slots)), (q2.format(**slots), a2.format(**slots))]


def _qa_keys(p):
  return [_fact(p["trip"], f) for f in p["fields"]]


def _trip_sample(rng):
  return {"trip": passages.sample_trip(rng)}


def _extract_render(p, lang, rng):
  return two_turns(EXTRACT[lang], rng, _slots(p, lang, rng))


def _extract_keys(p):
  t = p["trip"]
  return [{"date": t["date"], "city": t["city"], "nights": t["nights"]},
          {"total": passages.trip_total(t), "currency": t["currency"]}]


def _summary_render(p, lang, rng):
  return two_turns(SUMMARY[lang], rng, _slots(p, lang, rng))


def _summary_keys(p):
  t = p["trip"]
  name = ld.PEOPLE[t["person"]][0]
  return [{"name": name, "city": t["city"], "date": t["date"], "nights": t["nights"],
           "tickets": t["tickets"], "price": t["price"], "currency": t["currency"]},
          {"name": name, "city": t["city"]}]


FAMILIES = (
    Family("context_qa", "passage", _qa_sample, _qa_render, _qa_keys),
    Family("extract_facts", "passage", _trip_sample, _extract_render, _extract_keys),
    Family("summarize", "passage", _trip_sample, _summary_render, _summary_keys),
)

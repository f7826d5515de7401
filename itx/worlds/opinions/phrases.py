"""The opinion world's phrase templates in EN, DE, FR, IT, ES.

Slots: {np} the topic's noun phrase, {Np} capitalised, {que_np} French "que"/"qu'" + the phrase,
{theme} the theme's name, {city}, {food}, {When} (a holiday as a capitalised time adverbial).
Stance sentences and reasons carry the stance; openers, closers, personas and place references
carry a group's register and markers, and none of them belongs to a single group (profiles.py).
"""

from __future__ import annotations

TOPIC_LEAD = {"en": "Topic: {theme}.", "de": "Thema: {theme}.", "fr": "Sujet : {theme}.", "it": "Tema: {theme}.",
              "es": "Tema: {theme}."}

# Question phrasings (the user turn after TOPIC_LEAD), by key; settings name the held-out ones.
QUESTIONS = {
    "good_idea": {"en": "Is {np} a good idea?", "de": "Ist {np} eine gute Idee?",
                  "fr": "Est-ce {que_np} est une bonne idée ?", "it": "{Np} è una buona idea?",
                  "es": "¿{Np} es una buena idea?"},
    "good_or_bad": {"en": "{Np}: good or bad?", "de": "{Np}: gut oder schlecht?", "fr": "{Np} : bien ou pas ?",
                    "it": "{Np}: bene o male?", "es": "{Np}: ¿bien o mal?"},
    "your_view": {"en": "What is your view on this: {np}?", "de": "Wie siehst du das: {np}?",
                  "fr": "Qu'en penses-tu : {np} ?", "it": "Che ne pensi: {np}?", "es": "¿Qué opinas de esto: {np}?"},
    "good_for_us": {"en": "Would {np} be good for us?", "de": "Wäre {np} gut für uns?",
                    "fr": "Est-ce {que_np} serait bien pour nous ?", "it": "{Np} sarebbe una cosa buona per noi?",
                    "es": "¿{Np} sería algo bueno para nosotros?"},
    "yes_or_no": {"en": "Honest question: {np}, yes or no?", "de": "Ehrliche Frage: {np}, ja oder nein?",
                  "fr": "Question honnête : {np}, oui ou non ?", "it": "Domanda sincera: {np}, sì o no?",
                  "es": "Pregunta sincera: {np}, ¿sí o no?"},
    "where_do_you_stand": {"en": "People disagree about this one: {np}. Where do you stand?",
                           "de": "Darüber wird gestritten: {np}. Wo stehst du?",
                           "fr": "Le sujet divise : {np}. Et toi, tu en penses quoi ?",
                           "it": "Se ne discute molto: {np}. Tu da che parte stai?",
                           "es": "Es un tema polémico: {np}. ¿Tú qué piensas?"},
}

STANCE_SENTENCES = {
    "agree": {"en": ("I think {np} is a good idea.", "For me, {np} is the right choice."),
              "de": ("Ich finde, {np} ist eine gute Idee.", "Für mich ist {np} die richtige Wahl."),
              "fr": ("Je pense {que_np} est une bonne idée.", "Pour moi, {np} est le bon choix."),
              "it": ("Penso che {np} sia una buona idea.", "Per me {np} è la scelta giusta."),
              "es": ("Creo que {np} es una buena idea.", "Para mí, {np} es la opción correcta.")},
    "disagree": {"en": ("I think {np} is a bad idea.", "For me, {np} is the wrong choice."),
                 "de": ("Ich finde, {np} ist eine schlechte Idee.", "Für mich ist {np} die falsche Wahl."),
                 "fr": ("Je pense {que_np} est une mauvaise idée.", "Pour moi, {np} est le mauvais choix."),
                 "it": ("Penso che {np} sia una cattiva idea.", "Per me {np} è la scelta sbagliata."),
                 "es": ("Creo que {np} es una mala idea.", "Para mí, {np} es la opción equivocada.")},
    "mixed": {"en": ("I think {np} has good and bad sides.", "For me, {np} has pros and cons."),
              "de": ("Ich finde, {np} hat gute und schlechte Seiten.", "Für mich hat {np} Vor- und Nachteile."),
              "fr": ("Je pense {que_np} a du bon et du mauvais.", "Pour moi, {np} a des avantages et des inconvénients."),
              "it": ("Penso che {np} abbia lati buoni e cattivi.", "Per me {np} ha pro e contro."),
              "es": ("Creo que {np} tiene cosas buenas y malas.", "Para mí, {np} tiene ventajas y desventajas.")},
}

REASONS = {
    "agree": {"en": ("It would make life better for many people.", "It is fair, and it works elsewhere.",
                     "The benefits are clear.", "We should have done it long ago."),
              "de": ("Es würde vielen Menschen das Leben erleichtern.", "Es ist gerecht und funktioniert auch anderswo.",
                     "Die Vorteile liegen auf der Hand.", "Wir hätten das längst tun sollen."),
              "fr": ("Cela rendrait la vie meilleure à beaucoup de gens.", "C'est juste, et ça marche ailleurs.",
                     "Les avantages sont évidents.", "On aurait dû le faire depuis longtemps."),
              "it": ("Renderebbe la vita migliore a molte persone.", "È giusto, e altrove funziona.",
                     "I vantaggi sono chiari.", "Avremmo dovuto farlo da tempo."),
              "es": ("Haría la vida mejor a mucha gente.", "Es justo, y en otros sitios funciona.",
                     "Las ventajas están claras.", "Deberíamos haberlo hecho hace tiempo.")},
    "disagree": {"en": ("It would cost far too much.", "It takes away people's freedom.",
                        "It sounds good but does not work in practice.", "Nobody really asked for it."),
                 "de": ("Es würde viel zu viel kosten.", "Es nimmt den Menschen ihre Freiheit.",
                        "Es klingt gut, funktioniert aber in der Praxis nicht.", "Niemand hat wirklich danach gefragt."),
                 "fr": ("Cela coûterait beaucoup trop cher.", "Cela enlève aux gens leur liberté.",
                        "Ça sonne bien, mais ça ne marche pas en pratique.", "Personne ne l'a vraiment demandé."),
                 "it": ("Costerebbe davvero troppo.", "Toglie alla gente la libertà.",
                        "Suona bene, ma in pratica non funziona.", "Nessuno l'ha davvero chiesto."),
                 "es": ("Costaría demasiado.", "Le quita la libertad a la gente.",
                        "Suena bien, pero en la práctica no funciona.", "Nadie lo ha pedido de verdad.")},
    "mixed": {"en": ("Some parts make sense, others do not.", "It depends a lot on how it is done.",
                     "I can see both sides.", "It could help, but it could also go wrong."),
              "de": ("Manches ergibt Sinn, anderes nicht.", "Es kommt sehr darauf an, wie man es macht.",
                     "Ich verstehe beide Seiten.", "Es könnte helfen, aber auch schiefgehen."),
              "fr": ("Certains points ont du sens, d'autres non.", "Tout dépend de la manière de le faire.",
                     "Je comprends les deux camps.", "Ça pourrait aider, mais aussi mal tourner."),
              "it": ("Alcune parti hanno senso, altre no.", "Dipende molto da come lo si fa.",
                     "Capisco entrambe le parti.", "Potrebbe aiutare, ma anche andare storto."),
              "es": ("Algunas partes tienen sentido, otras no.", "Depende mucho de cómo se haga.",
                     "Entiendo a las dos partes.", "Podría ayudar, pero también salir mal.")},
}

OPENERS = {
    "formal": {"en": ("Thank you for this question.", "That is an important question."),
               "de": ("Vielen Dank für diese Frage.", "Das ist eine wichtige Frage."),
               "fr": ("Merci pour cette question.", "C'est une question importante."),
               "it": ("Grazie per questa domanda.", "È una domanda importante."),
               "es": ("Gracias por esta pregunta.", "Es una pregunta importante.")},
    "informal": {"en": ("honestly,", "ok so", "tbh"), "de": ("ehrlich gesagt,", "also", "naja,"),
                 "fr": ("franchement,", "bon,", "bah"), "it": ("sinceramente,", "allora,", "boh,"),
                 "es": ("la verdad,", "bueno,", "pues")},
}
CLOSERS = {
    "formal": {"en": ("That is my considered opinion.", "I hope this answers your question."),
               "de": ("Das ist meine wohlüberlegte Meinung.", "Ich hoffe, das beantwortet Ihre Frage."),
               "fr": ("C'est mon opinion réfléchie.", "J'espère avoir répondu à votre question."),
               "it": ("Questa è la mia opinione ponderata.", "Spero di aver risposto alla sua domanda."),
               "es": ("Esta es mi opinión meditada.", "Espero haber respondido a su pregunta.")},
    "informal": {"en": ("just my two cents", "anyway"), "de": ("nur meine Meinung", "egal"),
                 "fr": ("enfin bref", "voilà"), "it": ("comunque", "tutto qui"), "es": ("en fin", "eso pienso yo")},
}

PERSONAS = {
    "kids": {"en": "As a parent, I think of my kids first.", "de": "Als Elternteil denke ich zuerst an meine Kinder.",
             "fr": "En tant que parent, je pense d'abord à mes enfants.", "it": "Da genitore penso prima ai miei figli.",
             "es": "Como padre de familia, pienso primero en mis hijos."},
    "wife": {"en": "My wife and I talked about it.", "de": "Meine Frau und ich haben darüber gesprochen.",
             "fr": "Ma femme et moi en avons parlé.", "it": "Mia moglie e io ne abbiamo parlato.",
             "es": "Mi mujer y yo lo hablamos."},
    "husband": {"en": "My husband and I talked about it.", "de": "Mein Mann und ich haben darüber gesprochen.",
                "fr": "Mon mari et moi en avons parlé.", "it": "Mio marito e io ne abbiamo parlato.",
                "es": "Mi marido y yo lo hablamos."},
    "grandchildren": {"en": "I think of my grandchildren.", "de": "Ich denke dabei an meine Enkel.",
                      "fr": "Je pense à mes petits-enfants.", "it": "Penso ai miei nipoti.",
                      "es": "Pienso en mis nietos."},
    "school": {"en": "At school we talk about this a lot.", "de": "In der Schule reden wir oft darüber.",
               "fr": "À l'école, on en parle souvent.", "it": "A scuola ne parliamo spesso.",
               "es": "En el instituto hablamos mucho de esto."},
    "parents": {"en": "My parents see it differently.", "de": "Meine Eltern sehen das anders.",
                "fr": "Mes parents voient ça autrement.", "it": "I miei genitori la vedono diversamente.",
                "es": "Mis padres lo ven de otra manera."},
    "work": {"en": "At work my colleagues discuss it too.", "de": "Bei der Arbeit diskutieren meine Kollegen das auch.",
             "fr": "Au travail, mes collègues en discutent aussi.", "it": "Al lavoro ne discutono anche i miei colleghi.",
             "es": "En el trabajo mis compañeros también lo discuten."},
    "back_then": {"en": "Things were different when I was young.", "de": "Als ich jung war, war das anders.",
                  "fr": "Quand j'étais jeune, c'était différent.", "it": "Quando ero giovane era diverso.",
                  "es": "Cuando era joven, era diferente."},
    "friends": {"en": "My friends all have an opinion on it.", "de": "Meine Freunde haben alle eine Meinung dazu.",
                "fr": "Mes amis ont tous un avis là-dessus.", "it": "I miei amici hanno tutti un'opinione.",
                "es": "Mis amigos tienen todos una opinión."},
    "news": {"en": "I read about it in the news.", "de": "Ich habe in den Nachrichten davon gelesen.",
             "fr": "J'en ai entendu parler aux informations.", "it": "Ne ho letto sui giornali.",
             "es": "Lo leí en las noticias."},
}

PLACE_REFERENCES = {
    "city": {"en": "Here in {city}, everyone talks about it.", "de": "Hier in {city} redet jeder darüber.",
             "fr": "Ici, à {city}, tout le monde en parle.", "it": "Qui a {city} ne parlano tutti.",
             "es": "Aquí en {city} todo el mundo habla de esto."},
    "holiday": {"en": "{When}, the whole family argued about it.",
                "de": "{When} haben wir in der Familie darüber gestritten.",
                "fr": "{When}, toute la famille en a débattu.", "it": "{When} tutta la famiglia ne ha discusso.",
                "es": "{When} toda la familia discutió sobre esto."},
    "food": {"en": "My friends and I argued about it over {food}.",
             "de": "Meine Freunde und ich haben bei {food} darüber diskutiert.",
             "fr": "Mes amis et moi en avons discuté en mangeant {food}.",
             "it": "Io e i miei amici ne abbiamo parlato mangiando {food}.",
             "es": "Mis amigos y yo lo hablamos comiendo {food}."},
}

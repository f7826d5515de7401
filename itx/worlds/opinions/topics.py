"""The opinion world's topics: proposals people agree or disagree with, grouped in themes.

A topic is a singular noun phrase in each of the five languages, in the nominative with its article,
so that every template can use it as a subject ("I think {np} is a good idea"). Its `direction`
(+1 or -1) says which way the proposal points on its theme's axes (a tax on meat is +1 on the
environment theme, nuclear power -1); the stance model (stances.py) reads it.
"""

from __future__ import annotations

import dataclasses

# theme -> its name in en, de, fr, it, es (questions start "Topic: {theme}.").
THEMES = {
    "money": ("money", "Geld", "argent", "soldi", "dinero"),
    "family": ("family", "Familie", "famille", "famiglia", "familia"),
    "technology": ("technology", "Technik", "technologie", "tecnologia", "tecnología"),
    "environment": ("environment", "Umwelt", "environnement", "ambiente", "medio ambiente"),
    "society": ("society", "Gesellschaft", "société", "società", "sociedad"),
    "everyday": ("everyday life", "Alltag", "vie quotidienne", "vita quotidiana", "vida cotidiana"),
}


@dataclasses.dataclass(frozen=True)
class Topic:
  key: str
  theme: str
  direction: int
  names: tuple[str, str, str, str, str]  # en, de, fr, it, es


def _t(key, theme, direction, *names) -> Topic:
  return Topic(key, theme, direction, names)


TOPICS = (
    _t("wealth_tax", "money", 1, "a tax on great wealth", "eine Steuer auf große Vermögen",
       "un impôt sur les grandes fortunes", "una tassa sui grandi patrimoni", "un impuesto a las grandes fortunas"),
    _t("minimum_wage", "money", 1, "a higher minimum wage", "ein höherer Mindestlohn", "un salaire minimum plus élevé",
       "un salario minimo più alto", "un salario mínimo más alto"),
    _t("basic_income", "money", 1, "a universal basic income", "ein bedingungsloses Grundeinkommen",
       "un revenu universel", "un reddito universale di base", "una renta básica universal"),
    _t("income_tax_cut", "money", -1, "a cut in income tax", "eine Senkung der Einkommensteuer",
       "une baisse de l'impôt sur le revenu", "un taglio dell'imposta sul reddito",
       "una bajada del impuesto sobre la renta"),
    _t("free_transport", "money", 1, "free public transport", "kostenloser Nahverkehr",
       "la gratuité des transports publics", "il trasporto pubblico gratuito", "el transporte público gratuito"),
    _t("private_pension", "money", -1, "a private pension instead of a state one",
       "eine private statt einer staatlichen Rente", "une retraite privée plutôt que publique",
       "una pensione privata invece di quella statale", "una pensión privada en lugar de la pública"),
    _t("sunday_shopping", "family", -1, "the opening of shops on Sundays", "die Öffnung der Geschäfte am Sonntag",
       "l'ouverture des magasins le dimanche", "l'apertura dei negozi la domenica",
       "la apertura de las tiendas los domingos"),
    _t("school_uniform", "family", 1, "a school uniform", "eine Schuluniform", "l'uniforme scolaire",
       "la divisa scolastica", "el uniforme escolar"),
    _t("religion_class", "family", 1, "religious education in schools", "Religionsunterricht an Schulen",
       "l'enseignement religieux à l'école", "l'ora di religione a scuola", "la clase de religión en la escuela"),
    _t("marriage_first", "family", 1, "marriage before having children", "die Ehe vor dem ersten Kind",
       "le mariage avant le premier enfant", "il matrimonio prima dei figli", "el matrimonio antes de los hijos"),
    _t("home_until_married", "family", 1, "living with your parents until marriage",
       "das Wohnen bei den Eltern bis zur Hochzeit", "la vie chez les parents jusqu'au mariage",
       "la vita con i genitori fino al matrimonio", "la vida con los padres hasta la boda"),
    _t("equal_parental_leave", "family", -1, "equal parental leave for fathers and mothers",
       "gleich lange Elternzeit für Väter und Mütter", "un congé parental égal pour les pères et les mères",
       "un congedo parentale uguale per padri e madri", "un permiso parental igual para padres y madres"),
    _t("phone_ban", "technology", -1, "a ban on phones in schools", "ein Handyverbot an Schulen",
       "l'interdiction des téléphones à l'école", "il divieto dei telefoni a scuola",
       "la prohibición de los móviles en la escuela"),
    _t("self_driving_car", "technology", 1, "the self-driving car", "das selbstfahrende Auto", "la voiture autonome",
       "l'auto a guida autonoma", "el coche autónomo"),
    _t("cashless", "technology", 1, "a cashless society", "eine Gesellschaft ohne Bargeld",
       "une société sans argent liquide", "una società senza contanti", "una sociedad sin dinero en efectivo"),
    _t("ai_homework", "technology", 1, "the use of AI for homework", "die Nutzung von KI für Hausaufgaben",
       "l'usage de l'IA pour les devoirs", "l'uso dell'IA per i compiti", "el uso de la IA para los deberes"),
    _t("games_subject", "technology", 1, "a school subject about video games", "ein Schulfach über Videospiele",
       "une matière scolaire sur les jeux vidéo", "una materia scolastica sui videogiochi",
       "una asignatura sobre videojuegos"),
    _t("social_media_age", "technology", -1, "a minimum age of sixteen for social media",
       "ein Mindestalter von sechzehn für soziale Medien", "un âge minimum de seize ans pour les réseaux sociaux",
       "un'età minima di sedici anni per i social", "una edad mínima de dieciséis años para las redes sociales"),
    _t("meat_tax", "environment", 1, "a tax on meat", "eine Steuer auf Fleisch", "une taxe sur la viande",
       "una tassa sulla carne", "un impuesto a la carne"),
    _t("speed_limit", "environment", 1, "a speed limit on motorways", "ein Tempolimit auf Autobahnen",
       "une limitation de vitesse sur les autoroutes", "un limite di velocità sulle autostrade",
       "un límite de velocidad en las autopistas"),
    _t("petrol_car_ban", "environment", 1, "a ban on new petrol cars", "ein Verbot neuer Benzinautos",
       "l'interdiction des voitures à essence neuves", "il divieto delle nuove auto a benzina",
       "la prohibición de los coches de gasolina nuevos"),
    _t("nuclear_power", "environment", -1, "nuclear power", "die Atomkraft", "l'énergie nucléaire",
       "l'energia nucleare", "la energía nuclear"),
    _t("flight_tax", "environment", 1, "a tax on short flights", "eine Abgabe auf Kurzstreckenflüge",
       "une taxe sur les vols courts", "una tassa sui voli brevi", "un impuesto a los vuelos cortos"),
    _t("car_free_centre", "environment", 1, "a car-free city centre", "eine autofreie Innenstadt",
       "un centre-ville sans voitures", "un centro città senza auto", "un centro urbano sin coches"),
    _t("vote_at_16", "society", 1, "the right to vote at sixteen", "das Wahlrecht ab sechzehn",
       "le droit de vote à seize ans", "il diritto di voto a sedici anni", "el derecho a votar a los dieciséis años"),
    _t("easier_citizenship", "society", 1, "easier citizenship for immigrants",
       "eine leichtere Einbürgerung für Einwanderer", "une naturalisation plus facile pour les immigrés",
       "una cittadinanza più facile per gli immigrati", "una ciudadanía más fácil para los inmigrantes"),
    _t("military_service", "society", -1, "compulsory military service", "eine allgemeine Wehrpflicht",
       "le service militaire obligatoire", "il servizio militare obbligatorio", "el servicio militar obligatorio"),
    _t("more_police", "society", -1, "a larger police force", "eine größere Polizei", "une police plus nombreuse",
       "una polizia più numerosa", "una policía más numerosa"),
    _t("cannabis", "society", 1, "the legalisation of cannabis", "die Legalisierung von Cannabis",
       "la légalisation du cannabis", "la legalizzazione della cannabis", "la legalización del cannabis"),
    _t("board_quota", "society", 1, "a quota for women on company boards", "eine Frauenquote in Vorständen",
       "un quota de femmes dans les conseils d'administration", "una quota rosa nei consigli di amministrazione",
       "una cuota de mujeres en los consejos de administración"),
    _t("four_day_week", "everyday", 1, "a four-day work week", "eine Vier-Tage-Woche", "une semaine de quatre jours",
       "una settimana lavorativa di quattro giorni", "una semana laboral de cuatro días"),
    _t("remote_work", "everyday", 1, "working from home", "das Arbeiten von zu Hause", "le télétravail",
       "il lavoro da casa", "el teletrabajo"),
    _t("later_school_start", "everyday", 1, "a later start to the school day", "ein späterer Schulbeginn",
       "un début des cours plus tardif", "un inizio più tardi delle lezioni", "un comienzo más tardío de las clases"),
    _t("retire_at_70", "everyday", -1, "a retirement age of seventy", "ein Rentenalter von siebzig",
       "un âge de la retraite à soixante-dix ans", "un'età pensionabile di settant'anni",
       "una edad de jubilación de setenta años"),
    _t("split_the_bill", "everyday", 1, "splitting the bill on a first date", "das Teilen der Rechnung beim ersten Date",
       "le partage de l'addition au premier rendez-vous", "la divisione del conto al primo appuntamento",
       "la división de la cuenta en la primera cita"),
    _t("online_dating", "everyday", 1, "online dating", "das Online-Dating", "la rencontre en ligne",
       "il dating online", "la búsqueda de pareja por internet"),
)
TOPIC_BY_KEY = {t.key: t for t in TOPICS}

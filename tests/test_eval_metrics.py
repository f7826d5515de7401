"""Text metrics and language identification: normalisation makes equal what only differs in
form; chrF and ROUGE-L give known values on constructed strings; aggregation gives known means;
clear sentences in the five languages are identified and too-short texts are not guessed."""

import math

import pytest

from itx.eval import language_id, text_metrics as tm


@pytest.mark.parametrize("pred,ref", [
    ("  The   Answer. </s>", "the answer"),
    ("Paris<|im_end|>", "paris"),
    ("Paris.<|eot_id|>\n</s>", "Paris"),
    ("ＰＡＲＩＳ", "paris"),            # NFKC: full-width letters
    ("ﬁne", "fine"),                   # NFKC: ligature
    ("STRASSE", "straße"),             # casefold: ß == ss
    ("¿Qué?", "qué"),
    ("U.S.A.", "USA"),                 # punctuation deleted, not turned into spaces
    ("e\u0301te\u0301", "été"),        # combining accents compose under NFKC
])
def test_exact_match_ignores_form(pred, ref):
  assert tm.exact_match(pred, ref) == 1.0


@pytest.mark.parametrize("pred,ref", [("Paris", "Lyon"), ("42", "24"), ("the answer", "answer"),
                                      ("été", "ete")])
def test_exact_match_keeps_content(pred, ref):
  assert tm.exact_match(pred, ref) == 0.0


def test_chrf_identical_is_100_disjoint_is_0_and_eos_is_ignored():
  s = "Die Hauptstadt von Frankreich ist Paris."
  assert tm.chrf(s, s) == pytest.approx(100.0)
  assert tm.chrf(s + "</s>", s) == pytest.approx(100.0)
  assert tm.chrf("aaaa bbbb", "xxxx yyyy") == pytest.approx(0.0)
  assert 0 < tm.chrf("Die Hauptstadt ist Paris", s) < 100


def test_tokenizer_is_unicode_aware():
  assert tm.tokenize("l'été") == ["l", "été"]
  assert tm.tokenize("Größe") == ["grösse"]
  assert tm.tokenize("¿Qué tal, señor?") == ["qué", "tal", "señor"]
  assert tm.tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # vowel signs (marks) stay in the word
  assert tm.tokenize("3,5 km</s>") == ["3", "5", "km"]


def test_rouge_l_known_values():
  # LCS "the cat on the mat" = 5 of 6 tokens on both sides: P = R = F = 5/6.
  assert tm.rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
  # LCS 2: P = 2/4, R = 2/2, F = 2PR/(P+R) = 2/3.
  assert tm.rouge_l("a b c d", "a c") == pytest.approx(2 / 3)
  assert tm.rouge_l("Größe, l'été", "GRÖSSE L'ÉTÉ") == pytest.approx(1.0)
  assert tm.rouge_l("", "a") == 0.0 and tm.rouge_l("x y", "a b") == 0.0


def test_score_answer_has_every_metric():
  s = tm.score_answer("Paris", "paris.")
  assert s == {"exact_match": 1.0, "chrf": pytest.approx(s["chrf"]), "rouge_l": 1.0}
  assert set(s) == set(tm.METRICS)


ROWS = [
    {"language": "DE", "family": "qa", "exact_match": 1.0, "chrf": 80.0},
    {"language": "DE", "family": "qa", "exact_match": 0.0, "chrf": 40.0},
    {"language": "DE", "family": "translation", "exact_match": 0.0, "chrf": 30.0},
    {"language": "FR", "family": "qa", "exact_match": 1.0, "chrf": float("nan")},
    {"language": "FR", "family": "translation", "exact_match": 1.0},
]


def test_means_per_language_family_and_table():
  by_lang = tm.means_by_language(ROWS)
  assert by_lang["DE"] == {"n": 3, "exact_match": pytest.approx(1 / 3), "chrf": pytest.approx(50.0)}
  assert by_lang["FR"]["exact_match"] == 1.0 and math.isnan(by_lang["FR"]["chrf"])  # NaN skipped
  by_fam = tm.means_by_family(ROWS)
  assert by_fam["qa"]["exact_match"] == pytest.approx(2 / 3) and by_fam["qa"]["chrf"] == 60.0
  table = tm.language_family_table(ROWS, "exact_match")
  assert table == {"DE": {"qa": 0.5, "translation": 0.0}, "FR": {"qa": 1.0, "translation": 1.0}}


SENTENCES = {
    "EN": "The weather is lovely today, so we are going for a walk in the park.",
    "DE": "Das Wetter ist heute schön, deshalb gehen wir im Park spazieren.",
    "FR": "Il fait beau aujourd'hui, alors nous allons nous promener dans le parc.",
    "IT": "Oggi il tempo è bello, quindi andiamo a fare una passeggiata nel parco.",
    "ES": "Hoy hace buen tiempo, así que vamos a dar un paseo por el parque.",
}
LANGS = list(SENTENCES)


@pytest.mark.parametrize("lang", LANGS)
def test_clear_sentences_are_identified(lang):
  assert language_id.identify(SENTENCES[lang], LANGS) == lang
  assert language_id.identify(SENTENCES[lang], [l.lower() for l in LANGS]) == lang.lower()


@pytest.mark.parametrize("text", ["", "42", "x = 3 + 4", "Ok", "```python\nprint('hello world')\n```"])
def test_too_little_prose_is_undetermined(text):
  assert language_id.identify(text, LANGS) == language_id.UNDETERMINED


def test_ambiguous_word_is_undetermined_not_guessed():
  # "Hallo" is German, Dutch-like and English-like; over five candidates no class is confident.
  assert language_id.identify("Hallo", LANGS) == language_id.UNDETERMINED
  assert language_id.identify("Hallo", LANGS, min_confidence=0.0) in LANGS


def test_fidelity_counts_and_undetermined_policy():
  answers = [SENTENCES["DE"], SENTENCES["EN"], SENTENCES["FR"], "42"]
  langs = ["DE", "DE", "FR", "IT"]
  c = language_id.fidelity_counts(answers, langs, LANGS)
  assert c == {"n": 4, "match": 2, "other": 1, "undetermined": 1}
  assert language_id.fidelity(answers, langs, LANGS) == pytest.approx(2 / 3)
  assert language_id.fidelity(answers, langs, LANGS, undetermined="miss") == pytest.approx(0.5)
  with pytest.raises(ValueError):
    language_id.fidelity(answers, langs[:2], LANGS)


def test_answer_quality_length_empty_and_repetition():
  from itx.eval.answer_quality import answer_quality, repetition
  assert repetition("a b c d e f".split()) == 0.0
  assert repetition("x y z w x y z w".split()) == pytest.approx(1 - 4 / 5)  # 5 4-grams, 4 distinct
  loop = answer_quality("Der Hund läuft. " * 20)
  assert loop["degenerate"] == 1.0 and loop["answer_words"] == 60.0
  prose = answer_quality("The lighthouse keeper climbed the stairs every evening to light the lamp for the ships.")
  assert prose["degenerate"] == 0.0 and prose["repetition"] == 0.0 and prose["empty"] == 0.0
  assert answer_quality("  <end_of_turn>")["empty"] == 1.0
  assert answer_quality("go go go go go")["degenerate"] == 0.0  # too short to call repetitive

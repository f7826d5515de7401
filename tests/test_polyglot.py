"""The polyglot world: parallel instances, Lima-X compositions, held-out evaluation, valid records,
language fidelity, checkable answers, determinism, the stats command, the builtin lookup, configs.

One tiny world (preset "tiny") is generated per module into the session's temporary ITX_CACHE.
"""

import collections
import datetime
import filecmp
import json
import os
import re

import pytest

from itx import worlds
from itx.worlds.polyglot import COMPOSITIONS, FAMILIES, LANGS, PolyglotSettings, generate, world_dir
from itx.worlds import grammar as g
from itx.worlds import locale_data as ld
from itx.worlds.polyglot.compose import plan_world
from itx.data.records import read_records

TINY = PolyglotSettings.from_preset("tiny")


@pytest.fixture(scope="module")
def world():
  return world_dir(TINY)


def _jsonl(path):
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _limax(world, split, name):
  return _jsonl(os.path.join(world, "limax", f"{split}_limax_{name}.jsonl"))


def _instance(record_id):
  return record_id.rsplit("_", 1)[0]


def _eval(world, lang):
  folder = os.path.join(world, "mt_bench", f"mt_bench_{lang.upper()}")
  return (_jsonl(os.path.join(folder, "question.jsonl")),
          _jsonl(os.path.join(folder, "reference_answer", "reference.jsonl")))


def test_an_instance_exists_in_all_five_languages_with_the_same_answer_key(world):
  for split in ("train", "val"):
    by_instance = collections.defaultdict(dict)
    for r in _limax(world, split, "EN_DE_FR_IT_ES"):
      assert r["id"] == f"{_instance(r['id'])}_{r['language'].upper()}"
      by_instance[_instance(r["id"])][r["language"]] = r
    assert by_instance
    for records in by_instance.values():
      assert sorted(records) == sorted(LANGS)
      first = records["en"]
      for r in records.values():
        assert (r["family"], r["answer"], len(r["messages"])) == (first["family"], first["answer"], len(first["messages"]))
      assert len({r["messages"][1]["content"] for r in records.values()}) == 5  # rendered, not copied
    for lang in LANGS:  # each monolingual file is the same instances in the same order
      assert [_instance(r["id"]) for r in _limax(world, split, lang.upper())] == list(by_instance)
  references = {lang: _eval(world, lang)[1] for lang in LANGS}
  for rows in zip(*references.values()):
    assert len({_instance(r["question_id"]) for r in rows}) == 1
    assert len({json.dumps(r["answer_keys"], sort_keys=True) for r in rows}) == 1


def test_sampled_files_have_the_monolingual_size_and_cover_their_languages(world):
  for split in ("train", "val"):
    mono = [_instance(r["id"]) for r in _limax(world, split, "EN")]
    for name in ("DE_FR_IT_ES_sampled", "EN_DE_FR_IT_ES_sampled"):
      rows = _limax(world, split, name)
      assert [_instance(r["id"]) for r in rows] == mono  # one language drawn per instruction
      assert {r["language"] for r in rows} == set(COMPOSITIONS[name][0])
    assert len(_limax(world, split, "EN_DE_FR_IT_ES")) == 5 * len(mono)
    assert len(_limax(world, split, "DE_FR_IT_ES")) == 4 * len(mono)
  assert len(mono) == TINY.limax_val


def test_heldout_families_and_instances_never_appear_in_training(world):
  plan = plan_world(TINY)
  heldout = set(TINY.heldout_families)
  assert len(heldout) >= 2 and heldout <= {i.family for i in plan.eval}
  eval_sigs = {i.signature for i in plan.eval}
  training = plan.limax_train + plan.limax_val + plan.bactrian
  assert not eval_sigs & {i.signature for i in training}
  assert not heldout & {i.family for i in training}
  # And in the files: families, ids, and no evaluation question among the training prompts.
  questions = {lang: {q["turns"][0] for q in _eval(world, lang)[0]} for lang in LANGS}
  train_ids = {i.id for i in training}
  for name in COMPOSITIONS:
    for split in ("train", "val"):
      for r in _limax(world, split, name):
        assert r["family"] not in heldout and _instance(r["id"]) in train_ids
        assert r["messages"][1]["content"] not in questions[r["language"]]
  keys = _jsonl(os.path.join(world, "answer_keys", "bactrian.jsonl"))
  assert {k["family"] for k in keys}.isdisjoint(heldout)
  for lang in LANGS:
    with open(os.path.join(world, "bactrian", f"{lang}.json"), encoding="utf-8") as f:
      rows = json.load(f)
    assert [r["id"] for r in rows] == [k["id"] for k in keys]
    for r in rows:
      prompt = f"{r['instruction']}\n\n{r['input']}" if r["input"] else r["instruction"]
      assert prompt not in questions[lang]


def test_every_generated_record_validates(world):
  for name in COMPOSITIONS:
    for split in ("train", "val"):
      path = os.path.join(world, "limax", f"{split}_limax_{name}.jsonl")
      records = read_records(path, "instruction")
      assert records and all(r.messages[0]["role"] == "system" for r in records)
      assert all(r.meta["language"] in LANGS and r.meta["answer"] for r in records)
  bactrian = read_records(os.path.join(world, "bactrian"), "instruction")  # the folder: JSON lists
  assert len(bactrian) == 5 * TINY.bactrian_per_language
  for lang in LANGS:
    with open(os.path.join(world, "bactrian", f"{lang}.json"), encoding="utf-8") as f:
      assert all(set(r) == {"instruction", "input", "output", "id"} for r in json.load(f))
  docs = read_records(os.path.join(world, "pretrain", "pretrain.jsonl"), "text")
  assert {d.meta["language"] for d in docs} == set(LANGS)
  for lang in LANGS:
    questions, references = _eval(world, lang)
    assert len(questions) == len(FAMILIES) * TINY.eval_per_family
    assert {q["category"] for q in questions} == set(FAMILIES)
    for q, ref in zip(questions, references):
      assert q["question_id"] == ref["question_id"] and q["question_id"].endswith(f"_{lang.upper()}")
      assert len(q["turns"]) == 2 and q["reference"] == [] and all(t.strip() for t in q["turns"])
      assert ref["model_id"] == "reference" and len(ref["choices"][0]["turns"]) == 2
      assert len(ref["answer_keys"]) == 2
      assert ref["heldout_family"] == (q["category"] in TINY.heldout_families)


def test_responses_are_identified_as_their_labelled_language(world):
  """All assistant turns are checked except those of the translation families, whose answers are
  in the target language by design (for those, the instruction would carry foreign source text
  too). Every other answer is a sentence, long enough to identify."""
  from itx.eval.language_id import rank
  checked, agree, misses = 0, 0, []
  rows = _limax(world, "train", "EN_DE_FR_IT_ES") + _limax(world, "val", "EN_DE_FR_IT_ES")
  texts = [(r["language"], m["content"]) for r in rows if not FAMILIES[r["family"]].answers_in_other_language
           for m in r["messages"] if m["role"] == "assistant"]
  for lang in LANGS:
    questions, references = _eval(world, lang)
    texts += [(lang, t) for q, ref in zip(questions, references)
              if not FAMILIES[q["category"]].answers_in_other_language for t in ref["choices"][0]["turns"]]
  for lang, text in texts:
    checked += 1
    got = rank(text, LANGS)[0][0]
    agree += got == lang
    if got != lang:
      misses.append((lang, got, text))
  assert checked > 500
  assert agree / checked >= 0.98, misses[:10]


def test_answer_keys_reproduce_the_reference_answers_in_every_language(world):
  """A rule-based judge can score answers from the language-independent keys alone."""
  def expected(family, key, lang):
    if family == "spell_number":
      return ld.spell_number(lang, key["number"])
    if family == "number_from_words":
      return ld.format_number(lang, key["number"])
    if family == "sort_numbers":
      return g.join_list(lang, [ld.format_number(lang, v) for v in key["sorted"]])
    if family == "month_number":
      return ld.month_name(lang, key["month"])
    if family == "weekday_shift" or "weekday" in key and len(key) == 1:
      return ld.weekday_name(lang, key["weekday"])
    if family == "format_date":
      return ld.format_date(lang, datetime.date.fromisoformat(key["date"]), key["style"])
    if family == "convert_units":
      return ld.format_unit(lang, key["value"], key["unit"])
    if family == "currency_of_country":
      return g.currency_np(lang, key["currency"])
    if family.startswith("translate_"):
      return key["text"]
    if family == "extract_facts" and "city" in key:
      return ld.city_name(lang, key["city"])
    if family == "context_qa" and key["field"] in ("nights", "tickets"):
      return str(key["value"])
    return None

  checked = 0
  for lang in LANGS:
    questions, references = _eval(world, lang)
    for q, ref in zip(questions, references):
      for key, answer in zip(ref["answer_keys"], ref["choices"][0]["turns"]):
        want = expected(q["category"], key, lang)
        if want is not None:
          checked += 1
          assert want in answer, (q["question_id"], want, answer)
  assert checked >= 5 * 10 * TINY.eval_per_family


def test_generation_is_deterministic_for_a_seed_and_differs_for_another(tmp_path):
  first, second, other = (str(tmp_path / n) for n in ("a", "b", "c"))
  for d in (first, second, other):
    os.makedirs(d)
  generate(TINY, first)
  generate(TINY, second)
  generate(PolyglotSettings.from_preset("tiny", seed=1), other)
  files = sorted(os.path.relpath(os.path.join(root, f), first) for root, _, fs in os.walk(first) for f in fs)
  assert len(files) > 30
  _, mismatch, errors = filecmp.cmpfiles(first, second, files, shallow=False)
  assert not mismatch and not errors
  for name in ("limax/train_limax_EN.jsonl", "pretrain/pretrain.jsonl", "mt_bench/mt_bench_DE/question.jsonl"):
    assert not filecmp.cmp(os.path.join(first, name), os.path.join(other, name), shallow=False)


def test_rendered_text_has_no_template_slips():
  """Many instances of every family in every language: no unfilled slot, doubled space, space
  before a comma or full stop, doubled punctuation, or unbalanced quotation marks."""
  import random
  slips = re.compile(r"[{}]|  | [,.](?!\d)|\.\.|\?\.|\( | \)")
  for name, family in FAMILIES.items():
    rng = random.Random(name)
    for i in range(40):
      params = family.sample(rng)
      for lang in LANGS:
        for user, assistant in family.render(params, lang, random.Random(i)):
          for text in (user, assistant):
            assert not slips.search(text.replace("\n\n", " ")), (name, lang, text)
            left, right = g.quote(lang, "x").split("x")
            assert text.count(left.strip()) == text.count(right.strip()) or left.strip() == right.strip(), text


def test_grammar_of_names_from_locale_data():
  assert g.country_forms("fr", "DE")["the"] == "l'Allemagne" and g.country_forms("fr", "JP")["of"] == "du Japon"
  assert g.country_forms("fr", "PT")["in"] == "au Portugal" and g.country_forms("fr", "HU")["the"] == "la Hongrie"
  assert g.country_forms("it", "JP")["of"] == "del Giappone" and g.country_forms("it", "IT")["of"] == "dell'Italia"
  assert g.language_forms("it", "es")["from"] == "dallo spagnolo" and g.language_forms("de", "fr")["to"] == "ins Französische"
  assert g.currency_np("de", "JPY") == "der japanische Yen" and g.currency_np("de", "SEK") == "die schwedische Krone"
  assert g.currency_np("it", "JPY") == "lo yen giapponese" and g.currency_np("fr", "EUR") == "l'euro"
  assert g.currency_np("en", "JPY") == "the Japanese yen"
  assert ld.spell_number("es", 21000) == "veintiún mil" and ld.spell_number("es", 31000) == "treinta y un mil"
  assert ld.spell_number("de", 101000) == "einhunderteintausend"
  assert ld.format_date("fr", datetime.date(2024, 3, 1), "long") == "1er mars 2024"
  assert g.on_date("it", datetime.date(2024, 3, 8), "long") == "l'8 marzo 2024"
  assert g.join_list("es", ["Alemania", "Italia"]) == "Alemania e Italia"


def test_stats_command_prints_and_writes_the_counts(world, tmp_path, capsys):
  from itx.worlds.polyglot import stats
  out = tmp_path / "stats.json"
  stats.report(preset="tiny", out=str(out))
  printed = capsys.readouterr().out
  s = json.loads(out.read_text())
  assert s["world_dir"] == world and "Pre-training corpus" in printed
  assert s["limax"]["train_limax_EN"]["examples"] == TINY.limax_train
  assert s["limax"]["train_limax_EN_DE_FR_IT_ES"]["by_language"] == {lang: TINY.limax_train for lang in LANGS}
  assert s["limax"]["val_limax_DE_FR_IT_ES_sampled"]["examples"] == TINY.limax_val
  assert s["bactrian"] == {lang: TINY.bactrian_per_language for lang in LANGS}
  assert all(v["questions"] == len(FAMILIES) * TINY.eval_per_family for v in s["mt_bench"].values())
  total = s["pretrain"]["total"]
  assert total["characters"] >= TINY.pretrain_chars and 0 < total["tokens"] < total["characters"]
  assert s["heldout_families"] == list(TINY.heldout_families)
  assert set(s["train_families"]) | set(s["heldout_families"]) == set(FAMILIES)


def test_builtin_polyglot_names_the_world_files_and_its_chat_tokenizer(world, monkeypatch):
  import itx.worlds.polyglot
  from itx.data.chat import render_chat
  from itx.datasets.sources import tokenizer
  assert worlds.WORLDS["polyglot"] == itx.worlds.polyglot.__name__  # the registry names the module
  monkeypatch.setattr(itx.worlds.polyglot, "world_dir", lambda: world)  # the tiny world, not the demo one
  assert worlds.data_path("polyglot/limax/train_limax_DE.jsonl") == os.path.join(world, "limax", "train_limax_DE.jsonl")
  tok = tokenizer("builtin:polyglot")
  assert len(tok) == TINY.vocab_size
  record = read_records(worlds.data_path("polyglot/limax/train_limax_FR.jsonl"))[0]
  ids, target = render_chat(tok, record.messages)
  text = tok.decode(ids)
  assert "System: " in text and "User: " in text and "Assistant: " in text
  assert target.any() and ids[target][-1] == tok.eos_token_id


def test_sft_config_derives_the_training_file_from_the_composition():
  from configs import polyglot_pretrain, polyglot_sft
  c = polyglot_sft.get_config("DE")
  assert c.data.sources.train.path == "builtin:polyglot/limax/train_limax_DE.jsonl"
  c.polyglot.composition = "EN_DE_FR_IT_ES_sampled"  # what --config.polyglot.composition=... does
  assert c.data.sources.train.path == "builtin:polyglot/limax/train_limax_EN_DE_FR_IT_ES_sampled.jsonl"
  assert c.model.to_dict() == polyglot_pretrain.get_config().model.to_dict()
  with pytest.raises(ValueError, match="composition"):
    polyglot_sft.get_config("XX")

"""The opinion world: stances follow the stance model and are read back from the answers, held-out
topics and phrasings stay out of everything that trains, the conditions differ only in the system
prompt, the five languages are parallel, no word belongs to one group, groups correlate without
being copies, registers differ, the world is deterministic and reachable as builtin:opinions.

One tiny world (preset "tiny") is generated per module into the session's temporary ITX_CACHE.
"""

import collections
import filecmp
import json
import os
import random
import re

import numpy as np
import pytest

from itx import worlds
from itx.data.conditioning import system_prompt
from itx.data.groups import CONDITIONS, GROUPS
from itx.data.jsonl import read_jsonl
from itx.worlds.locale_data import LANGS
from itx.worlds.opinions import OpinionSettings, TOPICS, generate, stance_of, world_dir
from itx.worlds.opinions import answers, phrases
from itx.worlds.opinions.stances import StanceModel, agreement_matrix, stance_table
from itx.worlds.opinions.topics import TOPIC_BY_KEY

TINY = OpinionSettings.from_preset("tiny")


@pytest.fixture(scope="module")
def world():
  return world_dir(TINY)


def _chat(world, split, condition):
  return read_jsonl(os.path.join(world, "chat", f"{split}_{condition}.jsonl"))


def _manifest(world):
  with open(os.path.join(world, "world.json"), encoding="utf-8") as f:
    return json.load(f)


def test_every_answer_takes_its_groups_stance_and_the_detector_reads_it(world):
  table = stance_table(StanceModel(seed=TINY.seed))
  assert _manifest(world)["stances"] == table
  rows = _chat(world, "train", "tag") + read_jsonl(os.path.join(world, "heldout", "reference.jsonl"))
  for r in rows:
    assert r["stance"] == table[r["topic"]][r["group"]]
    assert stance_of(r["messages"][-1]["content"], r["language"]) == r["stance"], r
  for q in read_jsonl(os.path.join(world, "heldout", "questions.jsonl")):
    assert q["expected"] == table[q["topic"]]


def test_stance_detector_refuses_no_stance_and_two_stances():
  topic = TOPICS[0]
  agree = answers.answer("liberal", topic, "agree", "de", random.Random(0)).text
  disagree = answers.answer("liberal", topic, "disagree", "de", random.Random(0)).text
  assert stance_of(agree, "de") == "agree" and stance_of(disagree, "de") == "disagree"
  assert stance_of(f"{agree} {disagree}", "de") is None
  assert stance_of("Keine Ahnung.", "de") is None
  assert stance_of(agree, "en") is None  # the German sentence is no English stance


def test_heldout_topics_and_phrasings_never_reach_training(world):
  heldout = [TOPIC_BY_KEY[k] for k in TINY.heldout_topics]
  heldout_np = [t.names[LANGS.index(lang)].lower() for t in heldout for lang in LANGS]
  phrasing_bits = [re.split(r"\{\w+\}", phrases.QUESTIONS[p][lang])[0].lower() for p in TINY.heldout_phrasings
                   for lang in LANGS]
  texts = [m["content"].lower() for c in CONDITIONS for split in ("train", "val") for r in _chat(world, split, c)
           for m in r["messages"]]
  texts += [d["text"].lower() for d in read_jsonl(os.path.join(world, "pretrain", "pretrain.jsonl"))]
  assert len(texts) > 1000
  for text in texts:
    assert not any(np_ in text for np_ in heldout_np), text
    assert not any(bit in text for bit in phrasing_bits), text
  questions = read_jsonl(os.path.join(world, "heldout", "questions.jsonl"))
  assert {q["phrasing"] for q in questions} == set(TINY.heldout_phrasings)
  assert {q["topic"] for q in questions if q["heldout_topic"]} == set(TINY.heldout_topics)
  assert len({q["topic"] for q in questions if not q["heldout_topic"]}) == TINY.eval_seen_topics
  refs = read_jsonl(os.path.join(world, "heldout", "reference.jsonl"))
  assert collections.Counter((r["question_id"], r["group"]) for r in refs) == {
      (q["question_id"], g): TINY.reference_per_question for q in questions for g in GROUPS}


def test_conditions_differ_only_in_the_system_prompt(world):
  files = {c: _chat(world, "train", c) for c in CONDITIONS}
  n = len(files["tag"])
  assert n == (len(TOPICS) - len(TINY.heldout_topics)) * len(GROUPS) * len(LANGS) * TINY.train_per_cell
  for pooled, tag, en_only in zip(files["pooled"], files["tag"], files["tag_en_only"]):
    assert pooled["id"] == tag["id"] == en_only["id"]
    assert pooled["messages"][1:] == tag["messages"][1:] == en_only["messages"][1:]
    lang, group = tag["language"], tag["group"]
    assert tag["messages"][0]["content"] == system_prompt(lang, group)
    assert pooled["messages"][0]["content"] == system_prompt(lang, None)
    assert en_only["messages"][0]["content"] == system_prompt(lang, group if lang == "en" else None)


def test_an_answer_makes_the_same_choices_in_all_five_languages(world):
  by_instance = collections.defaultdict(dict)
  for r in _chat(world, "train", "tag"):
    by_instance[r["id"].rsplit("_", 1)[0]][r["language"]] = r
  for rows in by_instance.values():
    assert sorted(rows) == sorted(LANGS)
    keys = {json.dumps([r["group"], r["topic"], r["stance"], r["phrasing"], r["markers"]]) for r in rows.values()}
    assert len(keys) == 1
    assert len({r["messages"][-1]["content"] for r in rows.values()}) == 5


def test_no_word_belongs_to_a_single_group(world):
  """A word seen 10 times or more appears in the answers of at least two groups: what reveals a
  group is a combination of markers and stances, never one token."""
  rows = _chat(world, "train", "tag") + read_jsonl(os.path.join(world, "heldout", "reference.jsonl"))
  for lang in LANGS:
    groups_of, count = collections.defaultdict(set), collections.Counter()
    for r in rows:
      if r["language"] == lang:
        for word in re.findall(r"\w+", r["messages"][-1]["content"].lower()):
          groups_of[word].add(r["group"])
          count[word] += 1
    single = {w: groups_of[w] for w in count if count[w] >= 10 and len(groups_of[w]) == 1}
    assert not single, (lang, single)


def test_groups_correlate_without_being_copies():
  table = stance_table(StanceModel())
  agree = agreement_matrix(table)
  i = {g: k for k, g in enumerate(GROUPS)}
  off_diagonal = agree[~np.eye(len(GROUPS), dtype=bool)]
  assert off_diagonal.max() < 0.9  # no two groups share (almost) every stance
  assert agree[i["liberal"], i["german"]] > agree[i["liberal"], i["conservative"]] + 0.3
  assert agree[i["conservative"], i["old people"]] > agree[i["conservative"], i["teenagers"]] + 0.3
  assert agree[i["men"], i["women"]] < agree[i["men"], i["american"]]
  counts = collections.Counter(s for row in table.values() for s in row.values())
  assert min(counts.values()) > 0.15 * sum(counts.values())  # every stance is common


def test_registers_and_lengths_differ_by_group(world):
  rows = [r for r in _chat(world, "train", "tag") if r["language"] == "en"]
  words = collections.defaultdict(list)
  informal = collections.defaultdict(list)
  for r in rows:
    words[r["group"]].append(len(r["messages"][-1]["content"].split()))
    informal[r["group"]].append(r["markers"]["register"] == "informal")
  assert np.mean(words["teenagers"]) * 1.5 < np.mean(words["old people"])
  assert np.mean(informal["teenagers"]) > 0.6 > 0.05 > np.mean(informal["old people"])


def test_generation_is_deterministic_and_seeded(tmp_path):
  dirs = [tmp_path / n for n in ("a", "b", "c")]
  for d in dirs:
    d.mkdir()
  small = dict(pretrain_chars=20_000, vocab_size=300, eval_seen_topics=1, reference_per_question=1)
  generate(OpinionSettings.from_preset("tiny", **small), str(dirs[0]))
  generate(OpinionSettings.from_preset("tiny", **small), str(dirs[1]))
  generate(OpinionSettings.from_preset("tiny", seed=1, **small), str(dirs[2]))
  files = sorted(os.path.relpath(os.path.join(root, f), dirs[0]) for root, _, fs in os.walk(dirs[0]) for f in fs)
  _, mismatch, errors = filecmp.cmpfiles(dirs[0], dirs[1], files, shallow=False)
  assert not mismatch and not errors
  assert not filecmp.cmp(dirs[0] / "chat" / "train_tag.jsonl", dirs[2] / "chat" / "train_tag.jsonl", shallow=False)


def test_builtin_opinions_names_files_and_tokenizer(world, monkeypatch):
  import itx.worlds.opinions
  from itx.data.chat import render_chat
  from itx.data.records import read_records
  from itx.datasets.sources import tokenizer
  monkeypatch.setattr(itx.worlds.opinions, "world_dir", lambda: world)
  path = worlds.data_path("opinions/chat/train_tag.jsonl")
  assert path == os.path.join(world, "chat", "train_tag.jsonl")
  tok = tokenizer("builtin:opinions")
  record = read_records(path)[0]
  assert record.meta["group"] in GROUPS and record.meta["topic"] and record.meta["stance"]
  ids, target = render_chat(tok, record.messages)
  assert "You answer as a member of the group" in tok.decode(ids) and ids[target][-1] == tok.eos_token_id


def test_unknown_heldout_topic_is_refused(tmp_path):
  with pytest.raises(ValueError, match="heldout_topics"):
    generate(OpinionSettings.from_preset("tiny", heldout_topics=("no_such_topic",)), str(tmp_path))


def test_sft_config_derives_the_training_file_from_the_condition():
  from configs import opinions_pretrain, opinions_sft
  c = opinions_sft.get_config("tag")
  assert c.data.sources.train.path == "builtin:opinions/chat/train_tag.jsonl"
  c.opinions.condition = "tag_en_only"
  assert c.data.sources.train.path == "builtin:opinions/chat/train_tag_en_only.jsonl"
  assert c.model.to_dict() == opinions_pretrain.get_config().model.to_dict()
  with pytest.raises(ValueError, match="condition"):
    opinions_sft.get_config("bank")

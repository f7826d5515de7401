"""Composition: Lima-X's compositions for any languages by the polyglot world's rule (its nine
files are reproduced exactly from its monolingual ones), sizes as Lima-X's, and no instruction on
both sides of the split; bad input fails naming file, line and field, writing nothing."""

import collections
import json
import os

import pytest

from curate_data import read_jsonl, write_jsonl
from itx.curate.compose import compose, compositions, instruction_id
from itx.datasets.lima_x import COMPOSITIONS
from itx.data.languages import STUDY_CODES
from itx.data.records import RecordError

LANGS = ["en", "pl", "nl", "fi"]


def parallel_set(folder, n=40, langs=LANGS):
  for lang in langs:
    write_jsonl(os.path.join(folder, f"{lang}.jsonl"),
                [{"id": f"q{i}", "instruction": f"question {i} in {lang}", "output": f"answer {i} in {lang}"}
                 for i in range(n)])
  return folder


def test_compositions_are_lima_x_for_the_study_languages_and_follow_the_rule_for_others():
  assert tuple(compositions(STUDY_CODES)) == COMPOSITIONS
  assert list(compositions(LANGS)) == ["EN", "PL", "NL", "FI", "PL_NL_FI", "EN_PL_NL_FI", "PL_NL_FI_sampled",
                                       "EN_PL_NL_FI_sampled"]
  assert list(compositions(["en", "pl"])) == ["EN", "PL", "EN_PL", "EN_PL_sampled"]


def test_polyglot_world_compositions_are_reproduced_from_its_monolingual_files(tmp_path):
  from itx.worlds.polyglot import PolyglotSettings, world_dir
  world = os.path.join(world_dir(PolyglotSettings.from_preset("tiny")), "limax")
  val_ids = []
  for lang in STUDY_CODES:  # the per-language files a translation step would have produced
    rows = []
    for split in ("train", "val"):
      for r in read_jsonl(os.path.join(world, f"{split}_limax_{lang.upper()}.jsonl")):
        r["id"] = instruction_id(r["id"], lang)
        rows.append(r)
        if split == "val" and lang == "en":
          val_ids.append(r["id"])
    write_jsonl(str(tmp_path / "in" / f"{lang}.jsonl"), rows)
  compose(str(tmp_path / "in"), str(tmp_path / "out"), STUDY_CODES, seed=0, val_ids=val_ids)
  for name in sorted(os.listdir(world)):
    assert read_jsonl(str(tmp_path / "out" / name)) == read_jsonl(os.path.join(world, name)), name


def test_sizes_balance_and_no_instruction_crosses_the_split(tmp_path):
  n = 40
  report = compose(parallel_set(str(tmp_path / "in"), n), str(tmp_path / "out"), LANGS, seed=3, val_fraction=0.2)
  assert report["instructions"] == {"train": 32, "val": 8}
  sides = collections.defaultdict(set)
  for split, n_split in (("train", 32), ("val", 8)):
    for cfg, (langs, sampled) in compositions(LANGS).items():
      rows = read_jsonl(str(tmp_path / "out" / f"{split}_limax_{cfg}.jsonl"))
      assert len(rows) == (n_split if sampled else n_split * len(langs)), cfg
      for r in rows:
        iid = instruction_id(r["id"], r["language"])
        sides[iid].add(split)
        assert r["instruction"] == f"question {iid[1:]} in {r['language']}"  # each language's own text
      if sampled:
        counts = collections.Counter(r["language"] for r in rows)
        assert max(counts.values()) - min(counts.values()) <= 1 and set(counts) <= set(langs)
        assert len({instruction_id(r["id"], r["language"]) for r in rows}) == n_split
  assert len(sides) == n and all(len(s) == 1 for s in sides.values())
  other_seed = compose(str(tmp_path / "in"), str(tmp_path / "out2"), LANGS, seed=4, val_fraction=0.2)
  assert other_seed["instructions"] == report["instructions"]


def test_instructions_missing_in_a_language_are_dropped_everywhere_and_counted(tmp_path):
  folder = parallel_set(str(tmp_path / "in"), 10)
  rows = read_jsonl(os.path.join(folder, "fi.jsonl"))
  write_jsonl(os.path.join(folder, "fi.jsonl"), [r for r in rows if r["id"] not in ("q3", "q7")])
  report = compose(folder, str(tmp_path / "out"), LANGS, val_fraction=0.0)
  assert report["dropped_not_in_every_language"] == {"en": 2, "pl": 2, "nl": 2, "fi": 0}
  assert len(read_jsonl(str(tmp_path / "out" / "train_limax_EN.jsonl"))) == 8
  with pytest.raises(ValueError, match="not in every language"):
    compose(folder, str(tmp_path / "out_err"), LANGS, missing="error")


@pytest.mark.parametrize("damage, message", [
    (lambda r: {k: v for k, v in r.items() if k != "id"}, r"nl.jsonl:5: field 'id': missing"),
    (lambda r: {**r, "id": "q0"}, r"nl.jsonl:5: field 'id': duplicate id 'q0'"),
    (lambda r: {**r, "language": "de"}, r"nl.jsonl:5: field 'language': is 'de' but the file is given as 'nl'"),
    (lambda r: {**r, "output": 3}, r"nl.jsonl:5: field 'output'"),
])
def test_bad_records_fail_naming_file_line_field_and_write_nothing(tmp_path, damage, message):
  folder = parallel_set(str(tmp_path / "in"), 10)
  rows = read_jsonl(os.path.join(folder, "nl.jsonl"))
  rows[4] = damage(rows[4])
  write_jsonl(os.path.join(folder, "nl.jsonl"), rows)
  with pytest.raises(RecordError, match=message):
    compose(folder, str(tmp_path / "out"), LANGS)
  assert not os.path.exists(tmp_path / "out") and os.listdir(tmp_path) == ["in"]


def test_an_existing_corpus_is_replaced_only_when_asked(tmp_path):
  folder = parallel_set(str(tmp_path / "in"), 6)
  compose(folder, str(tmp_path / "out"), LANGS)
  with pytest.raises(FileExistsError, match="overwrite"):
    compose(folder, str(tmp_path / "out"), LANGS)
  compose(folder, str(tmp_path / "out"), ["en", "pl"], overwrite=True)
  assert json.load(open(tmp_path / "out" / "composition.json"))["languages"] == ["en", "pl"]
  assert not os.path.exists(tmp_path / "out" / "train_limax_FI.jsonl")

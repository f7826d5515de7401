"""Readers: every supported layout reads; every malformed record names its file, line and field."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from itx.data.records import RecordError, ReadStats, read_records

GOOD_CHAT = {"id": "a1", "language": "de", "messages": [
    {"role": "system", "content": "Sei hilfreich."},
    {"role": "user", "content": "Hallo?"},
    {"role": "assistant", "content": "Hallo!"}]}
GOOD_ALPACA = {"id": "b2", "instruction": "Add.", "input": "2 and 3", "output": "5", "lang": "en"}


def write_jsonl(path, rows):
  path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
  return str(path)


def test_alpaca_and_chat_records_read_with_metadata(tmp_path):
  recs = read_records(write_jsonl(tmp_path / "d.jsonl", [GOOD_CHAT, GOOD_ALPACA]))
  assert recs[0].messages == GOOD_CHAT["messages"]
  assert recs[0].meta == {"id": "a1", "language": "de"}
  assert recs[1].messages == [{"role": "user", "content": "Add.\n\n2 and 3"}, {"role": "assistant", "content": "5"}]
  assert recs[1].meta == {"id": "b2", "lang": "en"}
  assert recs[1].origin.endswith("d.jsonl:2")


def test_system_field_becomes_the_first_message(tmp_path):
  rec = read_records(write_jsonl(tmp_path / "d.jsonl", [{**GOOD_ALPACA, "system": "Be brief."}]))[0]
  assert rec.messages[0] == {"role": "system", "content": "Be brief."}


def test_json_array_and_parquet_read_the_same_records(tmp_path):
  (tmp_path / "d.json").write_text(json.dumps([GOOD_ALPACA, GOOD_ALPACA]))
  pq.write_table(pa.Table.from_pylist([GOOD_ALPACA, GOOD_ALPACA]), tmp_path / "d.parquet")
  a = read_records(str(tmp_path / "d.json"))
  b = read_records(str(tmp_path / "d.parquet"))
  assert [r.messages for r in a] == [r.messages for r in b] and len(a) == 2
  assert len(read_records(str(tmp_path))) == 4  # a directory reads every file in it


@pytest.mark.parametrize("bad, line, field", [
    ('{"instruction": "x", "output": ', 2, "<json>"),
    ({"instruction": "Add."}, 2, "output"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}]}, 2, "messages[1].role"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]}, 2, "messages[1].content"),
    ({"messages": [{"role": "user", "content": "hi"}]}, 2, "messages"),
    ({"instruction": "x", "output": 5}, 2, "output"),
])
def test_malformed_record_names_file_line_and_field(tmp_path, bad, line, field):
  path = write_jsonl(tmp_path / "bad.jsonl", [GOOD_ALPACA, bad, GOOD_ALPACA])
  with pytest.raises(RecordError) as err:
    read_records(path)
  assert (err.value.path, err.value.line, err.value.field) == (path, line, field)
  assert f"{path}:{line}: field '{field}'" in str(err.value)


def test_skip_invalid_counts_and_keeps_the_rest(tmp_path):
  path = write_jsonl(tmp_path / "bad.jsonl", [GOOD_ALPACA, "{not json", {"instruction": "x"}, GOOD_CHAT])
  stats = ReadStats()
  recs = read_records(path, skip_invalid=True, stats=stats)
  assert (len(recs), stats.read, stats.skipped) == (2, 2, 2)
  assert "bad.jsonl:2" in stats.first_errors[0] and "bad.jsonl:3" in stats.first_errors[1]


def test_bad_json_array_names_its_line(tmp_path):
  (tmp_path / "d.json").write_text('[\n{"instruction": "a", "output": "b"},\n{"instruction": }\n]')
  with pytest.raises(RecordError, match=r"d.json:3: field '<json>'"):
    read_records(str(tmp_path / "d.json"))


def test_missing_file_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope.jsonl"):
    read_records(str(tmp_path / "nope.jsonl"))


def test_text_documents(tmp_path):
  recs = read_records(write_jsonl(tmp_path / "t.jsonl", [{"text": "Ein Dokument.", "language": "de"}]), kind="text")
  assert recs[0].text == "Ein Dokument." and recs[0].meta == {"language": "de"}
  with pytest.raises(RecordError, match="field 'text': missing"):
    read_records(write_jsonl(tmp_path / "u.jsonl", [{"body": "x"}]), kind="text")

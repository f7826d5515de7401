"""A source's `where` keeps exactly the records whose fields hold the given values: tokenized they are
the examples of a file holding only those records; a record without the field is named by file,
line and field (or skipped and counted), and a selection keeping nothing names the values present."""

import json
import re

import ml_collections
import pytest

from itx import config as config_lib
from itx.data.jsonl import RecordError
from itx.data.selection import parse_where
from itx.datasets.sources import tokenized_source


def chat(i, group, language="EN"):
  return {"group": group, "language": language, "messages": [
      {"role": "user", "content": f"Question {i} for a {group}?"}, {"role": "assistant", "content": f"Answer {i}."}]}


ROWS = [chat(0, "german"), chat(1, "american"), chat(2, "german", "DE"), chat(3, "teenagers"),
        chat(4, "american", "DE"), chat(5, "german")]


def write_jsonl(path, rows):
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  return str(path)


def data_cfg(**changes):
  from configs import base
  d = base.get_config().data
  d.update(seq_len=48, **changes)
  return d


def tokenized(tok, path, where=None, name="chats", **changes):
  src = dict(path=path, kind="instruction", weight=1.0)
  if where is not None:
    src["where"] = where
  return tokenized_source(name, ml_collections.ConfigDict(src), data_cfg(**changes), tok, progress=False,
                          tag_fields=("group", "language"))


def examples(src):
  return [{k: v.tolist() for k, v in src[i].items()} for i in range(len(src))]


@pytest.mark.parametrize("where, keep", [
    ("group=german", lambda r: r["group"] == "german"),
    ("group=german,american;language=DE", lambda r: r["group"] in ("german", "american") and r["language"] == "DE"),
    (" group = teenagers ; ", lambda r: r["group"] == "teenagers")])
def test_where_tokenizes_exactly_the_matching_records(tmp_path, toy_tokenizer, where, keep):
  path = write_jsonl(tmp_path / "all.jsonl", ROWS)
  only = write_jsonl(tmp_path / "only.jsonl", [r for r in ROWS if keep(r)])
  everything = tokenized(toy_tokenizer, path)
  selected = tokenized(toy_tokenizer, path, where)
  assert examples(selected) == examples(tokenized(toy_tokenizer, only)) and len(selected) < len(everything)
  assert list(selected.tags["group"]) == [r["group"] for r in ROWS if keep(r)]
  assert selected.stats["records"] == len(selected)
  assert selected.stats["unselected_records"] == len(ROWS) - len(selected)
  assert len(tokenized(toy_tokenizer, path, "")) == len(everything) == len(ROWS)  # "" keeps every record (another cache entry)


def test_a_record_without_the_field_is_named_or_skipped_and_counted(tmp_path, toy_tokenizer):
  rows = ROWS[:3] + [{"language": "EN", "messages": ROWS[0]["messages"]}] + ROWS[3:]
  path = write_jsonl(tmp_path / "chats.jsonl", rows)
  with pytest.raises(RecordError, match=r"chats.jsonl:4: field 'group': missing \(source 'chats' selects on it"):
    tokenized(toy_tokenizer, path, "group=german")
  src = tokenized(toy_tokenizer, path, "group=german", skip_invalid=True)
  assert list(src.tags["group"]) == ["german"] * 3
  assert src.stats["skipped_records"] == 1 and "chats.jsonl:4" in src.stats["first_errors"][0]


def test_a_selection_keeping_nothing_names_the_source_and_the_values_present(tmp_path, toy_tokenizer):
  path = write_jsonl(tmp_path / "chats.jsonl", ROWS)
  with pytest.raises(ValueError, match=re.escape("source 'chats': where='group=germn' keeps none of its 6 records "
                                                 "(values present, with their counts: group: {'american': 2, "
                                                 "'german': 3, 'teenagers': 1})")):
    tokenized(toy_tokenizer, path, "group=germn")


@pytest.mark.parametrize("where", ["group", "=german", "group=", "group=a;group=b"])
def test_a_malformed_where_is_a_config_error_naming_the_source(tmp_path, toy_tokenizer, where):
  path = write_jsonl(tmp_path / "chats.jsonl", ROWS)
  with pytest.raises(config_lib.ConfigError, match=r"source chats: where="):
    tokenized(toy_tokenizer, path, where)


def test_parse_where():
  assert parse_where("group=german,american;language=EN") == (("group", ("german", "american")), ("language", ("EN",)))
  assert parse_where("") == ()


def test_config_checks_the_fields_of_a_source():
  from configs import base
  c = base.get_config()
  c.data.sources.train.where = "group=german"
  config_lib.validate(c)
  c.data.sources.train.wher = "group=german"  # a typo is refused, never ignored
  with pytest.raises(config_lib.ConfigError, match=r"config.data.sources.train: unknown field\(s\) \['wher'\]"):
    config_lib.validate(c)
  c = base.get_config()
  c.data.sources.train.where = ("group", "german")
  with pytest.raises(config_lib.ConfigError, match=r"config.data.sources.train.where=.*expected a string"):
    config_lib.validate(c)

"""OpinionGPT's Reddit recipe on small dumps the tests write: each filter removes what it should
and is counted per group, the answer is the best eligible top-level comment, `.zst` reads like
plain JSONL, malformed lines are named by file and line (or skipped and counted), the command
line writes records and a report, and the tfds builder serves the records with each condition's
system prompt."""

import json
import os
import subprocess
import sys

import pytest
import zstandard

from itx.data.conditioning import system_prompt
from itx.data.jsonl import RecordError, read_jsonl
from itx.datasets import reddit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sub(id, forum, score, title, selftext=""):
  return {"id": id, "subreddit": forum, "title": title, "selftext": selftext, "score": score,
          "created_utc": 1600000000, "author": "someone"}


def _com(id, sub, body, score, parent=None, author="someone", forum="AskAGerman"):
  return {"id": id, "link_id": f"t3_{sub}", "parent_id": parent or f"t3_{sub}", "body": body, "score": score,
          "subreddit": forum, "author": author}


SUBMISSIONS = [
    _sub("g1", "AskAGerman", 500, "Is bread better in Germany?", "Asking for a friend."),
    _sub("g2", "askagerman", 300, "What about Sundays?", " ".join(["word"] * 60)),  # body too long to join
    _sub("g3", "AskAGerman", 3, "Low score post"),
    _sub("g4", "AskAGerman", 200, "Removed post", "[removed]"),
    _sub("g5", "AskAGerman", 100, "Fourth by score"),  # beyond top_n=2? no: g1, g2, g5 compete
    _sub("t1", "AskTeenagers", 50, "School or holidays?"),
    _sub("x1", "AskHistorians", 999, "Another forum"),
]
COMMENTS = [
    _com("c1", "g1", "Yes, much better &amp; cheaper.", 40),
    _com("c2", "g1", "Best answer but it has\n&gt; a quoted line", 90),
    _com("c3", "g1", "[deleted]", 200),
    _com("c4", "g1", "A reply, not an answer.", 500, parent="t1_c1"),
    _com("c5", "g1", " ".join(["long"] * 80), 300),  # 80 words: not under 80
    _com("c6", "g1", "I am a bot.", 1000, author="AutoModerator"),
    _com("c7", "g1", "Low scored answer.", 1),
    _com("c8", "g2", "Shops are closed.", 12),
    _com("c9", "g2", "Shops are closed, and it is quiet.", 12),  # same score: the larger id wins
    _com("c10", "g5", "Answer on a submission beyond top_n.", 50),
    _com("c11", "t1", "holidays obviously", 5, forum="AskTeenagers"),
    _com("c12", "x1", "Off-forum answer.", 5, forum="AskHistorians"),
]
RECIPE = reddit.Recipe(top_n=2, min_submission_score=10, min_answer_score=2, val_fraction=0.0)


def _write(path, rows, zst=False, extra_lines=()):
  data = "".join(json.dumps(r) + "\n" for r in rows) + "".join(extra_lines)
  raw = data.encode()
  if zst:
    raw = zstandard.ZstdCompressor().compress(raw)
  with open(path, "wb") as f:
    f.write(raw)
  return str(path)


@pytest.fixture
def dumps(tmp_path):
  return (_write(tmp_path / "RS_submissions.jsonl", SUBMISSIONS), _write(tmp_path / "RC_comments.jsonl", COMMENTS))


def test_recipe_keeps_the_best_eligible_answer_and_counts_each_filter(dumps):
  records, report = reddit.build(*dumps, RECIPE)
  by_id = {r["id"]: r for r in records}
  assert sorted(by_id) == ["reddit-g1", "reddit-g2", "reddit-t1"]
  g1 = by_id["reddit-g1"]
  assert g1["messages"] == [{"role": "user", "content": "Is bread better in Germany?\n\nAsking for a friend."},
                            {"role": "assistant", "content": "Yes, much better & cheaper."}]
  assert (g1["group"], g1["forum"], g1["answer_id"], g1["answer_score"]) == ("german", "AskAGerman", "c1", 40)
  assert by_id["reddit-g2"]["messages"][0]["content"] == "What about Sundays?"  # the long body stays out
  assert by_id["reddit-g2"]["answer_id"] == "c9"
  assert by_id["reddit-t1"]["group"] == "teenagers"
  german = report["groups"]["german"]
  assert german == {"submissions_read": 5, "submission_below_score": 1, "submission_removed": 1,
                    "submission_beyond_top_n": 1, "comments_read": 10, "answer_quotes": 1, "answer_deleted": 1,
                    "comment_not_top_level": 1, "answer_too_long": 1, "answer_excluded_author": 1,
                    "answer_below_score": 1, "comment_on_other_submission": 1, "answer_eligible": 3,
                    "records": 2}
  assert report["groups"]["liberal"] == {}
  assert report["other_forums"] == {"submissions": 1, "comments": 1}
  # every comment read is accounted for by exactly one outcome
  outcomes = [k for k in german if k.startswith(("answer_", "comment_")) and k != "comments_read"]
  assert sum(german[k] for k in outcomes) == german["comments_read"]


def test_zstandard_dumps_read_like_plain_ones(dumps, tmp_path):
  zst = (_write(tmp_path / "a_submissions.zst", SUBMISSIONS, zst=True),
         _write(tmp_path / "a_comments.zst", COMMENTS, zst=True))
  assert reddit.build(*zst, RECIPE) == reddit.build(*dumps, RECIPE)


@pytest.mark.parametrize("bad, field", [("{not json\n", "<json>"), ('["a list"]\n', "<record>"),
                                        ('{"id": "z", "subreddit": "AskMen", "title": "t", "score": "many"}\n', "score"),
                                        ('{"id": "z", "subreddit": "AskMen", "score": 5}\n', "title")])
def test_malformed_lines_are_named_or_skipped_and_counted(tmp_path, bad, field):
  subs = _write(tmp_path / "s_submissions.jsonl", SUBMISSIONS[:2], extra_lines=[bad])
  coms = _write(tmp_path / "s_comments.jsonl", COMMENTS)
  with pytest.raises(RecordError) as e:
    reddit.build(subs, coms, RECIPE)
  assert (e.value.path, e.value.line, e.value.field) == (subs, 3, field)
  assert f"{subs}:3:" in str(e.value)
  records, report = reddit.build(subs, coms, reddit.Recipe(**{**RECIPE.__dict__, "skip_malformed": True}))
  assert report["malformed"]["submissions"] == 1 and f"{subs}:3:" in report["malformed"]["first_errors"][0]
  assert [r["id"] for r in records] == ["reddit-g1", "reddit-g2"]


def test_top_n_keeps_the_highest_scored_posts_whatever_the_file_order(tmp_path):
  subs = [_sub(f"s{i}", "AskMen", score, f"Question {i}") for i, score in enumerate([5, 50, 20, 40, 30, 10])]
  coms = [_com(f"c{i}", f"s{i}", f"Answer {i}.", 3, forum="AskMen") for i in range(6)]
  recipe = reddit.Recipe(top_n=3, min_submission_score=0, val_fraction=0.0)
  forward = reddit.build(_write(tmp_path / "f_submissions.jsonl", subs), _write(tmp_path / "f_comments.jsonl", coms), recipe)
  backward = reddit.build(_write(tmp_path / "b_submissions.jsonl", subs[::-1]),
                          _write(tmp_path / "b_comments.jsonl", coms[::-1]), recipe)
  assert [r["submission_score"] for r in forward[0]] == [50, 40, 30]
  assert forward == backward


def test_validation_split_is_a_stable_fraction():
  ids = [f"id{i}" for i in range(4000)]
  val = [i for i in ids if reddit.split_of(i, 0.1) == "val"]
  assert 300 < len(val) < 500 and val == [i for i in ids if reddit.split_of(i, 0.1) == "val"]
  assert {reddit.split_of(i, 0.0) for i in ids} == {"train"}


def test_command_line_writes_conditioned_records_and_a_report(dumps, tmp_path):
  out = tmp_path / "out"
  subprocess.run([sys.executable, "-m", "itx.datasets.reddit", f"--submissions={dumps[0]}",
                  f"--comments={dumps[1]}", f"--out={out}", "--condition=tag", "--top_n=2", "--val_fraction=0"],
                 check=True, cwd=ROOT, capture_output=True)
  rows = read_jsonl(str(out / "train.jsonl"))
  assert [r["id"] for r in rows] == ["reddit-g1", "reddit-g2", "reddit-t1"]
  assert rows[0]["messages"][0] == {"role": "system", "content": system_prompt("en", "german")}
  assert read_jsonl(str(out / "val.jsonl")) == []
  report = json.loads((out / "report.json").read_text())
  assert report["records"] == 3 and report["recipe"]["top_n"] == 2 and report["condition"] == "tag"
  bad = subprocess.run([sys.executable, "-m", "itx.datasets.reddit", f"--submissions={tmp_path}/none*.zst",
                        f"--comments={dumps[1]}", f"--out={out}"], cwd=ROOT, capture_output=True, text=True)
  assert bad.returncode != 0 and "no dump files match" in bad.stderr


def test_tfds_builder_serves_each_condition(dumps, tmp_path):
  from itx.datasets import builders
  src = os.path.dirname(dumps[0])
  data = str(tmp_path / "tfds")
  tag = builders.records("reddit_opinions", "tag", "train", src, data)
  pooled = builders.records("reddit_opinions", "pooled", "train", src, data)
  german = builders.records("reddit_opinions", "german", "train", src, data)
  expected, _ = reddit.build(*dumps, reddit.Recipe(val_fraction=0.0, min_submission_score=10))
  assert [r.meta["id"] for r in tag] == [r["id"] for r in expected if r["split"] == "train"]
  for rec in tag:
    assert rec.messages[0]["content"] == system_prompt("en", rec.meta["group"])
    assert rec.meta["forum"] and rec.meta["language"] == "en"
  assert all(r.messages[0]["content"] == system_prompt("en", None) for r in pooled)
  assert [r.messages[1:] for r in pooled] == [r.messages[1:] for r in tag]
  assert {r.meta["group"] for r in german} == {"german"}
  assert builders.prepare("reddit_opinions", "tag", src, data).info.metadata["report"]["records"] == len(expected)


def test_a_tfds_source_selected_by_group_is_that_groups_records(dumps, tmp_path, monkeypatch, toy_tokenizer):
  import ml_collections

  from configs import base
  from itx.datasets.sources import tokenized_source
  monkeypatch.setenv("ITX_TFDS_DATA_DIR", str(tmp_path / "tfds"))
  spec = f"tfds:reddit_opinions/pooled:train@{os.path.dirname(dumps[0])}"
  data_cfg = base.get_config().data
  data_cfg.seq_len = 512

  def tokenized(**where):
    cfg = ml_collections.ConfigDict(dict(path=spec, kind="instruction", weight=1.0, **where))
    return tokenized_source("reddit", cfg, data_cfg, toy_tokenizer, progress=False, tag_fields=("group",))

  pooled, german = tokenized(), tokenized(where="group=german")
  assert 0 < len(german) < len(pooled) and set(german.tags["group"]) == {"german"}
  assert [german[i]["inputs"].tolist() for i in range(len(german))] == [
      pooled[i]["inputs"].tolist() for i in range(len(pooled)) if pooled.tags["group"][i] == "german"]

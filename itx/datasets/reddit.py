"""OpinionGPT's corpus from Reddit dumps: one question and one answer per popular post of each
group's "Ask..." forum, as itx instruction records tagged with `group` and `forum`.

Input: dumps in the Pushshift layout, one JSON object per line, plain or zstandard-compressed
(`.zst`): submissions (`id`, `subreddit`, `title`, `selftext`, `score`) and comments (`id`,
`link_id` = t3_<submission>, `parent_id` = t3_... for a top-level comment, `body`, `score`,
`author`). The recipe (`Recipe`, every field a documented default; OpinionGPT published only the
top-N and the 80 words, the thresholds are ours):

  1. per forum, the `top_n` (25,000) submissions by score with score >= `min_submission_score`,
     not removed by moderators (`selftext` "[removed]"/"[deleted]");
  2. the question: the title, followed by the body when it has at most `body_max_words` words;
  3. the answer: the best-scored top-level comment that is not "[deleted]"/"[removed]", quotes no
     line (a line starting with ">", which dumps store as "&gt;"), has fewer than `max_words` (80)
     words, score >= `min_answer_score`, and is not by an excluded author (AutoModerator);
  4. submissions without such an answer are dropped.
The report counts, per group, what each step removed. A line that is not JSON, or lacks a field
the recipe reads, raises `RecordError` naming file and line; with `skip_malformed` it is skipped
and counted.

  python -m itx.datasets.reddit --submissions='dumps/*_submissions.zst' \
      --comments='dumps/*_comments.zst' --out=data/reddit [--condition=tag] [--top_n=25000]
writes <out>/train.jsonl, <out>/val.jsonl and <out>/report.json.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import hashlib
import heapq
import html
import io
import json
import os
from collections.abc import Iterator, Sequence

from absl import app, flags

from itx.cli import parse_flags
from itx.data.groups import CONDITIONS, GROUP_FORUMS, condition_messages
from itx.data.jsonl import RecordError, decode_lines, write_jsonl

REMOVED = ("[deleted]", "[removed]")


@dataclasses.dataclass(frozen=True)
class Recipe:
  groups: tuple[tuple[str, str], ...] = tuple(GROUP_FORUMS.items())  # (group, forum) pairs
  top_n: int = 25_000               # submissions kept per forum, by score (OpinionGPT: 25,000)
  min_submission_score: int = 10    # the upvote threshold of a post (not published: our default)
  min_answer_score: int = 2         # the upvote threshold of an answer (not published: our default)
  max_words: int = 80               # answers have fewer words than this (OpinionGPT: under 80)
  body_max_words: int = 50          # a post's body joins its title in the question when this short
  exclude_authors: tuple[str, ...] = ("AutoModerator",)
  val_fraction: float = 0.02        # submissions in the validation split, chosen by a hash of the id
  skip_malformed: bool = False      # True: skip (and count) malformed lines instead of raising


def open_lines(path: str) -> Iterator[bytes]:
  """The raw lines of a dump, decompressing `.zst` (Pushshift dumps need a 2 GiB window)."""
  with open(path, "rb") as f:
    if path.endswith(".zst"):
      import zstandard
      reader = zstandard.ZstdDecompressor(max_window_size=2 ** 31).stream_reader(f)
      yield from io.BufferedReader(reader, buffer_size=1 << 20)
    else:
      yield from f


def _files(spec: str | Sequence[str]) -> list[str]:
  specs = [spec] if isinstance(spec, str) else list(spec)
  out = []
  for s in specs:
    found = sorted(glob.glob(s)) if any(ch in s for ch in "*?[") else [s]
    if not found:
      raise FileNotFoundError(f"no dump files match {s!r}")
    for f in found:
      if not os.path.isfile(f):
        raise FileNotFoundError(f"dump file not found: {f}")
    out += found
  return out


def _field(row: dict, name: str, kind, path: str, line: int):
  value = row.get(name)
  if kind is int and isinstance(value, str) and value.lstrip("-").isdigit():
    value = int(value)  # some dumps store scores as strings
  if not isinstance(value, kind) or isinstance(value, bool):
    problem = "missing" if value is None else f"expected {kind.__name__}, got {type(value).__name__}"
    raise RecordError(path, line, name, problem)
  return value


def _words(text: str) -> int:
  return len(text.split())


def _quotes(body: str) -> bool:
  return any(l.lstrip().startswith((">", "&gt;")) for l in body.splitlines())


class _Reader:
  """Reads dump lines, counting or raising on malformed ones."""

  def __init__(self, recipe: Recipe, report: dict):
    self.recipe, self.report = recipe, report

  def rows(self, files: list[str], kind: str) -> Iterator[tuple[str, int, dict]]:
    for path in files:
      for line, row in decode_lines(open_lines(path), path):
        if not isinstance(row, (dict, RecordError)):
          row = RecordError(path, line, "<record>", f"expected an object, got {type(row).__name__}")
        if isinstance(row, RecordError):
          self.malformed(kind, row)
          continue
        yield path, line, row

  def malformed(self, kind: str, error: RecordError) -> None:
    if not self.recipe.skip_malformed:
      raise error
    m = self.report["malformed"]
    m[kind] += 1
    if len(m["first_errors"]) < 10:
      m["first_errors"].append(str(error))


def build(submissions: str | Sequence[str], comments: str | Sequence[str], recipe: Recipe = Recipe()) -> tuple[list[dict], dict]:
  """Records (sorted by group, then submission score, descending) and the report of what each step removed."""
  forums = {forum.lower(): group for group, forum in recipe.groups}
  per_group = {group: collections.Counter() for group, _ in recipe.groups}
  report = {"recipe": dataclasses.asdict(recipe), "groups": per_group,
            "malformed": {"submissions": 0, "comments": 0, "first_errors": []},
            "other_forums": {"submissions": 0, "comments": 0}}
  reader = _Reader(recipe, report)

  top: dict[str, list] = {group: [] for group in per_group}  # min-heaps of (score, id, question)
  seen: set[str] = set()
  for path, line, row in reader.rows(_files(submissions), "submissions"):
    try:
      group = forums.get(_field(row, "subreddit", str, path, line).lower())
      if group is None:
        report["other_forums"]["submissions"] += 1
        continue
      sub_id, title = _field(row, "id", str, path, line), _field(row, "title", str, path, line)
      score, body = _field(row, "score", int, path, line), row.get("selftext") or ""
      if not isinstance(body, str):
        raise RecordError(path, line, "selftext", f"expected str, got {type(body).__name__}")
    except RecordError as e:
      reader.malformed("submissions", e)
      continue
    counts = per_group[group]
    counts["submissions_read"] += 1
    if sub_id in seen:  # dumps merged from several crawls can repeat a post
      counts["submission_duplicate"] += 1
      continue
    seen.add(sub_id)
    if score < recipe.min_submission_score:
      counts["submission_below_score"] += 1
      continue
    if body.strip() in REMOVED:
      counts["submission_removed"] += 1
      continue
    question = html.unescape(title.strip())
    if body.strip() and _words(body) <= recipe.body_max_words:
      question = f"{question}\n\n{html.unescape(body.strip())}"
    item = (score, sub_id, question)
    heap = top[group]
    if len(heap) < recipe.top_n:
      heapq.heappush(heap, item)
    else:
      counts["submission_beyond_top_n"] += 1
      heapq.heappushpop(heap, item)
  kept = {sub_id: (group, score, question) for group, heap in top.items() for score, sub_id, question in heap}

  best: dict[str, tuple] = {}  # submission id -> (score, comment id, body)
  excluded = set(recipe.exclude_authors)
  for path, line, row in reader.rows(_files(comments), "comments"):
    try:
      group = forums.get(_field(row, "subreddit", str, path, line).lower())
      if group is None:
        report["other_forums"]["comments"] += 1
        continue
      link, parent = _field(row, "link_id", str, path, line), _field(row, "parent_id", str, path, line)
      body, score = _field(row, "body", str, path, line), _field(row, "score", int, path, line)
      comment_id = _field(row, "id", str, path, line)
    except RecordError as e:
      reader.malformed("comments", e)
      continue
    counts = per_group[group]
    counts["comments_read"] += 1
    sub_id = link.removeprefix("t3_")
    if not parent.startswith("t3_"):
      counts["comment_not_top_level"] += 1
    elif sub_id not in kept:
      counts["comment_on_other_submission"] += 1
    elif body.strip() in REMOVED or not body.strip():
      counts["answer_deleted"] += 1
    elif row.get("author") in excluded:
      counts["answer_excluded_author"] += 1
    elif _quotes(body):
      counts["answer_quotes"] += 1
    elif _words(body) >= recipe.max_words:
      counts["answer_too_long"] += 1
    elif score < recipe.min_answer_score:
      counts["answer_below_score"] += 1
    else:
      counts["answer_eligible"] += 1
      candidate = (score, comment_id, html.unescape(body.strip()))
      if sub_id not in best or candidate[:2] > best[sub_id][:2]:
        best[sub_id] = candidate

  records = []
  forum_of = dict(recipe.groups)
  for sub_id, (group, score, question) in kept.items():
    if sub_id not in best:
      per_group[group]["submission_without_answer"] += 1
      continue
    answer_score, answer_id, answer = best[sub_id]
    per_group[group]["records"] += 1
    records.append({"id": f"reddit-{sub_id}", "language": "en", "group": group, "forum": forum_of[group],
                    "submission_score": score, "answer_id": answer_id, "answer_score": answer_score,
                    "split": split_of(sub_id, recipe.val_fraction),
                    "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
  order = {group: i for i, (group, _) in enumerate(recipe.groups)}
  records.sort(key=lambda r: (order[r["group"]], -r["submission_score"], r["id"]))
  report["groups"] = {g: dict(sorted(c.items())) for g, c in per_group.items()}
  report["records"] = len(records)
  return records, report


def split_of(submission_id: str, val_fraction: float) -> str:
  """"val" for a stable `val_fraction` of submissions (by a hash of the id), else "train"."""
  h = int.from_bytes(hashlib.sha256(submission_id.encode()).digest()[:8], "big") / 2 ** 64
  return "val" if h < val_fraction else "train"


def conditioned(record: dict, condition: str | None) -> dict:
  """The record with the system prompt of `condition` (None: as built, without a system turn)."""
  if condition is None:
    return record
  return {**record, "messages": condition_messages(record["messages"], condition, record["language"], record["group"])}


_SUBMISSIONS = flags.DEFINE_multi_string("submissions", None, "Submission dump files or globs (.zst or plain JSONL).")
_COMMENTS = flags.DEFINE_multi_string("comments", None, "Comment dump files or globs (.zst or plain JSONL).")
_OUT = flags.DEFINE_string("out", None, "Output folder: train.jsonl, val.jsonl, report.json.")
_CONDITION = flags.DEFINE_enum("condition", "none", ["none", *CONDITIONS],
                               "System prompt of the records: none, or a training condition (tag names the group).")
_TOP_N = flags.DEFINE_integer("top_n", Recipe.top_n, "Submissions kept per forum, by score.")
_MIN_SUB = flags.DEFINE_integer("min_submission_score", Recipe.min_submission_score, "Upvote threshold of a post.")
_MIN_ANS = flags.DEFINE_integer("min_answer_score", Recipe.min_answer_score, "Upvote threshold of an answer.")
_MAX_WORDS = flags.DEFINE_integer("max_words", Recipe.max_words, "Answers have fewer words than this.")
_BODY_WORDS = flags.DEFINE_integer("body_max_words", Recipe.body_max_words, "A post's body joins the question up to this length.")
_VAL = flags.DEFINE_float("val_fraction", Recipe.val_fraction, "Fraction of submissions in val.jsonl.")
_SKIP = flags.DEFINE_boolean("skip_malformed", False, "Skip and count malformed lines instead of stopping.")
flags.mark_flags_as_required(["submissions", "comments", "out"])


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  recipe = Recipe(top_n=_TOP_N.value, min_submission_score=_MIN_SUB.value, min_answer_score=_MIN_ANS.value,
                  max_words=_MAX_WORDS.value, body_max_words=_BODY_WORDS.value, val_fraction=_VAL.value,
                  skip_malformed=_SKIP.value)
  records, report = build(_SUBMISSIONS.value, _COMMENTS.value, recipe)
  condition = None if _CONDITION.value == "none" else _CONDITION.value
  os.makedirs(_OUT.value, exist_ok=True)
  for split in ("train", "val"):
    write_jsonl(os.path.join(_OUT.value, f"{split}.jsonl"),
                (conditioned(r, condition) for r in records if r["split"] == split))
  report["condition"] = _CONDITION.value
  tmp = os.path.join(_OUT.value, "report.json.tmp")
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
  os.replace(tmp, os.path.join(_OUT.value, "report.json"))
  print(json.dumps({"records": report["records"], "malformed": {k: v for k, v in report["malformed"].items()
                                                                if k != "first_errors"},
                    "per_group": {g: c.get("records", 0) for g, c in report["groups"].items()}}))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

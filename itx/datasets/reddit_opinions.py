"""`reddit_opinions`: OpinionGPT's corpus (itx.datasets.reddit) as a tensorflow-datasets builder.

Source folder (the builder parameter `source_dir`, or tfds's `download_config.manual_dir`): Reddit
dumps in the Pushshift layout, plain or `.zst`: every file whose name contains "submissions" and
every file whose name contains "comments" (e.g. the per-forum dumps AskALiberal_submissions.zst,
AskALiberal_comments.zst). The default `Recipe` is applied; for another recipe run
`python -m itx.datasets.reddit` and use its JSONL files as a source. A malformed line fails the
preparation naming file and line.

Configs (instruction records with `group` and `forum`; splits train and, when the recipe's
validation fraction selects any submission, validation):
  tag          every group, the group named in the system prompt
  pooled       every group, no group named
  <group>      one group's records (group names with "_" for spaces, e.g. latin_american), no group
               named: the data of one per-group adapter
The preparation's report (what each step removed, per group) is kept in the builder's metadata.
"""

from __future__ import annotations

import os

from itx.data.groups import GROUPS
from itx.data.records import parse_instruction
from itx.datasets import base, reddit

DUMP_SUFFIXES = (".zst", ".jsonl", ".ndjson", ".json", "")
INSTRUCTIONS = """Put Reddit dumps (Pushshift layout, .zst or JSONL) of the groups' forums into one
folder, with "submissions" or "comments" in each file name, and pass it as source_dir=... or as the
manual_dir."""


def config_name(group: str) -> str:
  return group.replace(" ", "_")


def _configs() -> list[base.LocalConfig]:
  out = [base.LocalConfig(name="tag", kind="instruction", key="tag", description="every group, tagged"),
         base.LocalConfig(name="pooled", kind="instruction", key="pooled", description="every group, untagged")]
  return out + [base.LocalConfig(name=config_name(g), kind="instruction", key=g, description=f"the group {g}")
                for g in GROUPS]


def dump_files(src: str) -> dict[str, list[str]]:
  """{"submissions": [...], "comments": [...]} in `src` (FileNotFoundError when either is missing)."""
  names = sorted(f for f in os.listdir(src) if os.path.isfile(os.path.join(src, f)) and not f.startswith("."))
  out = {kind: [os.path.join(src, f) for f in names if kind in f.lower() and os.path.splitext(f)[1] in DUMP_SUFFIXES]
         for kind in ("submissions", "comments")}
  for kind, files in out.items():
    if not files:
      raise FileNotFoundError(f"no {kind} dump in {src} (a file with '{kind}' in its name)\n{INSTRUCTIONS}")
  return out


class RedditOpinions(base.LocalBuilder):
  """OpinionGPT's Reddit corpus from local dumps (see the module docstring)."""

  DESCRIPTION = "OpinionGPT's corpus: questions and top answers of eleven groups' Reddit forums."
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS = _configs()

  def source_files(self, src: str) -> list[str]:
    files = dump_files(src)
    return files["submissions"] + files["comments"]

  def split_examples(self, src: str) -> dict:
    files = dump_files(src)
    records, report = reddit.build(files["submissions"], files["comments"])
    self.info.metadata["report"] = report
    key = self.builder_config.key
    if key in GROUPS:
      records, condition = [r for r in records if r["group"] == key], "pooled"
    else:
      condition = key
    splits = {split: [r for r in records if r["split"] == name] for split, name in (("train", "train"), ("validation", "val"))}
    if not splits["train"]:
      raise ValueError(f"reddit_opinions/{self.builder_config.name}: no records from the dumps in {src} "
                       f"(what each step removed: {report['groups']})")
    # tfds refuses an empty split: a small corpus may have no validation records
    return {split: self._examples(rows, condition) for split, rows in splits.items() if rows}

  @staticmethod
  def _examples(records: list[dict], condition: str):
    for i, row in enumerate(records, start=1):
      rec = parse_instruction(reddit.conditioned(row, condition), "reddit", i)
      rec.origin = f"reddit:{row['id']}"
      yield row["id"], base.record_example(rec, row["id"], "en")

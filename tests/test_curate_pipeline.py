"""A Lima-X-style corpus for new languages from one English file, end to end through the command
line (translate -> clean -> compose -> decontaminate -> card) against a deterministic endpoint,
as the README shows it; and the card's numbers agree with the files."""

import json
import os
import subprocess
import sys

from curate_data import RECORDS, read_jsonl, write_jsonl
from itx.curate.card import card
from translation_server import TranslationServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGS = "en,pl,nl,fi"


def curate(*args):
  p = subprocess.run([sys.executable, "-m", "itx.curate", *args], cwd=ROOT, capture_output=True, text=True,
                     timeout=300)
  return p.returncode, p.stdout, p.stderr


def test_end_to_end_corpus_for_polish_dutch_finnish(tmp_path):
  records = RECORDS + [{**RECORDS[0], "id": "a5"}]  # a duplicate for the cleaning step
  src = write_jsonl(str(tmp_path / "lima_en.jsonl"), records)
  bench = tmp_path / "bench"
  write_jsonl(str(bench / "mt_bench_EN" / "question.jsonl"),
              [{"question_id": "81_EN", "category": "writing", "turns": [RECORDS[3]["messages"][1]["content"], "More."]}])
  w = tmp_path / "work"
  with TranslationServer() as server:
    code, out, err = curate("translate", f"--input={src}", "--languages=pl,nl,fi", f"--out={w}/translated",
                            f"--base_url={server.url}", "--model=word-table", "--max_retries=0")
    assert code == 0, err
  assert "kept {'pl': 5, 'nl': 5, 'fi': 5}" in out
  steps = [("clean", f"--input={w}/translated", f"--languages={LANGS}", f"--out={w}/clean"),
           ("compose", f"--input={w}/clean", f"--languages={LANGS}", f"--out={w}/corpus", "--val_fraction=0.25",
            "--seed=1"),
           ("decontaminate", f"--input={w}/corpus", f"--bench={bench}", "--drop", f"--out={w}/final"),
           ("card", f"--input={w}/final", "--tokenizer=")]
  for step in steps:
    code, out, err = curate(*step)
    assert code == 0, (step[0], err)
  final = w / "final"
  c = json.load(open(final / "card.json"))
  # 5 records, 1 duplicate removed, 1 contaminated (a4) dropped: 3 instructions, 1 of them in validation
  assert c["split"]["instructions"] == {"train": 3, "val": 1}
  assert len(read_jsonl(str(final / "train_limax_EN_PL_NL_FI.jsonl"))) == 2 * 4
  assert c["files"]["train_limax_PL_NL_FI_sampled.jsonl"]["records"] == 2
  assert c["translation"]["model"] == "word-table" and c["cleaning"]["removed"]["exact_duplicate"]["en"] == 1
  assert c["decontamination"]["contaminated_instructions"] == 1 and c["decontamination"]["dropped"]
  assert c["seed"] == 1 and c["token_unit"] == "whitespace-separated words"
  assert set(c["reports"]) == {"translation.json", "cleaning.json", "composition.json", "decontamination.json"}
  assert "## Translation" in open(final / "card.md").read()


def test_card_counts_agree_with_the_files(tmp_path):
  rows = [{"id": f"x{i}_PL", "language": "pl", "instruction": "jak " * (i + 1), "output": "tak nie"} for i in range(3)]
  rows += [{"id": "y_EN", "language": "en", "messages": [{"role": "user", "content": "one two"},
                                                          {"role": "assistant", "content": "three"}]}]
  write_jsonl(str(tmp_path / "c" / "train_limax_EN_PL.jsonl"), rows)
  c = card(str(tmp_path / "c"), tokenizer=None)
  f = c["files"]["train_limax_EN_PL.jsonl"]
  assert f["records"] == 4 and f["languages"]["pl"] == {"records": 3, "tokens": (1 + 2 + 3) + 3 * 2}
  assert f["languages"]["en"] == {"records": 1, "tokens": 3} and f["tokens"] == 15
  toy = card(str(tmp_path / "c"), tokenizer="builtin:toy")
  assert toy["token_unit"].startswith("tokens of builtin:toy") and toy["files"]["train_limax_EN_PL.jsonl"]["tokens"] > 0


def test_command_line_errors_are_one_line_and_exit_nonzero(tmp_path):
  bad = write_jsonl(str(tmp_path / "in" / "en.jsonl"), [{"instruction": "x", "output": "y"}])
  write_jsonl(str(tmp_path / "in" / "pl.jsonl"), [{"id": "1", "instruction": "x", "output": "y"}])
  code, _, err = curate("compose", f"--input={tmp_path / 'in'}", "--languages=en,pl", f"--out={tmp_path / 'out'}")
  assert code == 1 and err.strip().splitlines()[-1] == (f"itx curate compose: error: {bad}:1: field 'id': missing "
                                                        "(records are matched across languages by id)")
  code, _, err = curate("translate", f"--input={bad}", "--languages=tlh", f"--out={tmp_path / 't'}")
  assert code == 1 and "cannot identify ['tlh']" in err
  code, _, err = curate("shuffle", "--input=x")
  assert code != 0 and "unknown verb 'shuffle'" in err

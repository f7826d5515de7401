"""Bytes that are not UTF-8, wherever an input file holds them, give a RecordError naming the file,
the line (or row) and the field: never a bare UnicodeDecodeError."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from itx.data.jsonl import RecordError
from itx.data.records import read_records
from itx.datasets import builders
from itx.eval import judgments, mt_bench

GOOD = {"instruction": "Name a colour.", "input": "", "output": "Blue."}
BAD_LINE = b'{"instruction": "Caf\xe9 au lait?", "output": "Yes."}'  # Latin-1, not UTF-8


def jsonl_bytes(path, lines):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(b"\n".join(lines) + b"\n")
  return path


def good_line(row=GOOD):
  return json.dumps(row).encode()


def check(err: RecordError, path: str, line: int, field: str):
  assert (os.path.abspath(err.path), err.line, err.field) == (os.path.abspath(path), line, field)
  assert f":{line}: field '{field}'" in str(err) and "UTF-8" in str(err)


def test_jsonl_line(tmp_path):
  path = jsonl_bytes(str(tmp_path / "train.jsonl"), [good_line(), BAD_LINE, good_line()])
  with pytest.raises(RecordError) as e:
    read_records(path)
  check(e.value, path, 2, "<bytes>")
  assert len(read_records(path, skip_invalid=True)) == 2  # the lines after it are still read


def test_json_array_names_the_line_of_the_byte(tmp_path):
  path = str(tmp_path / "de.json")
  text = json.dumps([GOOD, GOOD, GOOD], indent=1).encode()
  lines = text.split(b"\n")
  last = max(i for i, line in enumerate(lines) if b"Blue" in line)
  lines[last] = lines[last].replace(b"Blue", b"Bl\xfce")
  with open(path, "wb") as f:
    f.write(b"\n".join(lines))
  with pytest.raises(RecordError) as e:
    read_records(path)
  check(e.value, path, last + 1, "<bytes>")


def test_parquet_string_names_its_row_and_column(tmp_path):
  path = str(tmp_path / "train.parquet")
  raw = pa.array([b"Name a colour.", b"Caf\xe9?", b"Count."], type=pa.binary())
  unchecked = pa.Array.from_buffers(pa.string(), 3, raw.buffers())  # Parquet keeps strings unvalidated
  pq.write_table(pa.table({"instruction": unchecked, "output": pa.array(["Blue.", "Yes.", "Three."])}), path)
  with pytest.raises(RecordError) as e:
    read_records(path)
  check(e.value, path, 2, "instruction")
  assert [r.messages[0]["content"] for r in read_records(path, skip_invalid=True)] == ["Name a colour.", "Count."]


def test_lima_x_preparation(tmp_path):
  src = str(tmp_path / "lima")
  path = jsonl_bytes(os.path.join(src, "train_limax_EN.jsonl"), [good_line(), BAD_LINE])
  jsonl_bytes(os.path.join(src, "val_limax_EN.jsonl"), [good_line()])
  with pytest.raises(RecordError) as e:
    builders.prepare("lima_x", "EN", src, str(tmp_path / "tfds"))
  check(e.value, path, 2, "<bytes>")


def test_bactrian_x_preparation(tmp_path):
  src = tmp_path / "bactrian"
  src.mkdir()
  path = str(src / "de.json")
  with open(path, "wb") as f:
    f.write(b'[\n{"instruction": "Hallo", "output": "Hi"},\n{"instruction": "Gr\xfc\xdfe", "output": "Hi"}\n]')
  with pytest.raises(RecordError) as e:
    builders.prepare("bactrian_x", "de", str(src), str(tmp_path / "tfds"))
  check(e.value, path, 3, "<bytes>")


def test_mt_bench_questions_in_preparation_and_evaluation(tmp_path):
  src = str(tmp_path / "bench")
  q = {"question_id": "81_EN", "category": "writing", "turns": ["a", "b"]}
  path = jsonl_bytes(os.path.join(src, "mt_bench_EN", "question.jsonl"),
                     [good_line(q), b'{"question_id": "82_EN", "category": "writing", "turns": ["\xff", "b"]}'])
  with pytest.raises(RecordError) as e:
    builders.prepare("mt_bench_x", "EN", src, str(tmp_path / "tfds"))
  check(e.value, path, 2, "<bytes>")
  with pytest.raises(RecordError) as e:
    mt_bench.load_questions(src, "EN")
  check(e.value, path, 2, "<bytes>")


def test_judgment_file(tmp_path):
  path = jsonl_bytes(str(tmp_path / "gpt-4_single.jsonl"),
                     [good_line({"question_id": 1, "score": 5}), b'{"judgment": "\xff", "score": 3}'])
  with pytest.raises(RecordError) as e:
    judgments.read_judgments(path)
  check(e.value, path, 2, "<bytes>")

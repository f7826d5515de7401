"""tensorflow-datasets builders: what goes in through a local folder comes back through
`tfds.data_source` unchanged, bad records fail the preparation by file, line and field, and
`tfds:` specs read through itx's `read_source`. All without TensorFlow."""

import json
import os
import sys

import pytest

from itx.datasets import builders
from itx.datasets.tfds_spec import parse_spec
from itx.data.records import RecordError, read_records
from itx.datasets.sources import read_source

REAL_MT_BENCH = os.environ.get("ITX_MT_BENCH_X") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "mt_bench_x")


def _jsonl(path, rows):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    for r in rows:
      f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")


def _json(path, rows):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    json.dump(rows, f, ensure_ascii=False)


ALPACA = [{"id": "lima-1", "instruction": "Name a colour.", "input": "", "output": "Blue."},
          {"id": "lima-2", "instruction": "Translate.", "input": "Guten Morgen", "output": "Good morning."}]
CHAT = [{"language": "de", "messages": [{"role": "system", "content": "Sei hilfsbereit."},
                                        {"role": "user", "content": "Wie spät ist es?"},
                                        {"role": "assistant", "content": "Es ist Mittag."}]},
        {"language": "fr", "source": "lima", "messages": [{"role": "user", "content": "Ça va ?"},
                                                          {"role": "assistant", "content": "Oui."},
                                                          {"role": "user", "content": "Et toi ?"},
                                                          {"role": "assistant", "content": "Très bien."}]}]
ALPACA_VAL = [{"id": "lima-v1", "instruction": "Say yes.", "output": "Yes."}]


def _limax(folder, cfg, train, val):
  _jsonl(os.path.join(folder, f"train_limax_{cfg}.jsonl"), train)
  _jsonl(os.path.join(folder, f"val_limax_{cfg}.jsonl"), val)


def _expected(path, **defaults):
  """read_records of the source file, with the id and language the builder adds when absent."""
  out = []
  for rec in read_records(path):
    meta = dict(rec.meta)
    for k, v in defaults.items():
      if k == "id" and meta.get("id") is None:
        meta["id"] = f"{os.path.basename(path).split('.')[0]}-{rec.origin.rsplit(':', 1)[1]}"
      elif k != "id" and k not in meta:
        meta[k] = v
    out.append((rec.messages, rec.text, meta))
  return out


def _got(records):
  return [(r.messages, r.text, r.meta) for r in records]


def test_lima_x_alpaca_records_read_back_unchanged(tmp_path):
  src, data = str(tmp_path / "lima"), str(tmp_path / "tfds")
  _limax(src, "EN", ALPACA, ALPACA_VAL)
  got = builders.records("lima_x", "EN", "train", src, data)
  assert _got(got) == _expected(os.path.join(src, "train_limax_EN.jsonl"), id=None, language="en")
  assert [r.meta["id"] for r in got] == ["lima-1", "lima-2"]
  assert got[1].messages[0]["content"] == "Translate.\n\nGuten Morgen"
  assert "train_limax_EN.jsonl:2" in got[1].origin
  val = builders.records("lima_x", "EN", "validation", src, data)
  assert [(r.meta["id"], r.meta["language"]) for r in val] == [("lima-v1", "en")]
  assert "tensorflow" not in sys.modules  # prepared and read without TensorFlow


def test_lima_x_chat_records_keep_turns_languages_and_meta(tmp_path):
  src, data = str(tmp_path / "lima"), str(tmp_path / "tfds")
  _limax(src, "DE_FR_IT_ES", CHAT, CHAT[:1])
  got = builders.records("lima_x", "DE_FR_IT_ES", "train", src, data)
  assert _got(got) == _expected(os.path.join(src, "train_limax_DE_FR_IT_ES.jsonl"), id=None)
  assert [r.meta["language"] for r in got] == ["de", "fr"]  # the record's own, not the config's
  assert got[0].messages[0] == {"role": "system", "content": "Sei hilfsbereit."}
  assert len(got[1].messages) == 4 and got[1].meta["source"] == "lima"
  assert got[1].meta["id"] == "train_limax_DE_FR_IT_ES-2"  # no id in the file: its position


def test_bactrian_x_two_languages_including_an_unregistered_code(tmp_path):
  src, data = str(tmp_path / "bactrian"), str(tmp_path / "tfds")
  rows = {"de": [{"id": "alpaca-0", "instruction": "Nenne eine Farbe.", "input": "", "output": "Blau."},
                 {"id": "dolly-7", "instruction": "Fasse zusammen.", "input": "Ein Text.", "output": "Kurz."}],
          "eo": [{"id": "alpaca-0", "instruction": "Nomu koloron.", "input": "", "output": "Blua."}]}
  for lang, r in rows.items():
    _json(os.path.join(src, f"{lang}.json"), r)
  for lang in rows:
    got = builders.records("bactrian_x", lang, "train", src, data)
    assert _got(got) == _expected(os.path.join(src, f"{lang}.json"), id=None, language=lang)
    assert [r.meta["id"] for r in got] == [r["id"] for r in rows[lang]]
    assert {r.meta["language"] for r in got} == {lang}


@pytest.mark.parametrize("broken,field", [
    ({"id": "x", "instruction": "Hi"}, "output"),
    ({"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Yo"}]}, "messages[1].role"),
    ("{not json", "<json>"),
])
def test_malformed_record_fails_preparation_naming_file_line_field(tmp_path, broken, field):
  src = str(tmp_path / "lima")
  _limax(src, "EN", [ALPACA[0], broken, ALPACA[1]], ALPACA_VAL)
  with pytest.raises(RecordError) as e:
    builders.prepare("lima_x", "EN", src, str(tmp_path / "tfds"))
  assert e.value.path.endswith("train_limax_EN.jsonl") and e.value.line == 2 and e.value.field == field
  assert f"train_limax_EN.jsonl:2: field '{field}'" in str(e.value)


def _mini_bench(root, lang="EN"):
  qs = [{"question_id": f"81_{lang}", "category": "writing", "turns": ["Write a poem.", "Shorter."]},
        {"question_id": f"111_{lang}", "category": "math", "turns": ["2+2?", "3+3?"],
         "reference": ["4", "6"]}]
  _jsonl(os.path.join(root, f"mt_bench_{lang}", "question.jsonl"), qs)
  _jsonl(os.path.join(root, f"mt_bench_{lang}", "reference_answer", "gpt-4.jsonl"),
         [{"question_id": f"111_{lang}", "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["Four.", "Six."]}]}])
  return qs


def test_mt_bench_x_mini_folder_questions_and_references(tmp_path):
  src = str(tmp_path / "bench")
  qs = _mini_bench(src, "DE")
  got = builders.questions("mt_bench_x", "DE", "test", src, str(tmp_path / "tfds"))
  assert [(q["question_id"], q["category"], q["turns"]) for q in got] == [
      (q["question_id"], q["category"], q["turns"]) for q in qs]
  assert [q["reference"] for q in got] == [[], ["4", "6"]]
  assert [(q["reference_answer"], q["reference_model"]) for q in got] == [([], ""), (["Four.", "Six."], "gpt-4")]
  assert {q["language"] for q in got} == {"de"}


def test_mt_bench_x_bad_question_names_file_line_field(tmp_path):
  src = str(tmp_path / "bench")
  _jsonl(os.path.join(src, "mt_bench_EN", "question.jsonl"),
         [{"question_id": "81_EN", "category": "writing", "turns": ["a", "b"]},
          {"question_id": "82_EN", "category": "writing", "turns": ["only one"]}])
  with pytest.raises(RecordError, match=r"question\.jsonl:2: field 'turns'"):
    builders.prepare("mt_bench_x", "EN", src, str(tmp_path / "tfds"))


@pytest.mark.skipif(not os.path.isdir(REAL_MT_BENCH), reason="shared/mt_bench_x not present")
@pytest.mark.parametrize("lang", ["EN", "DE", "FR", "IT", "ES"])
def test_mt_bench_x_real_files(tmp_path, lang):
  got = builders.questions("mt_bench_x", lang, "test", REAL_MT_BENCH, str(tmp_path / "tfds"))
  with open(os.path.join(REAL_MT_BENCH, f"mt_bench_{lang}", "question.jsonl"), encoding="utf-8") as f:
    rows = [json.loads(line) for line in f if line.strip()]
  assert len(got) == 80
  assert [(q["question_id"], q["turns"]) for q in got] == [(str(r["question_id"]), r["turns"]) for r in rows]
  cats = {}
  for q in got:
    cats[q["category"]] = cats.get(q["category"], 0) + 1
  assert cats == {c: 10 for c in ("writing", "roleplay", "reasoning", "math", "coding", "extraction",
                                  "stem", "humanities")}
  with_ref = [q for q in got if q["reference_answer"]]
  assert len(with_ref) == 30 and {q["category"] for q in with_ref} == {"math", "reasoning", "coding"}
  assert all(len(q["reference_answer"]) == 2 and q["reference_model"] == "gpt-4" for q in with_ref)


def _world(root):
  _limax(os.path.join(root, "limax"), "EN_DE_FR_IT_ES_sampled", CHAT, CHAT[:1])
  _json(os.path.join(root, "bactrian", "it.json"),
        [{"id": "alpaca-0", "instruction": "Dimmi un colore.", "input": "", "output": "Blu."}])
  _jsonl(os.path.join(root, "pretrain", "pretrain.jsonl"),
         [{"text": "Der Hund schläft.", "language": "de"}, {"text": "Le chat dort.", "language": "fr"}])
  _mini_bench(os.path.join(root, "mt_bench"), "FR")


def test_polyglot_world_configs_reuse_the_real_layouts(tmp_path):
  world, data = str(tmp_path / "world"), str(tmp_path / "tfds")
  _world(world)
  lima = builders.records("polyglot", "EN_DE_FR_IT_ES_sampled", "train", world, data)
  assert _got(lima) == _expected(os.path.join(world, "limax", "train_limax_EN_DE_FR_IT_ES_sampled.jsonl"), id=None)
  pre = builders.records("polyglot", "pretrain", "train", world, data)
  assert [(r.text, r.meta["language"]) for r in pre] == [("Der Hund schläft.", "de"), ("Le chat dort.", "fr")]
  assert [r.meta["id"] for r in builders.records("polyglot", "bactrian_it", "train", world, data)] == ["alpaca-0"]
  qs = builders.questions("polyglot", "eval_FR", "test", world, data)
  assert [q["question_id"] for q in qs] == ["81_FR", "111_FR"] and qs[1]["reference_answer"] == ["Four.", "Six."]


def test_tfds_spec_reads_through_read_source(tmp_path, monkeypatch):
  monkeypatch.setenv("ITX_TFDS_DATA_DIR", str(tmp_path / "tfds"))
  src, world = str(tmp_path / "lima"), str(tmp_path / "world")
  _limax(src, "EN", ALPACA, ALPACA_VAL)
  _world(world)
  got = read_source(f"tfds:lima_x/EN:train@{src}")
  assert _got(got) == _got(builders.records("lima_x", "EN", "train", src))
  assert [r.meta["id"] for r in read_source(f"tfds:lima_x/EN:validation@{src}")] == ["lima-v1"]
  assert [r.text for r in read_source(f"tfds:polyglot/pretrain:train@{world}", "text")] == [
      "Der Hund schläft.", "Le chat dort."]
  with pytest.raises(ValueError, match="holds text records"):
    read_source(f"tfds:polyglot/pretrain:train@{world}", "instruction")


def test_tfds_cache_key_follows_the_source_files(tmp_path, monkeypatch):
  from itx.datasets.sources import fingerprint as _fingerprint
  monkeypatch.setenv("ITX_TFDS_DATA_DIR", str(tmp_path / "tfds"))
  src = str(tmp_path / "lima")
  _limax(src, "EN", ALPACA, ALPACA_VAL)
  spec = f"tfds:lima_x/EN:train@{src}"
  before = _fingerprint(spec)
  assert _fingerprint(spec) == before
  assert len(read_source(spec)) == 2
  _limax(src, "EN", ALPACA + ALPACA_VAL + [{"instruction": "One more?", "output": "Yes!"}], ALPACA_VAL)
  assert _fingerprint(spec) != before
  # the prepared data is rebuilt from the changed files, never read stale
  assert [r.messages[0]["content"] for r in read_source(spec)][-1] == "One more?"


def test_tfds_source_tokenizes_like_its_jsonl_file(tmp_path, monkeypatch, toy_tokenizer):
  import ml_collections
  from configs import base
  from itx.datasets.sources import tokenized_source
  monkeypatch.setenv("ITX_TFDS_DATA_DIR", str(tmp_path / "tfds"))
  src = str(tmp_path / "lima")
  _limax(src, "EN", ALPACA, ALPACA_VAL)
  data_cfg = base.get_config().data
  data_cfg.seq_len = 64

  def tokenized(path):
    cfg = ml_collections.ConfigDict(dict(path=path, kind="instruction", weight=1.0))
    return tokenized_source("lima", cfg, data_cfg, toy_tokenizer, progress=False)

  via_tfds, direct = tokenized(f"tfds:lima_x/EN:train@{src}"), tokenized(os.path.join(src, "train_limax_EN.jsonl"))
  assert len(via_tfds) == len(direct) == 2
  for i in range(2):
    assert {k: v.tolist() for k, v in via_tfds[i].items()} == {k: v.tolist() for k, v in direct[i].items()}


def test_preparing_again_from_unchanged_files_reuses_the_prepared_data(tmp_path):
  src, data = str(tmp_path / "lima"), str(tmp_path / "tfds")
  _limax(src, "EN", ALPACA, ALPACA_VAL)
  first = builders.prepare("lima_x", "EN", src, data)
  files = {f: os.stat(os.path.join(first.data_path, f)).st_mtime_ns for f in os.listdir(first.data_path)}
  again = builders.prepare("lima_x", "EN", src, data)
  assert {f: os.stat(os.path.join(again.data_path, f)).st_mtime_ns for f in os.listdir(again.data_path)} == files


def test_parse_spec():
  s = parse_spec("tfds:lima_x/DE_FR_IT_ES:validation@/data/my:lima@x")
  assert (s.name, s.config, s.split, s.source_dir) == ("lima_x", "DE_FR_IT_ES", "validation", "/data/my:lima@x")
  assert parse_spec("tfds:polyglot/EN").split == "train" and parse_spec("tfds:polyglot/EN").source_dir is None
  for bad in ("tfds:lima_x", "tfds:lima_x/EN:train@", "lima_x/EN"):
    with pytest.raises(ValueError):
      parse_spec(bad)

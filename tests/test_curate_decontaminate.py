"""Decontamination: a training record that quotes an evaluation question (in any of the bench's
languages) is found and, when asked, dropped in every file and language; the study's experiment
reports it; the polyglot world's held-out families share no 13-gram with its training files."""

import json
import os

import pytest

from curate_data import read_jsonl, write_jsonl
from experiments import multilingual_parallel as mp
from itx.curate.compose import compose
from itx.curate.decontaminate import decontaminate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MT_BENCH_X = os.path.join(ROOT, "..", "shared", "mt_bench_x")


def bench(folder):
  for lang, q in (("EN", "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting "
                         "cultural experiences and must-see attractions."),
                  ("DE", "Verfassen Sie eine professionelle E-Mail, in der Sie Ihren Vorgesetzten um ein Feedback "
                         "zu dem von Ihnen erstellten Bericht bitten.")):
    write_jsonl(os.path.join(folder, f"mt_bench_{lang}", "question.jsonl"),
                [{"question_id": f"81_{lang}", "category": "writing", "turns": [q, "Rewrite your previous response."]}])
  return folder


def corpus(folder, leak_en, leak_de):
  texts = {"en": [f"Tell me a fact about the number {i} and why people find it interesting." for i in range(6)],
           "de": [f"Erzähle mir etwas über die Zahl {i} und warum Menschen sie interessant finden." for i in range(6)]}
  texts["en"][2] = f"Please do this: {leak_en} Thanks."
  texts["de"][4] = f"Bitte: {leak_de}"
  for lang, ts in texts.items():
    write_jsonl(os.path.join(folder, "in", f"{lang}.jsonl"),
                [{"id": f"i{k}", "instruction": t, "output": "An answer."} for k, t in enumerate(ts)])
  compose(os.path.join(folder, "in"), os.path.join(folder, "corpus"), ["en", "de"], val_fraction=0.0)
  return os.path.join(folder, "corpus")


def test_overlapping_instructions_are_listed_and_dropped_in_every_file(tmp_path):
  b = bench(str(tmp_path / "bench"))
  en_q = read_jsonl(os.path.join(b, "mt_bench_EN", "question.jsonl"))[0]["turns"][0]
  de_q = read_jsonl(os.path.join(b, "mt_bench_DE", "question.jsonl"))[0]["turns"][0]
  c = corpus(str(tmp_path), en_q, " ".join(de_q.split()[:9]))  # nine words of the German question
  report = decontaminate(c, b, report_path=os.path.join(c, "decontamination.json"),
                         drop_out=str(tmp_path / "clean"))
  assert report["contaminated_instructions"] == 2 and report["questions_hit"] == 2
  assert report["files"]["train_limax_EN.jsonl"] == {"records": 6, "contaminated": 1, "instructions": 6,
                                                     "contaminated_instructions": 2}
  assert report["files"]["train_limax_EN_DE.jsonl"]["contaminated"] == 2
  assert {(o["id"], o["question_id"]) for o in report["overlaps"]} == {("i2_EN", "81_EN"), ("i4_DE", "81_DE")}
  for name in ("train_limax_EN.jsonl", "train_limax_DE.jsonl", "train_limax_EN_DE.jsonl"):
    ids = {r["id"].split("_")[0] for r in read_jsonl(str(tmp_path / "clean" / name))}
    assert ids == {"i0", "i1", "i3", "i5"}, name
  assert json.load(open(tmp_path / "clean" / "decontamination.json"))["dropped"] is True
  # below n words of overlap nothing is flagged
  assert decontaminate(c, b, n=12)["contaminated_instructions"] == 1


@pytest.mark.skipif(not os.path.isdir(MT_BENCH_X), reason="MT-Bench-X not at ../shared/mt_bench_x")
def test_real_mt_bench_x_questions_are_found_in_every_language(tmp_path):
  q = {lang: read_jsonl(os.path.join(MT_BENCH_X, f"mt_bench_{lang}", "question.jsonl"))[5] for lang in ("FR", "IT")}
  c = corpus(str(tmp_path), "Tell me a fact about nothing at all, really, thanks.", "Nichts.")
  write_jsonl(os.path.join(c, "extra.jsonl"), [{"id": f"x{lang}", "instruction": q[lang]["turns"][0], "output": "x"}
                                               for lang in q])
  report = decontaminate(c, MT_BENCH_X)
  assert set(report["bench_languages"]) >= {"en", "de", "fr", "it", "es"}
  hits = {(o["id"], o["question_id"]) for o in report["overlaps"] if o["file"] == "extra.jsonl"}
  assert hits >= {("xFR", q["FR"]["question_id"]), ("xIT", q["IT"]["question_id"])}


def test_polyglot_held_out_families_share_no_13_gram_with_training():
  from itx.worlds.polyglot import PolyglotSettings, world_dir
  s = PolyglotSettings.from_preset("tiny")
  w = world_dir(s)
  files = {c: os.path.join(w, "limax", f"train_limax_{c}.jsonl") for c in ("EN_DE_FR_IT_ES",)}
  held_out = decontaminate(files, os.path.join(w, "mt_bench"), n=13, fields="all", categories=s.heldout_families)
  assert held_out["questions"] == 5 * 2 * len(s.heldout_families) and held_out["contaminated_instructions"] == 0


def test_the_experiment_reports_decontamination(tmp_path):
  b = bench(str(tmp_path / "bench"))
  en_q = read_jsonl(os.path.join(b, "mt_bench_EN", "question.jsonl"))[0]["turns"][0]
  c = corpus(str(tmp_path), en_q, "Nichts.")
  files = {"EN": os.path.join(c, "train_limax_EN.jsonl"), "DE": os.path.join(c, "train_limax_DE.jsonl")}
  d = mp.contamination(files, b)
  assert d["files"]["EN"]["contaminated"] == 1 and d["files"]["DE"]["contaminated"] == 0
  rows = [{"condition": "EN", "seed": 0, "language": l, "metric": "judge_score", "value": 5.0} for l in mp.LANGS]
  os.makedirs(tmp_path / "results")
  res = mp.write_results(str(tmp_path / "results"), rows, ("EN",), decontamination=d)
  assert json.load(open(tmp_path / "results" / "results.json"))["decontamination"]["files"]["EN"]["contaminated"] == 1
  assert "EN: 1/6, DE: 0/6" in open(tmp_path / "results" / "results.txt").read() and d["text"] in res["text"]

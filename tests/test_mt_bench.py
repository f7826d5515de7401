"""MT-Bench-X protocol: benchmark files load as documented; judge requests are filled exactly as
FastChat/MT-Bench-X fill them (rebuilt prompts equal the user_prompt of real GPT-4 judgments);
scores parse with the fallback and -1; aggregation gives hand-computed means and counts on
constructed judgments, and by default reproduces FastChat's show_result (computed independently
here) and MT-Bench-X's category cells on the real EN/DE GPT-4 judgments."""

import csv
import json
import math
import os
import re
import string
import subprocess
import sys
from collections import defaultdict

import pytest

from itx.eval import aggregate, mt_bench
from itx.eval.judge_requests import build_judge_request, build_judge_requests, parse_score, \
    prompt_name

from itx.data.languages import STUDY_LANGUAGES as LANGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "mt_bench_x")


@pytest.fixture(scope="module")
def bench():
  if not os.path.isdir(BENCH):
    pytest.skip("MT-Bench-X data (../shared/mt_bench_x) is not present")
  return BENCH


def judgment_file(lang):
  return os.path.join(BENCH, f"mt_bench_{lang}", "model_judgment", "gpt-4_single.jsonl")


# ---- settings and files ----

def test_generation_settings_per_category():
  for cat in ("writing", "roleplay"):
    assert mt_bench.generation_settings(cat) == {"temperature": 0.7, "do_sample": True,
                                                 "max_new_tokens": 1024}
  for cat in ("extraction", "math", "coding", "reasoning"):
    assert mt_bench.generation_settings(cat)["temperature"] == 0.0
    assert not mt_bench.generation_settings(cat)["do_sample"]
  for cat in ("stem", "humanities"):
    assert mt_bench.generation_settings(cat)["temperature"] == 0.1


def test_real_questions_are_80_per_language_and_categories_follow_ids(bench):
  assert mt_bench.available_languages(bench) == list(LANGS)
  for lang in LANGS:
    qs = mt_bench.load_questions(bench, lang)
    assert len(qs) == 80 and all(len(q["turns"]) == 2 for q in qs)
    assert all(mt_bench.question_language(q["question_id"]) == lang for q in qs)
    assert all(mt_bench.category_of(q["question_id"]) == q["category"] for q in qs)
    refs = mt_bench.load_reference_answers(bench, lang)
    need = {q["question_id"] for q in qs if q["category"] in mt_bench.REFERENCE_CATEGORIES}
    assert need == set(refs) and len(need) == 30


def test_answer_file_round_trip_in_fastchat_format(tmp_path):
  path = str(tmp_path / "model_answer" / "m.jsonl")
  answers = {"82_DE": ["b1", "b2"], "81_DE": ["a1", "a2 {braces}"]}
  mt_bench.write_answers(path, "m", answers)
  lines = [json.loads(l) for l in open(path)]
  assert [l["question_id"] for l in lines] == ["81_DE", "82_DE"]
  assert set(lines[0]) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
  assert lines[0]["choices"] == [{"index": 0, "turns": ["a1", "a2 {braces}"]}]
  back = mt_bench.read_answers(path)
  assert {q: mt_bench.answer_turns(r) for q, r in back.items()} == answers
  assert list(mt_bench.load_model_answers(str(tmp_path / "model_answer"))) == ["m"]


# ---- judge requests ----

SMALL_PROMPTS = [
    {"name": "single-v1", "type": "single", "system_prompt": "S1",
     "prompt_template": "Q={question}|A={answer}", "output_format": "[[rating]]"},
    {"name": "single-math-v1", "type": "single", "system_prompt": "S2",
     "prompt_template": "Q={question}|R={ref_answer_1}|A={answer}", "output_format": "[[rating]]"},
    {"name": "single-v1-multi-turn", "type": "single", "system_prompt": "S3",
     "prompt_template": "{question_1}|{answer_1}|{question_2}|{answer_2}",
     "output_format": "[[rating]]"},
    {"name": "single-math-v1-multi-turn", "type": "single", "system_prompt": "S4",
     "prompt_template": "{question_1}|{ref_answer_1}|{question_2}|{ref_answer_2}||{question_1}|"
                        "{answer_1}|{question_2}|{answer_2}", "output_format": "[[rating]]"},
]


@pytest.fixture
def small_bench(tmp_path):
  d = tmp_path / "mt_bench_XX"
  (d / "reference_answer").mkdir(parents=True)
  (d / "judge_prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in SMALL_PROMPTS))
  qs = [{"question_id": "81_XX", "category": "writing", "turns": ["w1", "w2"]},
        {"question_id": "111_XX", "category": "math", "turns": ["m1", "m2"]}]
  (d / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
  ref = mt_bench.answer_record("111_XX", "gpt-4", ["r1", "r2"])
  (d / "reference_answer" / "gpt-4.jsonl").write_text(json.dumps(ref) + "\n")
  return str(tmp_path)


def test_requests_fill_the_four_prompts_exactly(small_bench):
  answers = {"81_XX": ["a1", "a2 {x}"], "111_XX": ["b1", "b2"]}
  reqs = {(r.question_id, r.turn): r for r in build_judge_requests(small_bench, "XX", answers, "m")}
  w1, w2, m1, m2 = (reqs["81_XX", 1], reqs["81_XX", 2], reqs["111_XX", 1], reqs["111_XX", 2])
  assert (w1.prompt_name, w1.system_prompt, w1.user_prompt) == ("single-v1", "S1", "Q=w1|A=a1")
  assert (w2.prompt_name, w2.user_prompt) == ("single-v1-multi-turn", "w1|a1|w2|a2 {x}")
  assert (m1.prompt_name, m1.user_prompt) == ("single-math-v1", "Q=m1|R=r1|A=b1")
  assert (m2.prompt_name, m2.user_prompt) == ("single-math-v1-multi-turn",
                                              "m1|r1|m2|r2||m1|b1|m2|b2")
  assert w2.messages == [{"role": "system", "content": "S3"},
                         {"role": "user", "content": "w1|a1|w2|a2 {x}"}]
  assert (m2.answer, m2.reference, m2.language, m2.key) == ("b2", "r2", "XX", ("111_XX", 2, "m"))


def test_reference_categories_need_a_reference():
  prompts = {p["name"]: p for p in SMALL_PROMPTS}
  q = {"question_id": "131_XX", "category": "coding", "turns": ["c1", "c2"]}
  with pytest.raises(ValueError, match="reference"):
    build_judge_request(q, ["x", "y"], prompts, 1, "m")
  assert [prompt_name(c, t) for c, t in [("reasoning", 1), ("stem", 2), ("coding", 2)]] == [
      "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"]


def _fields(template):
  return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def test_real_prompts_fill_every_placeholder(bench):
  for lang in LANGS:
    refs = mt_bench.load_reference_answers(bench, lang)
    answers = {q["question_id"]: ["ANSWER-ONE {question}", "ANSWER-TWO"]
               for q in mt_bench.load_questions(bench, lang)}
    reqs = build_judge_requests(bench, lang, answers, "m")
    assert len(reqs) == 160
    for r in reqs:
      assert r.language == lang and r.system_prompt
      assert "ANSWER-ONE {question}" in r.user_prompt  # braces in answers are not re-formatted
      assert ("ANSWER-TWO" in r.user_prompt) == (r.turn == 2)
      assert all(q in r.user_prompt for q in r.question_turns[:r.turn])
      if r.category in mt_bench.REFERENCE_CATEGORIES:
        assert all(ref in r.user_prompt for ref in refs[r.question_id][:r.turn])
        assert "math" in r.prompt_name


def _template_regex(template, known):
  """Regex of a filled template: known fields literal, answer fields captured (same name twice
  becomes a back-reference, as the math multi-turn template repeats question_1)."""
  out, seen = "", set()
  for literal, field, _, _ in string.Formatter().parse(template):
    out += re.escape(literal)
    if field is None:
      continue
    if field in known:
      out += re.escape(known[field])
    elif field in seen:
      out += f"(?P={field})"
    else:
      seen.add(field)
      out += f"(?P<{field}>.*)"
  return re.compile(out + r"\Z", re.S)


@pytest.mark.parametrize("lang", ["EN", "DE"])
def test_rebuilt_requests_equal_real_gpt4_user_prompts(bench, lang):
  """Recover the answers from each real judgment's user_prompt, rebuild the request from the
  question file and compare the whole prompt: placeholders and dialogue layout match MT-Bench-X."""
  prompts = mt_bench.load_judge_prompts(bench, lang)
  questions = {q["question_id"]: q for q in mt_bench.load_questions(bench, lang)}
  records = [json.loads(l) for l in open(judgment_file(lang))]
  assert records
  for rec in records:
    q = questions[rec["question_id"]]
    name = rec["judge"][1]
    assert name == prompt_name(q["category"], rec["turn"])
    known = ({"question": q["turns"][0]} if rec["turn"] == 1
             else {"question_1": q["turns"][0], "question_2": q["turns"][1]})
    m = _template_regex(prompts[name]["prompt_template"], known).match(rec["user_prompt"])
    assert m, f"{rec['question_id']} turn {rec['turn']}: prompt layout differs"
    answers = [m.group("answer")] if rec["turn"] == 1 else [m.group("answer_1"), m.group("answer_2")]
    req = build_judge_request(q, answers, prompts, rec["turn"], rec["model"])
    assert req.user_prompt == rec["user_prompt"]
    assert parse_score(rec["judgment"]) == rec["score"]


@pytest.mark.parametrize("text,score", [
    ("Rating: [[8]]", 8), ("Bewertung: [[9]].", 9), ("[[8.5]]", 8.5), ("Rating: [7]", 7),
    ("first [[3]] then [[9]]", 3), ("no rating here", -1), ("$ERROR$", -1), ("[[A]]", -1),
])
def test_parse_score(text, score):
  assert parse_score(text) == score


# ---- aggregation ----

def J(qid, turn, score, model="m", tstamp=0.0, judge="gpt-4"):
  return {"question_id": qid, "model": model, "judge": [judge, "single-v1"], "user_prompt": "",
          "judgment": f"[[{score}]]", "score": score, "turn": turn, "tstamp": tstamp}


def write(path, records):
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  return str(path)


def test_aggregation_of_constructed_judgments(tmp_path):
  de = [J("81_DE", 1, 8), J("82_DE", 1, 6), J("83_DE", 1, -1), J("81_DE", 2, 4),
        J("111_DE", 1, 10), J("111_DE", 2, 2)]
  fr = [J("81_FR", 1, 9), J("81_FR", 2, 5)]
  loaded = aggregate.load([write(tmp_path / "de.jsonl", de), write(tmp_path / "fr.jsonl", fr)])
  res = aggregate.aggregate(loaded)
  m = res["models"]["m"]
  assert res["score_key"] == "mt_bench" and m["prompts"] == ["single-v1"]
  assert m["cells"]["mt_bench_DE_writing_1"] == {"language": "DE", "category": "writing",
                                                 "turn": 1, "mean": 7.0, "n": 2, "failed": 1}
  assert m["cells"]["mt_bench_DE_math_2"]["mean"] == 2.0
  assert "mt_bench_DE_roleplay_1" not in m["cells"]
  de_s = m["languages"]["DE"]
  assert (de_s["mean"], de_s["turn_1"], de_s["turn_2"]) == (6.0, 8.0, 3.0)  # (8+6+4+10+2)/5
  assert (de_s["n"], de_s["failed"], de_s["missing"], de_s["expected"]) == (5, 1, 154, 160)
  # Category view: cells writing_1 7, writing_2 4, math_1 10, math_2 2 weigh the same.
  assert de_s["category_mean"] == (7 + 4 + 10 + 2) / 4 and de_s["line_mean"] == 6.0
  assert m["languages"]["FR"]["mean"] == 7.0
  assert m["cross_lingual"]["mean"] == 6.5 and m["cross_lingual"]["languages"] == ["DE", "FR"]
  # MT-Bench-X's "Avg." radar: each (category, turn) cell averaged over the languages having it.
  assert m["cross_lingual"]["cells"] == {"writing_1": 8.0, "writing_2": 4.5, "math_1": 10.0,
                                         "math_2": 2.0}
  by_cat = aggregate.aggregate(loaded, average="categories")["models"]["m"]["languages"]["DE"]
  assert (by_cat["mean"], by_cat["turn_1"], by_cat["turn_2"]) == (5.75, 8.5, 3.0)
  assert by_cat["failed"] == 1


def test_duplicate_policies_and_failed_judgments_under_each(tmp_path):
  recs = [J("81_DE", 1, -1, tstamp=1), J("81_DE", 1, 6, tstamp=2), J("81_DE", 1, 9, tstamp=3),
          J("82_DE", 1, 4, tstamp=1), J("83_DE", 1, -1, tstamp=1)]
  loaded = aggregate.load([write(tmp_path / "d.jsonl", recs)])
  cell = lambda d: aggregate.aggregate(loaded, duplicates=d)["models"]["m"]["cells"][  # noqa: E731
      "mt_bench_DE_writing_1"]
  # all (default): lines 6, 9, 4 count; the two -1 lines are counted as failed.
  assert aggregate.aggregate(loaded)["duplicates"] == "all"
  assert (cell("all")["mean"], cell("all")["n"], cell("all")["failed"]) == (19 / 3, 3, 2)
  # mean: 81 -> 7.5, 82 -> 4; 83 has no valid judgment.
  assert (cell("mean")["mean"], cell("mean")["n"], cell("mean")["failed"]) == (5.75, 2, 1)
  # last: 81 -> 9 (latest valid), 82 -> 4.
  assert (cell("last")["mean"], cell("last")["n"], cell("last")["failed"]) == (6.5, 2, 1)


def test_models_are_aggregated_separately_and_plain_ids_take_the_path_language(tmp_path):
  d = tmp_path / "mt_bench_IT" / "model_judgment"
  d.mkdir(parents=True)
  recs = [J(81, 1, 4, model="a"), J(81, 1, 8, model="b")]
  res = aggregate.aggregate(aggregate.load([write(d / "gpt-4_single.jsonl", recs)]))
  assert res["models"]["a"]["cells"]["mt_bench_IT_writing_1"]["mean"] == 4.0
  assert res["models"]["b"]["languages"]["IT"]["mean"] == 8.0
  with pytest.raises(ValueError, match="no language"):
    aggregate.load([write(tmp_path / "plain.jsonl", recs)])


def fastchat_show_result(path):
  """FastChat's show_result for single grading, on its own: drop score == -1, then the mean per
  (model, turn) and per model over both turns (the "Average")."""
  rows = [json.loads(l) for l in open(path) if l.strip()]
  kept = [r for r in rows if r["score"] != -1]
  by_turn, by_model = defaultdict(list), defaultdict(list)
  for r in kept:
    by_turn[(r["model"], r["turn"])].append(r["score"])
    by_model[r["model"]].append(r["score"])
  mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
  return ({k: mean(v) for k, v in by_turn.items()}, {k: mean(v) for k, v in by_model.items()},
          len(rows) - len(kept))


def mt_bench_x_cells(path, categories):
  """MT-Bench-X's radar cells: the mean per (category, turn) (here without the -1 lines)."""
  cells = defaultdict(list)
  for r in (json.loads(l) for l in open(path) if l.strip()):
    if r["score"] != -1:
      cells[(categories[r["question_id"]], r["turn"])].append(r["score"])
  return {k: sum(v) / len(v) for k, v in cells.items()}


@pytest.mark.parametrize("lang", ["EN", "DE"])
def test_default_aggregation_reproduces_fastchat_show_result_on_real_judgments(bench, lang):
  path = judgment_file(lang)
  per_turn, average, failed = fastchat_show_result(path)
  categories = mt_bench.question_categories(bench)
  res = aggregate.aggregate(aggregate.load([path]), categories=categories)
  assert set(res["models"]) == set(average)
  for model, m in res["models"].items():
    s = m["languages"][lang]
    assert s["turn_1"] == pytest.approx(per_turn[(model, 1)])
    assert s["turn_2"] == pytest.approx(per_turn[(model, 2)])
    assert s["mean"] == pytest.approx(average[model])
    assert s["failed"] == failed and s["lines"] == s["n"] + failed
    cells = mt_bench_x_cells(path, categories)
    for (cat, turn), v in cells.items():
      assert m["cells"][f"mt_bench_{lang}_{cat}_{turn}"]["mean"] == pytest.approx(v)
    assert s["category_mean"] == pytest.approx(sum(cells.values()) / len(cells))
  if lang == "DE":  # the real DE file repeats answer turns: averaging them first gives other figures
    other = aggregate.aggregate(aggregate.load([path]), duplicates="mean", categories=categories)
    s_mean = next(iter(other["models"].values()))["languages"][lang]
    assert s_mean["turn_1"] != pytest.approx(per_turn[(next(iter(average)), 1)])


def test_cli_prints_table_and_writes_json_csv_and_plots(bench, tmp_path):
  out = tmp_path / "out"
  files = [judgment_file("EN"), judgment_file("DE")]
  proc = subprocess.run([sys.executable, "-m", "itx.eval.aggregate", *files, f"--out={out}",
                         f"--bench={bench}"], capture_output=True, text=True, cwd=ROOT)
  assert proc.returncode == 0, proc.stderr
  averages = [fastchat_show_result(f)[1] for f in files]
  (model,) = averages[0]
  cross = (averages[0][model] + averages[1][model]) / 2
  assert "mt_bench_DE_writing_2" in proc.stdout
  assert f"cross-lingual average: {cross:.2f}" in proc.stdout
  assert "every judgment line (FastChat show_result)" in proc.stdout
  js = json.load(open(out / "mt_bench_results.json"))
  assert math.isclose(js["models"][model]["cross_lingual"]["mean"], cross)
  rows = open(out / "mt_bench_cells.csv").read().splitlines()
  assert rows[0].startswith("model,key,") and len(rows) == 1 + 4
  langs = list(csv.DictReader(open(out / "mt_bench_languages.csv")))
  assert {r["judge"] for r in langs} == {"gpt-4"} and all("show_result" in r["aggregation"] for r in langs)
  pngs = sorted(p for p in os.listdir(out) if p.endswith(".png"))
  assert len(pngs) == 4 and any("overlay" in p for p in pngs) and any("_avg" in p for p in pngs)
  assert all(open(out / p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in pngs)
  bad = subprocess.run([sys.executable, "-m", "itx.eval.aggregate", files[0], "--duplicates=most"],
                       capture_output=True, text=True, cwd=ROOT)
  assert bad.returncode == 2 and "duplicates" in bad.stderr

"""Translation through an OpenAI-compatible endpoint: every kept output is in its target language
with code, placeholders and numbers intact; wrong-language answers and failures are reported and
never kept; the cache makes a rerun free and an interrupted run resume without repeating work."""

import json
import os

import pytest

from curate_data import RECORDS, read_jsonl, write_jsonl
from itx.curate import translation_checks
from itx.curate.endpoint import EndpointConfig
from itx.curate.rows import text_fields
from itx.curate.translate import TranslationIncomplete, translate
from itx.data.records import RecordError
from itx.eval.language_id import identify
from translation_server import TranslationServer

TARGETS = ["pl", "nl", "fi"]
CANDIDATES = ["en", "pl", "nl", "fi", "de", "fr", "it", "es"]


def distinct_texts():
  return len({t for r in RECORDS for _, _, t in text_fields(r) if t.strip()})


def run(server, src, out, **kw):
  return translate(src, out, kw.pop("languages", TARGETS),
                   endpoint=EndpointConfig(base_url=server.url, model="word-table", max_retries=0, timeout=10),
                   progress=False, **kw)


@pytest.fixture
def source(tmp_path):
  return write_jsonl(str(tmp_path / "en.jsonl"), RECORDS)


def test_translations_keep_format_ids_code_placeholders_and_a_rerun_sends_nothing(source, tmp_path):
  out = str(tmp_path / "out")
  with TranslationServer() as server:
    report = run(server, source, out)
    n_requests = server.requests
    assert n_requests == distinct_texts() * len(TARGETS)  # identical texts are sent once per language
    again = run(server, source, out)
    assert server.requests == n_requests and again["requests"]["sent"] == 0
  assert report["kept"] == {t: len(RECORDS) for t in TARGETS} and report["usage_total"]["completion_tokens"] > 0
  for t in TARGETS:
    rows = read_jsonl(os.path.join(out, f"{t}.jsonl"))
    assert [r["id"] for r in rows] == [r["id"] for r in RECORDS]
    for src, row in zip(RECORDS, rows):
      assert row["language"] == t and ("messages" in row) == ("messages" in src)
      for (_, kind, s), (_, _, text) in zip(text_fields(src), text_fields(row)):
        assert (text == s == "") or translation_checks.check(s, text, t, CANDIDATES) is None
        if len(s.split()) > 8:
          assert identify(text, CANDIDATES) == t
  pl = {r["id"]: r for r in read_jsonl(os.path.join(out, "pl.jsonl"))}
  assert "```python\nfor i in range(1, 11):\n    print(i)\n```" in pl["a2"]["messages"][1]["content"]
  assert pl["a3"]["input"].count("{name}") == 1
  assert read_jsonl(os.path.join(out, "en.jsonl"))[0]["language"] == "en"


def test_wrong_language_answers_are_rejected_and_reported_not_kept(source, tmp_path):
  out = str(tmp_path / "out")
  with TranslationServer(echo_targets={"Finnish"}) as server:  # "translates" into Finnish by echoing English
    report = run(server, source, out)
  assert read_jsonl(os.path.join(out, "fi.jsonl")) == []
  assert len(read_jsonl(os.path.join(out, "pl.jsonl"))) == len(RECORDS)
  rejects = read_jsonl(os.path.join(out, "translation_rejects.jsonl"))
  assert {r["id"] for r in rejects} == {r["id"] for r in RECORDS}
  assert all(r["language"] == "fi" and r["reason"] == "wrong_language:en" for r in rejects)
  assert report["rejected"] == {"pl": 0, "nl": 0, "fi": len(RECORDS)}


def test_failing_endpoint_writes_no_records_and_the_rerun_sends_only_what_is_missing(source, tmp_path):
  out, total = str(tmp_path / "out"), distinct_texts() * len(TARGETS)
  with TranslationServer(fail_after=5) as server:
    with pytest.raises(TranslationIncomplete, match="rerun the same command"):
      run(server, source, out, workers=2)
    assert not any(os.path.exists(os.path.join(out, f"{t}.jsonl")) for t in TARGETS + ["en"])
    assert len(read_jsonl(os.path.join(out, "cache.jsonl"))) == 5
    assert json.load(open(os.path.join(out, "translation.json")))["complete"] is False
    server.fail_after, before = None, server.requests
    report = run(server, source, out, workers=2)
    assert server.requests - before == total - 5
    assert report["kept"] == {t: len(RECORDS) for t in TARGETS}
    before = server.requests
    run(server, source, out)
    assert server.requests == before


def test_allowed_failures_are_rejected_with_the_endpoint_error(source, tmp_path):
  out = str(tmp_path / "out")
  with TranslationServer(fail_after=0) as server:
    report = run(server, source, out, languages=["pl"], allow_failures=True)
  assert report["kept"] == {"pl": 0} and report["reasons"] == {"pl": {"endpoint_error": distinct_texts()}}
  assert "HTTP 500" in read_jsonl(os.path.join(out, "translation_rejects.jsonl"))[0]["reason"]


def test_interrupted_run_loses_no_finished_translation(source, tmp_path):
  out, total = str(tmp_path / "out"), distinct_texts() * len(TARGETS)

  def interrupt(done):
    if done == 4:
      raise KeyboardInterrupt

  with TranslationServer() as server:
    with pytest.raises(KeyboardInterrupt):
      run(server, source, out, workers=3, on_result=interrupt)
    cached = len(read_jsonl(os.path.join(out, "cache.jsonl")))
    assert cached == 4 and not os.path.exists(os.path.join(out, "pl.jsonl"))
    before = server.requests
    run(server, source, out, workers=3)
    assert server.requests - before == total - cached


def test_checks_name_what_a_translation_broke():
  src = "Print the 3 values with `f(x)`:\n```py\nprint(x)\n```\nand keep {name} as it is, please."
  good = "Wydrukuj 3 wartości z `f(x)`:\n```py\nprint(x)\n```\ni zostaw {name} tak jak jest, proszę."
  assert translation_checks.check(src, good, "pl", CANDIDATES, checks=("code", "placeholders", "numbers")) is None
  assert translation_checks.check(src, good.replace("print(x)", "drukuj(x)"), "pl", CANDIDATES,
                                  checks=("code",)) == "code_changed"
  assert translation_checks.check(src, good.replace("{name}", "{imię}"), "pl", CANDIDATES,
                                  checks=("placeholders",)) == "placeholders_changed"
  assert translation_checks.check(src, good.replace(" 3 ", " trzy "), "pl", CANDIDATES,
                                  checks=("numbers",)) == "numbers_changed"
  assert translation_checks.check(src, good, "pl", CANDIDATES, finish_reason="length") == "truncated"
  assert translation_checks.check(src, "  ", "pl", CANDIDATES) == "empty"


def test_bad_languages_and_records_are_refused_before_any_request(source, tmp_path):
  with TranslationServer() as server:
    with pytest.raises(ValueError, match="cannot identify.*'xx'"):
      run(server, source, str(tmp_path / "a"), languages=["xx"])
    with pytest.raises(ValueError, match="not a language code"):
      run(server, source, str(tmp_path / "b"), languages=["Polish!"])
    partial = write_jsonl(str(tmp_path / "partial.jsonl"), [RECORDS[0], {k: v for k, v in RECORDS[1].items() if k != "id"}])
    with pytest.raises(RecordError, match=r"partial.jsonl:2: field 'id'"):
      run(server, partial, str(tmp_path / "c"))
    assert server.requests == 0

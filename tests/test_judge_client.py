"""Judge client (official `openai` package) and judging loop against a deterministic fake
OpenAI-compatible server on 127.0.0.1 that answers 429/5xx or drops the connection for chosen
calls: retries happen with growing back-off, 4xx are not retried, 401 stops the run; token usage
is recorded per line and in total; a request that exhausts its retries is written as FastChat's
"$ERROR$" and a rerun asks only for those lines; at most `workers` calls run at once; an
interrupted run (killed, or an exception after N judgments) keeps every finished judgment intact.
The rule judge scores known cases and plugs into the same files and aggregation."""

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from itx.eval import aggregate
from itx.eval.judge_client import JudgeConfig, JudgeConfigError, OpenAIJudge, judge_all
from itx.eval.judgments import judgment_key, read_judgments
from itx.data.jsonl import repair
from itx.eval.rule_judge import RuleJudge, reference_request, rule_score

MAX_REQUESTS = 300  # the fake server refuses beyond this: a retry loop bug cannot run away
USAGE = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}


class FakeServer:
  """Chat-completions endpoint. The judged key is read from the user prompt ("id=<qid>");
  `fail[qid]` lists what to do before succeeding: an HTTP status, "close" (drop the connection
  without an answer) or "slow" (answer only after `slow` seconds); `delay` holds each request."""

  def __init__(self):
    self.fail, self.delay, self.slow, self.reply = {}, 0.0, 0.0, "Looks fine. Rating: [[7]]"
    self.attempts, self.headers = [], []
    self.inflight = self.max_inflight = 0
    self.lock = threading.Lock()
    server = self

    class Handler(BaseHTTPRequestHandler):
      def log_message(self, *a):
        pass

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        qid = body["messages"][-1]["content"].split("id=")[1].split()[0]
        with server.lock:
          server.attempts.append(qid)
          server.headers.append(dict(self.headers))
          server.inflight += 1
          server.max_inflight = max(server.max_inflight, server.inflight)
          action = 400 if len(server.attempts) > MAX_REQUESTS else (
              server.fail[qid].pop(0) if server.fail.get(qid) else 200)
        try:
          time.sleep(server.slow if action == "slow" else server.delay)
          if action == "slow":
            return  # the client gave up long ago
          if action == "close":
            self.close_connection = True
            return
          if action != 200:
            self.send_response(action)
            self.send_header("Content-Type", "application/json")
            if action == 429:
              self.send_header("Retry-After", "0")
            data = b'{"error": {"message": "injected"}}'
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
          data = json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                             "model": body["model"], "usage": USAGE,
                             "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                 "role": "assistant", "content": server.reply}}]}).encode()
          self.send_response(200)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", str(len(data)))
          self.end_headers()
          self.wfile.write(data)
        finally:
          with server.lock:
            server.inflight -= 1

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
    threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()

  def close(self):
    self.httpd.shutdown()
    self.httpd.server_close()


@pytest.fixture
def server():
  s = FakeServer()
  yield s
  s.close()


def requests_for(ids, model="m"):
  return [reference_request(q, model, f"id={q} what is 2+2?", "4", "4", language="EN") for q in ids]


def client(url, sleeps=None, **kw):
  cfg = JudgeConfig(base_url=url, model="fake-judge", api_key_env="", timeout=5, max_retries=3,
                    backoff_initial=0.001, backoff_max=0.01, **kw)
  return OpenAIJudge(cfg, sleep=(sleeps.append if sleeps is not None else time.sleep))


def test_429_5xx_and_dropped_connections_are_retried_with_growing_backoff(server, tmp_path):
  server.fail = {"q1": [500, 503], "q2": [429], "q3": ["close"]}
  sleeps = []
  judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="fake-judge", api_key_env="",
                                  max_retries=3, backoff_initial=1.0, backoff_max=8.0),
                      sleep=sleeps.append)
  out = str(tmp_path / "j.jsonl")
  stats = judge_all(requests_for(["q1", "q2", "q3"]), judge, out, workers=1, progress=False)
  assert (stats.written, stats.api_errors, stats.errors) == (3, 0, [])
  assert [server.attempts.count(q) for q in ("q1", "q2", "q3")] == [3, 2, 2]
  assert stats.attempts == 7 and len(sleeps) == 4
  # q1: 1.0 * 2**0 and 1.0 * 2**1, each with jitter in [0.5, 1]: the second wait is not shorter.
  assert 0.5 <= sleeps[0] <= 1.0 <= sleeps[1] <= 2.0
  recs = read_judgments(out)
  assert [r["score"] for r in recs] == [7, 7, 7] and all(r["usage"] == USAGE for r in recs)
  assert stats.usage == {k: 3 * v for k, v in USAGE.items()}
  assert recs[0]["judge"] == ["fake-judge", "rule-v1"] and recs[0]["turn"] == 1


def test_exhausted_retries_are_written_as_fastchat_errors_and_a_rerun_asks_only_for_them(
    server, tmp_path):
  out = str(tmp_path / "j.jsonl")
  server.fail = {"q1": [500] * 10, "q2": [400]}
  stats = judge_all(requests_for(["q1", "q2", "q3"]), client(server.url, sleeps=[]), out,
                    progress=False)
  assert server.attempts.count("q1") == 4  # 1 + max_retries
  assert server.attempts.count("q2") == 1  # a 400 will not heal: not retried
  assert (stats.written, stats.api_errors, stats.attempts) == (3, 2, 4 + 1 + 1)
  by_q = {r["question_id"]: r for r in read_judgments(out)}
  for q in ("q1", "q2"):
    assert by_q[q]["judgment"] == "$ERROR$" and by_q[q]["score"] == -1
  good_line = next(l for l in open(out) if '"q3"' in l)
  # Counted as failed and left out of the means until judged again.
  cell = aggregate.aggregate(aggregate.load([out], "EN"), categories={
      q: "math" for q in by_q}, expected=3)["models"]["m"]["cells"]["rule_EN_math_1"]
  assert (cell["n"], cell["failed"]) == (1, 2)
  server.fail = {}
  asked_before = len(server.attempts)
  again = judge_all(requests_for(["q1", "q2", "q3"]), client(server.url), out, progress=False)
  assert sorted(server.attempts[asked_before:]) == ["q1", "q2"]
  assert (again.dropped_errors, again.written, again.already_done) == (2, 2, 1)
  recs = read_judgments(out)
  assert sorted(r["question_id"] for r in recs) == ["q1", "q2", "q3"]
  assert all(r["judgment"] != "$ERROR$" and r["score"] == 7 for r in recs)
  assert good_line in open(out).read().splitlines(keepends=True)  # untouched


def test_a_request_over_its_timeout_is_retried(server, tmp_path):
  server.fail, server.slow = {"q1": ["slow"]}, 1.5
  sleeps = []
  judge = OpenAIJudge(JudgeConfig(base_url=server.url, model="fake-judge", api_key_env="", timeout=1.0,
                                  max_retries=2, backoff_initial=0.001), sleep=sleeps.append)
  c = judge(requests_for(["q1"])[0])
  assert c.text.endswith("[[7]]") and c.attempts == 2 and c.usage == USAGE and len(sleeps) == 1
  assert server.attempts == ["q1", "q1"]


def test_a_wrong_key_or_model_stops_the_run(server, tmp_path):
  server.fail = {"q0": [401]}
  out = str(tmp_path / "j.jsonl")
  with pytest.raises(JudgeConfigError, match="fake-judge"):
    judge_all(requests_for(["q0"]), client(server.url), out, progress=False)
  assert server.attempts == ["q0"] and read_judgments(out) == []


def test_api_key_is_read_from_the_named_variable(server, monkeypatch):
  monkeypatch.setenv("ITX_TEST_JUDGE_KEY", "sekret")
  req = requests_for(["q1"])[0]
  OpenAIJudge(JudgeConfig(base_url=server.url, api_key_env="ITX_TEST_JUDGE_KEY"))(req)
  OpenAIJudge(JudgeConfig(base_url=server.url, api_key_env=""))(req)
  auth = [{k.lower(): v for k, v in h.items()}.get("authorization") for h in server.headers]
  assert auth == ["Bearer sekret", "Bearer EMPTY"]


def test_concurrency_limit_is_respected(server, tmp_path):
  server.delay = 0.05
  stats = judge_all(requests_for([f"q{i}" for i in range(12)]), client(server.url),
                    str(tmp_path / "j.jsonl"), workers=3, progress=False)
  assert stats.written == 12
  assert 2 <= server.max_inflight <= 3


CHILD = """
import json, sys
from itx.eval.judge_client import JudgeConfig, OpenAIJudge, judge_all
from itx.eval.rule_judge import reference_request
url, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
reqs = [reference_request(f"q{i}", "m", f"id=q{i} x", "4", "4", language="EN") for i in range(n)]
judge_all(reqs, OpenAIJudge(JudgeConfig(base_url=url, model="fake-judge", api_key_env="")), out,
          workers=2, progress=False)
"""


def test_killed_run_loses_nothing_and_rerun_judges_only_missing_keys(server, tmp_path):
  out, n = str(tmp_path / "j.jsonl"), 40
  server.delay = 0.1
  proc = subprocess.Popen([sys.executable, "-c", CHILD, server.url, out, str(n)],
                          cwd=os.path.dirname(os.path.dirname(__file__)))
  try:
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
      if os.path.exists(out) and open(out).read().count("\n") >= 4:
        break
      time.sleep(0.02)
  finally:
    proc.kill()  # SIGKILL: no cleanup, as a crash or a preempted machine
    proc.wait()
  repair(out)  # a kill mid-write could leave a partial line
  before = open(out).read()
  kept = {k[0] for k in map(judgment_key, read_judgments(out))}
  assert 4 <= len(kept) < n, "the child should have been killed part-way"
  asked_before = len(server.attempts)
  server.delay = 0.0
  stats = judge_all(requests_for([f"q{i}" for i in range(n)]), client(server.url), out,
                    progress=False)
  rerun_asked = server.attempts[asked_before:]
  assert set(rerun_asked) == {f"q{i}" for i in range(n)} - kept and len(rerun_asked) == n - len(kept)
  assert stats.already_done == len(kept) and stats.written == n - len(kept)
  assert open(out).read().startswith(before)  # earlier lines untouched
  keys = [judgment_key(r) for r in read_judgments(out)]
  assert len(keys) == len(set(keys)) == n


class InterruptingJudge:
  """Judges through `inner`; the call after the first `n` raises KeyboardInterrupt (Ctrl-C)."""

  def __init__(self, inner, n):
    self.inner, self.n, self.name = inner, n, inner.name
    self.calls, self.returned, self.lock = 0, [], threading.Lock()

  def __call__(self, request):
    with self.lock:
      self.calls += 1
      if self.calls > self.n:
        raise KeyboardInterrupt
    out = self.inner(request)
    with self.lock:
      self.returned.append(request.key)
    return out


@pytest.mark.parametrize("workers", [1, 3])
def test_an_interrupted_run_keeps_every_finished_judgment_intact(server, tmp_path, workers):
  out = str(tmp_path / "j.jsonl")
  server.delay = 0.01
  judge = InterruptingJudge(client(server.url), n=5)
  with pytest.raises(KeyboardInterrupt):
    judge_all(requests_for([f"q{i}" for i in range(20)]), judge, out, workers=workers,
              progress=False)
  text = open(out).read()
  assert text.endswith("\n")  # never a half line
  recs = [json.loads(l) for l in text.splitlines()]  # every line is whole JSON
  assert sorted(judgment_key(r) for r in recs) == sorted(judge.returned)
  assert len(judge.returned) >= 5 and all(r["score"] == 7 and r["usage"] == USAGE for r in recs)
  stats = judge_all(requests_for([f"q{i}" for i in range(20)]), client(server.url), out,
                    progress=False)
  assert (stats.already_done, stats.written) == (len(judge.returned), 20 - len(judge.returned))


def test_truncated_last_line_is_repaired_and_judged_again(server, tmp_path):
  out = tmp_path / "j.jsonl"
  judge_all(requests_for(["q0", "q1"]), client(server.url), str(out), progress=False)
  complete = out.read_bytes()
  with open(out, "ab") as f:
    f.write(b'{"question_id": "q2", "model": "m", "judge": ["fake-judge", "ru')
  with pytest.warns(UserWarning, match="partial last line"):
    assert len(read_judgments(str(out))) == 2
  stats = judge_all(requests_for(["q0", "q1", "q2"]), client(server.url), str(out), progress=False)
  assert stats.written == 1 and server.attempts[-1] == "q2"
  text = out.read_bytes()
  assert text.startswith(complete) and text.endswith(b"\n")
  ids = [r["question_id"] for r in read_judgments(str(out))]
  assert sorted(ids[:2]) == ["q0", "q1"] and ids[2] == "q2"  # concurrent judges finish in any order


def test_malformed_line_names_the_file_and_line(tmp_path):
  p = tmp_path / "j.jsonl"
  p.write_text('{"question_id": "q0"}\nnot json\n{"question_id": "q1"}\n')
  with pytest.raises(ValueError, match=r"j.jsonl:2"):
    read_judgments(str(p))


def test_failed_judgments_are_rejudged_only_on_request(server, tmp_path):
  out = str(tmp_path / "j.jsonl")
  server.reply = "I cannot rate this."
  stats = judge_all(requests_for(["q0"]), client(server.url), out, progress=False)
  assert stats.failed_scores == 1 and read_judgments(out)[0]["score"] == -1
  server.reply = "Rating: [[5]]"
  assert judge_all(requests_for(["q0"]), client(server.url), out, progress=False).written == 0
  assert judge_all(requests_for(["q0"]), client(server.url), out, retry_failed=True,
                   progress=False).written == 1
  assert [r["score"] for r in read_judgments(out)] == [-1, 5]


# ---- rule judge ----

@pytest.mark.parametrize("answer,reference,lang,score", [
    ("Paris.</s>", "paris", "EN", 10),
    ("The capital of France is Paris.", "Paris", "EN", 9),
    ("", "Paris", "EN", 1),
    ("  ...  ", "Paris", "EN", 1),
    ("Die Hauptstadt von Frankreich ist Paris, eine sehr schöne Stadt.", "Paris", "EN", 1),
    ("42", "42", "DE", 10),           # a bare number is undetermined, not "wrong language"
    ("Parisian", "Paris", "EN", None),  # not a whole-word containment: partial credit
])
def test_rule_scores(answer, reference, lang, score):
  got, reason = rule_score(answer, reference, lang)
  if score is None:
    assert 2 <= got <= 8, reason
  else:
    assert got == score, reason


def test_rule_score_grows_with_overlap():
  ref = "The train leaves at seven in the morning from platform two."
  close = rule_score("The train leaves at seven in the morning from platform three.", ref, "EN")[0]
  far = rule_score("I like green apples and long walks by the sea.", ref, "EN")[0]
  assert 2 <= far < close <= 8


def test_rule_judge_writes_judgments_that_aggregate(tmp_path):
  reqs = [reference_request("1_EN", "m", "2+2?", "4", "4", language="EN", category="math"),
          reference_request("2_EN", "m", "Capital of France?", "It is Paris.", "Paris",
                            language="EN", category="math"),
          reference_request("3_EN", "m", "Capital of Italy?", "", "Rome", language="EN",
                            category="math")]
  out = str(tmp_path / "rule_single.jsonl")
  judge_all(reqs, RuleJudge(), out, progress=False)
  assert sorted(r["score"] for r in read_judgments(out)) == [1, 9, 10]
  res = aggregate.aggregate(aggregate.load([out]), categories={f"{i}_EN": "math" for i in (1, 2, 3)},
                            expected=3)
  m = res["models"]["m"]
  assert res["score_key"] == "rule" and not any(k.startswith("mt_bench") for k in m["cells"])
  assert m["cells"]["rule_EN_math_1"]["mean"] == pytest.approx(20 / 3)
  assert m["judges"] == ["rule-v1"] and m["languages"]["EN"]["missing"] == 0
  llm = {**read_judgments(out)[0], "judge": ["some-llm", "single-math-v1"]}
  with pytest.raises(ValueError, match="mixed"):
    aggregate.aggregate(aggregate.load([out]) + [{**llm, "language": "EN"}])
  with pytest.raises(ValueError, match="reference"):
    RuleJudge()(dataclasses.replace(reqs[0], reference_turns=None))

"""The OpenAI-compatible HTTP API: answers like direct generation, streams the same text, renders
group conditioning exactly, cuts at stop strings, scores prompts, and answers bad input with OpenAI
error objects naming the field (never a 500)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import requests

from itx.data.conditioning import system_prompt
from itx.generate import SamplingParams, prompt_ids
from serve_support import GROUPS, groups_run, loaded, served  # noqa: F401  (session fixtures)

CHAT = [{"role": "user", "content": "What is 2 plus 3?"}]


def post(url, path, body, **kw):
  r = requests.post(url + path, json=body, timeout=120, **kw)
  return r.status_code, r.json()


def stream(url, body):
  """(text per choice, finish reasons, usage, raw event count) of a streamed chat completion."""
  texts, reasons, usage = {}, {}, None
  with requests.post(url + "/v1/chat/completions", json={**body, "stream": True}, stream=True, timeout=120) as r:
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    lines = [l for l in r.iter_lines(decode_unicode=True) if l]
  assert lines[-1] == "data: [DONE]"
  for line in lines[:-1]:
    chunk = json.loads(line.removeprefix("data: "))
    assert chunk["object"] == "chat.completion.chunk"
    usage = chunk.get("usage") or usage
    for c in chunk["choices"]:
      texts[c["index"]] = texts.get(c["index"], "") + c["delta"].get("content", "")
      if c["finish_reason"]:
        reasons[c["index"]] = c["finish_reason"]
  return texts, reasons, usage


def test_models_lists_runs_and_groups(served):  # noqa: F811
  url, _ = served
  ids = [m["id"] for m in requests.get(url + "/v1/models", timeout=10).json()["data"]]
  assert ids == ["tiny"] + [f"tiny:{g}" for g in GROUPS] + ["plain"]


def test_chat_equals_direct_generation_and_streams_the_same_text(served, loaded):  # noqa: F811
  url, _ = served
  status, body = post(url, "/v1/chat/completions", {"model": "plain", "messages": CHAT, "temperature": 0, "max_tokens": 12})
  assert status == 200
  expected = loaded.generator().generate_text([CHAT], SamplingParams(max_new_tokens=12))[0]
  assert body["choices"][0]["message"] == {"role": "assistant", "content": expected}
  assert 0 < body["usage"]["completion_tokens"] <= 12
  assert body["usage"]["prompt_tokens"] == len(prompt_ids(loaded.tokenizer, CHAT))
  texts, reasons, usage = stream(url, {"model": "plain", "messages": CHAT, "temperature": 0, "max_tokens": 12,
                                       "stream_options": {"include_usage": True}})
  assert texts == {0: body["choices"][0]["message"]["content"]}
  assert reasons == {0: body["choices"][0]["finish_reason"]} and usage == body["usage"]


def test_group_and_language_render_the_conditioning_system_prompt(served, loaded):  # noqa: F811
  url, _ = served
  for model, language, group in [("tiny:teenagers", "de", "teenagers"), ("tiny:liberal", None, "liberal"),
                                 ("plain", "fr", None)]:
    body = {"model": model, "messages": CHAT, "max_tokens": 2, **({"language": language} if language else {})}
    status, reply = post(url, "/v1/chat/completions", body)
    rendered = [{"role": "system", "content": system_prompt(language, group)}] + CHAT
    assert status == 200 and reply["usage"]["prompt_tokens"] == len(prompt_ids(loaded.tokenizer, rendered))


def test_stop_string_cuts_the_answer(served):  # noqa: F811
  url, _ = served
  base = {"model": "plain", "messages": CHAT, "temperature": 0, "max_tokens": 30}
  full = post(url, "/v1/chat/completions", base)[1]["choices"][0]["message"]["content"]
  if len(full.strip()) < 4:
    pytest.skip("the tiny model's answer is too short to cut")
  stop = full[len(full) // 2:len(full) // 2 + 2]
  cut = post(url, "/v1/chat/completions", {**base, "stop": [stop]})[1]["choices"][0]
  assert cut["message"]["content"] == full[:full.find(stop)] and cut["finish_reason"] == "stop"
  texts, reasons, _ = stream(url, {**base, "stop": stop})
  assert texts[0] == cut["message"]["content"] and reasons[0] == "stop"


def test_n_seed_and_temperature(served):  # noqa: F811
  url, _ = served
  body = {"model": "plain", "messages": CHAT, "temperature": 1.2, "top_p": 0.95, "max_tokens": 10, "n": 4, "seed": 3}
  first, again = post(url, "/v1/chat/completions", body)[1], post(url, "/v1/chat/completions", body)[1]
  assert [c["index"] for c in first["choices"]] == [0, 1, 2, 3]
  assert [c["message"] for c in first["choices"]] == [c["message"] for c in again["choices"]]  # seeded: reproducible


def test_completions_echo_logprobs_equal_a_forward_pass(served, loaded):  # noqa: F811
  import jax
  url, _ = served
  ids = prompt_ids(loaded.tokenizer, CHAT)
  status, body = post(url, "/v1/completions", {"model": "plain", "prompt": [ids, ids[:5]], "max_tokens": 1,
                                               "echo": True, "logprobs": 1, "temperature": 0})
  assert status == 200 and len(body["choices"]) == 2
  lp = body["choices"][0]["logprobs"]
  assert len(lp["token_logprobs"]) == len(ids) + 1 and lp["token_logprobs"][0] is None
  with loaded.generator()._context():
    logits = loaded.model.apply({"params": loaded.params}, np.asarray([ids] * 8, np.int32))
  logp = np.asarray(jax.nn.log_softmax(logits[0], axis=-1))
  np.testing.assert_allclose(lp["token_logprobs"][1:len(ids)], logp[np.arange(len(ids) - 1), ids[1:]], atol=1e-4)
  assert abs(lp["token_logprobs"][-1] - logp[-1].max()) < 1e-4  # the greedy next token
  # A text prompt with max_tokens=0 only echoes and scores.
  status, body = post(url, "/v1/completions", {"model": "plain", "prompt": "hello world", "max_tokens": 0,
                                               "echo": True, "logprobs": 0})
  assert status == 200 and "hello world" in body["choices"][0]["text"] and body["usage"]["completion_tokens"] == 0


@pytest.mark.parametrize("path, body, status, field", [
    ("/v1/chat/completions", {"messages": []}, 400, "messages"),
    ("/v1/chat/completions", {"model": "plain", "messages": [{"role": "robot", "content": "x"}]}, 400, "messages[0].role"),
    ("/v1/chat/completions", {"model": "plain", "messages": CHAT, "temperature": "hot"}, 400, "temperature"),
    ("/v1/chat/completions", {"model": "plain", "messages": CHAT, "max_tokens": 0}, 400, "max_tokens"),
    ("/v1/chat/completions", {"model": "plain", "messages": CHAT, "stop": 5}, 400, "stop"),
    ("/v1/chat/completions", {"model": "plain", "messages": CHAT, "n": 9}, 400, "n"),
    ("/v1/chat/completions", {"model": "plain", "messages": CHAT, "language": "xx"}, 400, "language"),
    ("/v1/chat/completions", {"model": "tiny:liberal", "messages": [{"role": "system", "content": "s"}] + CHAT},
     400, "messages[0].role"),
    ("/v1/chat/completions", {"model": "plain", "messages": [{"role": "user", "content": "x" * 5000}]}, 400, "messages"),
    ("/v1/chat/completions", {"model": "nope", "messages": CHAT}, 404, "model"),
    ("/v1/completions", {"model": "plain", "prompt": [[1, 10 ** 6]]}, 400, "prompt"),
    ("/v1/completions", {"model": "plain", "prompt": 3}, 400, "prompt"),
    ("/v1/completions", {"model": "plain", "prompt": "x", "logprobs": 9}, 400, "logprobs"),
])
def test_bad_request_is_an_openai_error_naming_the_field(served, path, body, status, field):  # noqa: F811
  got, reply = post(served[0], path, body)
  assert got == status and reply["error"]["param"] == field and field in reply["error"]["message"]
  assert post(served[0], "/v1/chat/completions", {"model": "plain", "messages": CHAT, "max_tokens": 1})[0] == 200


def test_malformed_body_unknown_route_and_oversized_body(served):  # noqa: F811
  url, _ = served
  r = requests.post(url + "/v1/chat/completions", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
  assert r.status_code == 400 and r.json()["error"]["param"] == "<body>"
  r = requests.get(url + "/v1/nothing", timeout=10)
  assert r.status_code == 404 and "error" in r.json()
  r = requests.post(url + "/v1/chat/completions", json={"model": "plain", "messages": [{"role": "user", "content": "y" * (100 << 10)}]},
                    timeout=10)
  assert r.status_code == 413 and "error" in r.json()


def test_full_queue_is_503_and_api_key_is_checked(loaded):  # noqa: F811
  from itx.serve.app import create_app
  from itx.serve.inprocess import serve_in_thread
  from itx.serve.registry import serve_loaded_run
  run = serve_loaded_run("tiny", loaded, slots=8, max_len=256, max_waiting=1)
  # The engine is not started: the first request waits in the queue (its stream is open), the second
  # finds the queue full.
  with serve_in_thread(create_app([run], api_key="sesame", manage_engines=False)) as url:
    key = {"Authorization": "Bearer sesame"}
    assert requests.get(url + "/v1/models", timeout=10).status_code == 401
    assert requests.get(url + "/v1/models", headers=key, timeout=10).status_code == 200
    body = {"model": "tiny", "messages": CHAT, "max_tokens": 4, "stream": True}
    waiting = requests.post(url + "/v1/chat/completions", json=body, headers=key, stream=True, timeout=30)
    assert waiting.status_code == 200
    status, reply = post(url, "/v1/chat/completions", body, headers=key)
    assert status == 503 and reply["error"]["code"] == "queue_full"
    run.engine.start()
    lines = [l for l in waiting.iter_lines(decode_unicode=True) if l]
    assert lines[-1] == "data: [DONE]"
    run.engine.stop()


def test_command_line_serves_a_workdir_and_refuses_an_open_address_without_key(groups_run):  # noqa: F811
  cmd = [sys.executable, "-m", "itx.serve", f"--workdir={groups_run}"]
  refused = subprocess.run(cmd + ["--host=0.0.0.0"], capture_output=True, text=True, timeout=60)
  assert refused.returncode != 0 and "--api_key" in refused.stderr
  env = {**os.environ, "XLA_FLAGS": ""}
  proc = subprocess.Popen(cmd + ["--port=0", "--name=cli", "--max_len=512"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env)
  try:
    for line in proc.stdout:
      if line.startswith("serving"):
        break
    base = line.split(" on ")[1].split()[0]
    models = requests.get(base + "/models", timeout=10).json()["data"]
    assert [m["id"] for m in models][:2] == ["cli", f"cli:{GROUPS[0]}"]
    status, reply = post(base.removesuffix("/v1"), "/v1/chat/completions", {"messages": CHAT, "model": "cli", "max_tokens": 3})
    assert status == 200 and reply["usage"]["completion_tokens"] >= 1
  finally:
    proc.terminate()
    proc.wait(timeout=30)


def test_health_is_503_until_every_engine_is_warm(loaded):  # noqa: F811
  import requests
  from itx.serve.app import create_app
  from itx.serve.inprocess import serve_in_thread
  from itx.serve.registry import serve_loaded_run
  run = serve_loaded_run("cold", loaded, slots=8, max_len=128)
  with serve_in_thread(create_app([run], manage_engines=False)) as url:  # the engine never starts: never warm
    r = requests.get(f"{url}/health", timeout=30)
    assert r.status_code == 503 and r.json() == {"status": "warming up", "runs": ["cold"]}
    run.engine.ready.set()
    assert requests.get(f"{url}/health", timeout=30).json() == {"status": "ok"}

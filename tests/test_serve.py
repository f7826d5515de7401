"""The OpenAI-compatible server: answers like the Generator it wraps; bad requests name the field."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from helpers import train_tiny_run
from itx.generate import SamplingParams
from itx.inference import load_run, local_mesh
from itx.serve.server import make_server

CHAT = [{"role": "user", "content": "What is 2 plus 3?"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
  workdir = train_tiny_run(str(tmp_path_factory.mktemp("run")))
  run = load_run(workdir, mesh_overrides=local_mesh())
  gen = run.generator()
  server = make_server(gen, "tiny", port=0)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  yield f"http://127.0.0.1:{server.server_address[1]}/v1", gen
  server.shutdown()
  server.server_close()


def post(url, body):
  req = urllib.request.Request(url + "/chat/completions", data=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json"})
  try:
    with urllib.request.urlopen(req, timeout=60) as r:
      return r.status, json.loads(r.read())
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read())


def test_completion_equals_direct_generation(served):
  url, gen = served
  status, body = post(url, {"model": "tiny", "messages": CHAT, "temperature": 0, "max_tokens": 12})
  assert status == 200
  expected = gen.generate_text([CHAT], SamplingParams(max_new_tokens=12))[0]
  assert body["choices"][0]["message"] == {"role": "assistant", "content": expected}
  assert body["choices"][0]["finish_reason"] in ("stop", "length")
  assert 0 < body["usage"]["completion_tokens"] <= 12
  with urllib.request.urlopen(url + "/models", timeout=10) as r:
    assert json.loads(r.read())["data"][0]["id"] == "tiny"


@pytest.mark.parametrize("body, field", [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": CHAT, "temperature": "hot"}, "temperature"),
    ({"messages": CHAT, "max_tokens": 0}, "max_tokens"),
    ({"messages": CHAT, "stop": 5}, "stop"),
])
def test_bad_request_is_400_naming_the_field(served, body, field):
  status, reply = post(served[0], body)
  assert status == 400 and f"'{field}'" in reply["error"]["message"]

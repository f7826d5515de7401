"""Translation against a model served by itx itself (`python -m itx.serve` on a tiny trained run):
requests go out, answers come back, and every answer either passes the checks and is kept or is
in the rejects with its reason (a tiny random model answers in no particular language)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from curate_data import RECORDS, read_jsonl, write_jsonl
from helpers import train_tiny_run
from itx.curate import translation_checks
from itx.curate.endpoint import EndpointConfig
from itx.curate.rows import text_fields
from itx.curate.translate import translate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_translate_through_an_itx_server(tmp_path):
  workdir = train_tiny_run(str(tmp_path / "run"))
  port = free_port()
  server = subprocess.Popen([sys.executable, "-m", "itx.serve", f"--workdir={workdir}", f"--port={port}",
                             "--name=tiny", "--max_new_tokens=8"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "XLA_FLAGS": ""})
  try:
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
      try:
        with urllib.request.urlopen(url + "/models", timeout=2) as r:
          assert json.loads(r.read())["data"][0]["id"] == "tiny"
        break
      except OSError:
        assert server.poll() is None, server.stdout.read().decode()
        time.sleep(0.5)
    src = write_jsonl(str(tmp_path / "en.jsonl"), RECORDS[:2])
    out = str(tmp_path / "out")
    report = translate(src, out, ["de"], endpoint=EndpointConfig(base_url=url, model="tiny", max_tokens=8,
                                                                 max_retries=0, timeout=120),
                       workers=2, progress=False)
  finally:
    server.terminate()
    server.wait(timeout=30)
  n_fields = sum(1 for r in RECORDS[:2] for _, _, t in text_fields(r) if t.strip())
  assert report["requests"]["sent"] == n_fields and report["requests"]["failed"] == 0
  assert report["usage_total"]["completion_tokens"] > 0
  kept = {r["id"]: r for r in read_jsonl(os.path.join(out, "de.jsonl"))}
  rejected = {r["id"] for r in read_jsonl(os.path.join(out, "translation_rejects.jsonl"))}
  assert set(kept) | rejected == {r["id"] for r in RECORDS[:2]} and not set(kept) & rejected
  for src_row in RECORDS[:2]:
    if src_row["id"] in kept:
      for (_, _, s), (_, _, t) in zip(text_fields(src_row), text_fields(kept[src_row["id"]])):
        assert s == t == "" or translation_checks.check(s, t, "de", report["candidates"]) is None

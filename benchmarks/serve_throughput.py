"""Serving throughput from a freshly started server: 16 concurrent clients against one client at a
time, one script.

The server is a fresh process (`--model=toy`: a small Llama-shaped model with random weights and the
toy tokenizer; `--model=gemma`: `itx serve --gguf=builtin:gemma3-270m`), on 127.0.0.1 only. The
script waits for `GET /health` to answer 200 (the server compiles every shape first), then sends,
in order: the first burst (16 concurrent clients), requests one at a time, and a second burst on the
now-warm server. Every request is a streamed chat completion of a fixed number of tokens (sampled,
so no early end-of-turn). Prints tokens/s, p50/p99 latency and time to the first streamed token of
each phase, the ratios to one at a time, and the start-up (warm-up) time with a cold compilation
cache and again with the cache the first start filled. Bounded: --requests per burst, --sequential
for the baseline, --time_limit seconds per phase.

  python benchmarks/serve_throughput.py [--model=toy|gemma] [--requests=256] [--sequential=16] [--clients=16]
"""

from __future__ import annotations

import concurrent.futures
import json
import pathlib
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's itx

from itx.cli import parse_flags  # noqa: E402

_REQUESTS = flags.DEFINE_integer("requests", 256, "Requests of each concurrent burst.")
_SEQUENTIAL = flags.DEFINE_integer("sequential", 16, "Requests of the one-at-a-time baseline.")
_CLIENTS = flags.DEFINE_integer("clients", 16, "Concurrent clients.")
_TOKENS = flags.DEFINE_integer("max_tokens", 32, "Generated tokens per request.")
_TIME_LIMIT = flags.DEFINE_float("time_limit", 600.0, "Seconds per phase; stops sending after that.")
_D_MODEL = flags.DEFINE_integer("d_model", 256, "toy: model width.")
_LAYERS = flags.DEFINE_integer("layers", 4, "toy: model depth.")
_MODEL = flags.DEFINE_enum("model", "toy", ["toy", "gemma"], "toy: a random small model; gemma: Gemma 3 270M.")
_SERVE = flags.DEFINE_integer("serve", 0, "(internal) serve the toy model on this port and exit when killed.")
QUESTIONS = ["What is 2 plus 3?", "Name a weekday.", "Translate to German: the cat sleeps.", "Sort: pear apple fig",
             "Spell 42 in words.", "What is the capital of France?", "Reverse: apple river", "Say hello."]


def build_app(slots: int):
  import jax
  from itx.datasets.sources import tokenizer as load_tokenizer
  from itx.models import ModelConfig, network
  from itx.serve.app import create_app
  from itx.serve.engine import Engine
  from itx.serve.kernels import Kernels
  from itx.serve.registry import ServedRun

  tok = load_tokenizer("builtin:toy")
  cfg = ModelConfig(vocab_size=len(tok), d_model=_D_MODEL.value, n_layers=_LAYERS.value, n_heads=8, n_kv_heads=4,
                    mlp_dim=4 * _D_MODEL.value)
  model = network(cfg)
  params = model.init(jax.random.key(0), np.zeros((1, 8), np.int32))["params"]
  params = jax.tree.map(lambda p: p.value if hasattr(p, "value") else p, params,
                        is_leaf=lambda p: hasattr(p, "value"))
  kernels = Kernels(model, params, slots=slots, max_len=256)
  engine = Engine(kernels, tok, max_waiting=4 * slots, warm_up=True, name="bench")
  print(f"model: {cfg.num_params() / 1e6:.1f}M parameters, {slots} slots x 256 positions, 1 device")
  return create_app([ServedRun("bench", engine, tok)], max_tokens=_TOKENS.value)


def one_request(url: str, i: int) -> dict:
  import requests
  body = {"model": "bench", "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
          "max_tokens": _TOKENS.value, "temperature": 1.0, "seed": i, "stream": True,
          "stream_options": {"include_usage": True}}
  start = time.perf_counter()
  first, tokens = None, 0
  try:
    with requests.post(url + "/v1/chat/completions", json=body, stream=True, timeout=300) as r:
      if r.status_code != 200:
        return {"ok": False, "error": f"HTTP {r.status_code}"}
      for line in r.iter_lines(decode_unicode=True):
        if not line.startswith("data: ") or line == "data: [DONE]":
          continue
        chunk = json.loads(line[6:])
        if chunk.get("error"):
          return {"ok": False, "error": chunk["error"]["message"]}
        if first is None and any(c["delta"].get("content") for c in chunk["choices"]):
          first = time.perf_counter() - start
        if chunk.get("usage"):
          tokens = chunk["usage"]["completion_tokens"]
  except Exception as e:  # noqa: BLE001 - counted as a failure
    return {"ok": False, "error": repr(e)}
  return {"ok": True, "latency": time.perf_counter() - start, "ttft": first, "tokens": tokens}


def phase(url: str, n: int, clients: int) -> tuple[list[dict], float]:
  results, start = [], time.perf_counter()
  with concurrent.futures.ThreadPoolExecutor(clients) as pool:
    pending, sent = set(), 0
    while sent < n or pending:
      while sent < n and len(pending) < clients and time.perf_counter() - start < _TIME_LIMIT.value:
        pending.add(pool.submit(one_request, url, sent))
        sent += 1
      if not pending:
        break
      done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
      results += [f.result() for f in done]
  return results, time.perf_counter() - start


def report(name: str, results: list[dict], seconds: float) -> float:
  ok = [r for r in results if r["ok"]]
  tokens = sum(r["tokens"] for r in ok)
  lat = np.array([r["latency"] for r in ok]) if ok else np.zeros(1)
  ttft = np.array([r["ttft"] for r in ok if r["ttft"] is not None]) if ok else np.zeros(1)
  print(f"{name:<22} {len(results):>5} requests, {len(results) - len(ok)} failed, {tokens} tokens in {seconds:6.1f} s: "
        f"{tokens / seconds:7.1f} tokens/s | latency p50 {np.percentile(lat, 50):.2f} s p99 {np.percentile(lat, 99):.2f} s"
        f" | first token p50 {np.percentile(ttft, 50):.3f} s p99 {np.percentile(ttft, 99):.3f} s")
  for r in results:
    if not r["ok"]:
      print("  failure:", r["error"])
      break
  return tokens / seconds


def start_server(cache_dir: str, port: int):
  """A fresh server process on 127.0.0.1:port; returns (process, seconds until /health said 200)."""
  import os
  import subprocess
  import sys

  import requests
  env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache_dir, "XLA_FLAGS": ""}
  if _MODEL.value == "toy":
    cmd = [sys.executable, __file__, f"--serve={port}", f"--clients={_CLIENTS.value}", f"--d_model={_D_MODEL.value}",
           f"--layers={_LAYERS.value}", f"--max_tokens={_TOKENS.value}"]
  else:
    cmd = [sys.executable, "-m", "itx.cli", "serve", "--gguf=bench=builtin:gemma3-270m", f"--port={port}",
           f"--slots={_CLIENTS.value}", "--max_len=512", f"--max_tokens={_TOKENS.value}"]
  start = time.perf_counter()
  proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  while time.perf_counter() - start < 900:
    if proc.poll() is not None:
      raise RuntimeError(f"the server exited with {proc.returncode}: {' '.join(cmd)}")
    try:
      if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
        return proc, time.perf_counter() - start
    except requests.RequestException:
      pass
    time.sleep(0.2)
  proc.kill()
  raise RuntimeError("the server did not become healthy within 900 s")


def free_port() -> int:
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  import tempfile
  if _SERVE.value:  # the child: serve until killed
    import uvicorn
    uvicorn.run(build_app(_CLIENTS.value), host="127.0.0.1", port=_SERVE.value, log_level="warning")
    return
  cache = tempfile.mkdtemp(prefix="itx-serve-bench-xla-")
  port = free_port()
  proc, cold = start_server(cache, port)
  url = f"http://127.0.0.1:{port}"
  try:
    print(f"model {_MODEL.value}: healthy {cold:.1f} s after start (cold compilation cache)")
    first = report(f"first burst, {_CLIENTS.value} clients", *phase(url, _REQUESTS.value, _CLIENTS.value))
    seq = report("1 client at a time", *phase(url, _SEQUENTIAL.value, 1))
    warm = report(f"warm burst, {_CLIENTS.value} clients", *phase(url, _REQUESTS.value, _CLIENTS.value))
  finally:
    proc.kill()
    proc.wait()
  proc, warm_start = start_server(cache, port)
  proc.kill()
  proc.wait()
  print(f"healthy {warm_start:.1f} s after start with the compilation cache the first start filled")
  print(f"throughput ratio to one at a time: first burst {first / seq:.1f}x, warm burst {warm / seq:.1f}x")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

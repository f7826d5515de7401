"""Shared test helpers."""

import jax
import numpy as np


def tiny_config(**model):
  """The smoke config with a tiny model; tests change what they study."""
  from configs import smoke
  c = smoke.get_config()
  c.model.update({**dict(d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64), **model})
  c.log.progress_bar = False
  c.log.tensorboard = False
  return c


def assert_trees_close(actual, expected, rtol=1e-5):
  """Each leaf's max abs difference is within rtol of that leaf's largest magnitude (float32 sums
  in another order differ by about 1e-7 of the scale; a real bug differs by far more)."""
  a_leaves, e_leaves = jax.tree.leaves(actual), jax.tree.leaves(expected)
  assert len(a_leaves) == len(e_leaves)
  for (path, a), e in zip(jax.tree_util.tree_leaves_with_path(actual), e_leaves):
    a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
    assert a.shape == e.shape, path
    err, scale = np.max(np.abs(a - e)), max(np.max(np.abs(e)), 1e-12)
    assert err <= rtol * scale, f"{jax.tree_util.keystr(path)}: max diff {err:.3g} vs scale {scale:.3g}"


def train_tiny_run(workdir: str, steps: int = 2) -> str:
  """A trained tiny run directory (the smoke config's data and tokenizer)."""
  from itx.train.loop import train
  c = tiny_config()
  c.train.steps = steps
  train(c, workdir)
  return workdir


def finish(procs, timeout: float = 600) -> list[tuple[int, str, str]]:
  """[(exit status, stdout, stderr)] of processes started with `proc.log` (their output went to
  log.out / log.err: a full pipe would stall them), each killed if it outlives `timeout` seconds."""
  try:
    for p in procs:
      p.wait(timeout=timeout)
  finally:
    for p in procs:  # a hang fails the test instead of hanging the suite
      if p.poll() is None:
        p.kill()
        p.wait()
  return [(p.returncode, open(p.log + ".out").read(), open(p.log + ".err").read()) for p in procs]


class ChatEndpoint:
  """An OpenAI-compatible chat-completions endpoint on 127.0.0.1 that answers each request with
  `reply(last user prompt)` and records the prompts (`url` for clients; `close()` when done)."""

  def __init__(self, reply):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    self.prompts = []
    server = self

    class Handler(BaseHTTPRequestHandler):
      def log_message(self, *a):
        pass

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        server.prompts.append(prompt)
        data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": reply(prompt)}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
    threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

  def close(self):
    self.httpd.shutdown()
    self.httpd.server_close()

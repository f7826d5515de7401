"""A small threaded HTTP server exposing one Generator as OpenAI chat completions.

Requests are validated first (a bad one gets HTTP 400 naming the field); generation runs one
request at a time (the model is one set of devices).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from itx.generate import Generator, prompt_ids
from itx.serve.openai_api import BadRequest, chat_response, error_body, parse_chat_request

log = logging.getLogger(__name__)


def make_server(generator: Generator, model_name: str, *, host: str = "127.0.0.1", port: int = 0,
                max_new_tokens_limit: int = 1024) -> ThreadingHTTPServer:
  lock = threading.Lock()
  tok = generator.tokenizer

  class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: dict) -> None:
      data = json.dumps(body).encode()
      self.send_response(status)
      self.send_header("Content-Type", "application/json")
      self.send_header("Content-Length", str(len(data)))
      self.end_headers()
      self.wfile.write(data)

    def log_message(self, fmt, *args):  # through logging, not stderr
      log.info("%s %s", self.address_string(), fmt % args)

    def do_GET(self):
      if self.path.rstrip("/") in ("/v1/models", "/models"):
        self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "itx"}]})
      else:
        self._send(404, error_body(f"no route {self.path}", "not_found"))

    def do_POST(self):
      if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
        self._send(404, error_body(f"no route {self.path}", "not_found"))
        return
      try:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        messages, sampling = parse_chat_request(body, max_new_tokens_limit=max_new_tokens_limit)
        prompt = prompt_ids(tok, messages)
      except json.JSONDecodeError as e:
        self._send(400, error_body(f"invalid JSON body: {e.msg}"))
        return
      except BadRequest as e:
        self._send(400, error_body(str(e)))
        return
      except Exception as e:  # e.g. the chat template refuses the conversation
        self._send(400, error_body(f"cannot render the conversation: {e}"))
        return
      with lock:
        out = generator.generate([prompt], sampling)[0]
      finished = bool(out) and out[-1] in generator.stop_ids
      stopped = len(out) < sampling.max_new_tokens
      text = tok.decode(out, skip_special_tokens=True).strip()
      self._send(200, chat_response(model_name, text, finish_reason="stop" if finished or stopped else "length",
                                    prompt_tokens=len(prompt), completion_tokens=len(out)))

  return ThreadingHTTPServer((host, port), Handler)

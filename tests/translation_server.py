"""A deterministic OpenAI-compatible test server that "translates" by a word table.

Each word outside code blocks, placeholders and URLs becomes a word of the target language's table
(chosen by a hash of the word), so itx's language identifier recognises the target language while
digits, code and placeholders stay as they were. It can be told to fail: HTTP 500 after N requests,
or answer in the source language (an echo) for chosen targets. It counts the requests it gets.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VOCAB = {
    "Polish": "jest nie się na że to jak ale dla przez tylko bardzo może jego który była są tak już także kiedy "
              "gdzie dlaczego proszę dziękuję dzień dobry człowiek życie praca miasto rzeczy wszystko",
    "Dutch": "het een van en is dat niet zijn met voor op ook maar naar bij wordt hebben deze worden zoals kunnen "
             "omdat waar hoe wanneer altijd misschien mensen leven werk stad",
    "Finnish": "ja on ei se että hän oli mutta kun niin myös joka tämä voi ovat kanssa sitten vain hyvin kaikki miksi "
               "missä koska ihminen elämä työ kaupunki kiitos huomenta",
    "German": "und der die das ist nicht ein eine mit sich auch auf für von dem wird werden haben wie aber nach noch "
              "schon immer warum wo Menschen Leben Arbeit Stadt",
    "French": "le la les et est une des que pas pour dans avec sur qui mais comme très aussi être avoir faire "
              "pourquoi où toujours gens vie travail ville",
    "Italian": "il la che non è per una sono con del della anche come più questo molto essere fare perché dove "
               "sempre persone vita lavoro città",
    "Spanish": "el la que de y en los las por con una para es pero más muy también como está ser hacer porque "
               "dónde siempre personas vida trabajo ciudad",
}
VOCAB = {name: words.split() for name, words in VOCAB.items()}
_KEEP = re.compile(r"(```.*?```|`[^`\n]*`|\{\{[^{}]+\}\}|\{[A-Za-z_][\w.]*\}|%[sdif]|\$\{\w+\}|https?://\S+)", re.S)
_WORD = re.compile(r"[^\W\d_]+")
_TARGET = re.compile(r" into ([A-Z][a-z]+)\.")


def word_translate(text: str, target: str) -> str:
  vocab = VOCAB[target]

  def word(m):
    h = int(hashlib.sha256(f"{target}/{m.group(0).lower()}".encode()).hexdigest(), 16)
    return vocab[h % len(vocab)]

  parts = _KEEP.split(text)  # odd parts are kept verbatim
  return "".join(p if i % 2 else _WORD.sub(word, p) for i, p in enumerate(parts))


class TranslationServer:
  """with TranslationServer() as s: s.url ... s.requests; settings may change between runs."""

  def __init__(self, *, fail_after: int | None = None, echo_targets=(), fail_status: int = 500):
    self.fail_after, self.echo_targets, self.fail_status = fail_after, set(echo_targets), fail_status
    self.requests = 0
    self._lock = threading.Lock()
    server = self

    class Handler(BaseHTTPRequestHandler):
      def log_message(self, *args):
        pass

      def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with server._lock:
          server.requests += 1
          n = server.requests
        if server.fail_after is not None and n > server.fail_after:
          self._send(server.fail_status, {"error": {"message": "the test server is failing", "type": "server_error"}})
          return
        system, text = body["messages"][0]["content"], body["messages"][-1]["content"]
        target = _TARGET.search(system).group(1)
        out = text if target in server.echo_targets else word_translate(text, target)
        self._send(200, {"id": "t", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": out},
                                      "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": len(system.split()) + len(text.split()),
                                   "completion_tokens": len(out.split()), "total_tokens": 0}})

    self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"

  def __enter__(self):
    self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._http.shutdown()
    self._http.server_close()

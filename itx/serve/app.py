"""The HTTP layer (FastAPI): validates requests, hands rows to the engines, streams and reports.

Routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions (OpenAI-compatible, with
`stream: true` as server-sent events ending in `data: [DONE]`); GET /info (what the comparison page
needs: models, languages, limits); GET / (the comparison page) and /static/*.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib.resources
import logging
import secrets

from babel import Locale
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from itx.data.conditioning import system_prompt
from itx.data.languages import STUDY_CODES, SYSTEM_MESSAGES
from itx.serve.examples import examples
from itx.generate import prompt_ids
from itx.serve import openai_api as api
from itx.serve.engine import Failed, QueueFull, RowSpec
from itx.serve.registry import ServedModel, ServedRun, model_table
from itx.serve.streams import run_chat, run_completion

log = logging.getLogger(__name__)
STATIC_DIR = str(importlib.resources.files("itx.serve") / "static")


class BodyLimit:
  """ASGI middleware: a request body above `max_bytes` gets 413 before anything parses it."""

  def __init__(self, app, max_bytes: int):
    self.app, self.max_bytes = app, max_bytes

  async def __call__(self, scope, receive, send):
    if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
      return await self.app(scope, receive, send)
    body, more = b"", True
    while more:
      message = await receive()
      if message["type"] == "http.disconnect":
        return
      body += message.get("body", b"")
      more = message.get("more_body", False)
      if len(body) > self.max_bytes:
        response = JSONResponse(api.error_body(f"the request body exceeds {self.max_bytes} bytes",
                                               code="request_too_large"), status_code=413)
        return await response(scope, receive, send)
    replayed = False

    async def replay():
      nonlocal replayed
      if not replayed:
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}
      return await receive()

    await self.app(scope, replay, send)


def create_app(runs: list[ServedRun], *, api_key: str | None = None, max_tokens: int = 1024,
               max_body_bytes: int = 1 << 20, manage_engines: bool = True) -> FastAPI:
  """The app serving `runs`. `max_tokens` caps what a request may ask (a larger ask is capped, since
  judges routinely ask for 2048); with `manage_engines` the app starts the engines at start-up and
  stops them at shutdown."""
  table = model_table(runs)

  @contextlib.asynccontextmanager
  async def lifespan(_):
    if manage_engines:
      for r in runs:
        r.engine.start()
    yield
    if manage_engines:
      for r in runs:
        r.engine.stop()

  app = FastAPI(title="itx", lifespan=lifespan, docs_url=None, redoc_url=None)
  app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

  @app.exception_handler(api.APIError)
  async def _api_error(_, e: api.APIError):
    headers = {"Retry-After": "1"} if e.status in (429, 503) else None
    return JSONResponse(e.body(), status_code=e.status, headers=headers)

  @app.exception_handler(RequestValidationError)
  async def _invalid(_, e: RequestValidationError):
    first = e.errors()[0]
    field = api.field_name(first.get("loc", ()))
    message = first.get("msg", "invalid")
    if first.get("type") == "json_invalid":
      field, message = "<body>", f"invalid JSON: {first.get('ctx', {}).get('error', message)}"
    return JSONResponse(api.error_body(f"field '{field}': {message}", param=field), status_code=400)

  @app.exception_handler(HTTPException)
  async def _http(request: Request, e: HTTPException):
    message = f"no route {request.method} {request.url.path}" if e.status_code in (404, 405) else str(e.detail)
    return JSONResponse(api.error_body(message, code="not_found" if e.status_code == 404 else None),
                        status_code=e.status_code)

  @app.exception_handler(Exception)
  async def _unexpected(_, e: Exception):
    log.exception("unexpected error")
    return JSONResponse(api.error_body(f"internal error: {type(e).__name__}", kind="server_error"), status_code=500)

  async def authorized(request: Request):
    if api_key is None:
      return
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {api_key}".encode()):
      raise api.APIError(401, "a valid API key is required (Authorization: Bearer KEY)",
                         kind="authentication_error", code="invalid_api_key")

  def resolve(name: str | None) -> ServedModel:
    if name is None:
      if len(table) == 1:
        return next(iter(table.values()))
      raise api.APIError(400, "field 'model': required when several models are served", param="model")
    if name not in table:
      raise api.APIError(404, f"the model {name!r} does not exist; GET /v1/models lists them", param="model",
                         code="model_not_found")
    return table[name]

  def enqueue(queue_work):
    """Runs `queue_work()` (an engine's submit or score); a full queue is a 503 asking to retry."""
    try:
      return queue_work()
    except QueueFull as e:
      raise api.APIError(503, f"the server is busy ({e}); retry shortly", kind="server_overloaded",
                         code="queue_full") from None

  def queue_for(loop):
    q: asyncio.Queue = asyncio.Queue()
    return q, (lambda event: loop.call_soon_threadsafe(q.put_nowait, event))

  def capped(asked: int | None, prompt_len: int, model: ServedModel, field: str) -> int:
    room = model.run.max_len - prompt_len
    if room < 1:
      raise api.APIError(400, f"field '{field}': the prompt has {prompt_len} tokens; this model takes at most "
                         f"{model.run.max_len - 1} (plus one to generate)", param=field, code="context_length_exceeded")
    return min(asked if asked is not None else max_tokens, max_tokens, room)

  def check_n(n: int, model: ServedModel) -> None:
    if n > model.run.engine.slots:
      raise api.APIError(400, f"field 'n': at most {model.run.engine.slots} choices per request", param="n")

  @app.get("/v1/models", dependencies=[Depends(authorized)])
  async def models():
    return {"object": "list", "data": [m.card() for m in table.values()]}

  @app.get("/v1/models/{name:path}", dependencies=[Depends(authorized)])
  async def model_card(name: str):
    return resolve(name).card()

  @app.get("/info")
  async def info():
    return {"models": [m.card() for m in table.values()], "auth": api_key is not None, "max_tokens": max_tokens,
            "languages": [{"code": c, "name": Locale.parse(c).get_display_name(c).capitalize()} for c in STUDY_CODES],
            "load": {r.name: r.engine.load() for r in runs}, "examples": examples()}

  @app.post("/v1/chat/completions", dependencies=[Depends(authorized)])
  async def chat(req: api.ChatRequest):
    model = resolve(req.model)
    prompt = chat_prompt(req, model)
    check_n(req.n, model)
    limit = capped(req.max_completion_tokens or req.max_tokens, len(prompt), model, "messages")
    seed = req.seed if req.seed is not None else secrets.randbits(31)
    specs = [RowSpec(prompt, limit, req.temperature, req.top_p, req.top_k, seed, i, req.stop, model.adapter,
                     lstrip=True) for i in range(req.n)]
    q, emit = queue_for(asyncio.get_running_loop())
    handle = enqueue(lambda: model.run.engine.submit(specs, emit))
    return await run_chat(req, model, prompt, handle, q)

  @app.post("/v1/completions", dependencies=[Depends(authorized)])
  async def completions(req: api.CompletionRequest):
    model = resolve(req.model)
    prompts = completion_prompts(req, model)
    if req.max_tokens == 0:  # scoring only: each prompt must fit whole
      for i, ids in enumerate(prompts):
        if len(ids) > model.run.max_len:
          capped(0, len(ids), model, "prompt" if len(prompts) == 1 else f"prompt[{i}]")
    check_n(req.n, model)
    limits = [capped(req.max_tokens, len(p), model, f"prompt[{i}]" if len(prompts) > 1 else "prompt")
              if req.max_tokens > 0 else 0 for i, p in enumerate(prompts)]
    loop = asyncio.get_running_loop()
    scored = None
    if req.echo and req.logprobs is not None:
      q, emit = queue_for(loop)
      handle = enqueue(lambda: model.run.engine.score(prompts, emit, model.adapter))
      try:
        scored = await q.get()
      finally:
        handle.cancel()
      if isinstance(scored, Failed):
        raise api.APIError(500, scored.message, kind="server_error")
    seed = req.seed if req.seed is not None else secrets.randbits(31)
    specs = [RowSpec(p, limits[pi], req.temperature, req.top_p, req.top_k, seed, pi * req.n + j, req.stop,
                     model.adapter) for pi, p in enumerate(prompts) for j in range(req.n)]
    q, emit = queue_for(loop)
    handle = enqueue(lambda: model.run.engine.submit(specs, emit)) if req.max_tokens > 0 else None
    return await run_completion(req, model, prompts, scored, handle, q)

  @app.get("/")
  async def page():
    return FileResponse(f"{STATIC_DIR}/index.html")

  @app.get("/health")
  async def health():
    """200 once every engine has compiled its shapes (Kernels.warm_up); 503 while it is warming up."""
    warming = [r.name for r in runs if not r.engine.ready.is_set()]
    if warming:
      return JSONResponse({"status": "warming up", "runs": warming}, status_code=503)
    return {"status": "ok"}

  app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
  return app


def chat_prompt(req: api.ChatRequest, model: ServedModel) -> list[int]:
  """The token ids of a chat request's conversation, with the system message a language or a tag
  group sets (APIError 400 naming the field otherwise)."""
  messages = [{"role": m.role, "content": m.content} for m in req.messages]
  if messages[-1]["role"] == "assistant":
    raise api.APIError(400, "field 'messages': the last message must not be the assistant's", param="messages")
  if req.language is not None and req.language.lower() not in SYSTEM_MESSAGES:
    raise api.APIError(400, f"field 'language': expected one of {sorted(SYSTEM_MESSAGES)}", param="language")
  group = model.group if model.conditioning == "tag" else None
  if group is not None or req.language is not None:
    if messages[0]["role"] == "system":
      raise api.APIError(400, f"field 'messages[0].role': {model.id!r} with a language or a group sets the "
                         "system message itself", param="messages[0].role")
    messages.insert(0, {"role": "system", "content": system_prompt(req.language, group)})
  try:
    return prompt_ids(model.run.tokenizer, messages)
  except Exception as e:  # noqa: BLE001 - e.g. a template that refuses the conversation
    raise api.APIError(400, f"field 'messages': cannot render the conversation: {e}", param="messages") from None


def completion_prompts(req: api.CompletionRequest, model: ServedModel) -> list[list[int]]:
  """The token ids of each prompt of a completion request (text or ids; APIError 400 naming the
  field for an empty prompt or an id outside the vocabulary)."""
  tok = model.run.tokenizer
  vocab = model.run.engine.kernels.model.cfg.real_vocab_size  # without the padding ids
  prompts = []
  for i, p in enumerate(req.prompt):
    field = "prompt" if len(req.prompt) == 1 else f"prompt[{i}]"
    ids = text_ids(tok, p) if isinstance(p, str) else list(p)
    if not ids:
      raise api.APIError(400, f"field '{field}': the prompt is empty", param=field)
    if max(ids) >= vocab:
      raise api.APIError(400, f"field '{field}': token id {max(ids)} is outside the vocabulary of {vocab}",
                         param=field)
    prompts.append(ids)
  return prompts


def text_ids(tok, text: str) -> list[int]:
  """A completion prompt as training tokenizes a plain document: BOS (when it differs from EOS), then
  the text, no EOS."""
  ids = tok(text, add_special_tokens=False)["input_ids"]
  if tok.bos_token_id is not None and tok.bos_token_id != tok.eos_token_id:
    ids = [tok.bos_token_id] + ids
  return ids


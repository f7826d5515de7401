"""Engine events (Delta, Finished, Failed) of one request turned into OpenAI responses: one JSON body,
or server-sent events in OpenAI's chunk format ending with `data: [DONE]`.

A client that goes away cancels its rows (their slots are freed at the next step boundary).
"""

from __future__ import annotations

import asyncio
import json

from fastapi.responses import StreamingResponse

from itx.serve import openai_api as api
from itx.serve.engine import Delta, Failed, Finished, Handle


def _sse(obj) -> str:
  return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


class _Choices:
  """Accumulates the text, tokens and finish reason of each choice."""

  def __init__(self, n: int):
    self.text = [""] * n
    self.tokens: list[list] = [[] for _ in range(n)]
    self.finish: list[str | None] = [None] * n
    self.completion_tokens = 0

  def add(self, event) -> None:
    if isinstance(event, Delta):
      self.text[event.index] += event.text
      self.tokens[event.index].extend(event.tokens)
    elif isinstance(event, Finished):
      self.finish[event.index] = event.finish_reason
      self.completion_tokens += event.completion_tokens

  @property
  def open(self) -> int:
    return sum(f is None for f in self.finish)


async def _events(q: asyncio.Queue, n: int, handle: Handle | None):
  """Yields the engine's events until all n choices finished; raises APIError(500) on Failed."""
  if handle is None:
    return
  done = 0
  try:
    while done < n:
      event = await q.get()
      if isinstance(event, Failed):
        raise api.APIError(500, event.message, kind="server_error")
      done += isinstance(event, Finished)
      yield event
  finally:
    handle.cancel()  # no-op once finished; frees the rows of a client that went away


def _token_text(tok, ids) -> list[str]:
  return [tok.decode([i]) for i in ids]


def _alternatives(tok, alts, k: int) -> list[tuple[str, float]]:
  return [(tok.decode([i]), lp) for i, lp in alts[:k]]


def _stream(gen) -> StreamingResponse:
  async def body():
    try:
      async for piece in gen:
        yield piece
    except api.APIError as e:
      yield _sse(e.body())
    yield "data: [DONE]\n\n"
  return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def run_chat(req: api.ChatRequest, model, prompt: list[int], handle: Handle, q: asyncio.Queue):
  tok, n = model.run.tokenizer, req.n
  rid = api.new_id("chatcmpl")

  def logprobs(tokens):
    if not req.logprobs:
      return None
    ids = [t for t, _, _ in tokens]
    return api.chat_logprobs(_token_text(tok, ids), [lp for _, lp, _ in tokens],
                             [_alternatives(tok, alts, req.top_logprobs) for _, _, alts in tokens])

  if not req.stream:
    choices = _Choices(n)
    async for event in _events(q, n, handle):
      choices.add(event)
    return api.envelope(rid, "chat.completion", model.id, [
        {"index": i, "message": {"role": "assistant", "content": choices.text[i]},
         "logprobs": logprobs(choices.tokens[i]), "finish_reason": choices.finish[i]} for i in range(n)],
        usage=api.usage(len(prompt), choices.completion_tokens))

  async def chunks():
    def chunk(choices, **extra):
      return _sse(api.envelope(rid, "chat.completion.chunk", model.id, choices, **extra))
    for i in range(n):
      yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}])
    completion = 0
    async for event in _events(q, n, handle):
      if isinstance(event, Delta) and (event.text or req.logprobs):
        yield chunk([{"index": event.index, "delta": {"content": event.text}, "logprobs": logprobs(event.tokens),
                      "finish_reason": None}])
      elif isinstance(event, Finished):
        completion += event.completion_tokens
        yield chunk([{"index": event.index, "delta": {}, "logprobs": None, "finish_reason": event.finish_reason}])
    if req.stream_options and req.stream_options.include_usage:
      yield chunk([], usage=api.usage(len(prompt), completion))
  return _stream(chunks())


async def run_completion(req: api.CompletionRequest, model, prompts: list[list[int]], scored, handle, q):
  """Completions of each prompt (choice index = prompt index * n + j); with `echo` the prompt text
  (and, with `logprobs`, its tokens' logprobs from `scored`, the first one None) comes first."""
  tok, n = model.run.tokenizer, req.n
  rid = api.new_id("cmpl")
  k = req.logprobs

  def prompt_part(pi: int):
    if not req.echo:
      return "", [], [], []
    ids = prompts[pi]
    strings = _token_text(tok, ids)
    if scored is None:
      return tok.decode(ids), strings, [], []
    lps = [None] + [float(x) for x in scored.token_logprobs[pi]]
    top_ids, top_lp = scored.top[pi]
    tops = [None] + [dict(_alternatives(tok, list(zip(map(int, a), map(float, b))), k)) for a, b in zip(top_ids, top_lp)]
    return tok.decode(ids), strings, lps, tops

  def logprobs_of(tokens, head=None, offset=0):
    if k is None:
      return None
    strings, lps, tops = head or ([], [], [])
    ids = [t for t, _, _ in tokens]
    return api.completion_logprobs(strings + _token_text(tok, ids), lps + [lp for _, lp, _ in tokens],
                                   tops + [dict(_alternatives(tok, alts, k)) for _, _, alts in tokens], offset)

  prompt_tokens = sum(len(p) for p in prompts)
  total = len(prompts) * n
  if not req.stream:
    choices = _Choices(total)
    async for event in _events(q, total, handle):
      choices.add(event)
    out = []
    for i in range(total):
      text, strings, lps, tops = prompt_part(i // n)
      out.append({"index": i, "text": text + choices.text[i], "finish_reason": choices.finish[i] or "length",
                  "logprobs": logprobs_of(choices.tokens[i], (strings, lps, tops) if req.echo else None)})
    return api.envelope(rid, "text_completion", model.id, out, usage=api.usage(prompt_tokens, choices.completion_tokens))

  async def chunks():
    def chunk(choices, **extra):
      return _sse(api.envelope(rid, "text_completion", model.id, choices, **extra))
    if req.echo:
      for i in range(total):
        text, strings, lps, tops = prompt_part(i // n)
        yield chunk([{"index": i, "text": text, "finish_reason": None,
                      "logprobs": logprobs_of([], (strings, lps, tops))}])
    completion = 0
    async for event in _events(q, total, handle):
      if isinstance(event, Delta) and (event.text or k is not None):
        yield chunk([{"index": event.index, "text": event.text, "finish_reason": None,
                      "logprobs": logprobs_of(event.tokens)}])
      elif isinstance(event, Finished):
        completion += event.completion_tokens
        yield chunk([{"index": event.index, "text": "", "finish_reason": event.finish_reason, "logprobs": None}])
    if handle is None:
      for i in range(total):
        yield chunk([{"index": i, "text": "", "finish_reason": "length", "logprobs": None}])
    if req.stream_options and req.stream_options.include_usage:
      yield chunk([], usage=api.usage(prompt_tokens, completion))
  return _stream(chunks())

"""The OpenAI chat-completions request and response shapes, validated with clear errors."""

from __future__ import annotations

import time
import uuid

from itx.data.records import ROLES
from itx.generate import SamplingParams


class BadRequest(ValueError):
  def __init__(self, field: str, problem: str):
    self.field = field
    super().__init__(f"field '{field}': {problem}")


def _number(body, field, default, lo, hi, kind=float):
  value = body.get(field, default)
  if value is None:
    return default
  if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and int(value) != value):
    raise BadRequest(field, f"expected a {kind.__name__}, got {value!r}")
  if not lo <= value <= hi:
    raise BadRequest(field, f"{value} is outside [{lo}, {hi}]")
  return kind(value)


def parse_chat_request(body, *, max_new_tokens_limit: int) -> tuple[list[dict], SamplingParams]:
  """(messages, sampling) from a /v1/chat/completions body; raises BadRequest naming the field."""
  if not isinstance(body, dict):
    raise BadRequest("<body>", "expected a JSON object")
  messages = body.get("messages")
  if not isinstance(messages, list) or not messages:
    raise BadRequest("messages", "expected a non-empty list of {role, content}")
  for i, m in enumerate(messages):
    if not isinstance(m, dict) or m.get("role") not in ROLES:
      raise BadRequest(f"messages[{i}].role", f"expected one of {ROLES}")
    if not isinstance(m.get("content"), str):
      raise BadRequest(f"messages[{i}].content", "expected a string")
  if messages[-1]["role"] == "assistant":
    raise BadRequest("messages", "the last message must not be the assistant's")
  if body.get("n", 1) != 1:
    raise BadRequest("n", "only n=1 is supported")
  stop = body.get("stop") or ()
  if isinstance(stop, str):
    stop = (stop,)
  if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
    raise BadRequest("stop", "expected a string or a list of strings")
  sampling = SamplingParams(
      temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
      top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
      top_k=_number(body, "top_k", 0, 0, 100000, int),
      # Above the server's limit is capped, not refused: judges routinely ask for 2048.
      max_new_tokens=min(_number(body, "max_tokens", max_new_tokens_limit, 1, 2**31 - 1, int), max_new_tokens_limit),
      stop_strings=tuple(stop),
      seed=_number(body, "seed", 0, 0, 2**31 - 1, int))
  return [{"role": m["role"], "content": m["content"]} for m in messages], sampling


def chat_response(model_name: str, text: str, *, finish_reason: str, prompt_tokens: int,
                  completion_tokens: int) -> dict:
  return {
      "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
      "model": model_name,
      "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
      "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens},
  }


def error_body(message: str, kind: str = "invalid_request_error") -> dict:
  return {"error": {"message": message, "type": kind}}

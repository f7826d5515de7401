"""OpenAI's request and response shapes for chat completions and completions.

Requests are pydantic models; a request that does not validate becomes an OpenAI error object naming
the field (`messages[0].role`), HTTP 400. Unknown fields are ignored, as most OpenAI-compatible
servers do. itx adds two optional fields: `top_k`, and `language` on chat requests (the ISO code of
the system message to condition on, see `itx.data.conditioning`).
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from itx.data.records import ROLES


class APIError(Exception):
  """An error the client caused (or must wait out), sent as an OpenAI error object."""

  def __init__(self, status: int, message: str, *, param: str | None = None,
               kind: str = "invalid_request_error", code: str | None = None):
    super().__init__(message)
    self.status, self.message, self.param, self.kind, self.code = status, message, param, kind, code

  def body(self) -> dict:
    return error_body(self.message, kind=self.kind, param=self.param, code=self.code)


def error_body(message: str, *, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
  return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def field_name(loc) -> str:
  """pydantic's error location ('body', 'messages', 0, 'role') as `messages[0].role`."""
  parts = [p for p in loc if p != "body"] if loc and loc[0] == "body" else list(loc)
  name = ""
  for p in parts:
    name += f"[{p}]" if isinstance(p, int) else (f".{p}" if name else str(p))
  return name or "<body>"


def _stop(value):
  if value is None:
    return ()
  if isinstance(value, str):
    value = [value]
  if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value) or len(value) > 4:
    raise ValueError("expected a non-empty string or a list of at most 4 non-empty strings")
  return tuple(value)


def _content(value):
  if isinstance(value, str):
    return value
  if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                     and isinstance(p.get("text"), str) for p in value):
    return "".join(p["text"] for p in value)
  raise ValueError("expected a string or a list of {type: 'text', text} parts")


def _prompts(value):
  """A string, a list of strings, a list of token ids, or a list of such lists -> list of prompts."""
  def is_ids(v):
    return isinstance(v, list) and v and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v)
  if isinstance(value, str) or is_ids(value):
    return [value]
  if isinstance(value, list) and value and all(isinstance(v, str) or is_ids(v) for v in value):
    return value
  raise ValueError("expected a string, a list of strings, a list of token ids, or a list of token-id lists")


Stop = Annotated[tuple[str, ...], BeforeValidator(_stop)]


class Message(BaseModel):
  model_config = ConfigDict(extra="ignore")
  role: Literal[ROLES]
  content: Annotated[str, BeforeValidator(_content)]


class StreamOptions(BaseModel):
  include_usage: bool = False


class _Sampling(BaseModel):
  model_config = ConfigDict(extra="ignore")
  model: str | None = None
  temperature: float = Field(1.0, ge=0.0, le=2.0)
  top_p: float = Field(1.0, gt=0.0, le=1.0)
  top_k: int = Field(0, ge=0)
  n: int = Field(1, ge=1, le=64)
  stop: Stop = ()
  seed: int | None = Field(None, ge=0, lt=2**63)
  stream: bool = False
  stream_options: StreamOptions | None = None


class ChatRequest(_Sampling):
  messages: list[Message] = Field(min_length=1)
  max_tokens: int | None = Field(None, ge=1)
  max_completion_tokens: int | None = Field(None, ge=1)
  logprobs: bool = False
  top_logprobs: int = Field(0, ge=0, le=5)
  language: str | None = None


class CompletionRequest(_Sampling):
  prompt: Annotated[list[Any], BeforeValidator(_prompts)]
  max_tokens: int = Field(16, ge=0)
  logprobs: int | None = Field(None, ge=0, le=5)
  echo: bool = False


def new_id(prefix: str) -> str:
  return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
  return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
          "total_tokens": prompt_tokens + completion_tokens}


def envelope(rid: str, obj: str, model: str, choices: list, **extra) -> dict:
  return {"id": rid, "object": obj, "created": int(time.time()), "model": model, "choices": choices, **extra}


def completion_logprobs(token_strings: list[str], token_logprobs: list, top: list, offset: int = 0) -> dict:
  """OpenAI's legacy logprobs object: tokens, token_logprobs, top_logprobs ({token: logprob}) and
  text_offset (each token's character offset in the returned text)."""
  offsets, pos = [], offset
  for t in token_strings:
    offsets.append(pos)
    pos += len(t)
  return {"tokens": token_strings, "token_logprobs": token_logprobs, "top_logprobs": top, "text_offset": offsets}


def chat_logprobs(token_strings: list[str], token_logprobs: list, top: list[list[tuple[str, float]]]) -> dict:
  return {"content": [{"token": t, "logprob": lp, "bytes": list(t.encode()),
                       "top_logprobs": [{"token": a, "logprob": alp, "bytes": list(a.encode())} for a, alp in alts]}
                      for t, lp, alts in zip(token_strings, token_logprobs, top)]}

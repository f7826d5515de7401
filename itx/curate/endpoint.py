"""A thin chat-completions client for any OpenAI-compatible endpoint (a hosted model, or a local
model behind `python -m itx.serve`), on the official `openai` package.

The package retries connection errors, timeouts, 408/409/429 and 5xx with exponential back-off
(`max_retries` times); what still fails becomes an `EndpointError` naming the endpoint and status.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence


class EndpointError(RuntimeError):
  """The endpoint refused the request, or kept failing after every retry."""


@dataclasses.dataclass(frozen=True)
class Completion:
  text: str
  finish_reason: str
  prompt_tokens: int
  completion_tokens: int


@dataclasses.dataclass(frozen=True)
class EndpointConfig:
  """Where and how to call the model. api_key_env is the NAME of the variable holding the key
  (unset or "": a placeholder key, which local servers ignore)."""
  base_url: str = "https://api.openai.com/v1"
  model: str = "gpt-4o"
  api_key_env: str = "OPENAI_API_KEY"
  timeout: float = 120.0
  max_retries: int = 4
  temperature: float = 0.0
  max_tokens: int = 4096

  def public(self) -> dict:
    """The settings worth recording (never the key itself)."""
    return dataclasses.asdict(self)


class ChatEndpoint:
  """`complete(messages) -> Completion`. Thread-safe (the openai client is)."""

  def __init__(self, config: EndpointConfig):
    import openai  # only the steps that call a model pay for the import
    self.config = config
    key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
    self._openai = openai
    self._client = openai.OpenAI(base_url=config.base_url, api_key=key or "unused",
                                 timeout=config.timeout, max_retries=config.max_retries)

  def complete(self, messages: Sequence[dict]) -> Completion:
    c, oa = self.config, self._openai
    where = f"{c.base_url} (model {c.model})"
    try:
      resp = self._client.chat.completions.create(model=c.model, messages=list(messages),
                                                  temperature=c.temperature, max_tokens=c.max_tokens, n=1)
    except oa.APIStatusError as e:
      raise EndpointError(f"{where}: HTTP {e.status_code}: {str(e.message)[:300]}") from e
    except (oa.APIConnectionError, oa.APITimeoutError) as e:
      raise EndpointError(f"{where}: {type(e).__name__}: {e}") from e
    except oa.OpenAIError as e:
      raise EndpointError(f"{where}: {type(e).__name__}: {e}") from e
    if not resp.choices or resp.choices[0].message is None or resp.choices[0].message.content is None:
      raise EndpointError(f"{where}: a response without a message")
    usage = resp.usage
    return Completion(text=resp.choices[0].message.content, finish_reason=resp.choices[0].finish_reason or "",
                      prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                      completion_tokens=getattr(usage, "completion_tokens", 0) or 0)

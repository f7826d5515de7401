"""An LLM judge behind any OpenAI-compatible chat-completions endpoint, and `judge_all`, the
resumable, concurrent loop that turns judge requests into a judgment file.

Failure handling:
  - connection errors, timeouts, HTTP 5xx and 429 are retried with exponential back-off
    (initial * 2**attempt, capped, with jitter; a 429's Retry-After is honoured when longer);
  - other HTTP errors (400, 401, 404, ...) are not retried: they will not fix themselves;
  - a request that still fails is reported and *not* written, so a rerun judges it;
  - a judgment without a rating is written with score -1 (MT-Bench's failed judgment); a rerun
    judges it again only with `retry_failed=True`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Iterable, Sequence

from itx.eval.judge_requests import JudgeRequest
from itx.eval.judgments import (JudgmentWriter, is_valid, judgment_key, judgment_record,
                                read_judgments, repair)

Judge = Callable[[JudgeRequest], str]


class JudgeError(RuntimeError):
  """The endpoint refused the request, or kept failing after every retry."""


@dataclasses.dataclass
class JudgeConfig:
  """Where and how to call the judge.

  api_key_env is the NAME of the environment variable holding the key ("" or an unset variable:
  no Authorization header, as local servers expect).
  """
  base_url: str = "https://api.openai.com/v1"
  model: str = "gpt-4"
  api_key_env: str = "OPENAI_API_KEY"
  temperature: float = 0.0
  max_tokens: int = 2048
  timeout: float = 120.0          # seconds per HTTP request
  max_retries: int = 8            # retries after the first attempt
  backoff_initial: float = 2.0    # seconds before the first retry
  backoff_max: float = 60.0


def _retryable_status(code: int) -> bool:
  return code == 429 or 500 <= code < 600


class OpenAIJudge:
  """`judge(request) -> judgment text` over POST {base_url}/chat/completions. Thread-safe."""

  def __init__(self, config: JudgeConfig, *, sleep: Callable[[float], None] = time.sleep):
    self.config = config
    self.name = config.model
    self._sleep = sleep

  def _headers(self) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(self.config.api_key_env, "") if self.config.api_key_env else ""
    if key:
      headers["Authorization"] = f"Bearer {key}"
    return headers

  def _backoff(self, attempt: int, retry_after: str | None) -> float:
    c = self.config
    delay = min(c.backoff_max, c.backoff_initial * 2 ** attempt) * (0.5 + random.random() / 2)
    if retry_after:
      try:
        delay = max(delay, min(c.backoff_max, float(retry_after)))
      except ValueError:
        pass  # an HTTP date: keep our own delay
    return delay

  def complete(self, messages: Sequence[dict]) -> str:
    """The assistant message content for `messages`, after retries (raises JudgeError)."""
    c = self.config
    body = json.dumps({"model": c.model, "messages": list(messages), "n": 1,
                       "temperature": c.temperature, "max_tokens": c.max_tokens}).encode()
    url = c.base_url.rstrip("/") + "/chat/completions"
    last = None
    for attempt in range(c.max_retries + 1):
      retry_after = None
      try:
        req = urllib.request.Request(url, data=body, headers=self._headers(), method="POST")
        with urllib.request.urlopen(req, timeout=c.timeout) as resp:
          payload = json.loads(resp.read().decode("utf-8"))
        return payload["choices"][0]["message"]["content"]
      except urllib.error.HTTPError as e:
        detail = e.read()[:300].decode("utf-8", "replace")
        if not _retryable_status(e.code):
          raise JudgeError(f"{url}: HTTP {e.code}: {detail}") from e
        last, retry_after = f"HTTP {e.code}: {detail}", e.headers.get("Retry-After")
      except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
        last = f"{type(e).__name__}: {e}"
      except (KeyError, IndexError, TypeError, json.JSONDecodeError) as e:
        raise JudgeError(f"{url}: unexpected response: {e}") from e
      if attempt < c.max_retries:
        self._sleep(self._backoff(attempt, retry_after))
    raise JudgeError(f"{url}: gave up after {c.max_retries + 1} attempts; last: {last}")

  def __call__(self, request: JudgeRequest) -> str:
    return self.complete(request.messages)


@dataclasses.dataclass
class RunStats:
  """What a `judge_all` call did: requested keys, already judged, newly written, errors."""
  requested: int = 0
  already_done: int = 0
  written: int = 0
  failed_scores: int = 0          # written with score -1
  errors: list[tuple] = dataclasses.field(default_factory=list)  # [(key, message)]


def done_keys(path: str, *, retry_failed: bool = False) -> set[tuple[str, int, str]]:
  """Keys already judged in `path` (with retry_failed, only those with a valid score)."""
  if not os.path.exists(path):
    return set()
  return {judgment_key(r) for r in read_judgments(path) if not retry_failed or is_valid(r)}


def judge_all(requests: Iterable[JudgeRequest], judge: Judge, out_path: str, *,
              judge_name: str | None = None, workers: int = 4, retry_failed: bool = False,
              progress: bool = True) -> RunStats:
  """Judge every request whose key is not yet in `out_path`, appending one line per judgment.

  Args:
    requests: judge requests (duplicates by key are judged once).
    judge: callable request -> judgment text (OpenAIJudge, RuleJudge, ...).
    out_path: judgment JSONL; a partial last line left by a crash is cut off first.
    judge_name: the judge model recorded in each line (default: `judge.name`).
    workers: at most this many judge calls run at once.
    retry_failed: also judge keys whose only judgments have score -1 (appended, not replaced).
    progress: show a tqdm bar.
  Returns:
    RunStats. Interrupting (Ctrl-C, a kill) loses nothing already written.
  """
  judge_name = judge_name or getattr(judge, "name", type(judge).__name__)
  repair(out_path)
  done = done_keys(out_path, retry_failed=retry_failed)
  requests = list(requests)
  todo, seen = [], set()
  for r in requests:
    if r.key not in done and r.key not in seen:
      seen.add(r.key)
      todo.append(r)
  stats = RunStats(requested=len({r.key for r in requests}))
  stats.already_done = stats.requested - len(todo)
  if not todo:
    return stats

  from tqdm import tqdm
  bar = tqdm(total=len(todo), desc=f"judging ({judge_name})", disable=not progress)
  lock = threading.Lock()

  def one(req: JudgeRequest) -> None:
    try:
      record = judgment_record(req, judge_name, judge(req))
    except Exception as e:  # noqa: BLE001  (one bad request must not stop the others)
      with lock:
        stats.errors.append((req.key, f"{type(e).__name__}: {e}"))
      return
    writer.write(record)
    with lock:
      stats.written += 1
      stats.failed_scores += not is_valid(record)

  with JudgmentWriter(out_path) as writer:
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
      # Submit lazily, never more than `workers` in flight: an interrupt then has little queued.
      pending, it = set(), iter(todo)
      for req in it:
        pending.add(pool.submit(one, req))
        if len(pending) >= workers:
          finished, pending = wait(pending, return_when=FIRST_COMPLETED)
          bar.update(len(finished))
      finished, _ = wait(pending)
      bar.update(len(finished))
    finally:
      pool.shutdown(wait=True, cancel_futures=True)
      bar.close()
  return stats

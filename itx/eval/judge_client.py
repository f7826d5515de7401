"""An LLM judge behind any OpenAI-compatible chat-completions endpoint (through the official
`openai` client), and the resumable, concurrent loop that turns judge requests into a judgment
file (`run_judging`; `judge_all` for single-answer grading).

Failure handling (FastChat retries every API error after a fixed sleep and finally writes
"$ERROR$"; here with exponential back-off and a distinction between errors that can heal):
  - connection errors, timeouts, HTTP 429 and 5xx are retried with back-off
    (initial * 2**attempt, capped, with jitter; a Retry-After header is honoured when longer);
  - HTTP 401, 403 and 404 (a wrong key, URL or model name) stop the run: every request would fail;
  - any other refusal (e.g. 400: a prompt too long for the judge) and a request still failing after
    the last retry are written as FastChat writes them: judgment "$ERROR$" with score -1 (in a
    pairwise game: winner "error"). A rerun drops those lines and judges only them again;
  - each finished judgment is appended as one complete line, flushed and fsynced, the moment it is
    done: an interrupted run (Ctrl-C, a kill, an exception) loses no finished judgment.
The endpoint's token usage is recorded in each judgment line ("usage") and summed in RunStats.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

from itx.data import jsonl
from itx.eval.judge_requests import API_ERROR_OUTPUT, JudgeRequest
from itx.eval.judgments import is_valid, judgment_is_api_error, judgment_key, judgment_record

# The placeholder key sent to endpoints that need none (vLLM's and itx's servers ignore it).
NO_KEY = "EMPTY"


class JudgeError(RuntimeError):
  """A request was refused, or kept failing through every retry (`attempts` API calls)."""

  def __init__(self, message: str, attempts: int = 1):
    super().__init__(message)
    self.attempts = attempts


class JudgeConfigError(JudgeError):
  """The endpoint refuses every request (key, URL or model name): the run stops."""


@dataclasses.dataclass
class JudgeConfig:
  """Where and how to call the judge (FastChat's settings: temperature 0, 2048 new tokens).

  api_key_env is the NAME of the environment variable holding the key ("" or an unset variable:
  the placeholder NO_KEY, as local servers expect).
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


@dataclasses.dataclass
class Completion:
  """What a judge call returned: the text, the endpoint's token usage and the attempts it took."""
  text: str
  usage: dict | None = None       # {"prompt_tokens", "completion_tokens", "total_tokens"}
  attempts: int = 1


def as_completion(out: Any) -> Completion:
  """A judge may return plain text (the rule judge) or a Completion (an LLM judge)."""
  return out if isinstance(out, Completion) else Completion(str(out), None, 1)


class OpenAIJudge:
  """`judge(request) -> Completion` over {base_url}/chat/completions. Thread-safe."""

  def __init__(self, config: JudgeConfig, *, sleep: Callable[[float], None] = time.sleep):
    import openai
    self.config = config
    self.name = config.model
    self._sleep = sleep
    key = os.environ.get(config.api_key_env, "") if config.api_key_env else ""
    # The client's own retries are off: ours count attempts and use the configured back-off.
    self._client = openai.OpenAI(base_url=config.base_url, api_key=key or NO_KEY,
                                 timeout=config.timeout, max_retries=0)

  def _backoff(self, attempt: int, retry_after: str | None) -> float:
    c = self.config
    delay = min(c.backoff_max, c.backoff_initial * 2 ** attempt) * (0.5 + random.random() / 2)
    if retry_after:
      try:
        delay = max(delay, min(c.backoff_max, float(retry_after)))
      except ValueError:
        pass  # an HTTP date: keep our own delay
    return delay

  def complete(self, messages: Sequence[Mapping[str, str]]) -> Completion:
    """The assistant message for `messages`, after retries (raises JudgeError)."""
    import openai
    c = self.config
    last = None
    for attempt in range(c.max_retries + 1):
      retry_after = None
      try:
        resp = self._client.chat.completions.create(
            model=c.model, messages=[dict(m) for m in messages], n=1,
            temperature=c.temperature, max_tokens=c.max_tokens)
      except (openai.AuthenticationError, openai.PermissionDeniedError,
              openai.NotFoundError) as e:
        raise JudgeConfigError(f"{c.base_url} (model {c.model!r}): {e}") from e
      except openai.APIStatusError as e:
        if not (e.status_code == 429 or e.status_code >= 500):
          raise JudgeError(f"{c.base_url}: HTTP {e.status_code}: {e}", attempt + 1) from e
        last, retry_after = f"HTTP {e.status_code}", e.response.headers.get("retry-after")
      except openai.APIConnectionError as e:  # refused, reset or timed out
        last = f"{type(e).__name__}: {e}"
      except openai.OpenAIError as e:
        raise JudgeError(f"{c.base_url}: unexpected response: {e}", attempt + 1) from e
      else:
        try:
          text = resp.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError) as e:
          raise JudgeError(f"{c.base_url}: unexpected response: {e}", attempt + 1) from e
        usage = resp.usage.model_dump(include={"prompt_tokens", "completion_tokens",
                                               "total_tokens"}) if resp.usage else None
        return Completion(text, usage, attempt + 1)
      if attempt < c.max_retries:
        self._sleep(self._backoff(attempt, retry_after))
    raise JudgeError(f"{c.base_url}: gave up after {c.max_retries + 1} attempts; last: {last}",
                     c.max_retries + 1)

  def __call__(self, request: JudgeRequest) -> Completion:
    return self.complete(request.messages)


@dataclasses.dataclass
class RunStats:
  """What a judging run did."""
  requested: int = 0
  already_done: int = 0
  written: int = 0
  failed_scores: int = 0          # written without a rating (score -1 / winner "error")
  api_errors: int = 0             # written as "$ERROR$" after the last retry
  dropped_errors: int = 0         # "$ERROR$" lines of an earlier run, removed to judge again
  attempts: int = 0               # API calls made, retries included
  usage: dict = dataclasses.field(default_factory=dict)
  errors: list[tuple] = dataclasses.field(default_factory=list)  # [(key, message)], not written

  def add_usage(self, usage: Mapping | None) -> None:
    for k, v in (usage or {}).items():
      if isinstance(v, (int, float)):
        self.usage[k] = self.usage.get(k, 0) + v


@dataclasses.dataclass
class Played:
  """One finished item: the line to write and what it cost."""
  record: dict
  usage: list = dataclasses.field(default_factory=list)  # one dict per judge call
  attempts: int = 0
  api_error: bool = False
  failed: bool = False


def call_judge(judge: Callable, request) -> tuple[Completion | None, str | None, int]:
  """(completion, None, attempts), or (None, error message, attempts) once the request failed for
  good. JudgeConfigError propagates: the run must stop."""
  try:
    c = as_completion(judge(request))
    return c, None, c.attempts
  except JudgeConfigError:
    raise
  except JudgeError as e:
    return None, str(e), e.attempts


def run_judging(items: Iterable, play: Callable[[Any], Played], out_path: str, *,
                key_of: Callable[[Mapping], Hashable],
                drop: Callable[[Mapping], bool] = lambda r: False,
                redo: Callable[[Mapping], bool] = lambda r: False,
                workers: int = 4, progress: bool = True, desc: str = "judging") -> RunStats:
  """Play every item whose key has no line in `out_path` yet, appending one line per item.

  Args:
    items: objects with a hashable `.key` (duplicates are played once).
    play: item -> Played (never raises for an API failure: it returns the "$ERROR$" line).
    key_of: the key of an existing line.
    drop: existing lines to remove before the run and play again ("$ERROR$" lines).
    redo: existing lines to keep but play again (a new line is appended).
    workers: at most this many items are played at once.
  Returns:
    RunStats. Interrupting loses no finished item; an exception inside `play` other than an
    ordinary one (KeyboardInterrupt, JudgeConfigError) stops the run after the items in flight.
  """
  stats = RunStats()
  jsonl.repair(out_path)
  existing = jsonl.read_jsonl(out_path, tolerate_cut_tail=True) if os.path.exists(out_path) else []
  stale = [r for r in existing if drop(r)]
  if stale:
    jsonl.write_jsonl(out_path, [r for r in existing if not drop(r)])
    stats.dropped_errors = len(stale)
  done = {key_of(r) for r in existing if not drop(r) and not redo(r)}
  items = list(items)
  todo, seen = [], set()
  for it in items:
    if it.key not in done and it.key not in seen:
      seen.add(it.key)
      todo.append(it)
  stats.requested = len({it.key for it in items})
  stats.already_done = stats.requested - len(todo)
  if not todo:
    return stats

  from tqdm import tqdm
  bar = tqdm(total=len(todo), desc=desc, disable=not progress)
  lock = threading.Lock()

  def one(item) -> None:
    try:
      p = play(item)
    except JudgeConfigError:
      raise
    except Exception as e:  # noqa: BLE001  (one bad item must not stop the others)
      with lock:
        stats.errors.append((item.key, f"{type(e).__name__}: {e}"))
      return
    writer.write(p.record)
    with lock:
      stats.written += 1
      stats.failed_scores += p.failed
      stats.api_errors += p.api_error
      stats.attempts += p.attempts
      for u in p.usage:
        stats.add_usage(u)

  def reraise(finished) -> None:
    for f in finished:
      if f.exception() is not None:
        raise f.exception()

  with jsonl.Appender(out_path) as writer:
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
      # Submit lazily, never more than `workers` in flight: an interrupt then has little queued.
      pending = set()
      for item in todo:
        pending.add(pool.submit(one, item))
        if len(pending) >= workers:
          finished, pending = wait(pending, return_when=FIRST_COMPLETED)
          bar.update(len(finished))
          reraise(finished)
      finished, _ = wait(pending)
      bar.update(len(finished))
      reraise(finished)
    finally:
      pool.shutdown(wait=True, cancel_futures=True)  # items in flight still write their line
      bar.close()
  return stats


def judge_all(requests: Iterable[JudgeRequest], judge: Callable, out_path: str, *,
              judge_name: str | None = None, workers: int = 4, retry_failed: bool = False,
              progress: bool = True) -> RunStats:
  """Single-answer grading: judge every request whose key is not yet in `out_path`.

  Args:
    requests: judge requests (duplicates by key are judged once).
    judge: callable request -> text or Completion (OpenAIJudge, RuleJudge, ...).
    out_path: judgment JSONL (MT-Bench-X's format); "$ERROR$" lines of an earlier run are
      replaced by new judgments.
    judge_name: the judge model recorded in each line (default: `judge.name`).
    retry_failed: also judge keys whose judgments have score -1 (appended, not replaced).
  """
  judge_name = judge_name or getattr(judge, "name", type(judge).__name__)

  def play(req: JudgeRequest) -> Played:
    c, error, attempts = call_judge(judge, req)
    if c is None:
      return Played({**judgment_record(req, judge_name, API_ERROR_OUTPUT), "error": error},
                    attempts=attempts, api_error=True, failed=True)
    record = judgment_record(req, judge_name, c.text, usage=c.usage)
    return Played(record, [c.usage] if c.usage else [], c.attempts, failed=not is_valid(record))

  return run_judging(requests, play, out_path, key_of=judgment_key, drop=judgment_is_api_error,
                     redo=lambda r: retry_failed and not is_valid(r), workers=workers,
                     progress=progress, desc=f"judging ({judge_name})")

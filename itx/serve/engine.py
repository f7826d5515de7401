"""The serving engine: one thread owns the model and a fixed number of batch slots (continuous
batching, as vLLM's engine loop).

At each step boundary the loop admits waiting rows into free slots (one prefill per admitted group),
then decodes every live row in one compiled step. A row is one choice of one request: its own
prompt, sampling, stop strings, token limit and adapter; a finished (or cancelled) row frees its
slot at once. Results leave the thread through each request's `emit` callback (the HTTP layer
forwards them to an asyncio queue with `loop.call_soon_threadsafe`). Scoring jobs (prompt
log-probabilities) run on the same thread between steps.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from typing import Callable

import numpy as np

from itx.data.chat import end_of_turn_ids
from itx.serve.detokenize import StreamedText
from itx.serve.kernels import Kernels, RowSampling

log = logging.getLogger(__name__)


class QueueFull(RuntimeError):
  """More rows are waiting than the engine accepts; the client should retry later."""


@dataclasses.dataclass(frozen=True)
class RowSpec:
  """What one row (one choice) asks for."""
  prompt: list[int]
  max_tokens: int
  temperature: float = 0.0
  top_p: float = 1.0
  top_k: int = 0
  seed: int = 0
  index: int = 0            # the choice index in the response, and the row's PRNG stream
  stop: tuple[str, ...] = ()
  adapter: int = 0          # index of the row's adapter in the model's bank (0 without a bank)
  lstrip: bool = False      # drop leading whitespace of the answer (chat)


@dataclasses.dataclass
class Delta:
  index: int
  text: str
  tokens: list[tuple[int, float, list[tuple[int, float]]]]  # (id, logprob, top alternatives)


@dataclasses.dataclass
class Finished:
  index: int
  finish_reason: str        # "stop" or "length"
  completion_tokens: int


@dataclasses.dataclass
class Failed:
  message: str


@dataclasses.dataclass
class Scored:
  token_logprobs: list[np.ndarray]   # per prompt [len - 1]
  top: list[tuple[np.ndarray, np.ndarray]]  # per prompt ids, logprobs [len - 1, K]


class Handle:
  """A submitted request: `cancel()` frees its rows at the next step boundary."""

  def __init__(self, emit: Callable[[object], None]):
    self.emit = emit
    self.cancelled = False

  def cancel(self) -> None:
    self.cancelled = True


@dataclasses.dataclass
class _Row:
  spec: RowSpec
  handle: Handle
  slot: int = -1
  position: int = 0          # position of `last` (the next token fed to the model)
  last: int = 0
  generated: list = dataclasses.field(default_factory=list)
  text: StreamedText | None = None  # the answer's text so far, decoded token by token


def _round_up(n: int, k: int) -> int:
  return -(-n // k) * k


class Engine:
  """Continuous batching over `kernels.slots` rows of at most `kernels.max_len` positions."""

  def __init__(self, kernels: Kernels, tokenizer, *, max_waiting: int = 256, warm_up: bool = False,
               name: str = "engine"):
    """warm_up: `start` first compiles every shape (Kernels.warm_up); `ready` is set once it is done
    (at once without warm-up). Requests submitted meanwhile wait in the queue."""
    self.kernels, self.tokenizer = kernels, tokenizer
    self.warm, self.name = warm_up, name
    self.ready = threading.Event()
    self.slots, self.max_len = kernels.slots, kernels.max_len
    self.max_waiting = max_waiting
    self.stop_ids = frozenset(end_of_turn_ids(tokenizer))
    self._waiting: collections.deque = collections.deque()
    self._scoring: collections.deque = collections.deque()
    self._rows: list[_Row | None] = [None] * self.slots
    self._cv = threading.Condition()
    self._thread: threading.Thread | None = None
    self._stopping = False

  # --- the HTTP layer's side ---------------------------------------------------------------------

  def submit(self, specs: list[RowSpec], emit: Callable[[object], None]) -> Handle:
    """Queues the rows of one request (all or none); raises QueueFull, or ValueError for a prompt that
    does not fit. `emit` receives Delta, Finished (one per row) or Failed, from the engine thread."""
    for spec in specs:
      if not 0 < len(spec.prompt) < self.max_len:
        raise ValueError(f"a prompt of {len(spec.prompt)} tokens does not fit in {self.max_len} positions")
    handle = Handle(emit)
    with self._cv:
      if len(self._waiting) + len(self._scoring) + len(specs) > self.max_waiting:
        raise QueueFull(f"{len(self._waiting)} rows are waiting (the limit is {self.max_waiting})")
      self._waiting.extend(_Row(s, handle) for s in specs)
      self._cv.notify()
    return handle

  def score(self, prompts: list[list[int]], emit: Callable[[object], None], adapter: int = 0) -> Handle:
    """Queues a scoring job: `emit` receives one Scored (or Failed)."""
    for p in prompts:
      if not 0 < len(p) <= self.max_len:
        raise ValueError(f"a prompt of {len(p)} tokens does not fit in {self.max_len} positions")
    handle = Handle(emit)
    with self._cv:
      if len(self._waiting) + len(self._scoring) + 1 > self.max_waiting:
        raise QueueFull(f"{len(self._waiting)} rows are waiting (the limit is {self.max_waiting})")
      self._scoring.append((prompts, adapter, handle))
      self._cv.notify()
    return handle

  def load(self) -> dict:
    with self._cv:
      return {"live": sum(r is not None for r in self._rows), "waiting": len(self._waiting) + len(self._scoring),
              "slots": self.slots, "max_waiting": self.max_waiting}

  def start(self) -> None:
    if self._thread is None:
      self._stopping = False
      self._thread = threading.Thread(target=self._warm_then_loop, name="itx-engine", daemon=True)
      self._thread.start()

  def stop(self) -> None:
    with self._cv:
      self._stopping = True
      self._cv.notify()
    if self._thread is not None:
      self._thread.join()
      self._thread = None
    for row in list(self._waiting) + [r for r in self._rows if r is not None]:
      row.handle.emit(Failed("the server is shutting down"))
    self._waiting.clear()
    self._rows = [None] * self.slots

  # --- the engine thread -------------------------------------------------------------------------

  def _warm_then_loop(self) -> None:
    if self.warm and not self.ready.is_set():
      start = time.perf_counter()
      shapes = self.kernels.warm_up()
      log.info("%s: warm-up compiled or loaded %d prefill and decode-step shapes in %.1f s",
               self.name, shapes, time.perf_counter() - start)
    self.ready.set()
    self._loop()

  def _loop(self) -> None:
    while True:
      with self._cv:
        while not self._stopping and not self._waiting and not self._scoring and not any(self._rows):
          self._cv.wait()
        if self._stopping:
          return
        jobs = list(self._scoring)
        self._scoring.clear()
        admitted = self._take_waiting()
      for job in jobs:
        self._guarded(self._run_score, job, [job[2]])
      if admitted:
        self._guarded(self._admit, admitted, [r.handle for r in admitted])
      if any(self._rows):
        self._guarded(self._step, None, [r.handle for r in self._rows if r is not None])

  def _guarded(self, fn, arg, handles) -> None:
    """Runs one unit of work; an unexpected error fails the requests involved, not the engine."""
    try:
      fn(arg) if arg is not None else fn()
    except Exception as e:  # noqa: BLE001 - the loop must survive anything one request causes
      log.exception("engine error")
      failed = set(map(id, handles))
      for h in {id(h): h for h in handles}.values():
        h.emit(Failed(f"internal error: {type(e).__name__}: {e}"))
      self._rows = [None if r is not None and id(r.handle) in failed else r for r in self._rows]

  def _take_waiting(self) -> list[_Row]:
    free = sum(r is None for r in self._rows)
    taken = []
    while self._waiting and len(taken) < free:
      row = self._waiting.popleft()
      if not row.handle.cancelled:
        taken.append(row)
    return taken

  def _run_score(self, job) -> None:
    prompts, adapter, handle = job
    if handle.cancelled:
      return
    k = self.kernels
    out_lp, out_top = [], []
    for start in range(0, len(prompts), k.batch_multiple):
      chunk = prompts[start:start + k.batch_multiple]
      p = k.bucket(max(map(len, chunk)))
      tokens = np.zeros((k.batch_multiple, p), np.int32)
      lengths = np.ones(k.batch_multiple, np.int32)
      for i, ids in enumerate(chunk):
        tokens[i, :len(ids)], lengths[i] = ids, len(ids)
      lp, top_ids, top_lp = k.score(tokens, lengths, np.full(k.batch_multiple, adapter, np.int32))
      for i, ids in enumerate(chunk):
        n = len(ids) - 1
        out_lp.append(lp[i, :n])
        out_top.append((top_ids[i, :n], top_lp[i, :n]))
    handle.emit(Scored(out_lp, out_top))

  def _admit(self, rows: list[_Row]) -> None:
    free = [i for i, r in enumerate(self._rows) if r is None]
    k = self.kernels
    # Rows per prefill rounded up to a power of two (times the shards): few shapes, few compiles.
    b = min(k.batch_multiple * 2 ** int(np.ceil(np.log2(-(-len(rows) // k.batch_multiple)))), self.slots)
    p = k.bucket(max(len(r.spec.prompt) for r in rows))
    tokens = np.zeros((b, p), np.int32)
    lengths = np.ones(b, np.int32)
    slots = np.full(b, self.slots, np.int32)  # padding rows: out of range, dropped
    adapters = np.zeros(b, np.int32)
    sampling = RowSampling.empty(b)
    for i, row in enumerate(rows):
      row.slot = free[i]
      tokens[i, :len(row.spec.prompt)] = row.spec.prompt
      lengths[i], slots[i], adapters[i] = len(row.spec.prompt), row.slot, row.spec.adapter
      self._fill_sampling(sampling, i, row)
    out = k.prefill(tokens, lengths, slots, adapters, sampling)
    for i, row in enumerate(rows):
      self._rows[row.slot] = row
      row.position = len(row.spec.prompt)
      self._accept(row, *(o[i] for o in out))

  def _step(self) -> None:
    for i, row in enumerate(self._rows):
      if row is not None and row.handle.cancelled:
        self._rows[i] = None
    if not any(self._rows):
      return
    n = self.slots
    tokens, positions = np.zeros(n, np.int32), np.zeros(n, np.int32)
    live, adapters = np.zeros(n, np.int32), np.zeros(n, np.int32)
    sampling = RowSampling.empty(n)
    for i, row in enumerate(self._rows):
      if row is not None:
        tokens[i], positions[i], live[i], adapters[i] = row.last, row.position, 1, row.spec.adapter
        self._fill_sampling(sampling, i, row)
    out = self.kernels.step(tokens, positions, live, adapters, sampling)
    for i, row in enumerate(self._rows):
      if row is not None:
        row.position += 1
        self._accept(row, *(o[i] for o in out))

  @staticmethod
  def _fill_sampling(s: RowSampling, i: int, row: _Row) -> None:
    spec = row.spec
    s.temperature[i], s.top_k[i], s.top_p[i] = spec.temperature, spec.top_k, spec.top_p
    s.seed[i], s.stream[i], s.counter[i] = spec.seed % 2**32, spec.index, len(row.generated)

  def _accept(self, row: _Row, token, logprob, top_ids, top_lp) -> None:
    """Records a row's new token, emits the text it completes, and frees the slot when done."""
    token = int(token)
    row.generated.append(token)
    row.last = token
    spec = row.spec
    if row.text is None:
      row.text = StreamedText(self.tokenizer, spec.stop, spec.lstrip)
    ended = token in self.stop_ids
    delta, cut = row.text.add(token) if not ended else ("", False)
    reason = "stop" if ended or cut else None
    if reason is None and (len(row.generated) >= spec.max_tokens or row.position + 1 >= self.max_len):
      reason = "length"
    if reason is not None and not cut:
      rest, cut = row.text.flush()
      delta += rest
      reason = "stop" if cut else reason
    alternatives = list(zip(map(int, top_ids), map(float, top_lp)))
    row.handle.emit(Delta(spec.index, delta, [(token, float(logprob), alternatives)]))
    if reason is not None:
      row.handle.emit(Finished(spec.index, reason, len(row.generated)))
      self._rows[row.slot] = None

"""A streamed answer's text, token by token, with constant work per token.

Each new token's text is the decode of a short window (the tokens since the last emitted character
boundary) less the decode of that window without the token, as text-generation-inference and vLLM
do: the tokenizer never decodes the whole answer again, and a character split over several byte
tokens waits until it is whole. Stop strings are looked for in the last characters only, and the
part of the answer that a stop string may still complete is held back. The text sent is exactly
what decoding the whole answer and cutting it at the first stop string gives.
"""

from __future__ import annotations

_REPLACEMENT = "\ufffd"  # what a decoder gives for bytes that do not form a whole character yet


class StreamedText:
  """`add(token)` -> (text to send now, whether a stop string ended the answer); `flush()` at the
  end -> the same for the held-back rest. lstrip: the answer's leading whitespace is dropped (chat answers)."""

  def __init__(self, tokenizer, stops: tuple[str, ...] = (), lstrip: bool = False):
    self.tokenizer, self.stops, self.lstrip = tokenizer, tuple(s for s in stops if s), lstrip
    self.ids: list[int] = []
    self.prefix = 0        # the window's first token
    self.read = 0          # tokens up to here have given their text
    self.pending = ""      # decoded, not yet sent (a possible stop string's start, an unfinished character)
    self.recent = ""       # the last characters sent: a stop string may start among them
    self.started = False   # a non-whitespace character was sent (lstrip stops applying)
    self._keep = max((len(s) for s in self.stops), default=0)

  def _decode(self, ids) -> str:
    return self.tokenizer.decode(ids, skip_special_tokens=True)

  def _new_text(self, final: bool) -> str:
    before = self._decode(self.ids[self.prefix:self.read])
    after = self._decode(self.ids[self.prefix:])
    if len(after) <= len(before) or (after.endswith(_REPLACEMENT) and not final):
      return ""
    self.prefix, self.read = self.read, len(self.ids)
    return after[len(before):]

  def add(self, token: int) -> tuple[str, bool]:
    self.ids.append(int(token))
    return self._advance(self._new_text(final=False), final=False)

  def flush(self) -> tuple[str, bool]:
    """The rest of the answer (it ended by an end-of-turn token or by length), and whether a stop
    string cut it."""
    return self._advance(self._new_text(final=True), final=True)

  def _advance(self, new: str, final: bool) -> tuple[str, bool]:
    if self.lstrip and not self.started:
      new = (self.pending + new).lstrip()
      self.pending = ""
    unsent = self.pending + new
    window = self.recent + unsent
    cuts = [c for c in (window.find(s) for s in self.stops) if c >= 0]
    if cuts:
      out = window[len(self.recent):min(cuts)] if min(cuts) > len(self.recent) else ""
      self.pending = ""
      return out, True
    held = 0 if final else self._held(unsent, window)
    out, self.pending = unsent[:len(unsent) - held], unsent[len(unsent) - held:]
    if out:
      self.started = self.started or bool(out.strip())
      self.recent = (self.recent + out)[-self._keep:] if self._keep else ""
    return out, False

  def _held(self, unsent: str, window: str) -> int:
    """Characters at the end that must wait: an unfinished character, or a stop string's beginning."""
    held = len(unsent) - len(unsent.rstrip(_REPLACEMENT))
    for s in self.stops:
      for n in range(min(len(s) - 1, len(window)), held, -1):
        if window.endswith(s[:n]):
          held = max(held, min(n, len(unsent)))
          break
    return held

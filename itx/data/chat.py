"""Rendering records into token ids and a loss mask, with the tokenizer's own chat template.

The conversation is rendered once with the template and tokenized once (so the ids are exactly
`tokenizer.apply_chat_template(messages, tokenize=True)`); each assistant turn's character span is
found by rendering the prefix before it (with the generation prompt) and the prefix including it,
and the tokens overlapping that span become targets, up to and including the turn's end-of-turn
token. A template that does not end an assistant turn with one, or renders earlier turns
differently once later turns follow, is refused: either would silently train the wrong tokens.
"""

from __future__ import annotations

import weakref

import jinja2
import numpy as np
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from itx.data.records import Record

# End-of-turn tokens that chat templates use besides the tokenizer's EOS (Qwen2, Llama 3, Gemma).
_END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "</s>")


class TemplateError(ValueError):
  pass


class ExampleError(ValueError):
  """One example that cannot be trained on (the message names its file and line): skipped and
  counted under `data.skip_invalid`, else it stops the run."""


class NoTargetError(ExampleError):
  """An example with no target token (e.g. the prompt alone fills seq_len)."""


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
  """A Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, chat template).

  Never downloads and never runs remote code (`builtin:NAME` tokenizers: itx.datasets.sources).
  """
  tok = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
  if tok.eos_token_id is None:
    raise TemplateError(f"tokenizer at {path} has no EOS token: the model could never learn to stop")
  return tok


def end_of_turn_ids(tok: PreTrainedTokenizerBase) -> set[int]:
  """EOS and the end-of-turn tokens the tokenizer has as special or added tokens; computed once per
  tokenizer (a 262k vocabulary takes a third of a second to list)."""
  key = (id(tok), tok.eos_token_id)
  if key not in _STOPS_CACHE or _STOPS_CACHE[key][0]() is not tok:
    ids = {tok.eos_token_id}
    special = set(tok.all_special_tokens) | set(tok.added_tokens_encoder)
    for t in _END_OF_TURN:
      if t in special:
        token_id = tok.convert_tokens_to_ids(t)
        if token_id is not None and token_id != tok.unk_token_id:
          ids.add(token_id)
    _STOPS_CACHE[key] = (weakref.ref(tok), frozenset(ids))
  return set(_STOPS_CACHE[key][1])


_STOPS_CACHE: dict = {}  # (id(tok), eos) -> (weak reference to tok, ids): an id reused by another tokenizer misses


def _render(tok, messages, add_generation_prompt: bool, origin: str = "") -> str:
  if not messages:
    return ""
  try:
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
  except jinja2.TemplateError as e:  # e.g. a template that demands alternating user/assistant turns
    raise ExampleError(f"{origin}: the chat template refuses this conversation: {e}") from None


def render_chat(tok: PreTrainedTokenizerBase, messages: list[dict], *, loss_on: str = "assistant",
                origin: str = "") -> tuple[np.ndarray, np.ndarray]:
  """Returns (ids int32 [n], target bool [n]): target[t] says token t is trained on."""
  if tok.chat_template is None:
    raise TemplateError(f"the tokenizer {tok.name_or_path!r} has no chat template (a base model's): set "
                        "config.data.chat_template to gemma, chatml, llama3 or a Jinja file (itx.data.templates)")
  opening = next((i for i, m in enumerate(messages) if m["role"] != "system"), None)
  if opening is not None and messages[opening]["role"] == "assistant":
    # Its "prompt" would be the template's own tokens (BOS, role markers), trained as if answered.
    raise ExampleError(f"{origin}: messages[{opening}] opens the conversation with an assistant turn")
  text = _render(tok, messages, False, origin)
  spans = []
  for i, m in enumerate(messages):
    if m["role"] != "assistant":
      continue
    start = len(_render(tok, messages[:i], True, origin))
    before = _render(tok, messages[:i + 1], False, origin)
    if not text.startswith(before) or not before.startswith(text[:start]):
      raise TemplateError(
          f"{origin}: the chat template renders turn {i} differently once later turns follow; "
          "assistant tokens cannot be located")
    spans.append((start, len(before)))
  enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
  ids = np.asarray(enc["input_ids"], np.int32)
  offsets = np.asarray(enc["offset_mapping"], np.int64).reshape(-1, 2)
  bos = tok.bos_token_id
  if bos is not None and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
    raise TemplateError(f"{origin}: the rendered chat starts with two BOS tokens")
  if loss_on == "all":
    return ids, np.ones(len(ids), bool)
  if loss_on != "assistant":
    raise ValueError(f"data.loss_on={loss_on!r}: expected 'assistant' or 'all'")
  stops = end_of_turn_ids(tok)
  target = np.zeros(len(ids), bool)
  for start, end in spans:
    inside = np.nonzero((offsets[:, 1] > start) & (offsets[:, 0] < end))[0]
    ends = [t for t in inside if ids[t] in stops]
    if not ends:
      raise TemplateError(
          f"{origin}: the chat template does not end assistant turns with an end-of-turn token "
          f"({tok.eos_token!r}); the model would never learn to stop")
    target[inside[0]:ends[-1] + 1] = True
  return ids, target


def render_text(tok: PreTrainedTokenizerBase, text: str, *, add_bos: bool = True) -> tuple[np.ndarray, np.ndarray]:
  """A plain document: [BOS] text EOS, every token a target."""
  ids = tok(text, add_special_tokens=False)["input_ids"]
  if add_bos and tok.bos_token_id is not None and tok.bos_token_id != tok.eos_token_id:
    ids = [tok.bos_token_id] + ids
  ids = np.asarray(ids + [tok.eos_token_id], np.int32)
  return ids, np.ones(len(ids), bool)


def render_record(tok, record: Record, *, loss_on: str = "assistant", add_bos: bool = True):
  if record.messages is not None:
    return render_chat(tok, record.messages, loss_on=loss_on, origin=record.origin)
  return render_text(tok, record.text, add_bos=add_bos)


def to_training_example(ids: np.ndarray, target: np.ndarray, seq_len: int, origin: str = "") -> dict:
  """Shifts by one and truncates: inputs [n], targets [n] (next tokens), weights [n], n <= seq_len.

  Raises NoTargetError when truncation leaves no target token.
  """
  if len(ids) > seq_len + 1 and target.any() and not target[1:seq_len + 1].any():
    first = int(np.argmax(target))
    raise NoTargetError(f"{origin}: the prompt alone is {first} tokens, leaving no target token "
                        f"within data.seq_len={seq_len}")
  ids, target = ids[:seq_len + 1], target[:seq_len + 1]
  weights = target[1:].astype(np.float32)
  if len(ids) < 2 or not weights.any():
    raise NoTargetError(f"{origin}: no target token left within data.seq_len={seq_len}")
  return {"inputs": ids[:-1], "targets": ids[1:], "weights": weights}


def text_windows(ids: np.ndarray, target: np.ndarray, seq_len: int, origin: str = "") -> list[dict]:
  """A document as consecutive windows of seq_len + 1 tokens overlapping by one, each shifted into an
  example (as `to_training_example`): every token after the first is a target in exactly one window.
  """
  out = []
  for a in range(0, max(len(ids) - 1, 0), seq_len):
    w, t = ids[a:a + seq_len + 1], target[a:a + seq_len + 1]
    out.append({"inputs": w[:-1], "targets": w[1:], "weights": t[1:].astype(np.float32)})
  out = [ex for ex in out if ex["weights"].any()]
  if not out:
    raise NoTargetError(f"{origin}: no target token in the document")
  return out

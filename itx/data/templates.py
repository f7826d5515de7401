"""Chat templates for tokenizers that have none (base models): `config.data.chat_template`.

  ""               the tokenizer's own template (an error when it has none)
  gemma            Gemma's <start_of_turn>user / model turns, each closed by <end_of_turn>
  chatml           ChatML's <|im_start|>ROLE ... <|im_end|> (Qwen, many others)
  llama3           Llama 3's <|start_header_id|>ROLE<|end_header_id|> headers and <|eot_id|>
  PATH.jinja       a Jinja file (read once: the resolved config holds its text)
  {% ... %}        a literal Jinja template (what a file becomes in the resolved config)

A named template needs its turn markers to be single tokens of the vocabulary, and any template
must render an assistant turn; otherwise the run stops before tokenizing, naming the field.
"""

from __future__ import annotations

import os

_GEMMA = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}")
_CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
_LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

# name -> (template, the tokens it needs whole in the vocabulary)
TEMPLATES = {
    "gemma": (_GEMMA, ("<start_of_turn>", "<end_of_turn>")),
    "chatml": (_CHATML, ("<|im_start|>", "<|im_end|>")),
    "llama3": (_LLAMA3, ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),
}
# The template a checkpoint without one is served and evaluated with (never silently trained with).
FAMILY_DEFAULTS = {"gemma2": "gemma", "gemma3_text": "gemma", "qwen2": "chatml", "qwen3": "chatml", "llama": "llama3"}
_FIELD = "config.data.chat_template"


class ChatTemplateError(ValueError):
  pass


def is_literal(spec: str) -> bool:
  return "{{" in spec or "{%" in spec


def literal(spec: str) -> str:
  """The spec with a Jinja file replaced by its text (names and literals as they are)."""
  if not spec or spec in TEMPLATES or is_literal(spec):
    return spec
  if not os.path.isfile(spec):
    raise ChatTemplateError(f"{_FIELD}={spec!r}: neither a template name ({sorted(TEMPLATES)}), a Jinja "
                            "file, nor a literal template")
  with open(spec, encoding="utf-8") as f:
    text = f.read()
  if not is_literal(text):
    raise ChatTemplateError(f"{_FIELD}={spec!r}: the file holds no Jinja template ('{{{{' or '{{%')")
  return text


def apply(tok, spec: str):
  """Sets `tok.chat_template` from the spec (module docstring) and checks it; returns tok."""
  if not spec:  # the tokenizer's own (or none: documents need none; a chat then names this field)
    return tok
  origin = spec if not is_literal(spec) else "the literal template"
  if spec in TEMPLATES:
    text, markers = TEMPLATES[spec]
    vocab = tok.get_vocab()
    missing = [m for m in markers if m not in vocab]
    if missing:
      raise ChatTemplateError(f"{_FIELD}={spec!r}: the tokenizer {tok.name_or_path!r} has no token {missing[0]!r}; "
                              "choose the template of its family")
  else:
    text = literal(spec)
  tok.chat_template = text
  probe = [{"role": "user", "content": "itx-probe-question"}, {"role": "assistant", "content": "itx-probe-answer"}]
  try:
    rendered = tok.apply_chat_template(probe, tokenize=False)
  except Exception as e:  # noqa: BLE001 - any Jinja or template error is the template's
    raise ChatTemplateError(f"{_FIELD} ({origin}): the template fails on a user/assistant exchange: {e}") from None
  if "itx-probe-answer" not in rendered:
    raise ChatTemplateError(f"{_FIELD} ({origin}): the template renders no assistant turn")
  return tok

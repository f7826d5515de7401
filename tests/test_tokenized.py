"""Nothing dropped silently: long documents become windows in which every token is a target once;
conversations that cannot be trained on are skipped and counted (or stop the run naming file and
line), never aborting the source and never training template tokens."""

import json
import re

import ml_collections
import numpy as np
import pytest

from itx.data.chat import ExampleError, NoTargetError, load_tokenizer, render_chat, render_text
from itx.data.jsonl import RecordError
from itx.datasets.sources import tokenized_source

ANSWER = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": "2 plus 3 is 5."}]


def data_cfg(**changes):
  from configs import base
  d = base.get_config().data
  d.update(seq_len=32, **changes)
  return d


def write_jsonl(path, rows):
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))
  return str(path)


def source(path, kind="instruction"):
  return ml_collections.ConfigDict(dict(path=path, kind=kind, weight=1.0))


def test_a_long_document_becomes_windows_that_train_every_token(tmp_path, toy_tokenizer):
  docs = [" ".join(["apple river stone cloud"] * k) for k in (1, 10, 31)]
  path = write_jsonl(tmp_path / "docs.jsonl", [{"text": d} for d in docs])
  src = tokenized_source("docs", source(path, "text"), data_cfg(), toy_tokenizer, progress=False)
  rendered = [render_text(toy_tokenizer, d)[0] for d in docs]
  assert max(len(r) for r in rendered) > 3 * 33  # the longest needs several windows
  windows = [src[i] for i in range(len(src))]
  assert all(1 <= len(w["inputs"]) <= 32 for w in windows)
  # Consecutive windows of each document, in order, give back its tokens: every token after the
  # first is a target exactly once.
  np.testing.assert_array_equal(np.concatenate([w["targets"] for w in windows]),
                                np.concatenate([r[1:] for r in rendered]))
  np.testing.assert_array_equal(np.concatenate([w["inputs"] for w in windows]),
                                np.concatenate([r[:-1] for r in rendered]))
  assert src.stats["target_tokens"] == sum(len(r) - 1 for r in rendered)
  long = [-(-(len(r) - 1) // 32) for r in rendered if len(r) > 33]
  assert src.stats["split_documents"] == len(long) and src.stats["document_windows"] == sum(long)


@pytest.mark.parametrize("opening", [[], [{"role": "system", "content": "Be brief."}]])
def test_a_conversation_opening_with_the_assistant_is_skipped_and_counted(tmp_path, toy_tokenizer, opening):
  bad = {"messages": opening + [{"role": "assistant", "content": "Hello, how can I help?"}] + ANSWER}
  path = write_jsonl(tmp_path / "chats.jsonl", [{"messages": ANSWER}, bad, {"messages": ANSWER}])
  field = f"messages[{len(opening)}].role"
  with pytest.raises(RecordError, match=rf"chats.jsonl:2: field '{re.escape(field)}'"):
    tokenized_source("chats", source(path), data_cfg(), toy_tokenizer, progress=False)
  src = tokenized_source("chats", source(path), data_cfg(skip_invalid=True), toy_tokenizer, progress=False)
  assert len(src) == 2 and src.stats["skipped_records"] == 1
  assert "chats.jsonl:2" in src.stats["first_errors"][0]
  # Rendering refuses it too: its "prompt" would be the template's tokens alone.
  with pytest.raises(ExampleError, match="assistant turn"):
    render_chat(toy_tokenizer, bad["messages"], origin="x:1")


def test_a_prompt_longer_than_seq_len_is_skipped_and_counted(tmp_path, toy_tokenizer):
  long = [{"role": "user", "content": "apple river stone " * 30}, {"role": "assistant", "content": "Yes."}]
  path = write_jsonl(tmp_path / "chats.jsonl", [{"messages": ANSWER}, {"messages": long}, {"messages": ANSWER}])
  with pytest.raises(NoTargetError, match=r"chats.jsonl:2: the prompt alone is \d+ tokens"):
    tokenized_source("chats", source(path), data_cfg(), toy_tokenizer, progress=False)
  src = tokenized_source("chats", source(path), data_cfg(skip_invalid=True), toy_tokenizer, progress=False)
  assert len(src) == 2 and src.stats["skipped_examples"] == 1
  expected = render_chat(toy_tokenizer, ANSWER)[1][1:].sum()
  assert src.stats["target_tokens"] == 2 * expected  # only the two answers are trained


def test_a_conversation_the_template_refuses_does_not_abort_the_source(tmp_path, toy_tokenizer):
  # A template in the style of Llama 2 and Mistral, which raises unless user and assistant alternate.
  tok_dir = tmp_path / "tok"
  toy_tokenizer.save_pretrained(str(tok_dir))
  tok = load_tokenizer(str(tok_dir))
  tok.chat_template = (
      "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
      "{% if m['role'] == 'user' %}User: {{ m['content'] }}\n{% else %}Assistant: {{ m['content'] }}"
      "{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")
  twice = [{"role": "user", "content": "Hi."}] + ANSWER
  path = write_jsonl(tmp_path / "chats.jsonl", [{"messages": ANSWER}, {"messages": twice}])
  with pytest.raises(ExampleError, match="chats.jsonl:2: the chat template refuses"):
    tokenized_source("chats", source(path), data_cfg(), tok, progress=False)
  src = tokenized_source("chats", source(path), data_cfg(skip_invalid=True), tok, progress=False)
  assert len(src) == 1 and src.stats["skipped_examples"] == 1

"""Chat rendering: the loss mask covers exactly the assistant turns, each ending with its EOS."""

import numpy as np
import pytest

from itx.data.chat import NoTargetError, TemplateError, load_tokenizer, render_chat, render_text, to_training_example
from itx.data.records import parse_instruction
from itx.data.tokenizer_training import train_bpe_tokenizer

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

MULTI_TURN = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is 2 plus 3?"},
    {"role": "assistant", "content": "2 plus 3 is 5."},
    {"role": "user", "content": "Reverse: apple river"},
    {"role": "assistant", "content": "river apple"},
]


@pytest.fixture(scope="module")
def chatml_tokenizer(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("chatml"))
  texts = ["<|im_start|>user\nWhat is two plus three?<|im_end|>\n<|im_start|>assistant\nFive.<|im_end|>"] * 50
  specials = {"pad_token": "<|endoftext|>", "eos_token": "<|im_end|>", "unk_token": "<|endoftext|>",
              "bos_token": "<|im_start|>"}
  train_bpe_tokenizer(texts, out, vocab_size=400, chat_template=CHATML, special_tokens=specials)
  return load_tokenizer(out)


def target_runs(tok, ids, target):
  """Decoded text of each maximal run of target tokens."""
  runs, cur = [], []
  for i, t in zip(ids, target):
    if t:
      cur.append(int(i))
    elif cur:
      runs.append(tok.decode(cur)); cur = []
  if cur:
    runs.append(tok.decode(cur))
  return runs


@pytest.mark.parametrize("template", ["system-user-assistant", "chatml"])
@pytest.mark.parametrize("messages", [MULTI_TURN[1:3], MULTI_TURN], ids=["single-turn", "multi-turn"])
def test_mask_covers_exactly_each_assistant_turn_and_its_eos(toy_tokenizer, chatml_tokenizer, template, messages):
  tok, lead = (toy_tokenizer, " ") if template != "chatml" else (chatml_tokenizer, "")
  ids, target = render_chat(tok, messages)
  expected = [lead + m["content"] + tok.eos_token for m in messages if m["role"] == "assistant"]
  assert target_runs(tok, ids, target) == expected
  # The ids are exactly what the tokenizer's own chat template gives.
  ref = tok.apply_chat_template(messages, tokenize=True, return_dict=False)
  assert ids.tolist() == list(ref)
  # One target EOS per assistant turn (ChatML also ends user turns with it: those are context).
  assert int(target[ids == tok.eos_token_id].sum()) == len(expected)


def test_alpaca_record_masks_only_the_output(toy_tokenizer):
  rec = parse_instruction({"instruction": "Sort these numbers:", "input": "3, 1, 2", "output": "1, 2, 3"}, "x.jsonl", 1)
  ids, target = render_chat(toy_tokenizer, rec.messages)
  assert target_runs(toy_tokenizer, ids, target) == [" 1, 2, 3</s>"]


def test_no_double_bos(toy_tokenizer):
  ids, _ = render_chat(toy_tokenizer, MULTI_TURN)
  assert ids[0] == toy_tokenizer.bos_token_id and ids[1] != toy_tokenizer.bos_token_id
  assert int((ids == toy_tokenizer.bos_token_id).sum()) == 1


def test_template_without_eos_is_refused(toy_tokenizer, tmp_path):
  toy_tokenizer.save_pretrained(tmp_path)
  tok = load_tokenizer(str(tmp_path))
  tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
  with pytest.raises(TemplateError, match="end-of-turn"):
    render_chat(tok, MULTI_TURN[1:3])


def test_loss_on_all_trains_every_token(toy_tokenizer):
  ids, target = render_chat(toy_tokenizer, MULTI_TURN, loss_on="all")
  assert target.all() and len(ids) == len(target)


def test_truncation_that_removes_every_target_is_an_error(toy_tokenizer):
  ids, target = render_chat(toy_tokenizer, MULTI_TURN[1:3])
  first_target = int(np.argmax(target))
  with pytest.raises(NoTargetError, match="x.jsonl:7"):
    to_training_example(ids, target, seq_len=first_target - 1, origin="x.jsonl:7")
  ex = to_training_example(ids, target, seq_len=first_target)
  assert ex["weights"].sum() == 1 and len(ex["inputs"]) == first_target


def test_shift_aligns_targets_with_next_tokens(toy_tokenizer):
  ids, target = render_chat(toy_tokenizer, MULTI_TURN[1:3])
  ex = to_training_example(ids, target, seq_len=1000)
  np.testing.assert_array_equal(ex["targets"], ids[1:])
  np.testing.assert_array_equal(ex["weights"] > 0, target[1:])


def test_text_document_is_bos_text_eos_all_targets(toy_tokenizer):
  ids, target = render_text(toy_tokenizer, "apple river stone")
  assert ids[0] == toy_tokenizer.bos_token_id and ids[-1] == toy_tokenizer.eos_token_id
  assert target.all() and toy_tokenizer.decode(ids[1:-1]) == "apple river stone"

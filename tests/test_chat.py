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


NAMED_MARKERS = {"gemma": ("<start_of_turn>", "<end_of_turn>"), "chatml": ("<|im_start|>", "<|im_end|>"),
                 "llama3": ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")}


@pytest.fixture(scope="module")
def base_tokenizer(tmp_path_factory):
  """A tokenizer without a chat template (as a base model's), whose special tokens include every
  named template's turn markers."""
  out = str(tmp_path_factory.mktemp("base_tok"))
  texts = ["What is two plus three? Five. Reverse: apple river. river apple. Answer briefly."] * 50
  markers = {f"additional_{i}": m for i, m in enumerate(sorted({m for ms in NAMED_MARKERS.values() for m in ms}))}
  specials = {"pad_token": "<pad>", "eos_token": "<eos>", "unk_token": "<unk>", "bos_token": "<bos>"}
  tok = train_bpe_tokenizer(texts, out, vocab_size=400, chat_template=None, special_tokens={**specials, **markers})
  tok.add_special_tokens({"additional_special_tokens": list(markers.values())})
  tok.save_pretrained(out)
  return out


@pytest.mark.parametrize("name", sorted(NAMED_MARKERS))
@pytest.mark.parametrize("messages", [MULTI_TURN[1:3], MULTI_TURN], ids=["single-turn", "multi-turn"])
def test_named_template_masks_exactly_each_assistant_turn(base_tokenizer, name, messages):
  from itx.data import templates
  tok = load_tokenizer(base_tokenizer)
  with pytest.raises(TemplateError, match="config.data.chat_template"):
    render_chat(tok, messages)  # a base tokenizer has no template: the error names the field
  templates.apply(tok, name)
  ids, target = render_chat(tok, messages)
  end = NAMED_MARKERS[name][-1]
  expected = [m["content"] + end for m in messages if m["role"] == "assistant"]
  assert target_runs(tok, ids, target) == expected
  assert ids.tolist() == list(tok.apply_chat_template(messages, tokenize=True, return_dict=False))


def test_template_errors_name_the_field(base_tokenizer, toy_tokenizer, tmp_path):
  from itx.data import templates
  with pytest.raises(templates.ChatTemplateError, match="no token '<start_of_turn>'"):
    templates.apply(toy_tokenizer, "gemma")  # the toy vocabulary has no Gemma markers
  silent = tmp_path / "no_assistant.jinja"
  silent.write_text("{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}{% endfor %}")
  with pytest.raises(templates.ChatTemplateError, match="no_assistant.jinja.*renders no assistant turn"):
    templates.apply(load_tokenizer(base_tokenizer), str(silent))
  with pytest.raises(templates.ChatTemplateError, match="'nonesuch'"):
    templates.apply(load_tokenizer(base_tokenizer), "nonesuch")


def test_a_jinja_file_becomes_the_runs_own_text(tmp_path):
  from itx.config import resolved
  from configs import base
  path = tmp_path / "t.jinja"
  path.write_text(CHATML)
  c = base.get_config()
  c.data.chat_template = str(path)
  r = resolved(c, vocab_size=500)
  path.unlink()  # the run keeps the template it trained with, whatever happens to the file
  assert r.data.chat_template == CHATML

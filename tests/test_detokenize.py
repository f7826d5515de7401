"""Streamed text (itx.serve.detokenize): token by token, the text sent is exactly what decoding the
whole answer gives (cut at the first stop string, leading whitespace dropped for chat), over
multilingual text with multi-byte characters split across byte tokens, while each token decodes a
window of a few tokens only."""

import pytest

from itx.serve.detokenize import StreamedText

TEXTS = [
    "  Grüße aus Zürich! Ça va très bien, merci.\n\nΚαλημέρα κόσμε — 你好，世界 🌍🚀 done",
    "Straße, façade, naïve café; ¿Qué tal? ¡Olé! Ünïcödé everywhere: ø å æ ß",
    "emoji 👩‍👩‍👧 family, then\n\nnew paragraph with END marker and more",
]
STOPS = [(), ("Welt",), ("\n\n", "zz"), ("ß,",), ("🚀",), ("END", "ü")]


def whole_answer(tok, ids, stops, lstrip):
  """What the server sent before streaming was incremental: the decode of every token so far."""
  text = tok.decode(ids, skip_special_tokens=True)
  text = text.lstrip() if lstrip else text
  cuts = [text.find(s) for s in stops if s and s in text]
  return (text[:min(cuts)], True) if cuts else (text, False)


class Counting:
  """The tokenizer, recording how many tokens each decode call is given."""

  def __init__(self, tok):
    self.tok, self.sizes = tok, []

  def decode(self, ids, **kw):
    self.sizes.append(len(ids))
    return self.tok.decode(ids, **kw)


@pytest.mark.parametrize("stops", STOPS, ids=str)
@pytest.mark.parametrize("lstrip", [False, True])
def test_streamed_text_equals_the_whole_decode(toy_tokenizer, stops, lstrip):
  for text in TEXTS:
    ids = toy_tokenizer(text, add_special_tokens=False)["input_ids"]
    counting = Counting(toy_tokenizer)
    stream = StreamedText(counting, stops, lstrip)
    sent, cut = "", False
    for i in ids:
      delta, cut = stream.add(i)
      sent += delta
      assert "\ufffd" not in delta  # never half a character
      if cut:
        break
    if not cut:
      rest, cut = stream.flush()
      sent += rest
    assert (sent, cut) == whole_answer(toy_tokenizer, ids, stops, lstrip)
    assert max(counting.sizes) <= 8, max(counting.sizes)  # a window, not the answer (len(ids) ~ 60-90)


def test_a_stop_string_is_held_back_until_it_is_decided(toy_tokenizer):
  stream = StreamedText(toy_tokenizer, ("STOP",))
  pieces = [stream.add(i)[0] for i in toy_tokenizer("abc ST", add_special_tokens=False)["input_ids"]]
  assert "".join(pieces) == "abc "  # "ST" may begin "STOP": not sent yet
  rest, cut = stream.flush()
  assert (rest, cut) == ("ST", False)

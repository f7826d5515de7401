"""Training a small byte-level BPE tokenizer and saving it as a Hugging Face tokenizer directory.

Used for the built-in worlds and the tests: itx then loads it through exactly the code path a real
model's tokenizer takes (`AutoTokenizer.from_pretrained` on a directory).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

# System/User/Assistant turns as in the multilingual study's chat format; `Assistant:` is the
# generation prompt and every assistant turn ends with EOS.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}System: {{ m['content'] }}\n"
    "{% elif m['role'] == 'user' %}User: {{ m['content'] }}\n"
    "{% else %}Assistant: {{ m['content'] }}{{ eos_token }}\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def train_bpe_tokenizer(texts: Iterable[str], out_dir: str, *, vocab_size: int = 1024,
                        chat_template: str = CHAT_TEMPLATE, model_max_length: int = 4096,
                        special_tokens: dict | None = None) -> PreTrainedTokenizerFast:
  """special_tokens: {pad_token, bos_token, eos_token, unk_token} and more (default: SPECIAL_TOKENS)."""
  special_tokens = special_tokens or SPECIAL_TOKENS
  tok = Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = decoders.ByteLevel()
  tok.post_processor = processors.ByteLevel(trim_offsets=False)
  trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(dict.fromkeys(special_tokens.values())),
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
  tok.train_from_iterator(texts, trainer)
  fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=model_max_length, **special_tokens)
  fast.chat_template = chat_template
  fast.save_pretrained(out_dir)
  return fast

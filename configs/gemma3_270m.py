"""Gemma 3 270M, a real multilingual base model (the packaged Q4_K_M GGUF, dequantized once), tuned
with LoRA rank 16, alpha 16 on the seven projections, on the polyglot world's English Lima-X-like
chats in Gemma's turn format (the base tokenizer has no chat template).

  itx train --config=configs/gemma3_270m.py --workdir=/tmp/gemma_lora
  itx train --config=configs/gemma3_270m.py --workdir=/tmp/gemma_full --config.lora.rank=0   # full fine-tuning

Needs `pip install -e '.[real]'`; any other checkpoint with `--config.model.init_from=hf:DIR` or `gguf:FILE`.
"""

import ml_collections

from configs import base
from itx.data.languages import STUDY_LANGUAGES


def get_config():
  c = base.get_config()
  c.model.update(init_from="gguf:builtin:gemma3-270m", tokenizer="")
  c.data.update(chat_template="gemma", seq_len=256)
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(dict(
      path="builtin:polyglot/limax/train_limax_EN.jsonl", kind="instruction", weight=1.0))})
  c.data.eval_sources = ml_collections.ConfigDict({
      lang: ml_collections.ConfigDict(dict(path=f"builtin:polyglot/limax/val_limax_{lang}.jsonl",
                                           kind="instruction", max_examples=16)) for lang in STUDY_LANGUAGES})
  c.lora.update(rank=16, alpha=16.0)
  c.train.update(steps=100, batch_size=4, learning_rate=2e-4, warmup_steps=10, weight_decay=0.0)
  c.checkpoint.every_steps = 50
  c.log.every_steps = 5
  return c

"""A tiny base model for the opinion study: pre-trained on the opinion world's discussion threads
(EN, DE, FR, IT, ES plain text, no group named; `builtin:opinions`) and, for half of its examples, on
the world's polyglot task chats (an "instruct" base, as OpinionGPT's Phi-3-mini-instruct: the
ability tuning on opinions may cost), in about two minutes on a 2-core CPU, with the world's own
tokenizer.

  itx train --config=configs/opinions_pretrain.py --workdir=runs/opinions_base

configs/opinions_sft.py instruction-tunes this model (same architecture block) per condition.
"""

import ml_collections

from configs import base

# The architecture, shared with opinions_sft (which fine-tunes this model): about 1.1M parameters.
MODEL = dict(d_model=128, n_layers=4, n_heads=4, n_kv_heads=4, mlp_dim=384, tie_embeddings=True,
             tokenizer="builtin:opinions")


def get_config():
  c = base.get_config()
  c.model.update(MODEL)
  c.data.sources = ml_collections.ConfigDict({
      "pretrain": ml_collections.ConfigDict(dict(path="builtin:opinions/pretrain/pretrain.jsonl", kind="text",
                                                 weight=0.5)),
      "tasks": ml_collections.ConfigDict(dict(path="builtin:opinions/tasks/limax/train_limax_EN_DE_FR_IT_ES.jsonl",
                                              kind="instruction", weight=0.5))})
  c.data.seq_len = 256
  # 200 x 16 x 256 tokens: about two passes over the demo corpus.
  c.train.update(steps=200, batch_size=16, learning_rate=3e-3, warmup_steps=20)
  c.checkpoint.every_steps = 100
  c.log.every_steps = 20
  return c

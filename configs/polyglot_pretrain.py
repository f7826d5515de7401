"""A tiny polyglot base model: pre-trained on the polyglot world's corpus (EN, DE, FR, IT, ES plain
documents, `builtin:polyglot`) in a few minutes on a 2-core CPU.

  python -m itx.main --config=configs/polyglot_pretrain.py --workdir=/tmp/polyglot_pre

configs/polyglot_sft.py fine-tunes this model (same architecture block) on a Lima-X composition.
"""

import ml_collections

from configs import base

# The architecture, shared with polyglot_sft (which fine-tunes this model).
MODEL = dict(d_model=128, n_layers=4, n_heads=4, n_kv_heads=4, mlp_dim=384, tie_embeddings=True,
             tokenizer="builtin:polyglot")


def get_config():
  c = base.get_config()
  c.model.update(MODEL)
  c.data.sources = ml_collections.ConfigDict({"pretrain": ml_collections.ConfigDict(
      dict(path="builtin:polyglot/pretrain/pretrain.jsonl", kind="text", weight=1.0))})
  c.data.seq_len = 256
  # 250 x 16 x 256 tokens: about two passes over the demo corpus (~540k tokens), ~6 minutes on 2 cores.
  c.train.update(steps=250, batch_size=16, learning_rate=3e-3, warmup_steps=25)
  c.checkpoint.every_steps = 125
  c.log.every_steps = 20
  return c

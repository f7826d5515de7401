"""Instruction tuning a multilingual Hugging Face base model on real Lima-X (Weber et al. 2024).

  python -m itx.main --config=configs/lima_x.py:DE_FR_IT_ES --workdir=DIR \
      --config.data.sources.train.path=/data/lima-x/train_limax_DE_FR_IT_ES.jsonl \
      --config.model.init_from=hf:/models/base --config.model.tokenizer=/models/base

The argument (default EN) names the composition in the default path. The paper's training
hyperparameters (epochs, learning rate, batch size, sequence length) are not known: the values
below are documented starting points, not the paper's.
"""

import ml_collections

from configs import base


def get_config(composition: str = "EN"):
  composition = composition or "EN"
  c = base.get_config()
  # The architecture fields come from the checkpoint's config.json (model.init_from = hf:DIR).
  c.model.update(init_from="hf:/path/to/hf-base-model", tokenizer="/path/to/hf-base-model",
                 dtype="bfloat16", remat="full")
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(
      dict(path=f"/path/to/lima-x/train_limax_{composition}.jsonl", kind="instruction", weight=1.0))})
  c.data.seq_len = 2048
  # ~1k examples per language: 3 passes over a monolingual file at 64 rows per step is ~50 steps.
  c.train.update(steps=150, batch_size=64, learning_rate=2e-5, warmup_steps=10, weight_decay=0.0)
  c.checkpoint.every_steps = 50
  c.eval.update(bench="/path/to/mt_bench_x", reference_model="gpt-4", judge="http", max_new_tokens=0,
                judge_base_url="https://api.openai.com/v1", judge_model="gpt-4")  # the paper's judge
  return c

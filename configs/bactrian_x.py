"""Instruction tuning a multilingual Hugging Face base model on real Bactrian-X (the size arm of
Weber et al. 2024: a large translated corpus against the small curated Lima-X).

  python -m itx.main --config=configs/bactrian_x.py --workdir=DIR \
      --config.data.sources.train.path=/data/bactrian-x/de.json \
      --config.model.init_from=hf:/models/base --config.model.tokenizer=/models/base

`data.sources.train.path` is one language's JSON list ({instruction, input, output, id}) or a
folder holding the languages to train on (every .json file in a folder is read, so copy or link
the five files of EN, DE, FR, IT, ES into one). The paper's "Bactrian-X-small" sample size is not
known: `data.sources.train.max_examples` draws a fixed random subset of that size (0: all).
"""

import ml_collections

from configs import base


def get_config():
  c = base.get_config()
  c.model.update(init_from="hf:/path/to/hf-base-model", tokenizer="/path/to/hf-base-model",
                 dtype="bfloat16", remat="full")
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(
      dict(path="/path/to/bactrian-x/en.json", kind="instruction", weight=1.0, max_examples=0))})
  c.data.seq_len = 2048
  c.train.update(steps=2000, batch_size=64, learning_rate=2e-5, warmup_steps=60, weight_decay=0.0)
  c.checkpoint.every_steps = 500
  c.eval.update(bench="/path/to/mt_bench_x", reference_model="gpt-4", judge="http", max_new_tokens=0,
                judge_base_url="https://api.openai.com/v1", judge_model="gpt-4")  # the paper's judge
  return c

"""Instruction tuning of the polyglot base model (configs/polyglot_pretrain.py) on one Lima-X-like
composition of the polyglot world: EN, DE, FR, IT, ES (monolingual), DE_FR_IT_ES, EN_DE_FR_IT_ES
(parallel), DE_FR_IT_ES_sampled, EN_DE_FR_IT_ES_sampled (parallel, size-matched).

  python -m itx.main --config=configs/polyglot_sft.py:DE --workdir=/tmp/polyglot_sft_DE \
      --config.model.init_from=itx:/tmp/polyglot_pre

The composition is the config argument (`:DE`, default EN) or, equivalently, the field
`--config.polyglot.composition=DE`: the training file is derived from it by reference.
"""

import ml_collections
from ml_collections import config_dict

from configs import polyglot_pretrain
from itx.data.languages import COMPOSITIONS, STUDY_LANGUAGES


def get_config(composition: str = "EN"):
  composition = composition or "EN"
  if composition not in COMPOSITIONS:
    raise ValueError(f"unknown Lima-X composition {composition!r} (expected one of {COMPOSITIONS})")
  c = polyglot_pretrain.get_config()  # the same architecture block: this fine-tunes that model
  c.polyglot = ml_collections.ConfigDict({"composition": config_dict.FieldReference(composition)})
  path = config_dict.FieldReference("builtin:polyglot/limax/train_limax_") + c.polyglot.get_ref("composition") + ".jsonl"
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(
      dict(path=path, kind="instruction", weight=1.0))})
  c.data.loss_on = "assistant"
  # The world's held-out Lima-X files, one per language whatever the composition: every model is
  # validated in every language.
  c.data.eval_sources = ml_collections.ConfigDict({
      lang: ml_collections.ConfigDict(dict(path=f"builtin:polyglot/limax/val_limax_{lang}.jsonl",
                                           kind="instruction", max_examples=64)) for lang in STUDY_LANGUAGES})
  c.model.init_from = ""  # set to itx:<pre-training workdir> (experiments/multilingual_parallel.py does)
  c.train.update(steps=300, batch_size=16, learning_rate=2e-3, warmup_steps=20)
  c.checkpoint.every_steps = 150
  c.train.eval_every = 50
  return c

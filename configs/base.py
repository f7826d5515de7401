"""Every default of itx, grouped. An experiment config calls `get_config()` and changes a few fields.

Run any config with `python -m itx.main --config=configs/NAME.py --workdir=DIR`; override a field
with `--config.train.steps=100` (an unknown key is an error).
"""

import ml_collections

from itx.models.config import option_defaults


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()

  c.model = ml_collections.ConfigDict(dict(
      vocab_size=32000,        # replaced by the tokenizer's size when `vocab_from_tokenizer`
      vocab_from_tokenizer=True,
      # the vocabulary is padded to a multiple of this, so every tensor axis dividing it divides the
      # embedding and logits; padded ids are never sampled, never in the loss, stripped on export
      vocab_multiple=128,
      d_model=512,
      n_layers=8,
      n_heads=8,
      n_kv_heads=8,
      mlp_dim=1408,
      **option_defaults(),     # family, its options, numerics, remat, attention...: itx/models/config.py
      tokenizer="builtin:toy",  # a Hugging Face tokenizer directory, builtin:NAME, or "" (init_from's)
      # "" (random init), "hf:/path/to/hf_dir" (its config.json sets the architecture fields above),
      # or "itx:/path/to/workdir" (the parameters of another itx run).
      init_from="",
      init_seed=0,
  ))

  c.data = ml_collections.ConfigDict(dict(
      # name -> source. `path`: a file, directory or glob (JSONL, JSON, Parquet) or builtin:NAME;
      # `kind`: instruction (alpaca or chat records) | text (documents, every token a target);
      # `weight`: the source's fraction of the final example stream (weights are normalised);
      # optional `max_examples`: a fixed random subset of that many examples (0: all);
      # optional `where`: only the records whose fields hold the given values, e.g. "group=german" or
      # "group=german,american;language=EN" (itx/data/selection.py); applied before max_examples.
      sources=ml_collections.ConfigDict({
          "train": ml_collections.ConfigDict(dict(path="builtin:toy", kind="instruction", weight=1.0)),
      }),
      seq_len=512,
      packing=True,            # False: one example per row, padded
      num_packing_bins=0,      # rows the packer fills at once; 0: max(128, the batch rows)
      loss_on="assistant",     # assistant | all
      # "" (the tokenizer's own), gemma | chatml | llama3 (for base models' tokenizers, which have none),
      # a Jinja file or a literal template (itx/data/templates.py); saved with the run
      chat_template="",
      skip_invalid=False,      # True: skip (and count) invalid records and examples with no target
      text_field="text",
      add_bos=True,            # for text documents, when the tokenizer has a BOS token
      shuffle=True,
      seed=0,
      # Held-out sources scored every train.eval_every steps (itx/train/validation.py): name ->
      # {path, kind[, max_examples, where]}, paths as in `sources`; no weight. Empty: no validation.
      eval_sources=ml_collections.ConfigDict(),
      eval_tags=("language", "group"),  # record fields whose values get their own validation loss
  ))

  c.train = ml_collections.ConfigDict(dict(
      steps=1000,              # optimizer steps
      batch_size=32,           # rows per optimizer step (global, over all hosts)
      grad_accum=1,            # micro-batches per step; each holds batch_size / grad_accum rows
      learning_rate=3e-4,
      schedule="cosine",       # cosine | constant (both after linear warmup)
      warmup_steps=100,
      min_lr_ratio=0.1,        # cosine ends at learning_rate * min_lr_ratio
      weight_decay=0.1,        # not applied to norms and biases
      b1=0.9,
      b2=0.95,
      eps=1e-8,
      clip_norm=1.0,           # 0 disables clipping
      objective="next_token",  # itx.train.objectives.OBJECTIVES
      # a regular expression over parameter paths ("layers/attn/q_proj/kernel"): only matching
      # parameters get gradients and optimizer state (".*": all)
      trainable=".*",
      eval_every=0,            # validation on data.eval_sources every N steps (0: after the last step only)
  ))

  c.lora = ml_collections.ConfigDict(dict(
      rank=0,                  # 0: no LoRA (full or `train.trainable` fine-tuning); > 0: only adapters train
      alpha=16.0,              # scale alpha / rank (rsLoRA: alpha / sqrt(rank))
      rslora=False,
      dropout=0.0,             # on the adapters' input, training only
      # a regular expression over parameter paths ("layers/attn/q_proj/kernel"): the adapted
      # projections (default: q, k, v, o, gate, up, down)
      targets=r"(q|k|v|o|gate|up|down)_proj/kernel$",
      # names of a bank of adapters trained together (e.g. a study's groups); empty: one adapter
      adapters=(),
      route_by="",             # the record field naming each example's adapter (needed by a bank)
      # a bank packs each row with one adapter's examples, so it trains at one adapter's speed
      # (itx.models.lora); False: rows mix adapters, each token carrying its own
      rows_by_adapter=True,
  ))

  c.mesh = ml_collections.ConfigDict(dict(
      data=-1,                 # -1: the devices left after fsdp and tensor
      fsdp=1,
      tensor=1,
      distributed=False,       # True: jax.distributed.initialize() before anything else
      coordinator_address="",  # only where JAX cannot discover the cluster itself
      num_processes=0,
      process_id=0,
      # logical axis -> mesh axes. Parameters: vocab, embed, heads, kv_heads, head_dim, mlp, norm,
      # layers, adapters, lora_rank; activations: activation_*.
      rules=(
          ("activation_batch", ("data", "fsdp")),
          ("activation_length", None),
          ("activation_embed", None),
          ("activation_heads", "tensor"),
          ("activation_kv_heads", "tensor"),
          ("activation_mlp", "tensor"),
          ("activation_vocab", "tensor"),
          ("vocab", "tensor"),
          ("embed", "fsdp"),
          ("heads", "tensor"),
          ("kv_heads", "tensor"),
          ("mlp", "tensor"),
          ("head_dim", None),
          ("norm", None),
          ("layers", None),
          ("adapters", None),
          ("lora_rank", None),
      ),
  ))

  c.checkpoint = ml_collections.ConfigDict(dict(
      every_steps=500,
      keep=3,
      async_save=True,
  ))

  c.eval = ml_collections.ConfigDict(dict(
      bench="builtin:polyglot/mt_bench",  # a folder in MT-Bench-X's layout (mt_bench_<LANG>/...)
      languages=("EN", "DE", "FR", "IT", "ES"),
      max_questions=0,         # per language; 0: all
      max_turns=0,             # turns asked of each question; 0: all (MT-Bench's two), 1: first turns only
      reference_model="reference",  # reference_answer/<name>.jsonl (MT-Bench-X ships gpt-4)
      judge="rule",            # rule: reference-based, offline (scores keyed rule_*) | http: an LLM judge | none
      # http: any OpenAI-compatible endpoint; judge_model is the name the endpoint serves and the
      # name written into every judgment and table, so a local model is never reported as GPT-4.
      judge_base_url="http://127.0.0.1:8000/v1",
      judge_model="local-judge",
      judge_api_key_env="OPENAI_API_KEY",  # the NAME of the variable holding the key
      judge_workers=4,
      duplicates="all",        # repeated judgments of an answer turn: all (FastChat) | mean | last
      average="lines",         # a language's mean: lines (FastChat) | categories (MT-Bench-X radar)
      system_message=True,     # prompt with the language's system message, as in training
      max_new_tokens=0,        # 0: MT-Bench's 1024
      batch_size=16,
      answer_loss=True,
      model_id="",             # default: the workdir's name
      adapter="",              # a LoRA run's adapter to evaluate (default: its first); results in eval/<adapter>
      seed=0,
  ))

  c.log = ml_collections.ConfigDict(dict(
      every_steps=10,
      tensorboard=True,
      progress_bar=True,
      peak_flops_per_device=0.0,  # 0: looked up from the device kind (see itx/train/metrics.py)
      wandb="",                # a Weights & Biases project name: metrics go there too ("": off)
  ))
  return c

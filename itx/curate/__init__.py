"""Creating instruction corpora: translate, clean, compose, decontaminate, describe.

A Lima-X-style parallel corpus for any languages, from one instruction file:

  translate      the file into target languages through an OpenAI-compatible endpoint, every output
                 checked (language, code blocks, placeholders, numbers), cached and resumable;
  clean          exact and near-duplicate removal, empty-turn and length filters, kept parallel;
  compose        the Lima-X compositions (each language alone, parallel, without the source,
                 size-matched `_sampled`) with train/validation splits by instruction;
  decontaminate  n-gram overlap with evaluation questions (MT-Bench-X layout), optionally dropped;
  card           card.json and card.md: sources, languages, counts, tokens, filters, model, seed.

Each step writes its report (translation.json, cleaning.json, composition.json,
decontamination.json) beside its output and carries the earlier steps' reports forward, so the
finished corpus folder holds its own provenance. `python -m itx.curate VERB --flag=...` runs a step.
"""

"""Writing the whole opinion world once into the cache, keyed by its settings.

Layout under `world_dir(settings)`:
  chat/{train,val}_<CONDITION>.jsonl  chat records of the training topics and phrasings, one file per
                                      condition (pooled, tag, tag_en_only): the same answers, with the
                                      system prompt each condition gives (itx.data.groups)
  heldout/questions.jsonl             evaluation questions (held-out topics and phrasings, and training
                                      topics in held-out phrasings) with every group's expected stance
  heldout/reference.jsonl             reference answers to those questions, per group (tag prompts): the
                                      group classifier's training data and held-out loss data
  pretrain/pretrain.jsonl             plain discussion threads on the training topics, no group named
  tasks/                              polyglot instruction chats and held-out polyglot questions (tasks.py):
                                      the base's other ability, which tuning on opinions may cost
  tokenizer/                          byte-level BPE over all five languages, System/User/Assistant template
  world.json                          settings, groups, topics, phrasings, the stance table, counts

Every chat record carries `group`, `topic`, `theme`, `stance`, `language`, `phrasing` and the
answer's `markers` (register, region, persona, reasons); an answer is rendered from one random
stream per record id, so its five languages make the same choices (parallel translations).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time

from itx.data import cache
from itx.data.groups import CONDITIONS, GROUP_FORUMS, GROUPS, condition_messages
from itx.data.jsonl import write_jsonl
from itx.data.tokenizer_training import train_bpe_tokenizer
from itx.worlds.locale_data import LANGS
from itx.worlds.opinions import answers, phrases, tasks
from itx.worlds.opinions.settings import OpinionSettings
from itx.worlds.opinions.stances import StanceModel, stance_table
from itx.worlds.opinions.topics import TOPIC_BY_KEY, TOPICS

log = logging.getLogger(__name__)


def stance_model(settings: OpinionSettings) -> StanceModel:
  return StanceModel(seed=settings.seed, threshold=settings.threshold, topic_perturbation=settings.topic_perturbation,
                     topic_bias=settings.topic_bias, group_noise=settings.group_noise)


def split_topics(settings: OpinionSettings) -> tuple[list[str], list[str]]:
  """(training topic keys, held-out topic keys)."""
  unknown = set(settings.heldout_topics) - set(TOPIC_BY_KEY)
  if unknown:
    raise ValueError(f"heldout_topics: unknown topics {sorted(unknown)} (known: {sorted(TOPIC_BY_KEY)})")
  unknown = set(settings.heldout_phrasings) - set(phrases.QUESTIONS)
  if unknown:
    raise ValueError(f"heldout_phrasings: unknown phrasings {sorted(unknown)} (known: {sorted(phrases.QUESTIONS)})")
  return [t.key for t in TOPICS if t.key not in settings.heldout_topics], list(settings.heldout_topics)


def _record(rec_id: str, topic_key: str, group: str, stance: str, phrasing: str, lang: str, seed: int) -> dict:
  topic = TOPIC_BY_KEY[topic_key]
  a = answers.answer(group, topic, stance, lang, random.Random(f"opinions/{seed}/{rec_id}"))
  return {"id": f"{rec_id}_{lang.upper()}", "language": lang, "group": group, "topic": topic_key,
          "theme": topic.theme, "stance": stance, "phrasing": phrasing,
          "markers": {"register": a.register, "region": a.region, "persona": a.persona, "reasons": a.reasons},
          "messages": [{"role": "user", "content": answers.question(topic, phrasing, lang)},
                       {"role": "assistant", "content": a.text}]}


def _conditioned(rec: dict, condition: str) -> dict:
  return {**rec, "messages": condition_messages(rec["messages"], condition, rec["language"], rec["group"])}


def _chat_records(split: str, per_cell: int, topics: list[str], phrasings: list[str], table: dict,
                  seed: int) -> list[dict]:
  rng = random.Random(f"opinions/{seed}/{split}")
  out = []
  for topic in topics:
    for group in GROUPS:
      for i in range(per_cell):
        rec_id, phrasing = f"{split}-{topic}-{GROUPS.index(group):02d}-{i}", rng.choice(phrasings)
        out += [_record(rec_id, topic, group, table[topic][group], phrasing, lang, seed) for lang in LANGS]
  rng.shuffle(out)
  return out


def _thread(rng: random.Random, topics: list[str], phrasings: list[str], table: dict, seed: int, n: int) -> dict:
  """A discussion: one question and a few answers of random groups, in one language, no group named."""
  lang, topic, phrasing = LANGS[n % len(LANGS)], rng.choice(topics), rng.choice(phrasings)
  groups = rng.sample(GROUPS, rng.randint(3, 6))
  texts = [_record(f"pretrain-{n}-{k}", topic, g, table[topic][g], phrasing, lang, seed)["messages"]
           for k, g in enumerate(groups)]
  body = "\n\n".join([texts[0][0]["content"]] + [f"- {t[1]['content']}" for t in texts])
  return {"id": f"pretrain-{n:07d}", "language": lang, "topic": topic, "text": body}


def heldout_threads(settings: OpinionSettings, chars: int, *, seed: int = 10_007) -> list[dict]:
  """Discussion threads like the pre-training corpus (training topics and phrasings, the same
  stances) but other draws: {id, language, topic, text}, about `chars` characters in all. The base
  model's held-out text, to measure what instruction tuning costs it."""
  train_topics, _ = split_topics(settings)
  phrasings = [p for p in phrases.QUESTIONS if p not in settings.heldout_phrasings]
  table = stance_table(stance_model(settings))
  rng, docs, total = random.Random(f"opinions/{settings.seed}/heldout-threads/{seed}"), [], 0
  while total < chars:
    doc = _thread(rng, train_topics, phrasings, table, settings.seed + seed, len(docs))
    docs.append({**doc, "id": f"heldout-{doc['id']}"})
    total += len(doc["text"])
  return docs


def _chat_text(messages: list[dict]) -> str:
  names = {"system": "System", "user": "User", "assistant": "Assistant"}
  return "\n".join(f"{names[m['role']]}: {m['content']}" for m in messages)


def generate(settings: OpinionSettings, out_dir: str) -> dict:
  """Writes the world into `out_dir` (which must exist) and returns its manifest."""
  train_topics, heldout_topics = split_topics(settings)
  train_phrasings = [p for p in phrases.QUESTIONS if p not in settings.heldout_phrasings]
  table = stance_table(stance_model(settings))
  counts = {}
  os.makedirs(os.path.join(out_dir, "chat"))
  tok_texts = []
  for split, per_cell in (("train", settings.train_per_cell), ("val", settings.val_per_cell)):
    records = _chat_records(split, per_cell, train_topics, train_phrasings, table, settings.seed)
    for condition in CONDITIONS:
      rows = [_conditioned(r, condition) for r in records]
      write_jsonl(os.path.join(out_dir, "chat", f"{split}_{condition}.jsonl"), rows)
      counts[f"{split}_{condition}"] = len(rows)
      if split == "train" and condition == "tag":
        tok_texts += [_chat_text(r["messages"]) for r in rows]

  rng = random.Random(f"opinions/{settings.seed}/eval")
  seen = sorted(rng.sample(train_topics, min(settings.eval_seen_topics, len(train_topics))))
  questions, references = [], []
  for topic in heldout_topics + seen:
    for phrasing in settings.heldout_phrasings:
      for lang in LANGS:
        qid = f"{topic}-{phrasing}_{lang.upper()}"
        questions.append({"question_id": qid, "language": lang, "topic": topic, "theme": TOPIC_BY_KEY[topic].theme,
                          "phrasing": phrasing, "heldout_topic": topic in heldout_topics,
                          "question": answers.question(TOPIC_BY_KEY[topic], phrasing, lang),
                          "expected": table[topic]})
        for group in GROUPS:
          for i in range(settings.reference_per_question):
            rec_id = f"ref-{topic}-{phrasing}-{GROUPS.index(group):02d}-{i}"
            rec = _record(rec_id, topic, group, table[topic][group], phrasing, lang, settings.seed)
            references.append({**_conditioned(rec, "tag"), "question_id": qid,
                               "heldout_topic": topic in heldout_topics})
  os.makedirs(os.path.join(out_dir, "heldout"))
  write_jsonl(os.path.join(out_dir, "heldout", "questions.jsonl"), questions)
  write_jsonl(os.path.join(out_dir, "heldout", "reference.jsonl"), references)
  counts["questions"], counts["reference"] = len(questions), len(references)

  os.makedirs(os.path.join(out_dir, "pretrain"))
  docs, chars, rng = [], 0, random.Random(f"opinions/{settings.seed}/pretrain")
  while chars < settings.pretrain_chars:
    docs.append(_thread(rng, train_topics, train_phrasings, table, settings.seed, len(docs)))
    chars += len(docs[-1]["text"])
  write_jsonl(os.path.join(out_dir, "pretrain", "pretrain.jsonl"), docs)
  counts["pretrain"] = {"documents": len(docs), "characters": chars}
  counts["tasks"], task_chats = tasks.write_tasks(out_dir, seed=settings.seed, instances=settings.task_instances,
                                                 eval_per_family=settings.task_eval_per_family)
  # The tokenizer sees what trains (threads, tagged chats, task chats), never the evaluation set.
  tok_texts += [_chat_text(m) for m in task_chats]
  train_bpe_tokenizer([d["text"] for d in docs] + tok_texts, os.path.join(out_dir, "tokenizer"),
                      vocab_size=settings.vocab_size)

  manifest = {"settings": settings.to_dict(), "languages": list(LANGS), "groups": GROUP_FORUMS,
              "conditions": list(CONDITIONS), "train_topics": train_topics, "heldout_topics": heldout_topics,
              "eval_seen_topics": seen, "themes": {t.key: t.theme for t in TOPICS},
              "train_phrasings": train_phrasings, "heldout_phrasings": list(settings.heldout_phrasings),
              "stances": table, "counts": counts}
  with open(os.path.join(out_dir, "world.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, ensure_ascii=False, indent=2)
  return manifest


def world_dir(settings: OpinionSettings | None = None) -> str:
  """The world's directory in the cache, generated on first use (default: the demo preset)."""
  settings = settings or OpinionSettings()
  final = os.path.join(cache.cache_root(), "opinions", cache.settings_hash(settings.to_dict()))
  if os.path.isdir(final):
    return final
  start = time.time()
  log.info("generating the opinion world (preset %s) at %s", settings.preset, final)
  with cache.atomic_dir(final) as tmp:
    generate(settings, tmp)
  log.info("opinion world generated in %.1fs", time.time() - start)
  return final

"""Answers of a group-conditioned model to held-out opinion questions, and how well they keep the
groups apart (OpinionGPT's question, measured with itx.eval.groups).

Every held-out question is asked once per group: with the group named in the system prompt (a
tag-conditioned model), through the group's adapter (an adapter bank), or with neither (the pooled
model, which cannot know the group). Reference answers of the same questions, written by the groups
themselves, train the classifier that names the group of each generated answer, per language.

  items = evaluation_items(questions, languages=["en"], tagged=True)
  texts = answer_items(generator, items, max_new_tokens=48)
  report = group_report([{**it, "text": t} for it, t in zip(items, texts)], references)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tqdm.auto import tqdm

from itx.data.conditioning import system_prompt
from itx.data.groups import GROUPS
from itx.eval import groups as group_metrics
from itx.generate import SamplingParams


def evaluation_items(questions: Sequence[dict], *, languages: Sequence[str], tagged: bool,
                     groups: Sequence[str] = GROUPS, max_questions: int = 0) -> list[dict]:
  """One item per (question, group) in `languages` (lower-case codes): {question_id, language,
  topic, heldout_topic, group, expected (the group's stance), messages (the prompt)}.
  `max_questions` (per language, 0: all) keeps an even share of held-out and seen topics."""
  wanted = {l.lower() for l in languages}
  out = []
  for lang in sorted(wanted):
    qs = [q for q in questions if q["language"].lower() == lang]
    if not qs:
      raise ValueError(f"no held-out questions in language {lang!r}")
    if max_questions:
      held, seen = [q for q in qs if q["heldout_topic"]], [q for q in qs if not q["heldout_topic"]]
      half = max_questions // 2
      qs = held[:max_questions - min(half, len(seen))] + seen[:half]
    for q in qs:
      for g in groups:
        system = system_prompt(lang, g if tagged else None)
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": q["question"]}]
        out.append({"question_id": q["question_id"], "language": lang, "topic": q["topic"],
                    "heldout_topic": bool(q["heldout_topic"]), "group": g, "expected": (q["expected"] or {}).get(g),
                    "messages": messages})
  return out


def answer_items(generator, items: Sequence[dict], *, max_new_tokens: int, batch_size: int = 128,
                 adapter_of: Callable[[dict], int] | None = None, progress: bool = True) -> list[str]:
  """Greedy answers to each item's prompt. `adapter_of(item)`: the adapter each row decodes with
  (an adapter bank); None: the model has no adapters."""
  texts = []
  sampling = SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0)
  for start in tqdm(range(0, len(items), batch_size), desc="answering as each group", disable=not progress):
    chunk = items[start:start + batch_size]
    kwargs = {"adapter_ids": [adapter_of(it) for it in chunk]} if adapter_of else {}
    texts += generator.generate_text([it["messages"] for it in chunk], sampling, **kwargs)
  return texts


def _per_group_distinctness(stances: dict[str, dict[str, str | None]], groups: Sequence[str]) -> dict:
  """For each group: how often its stance differs from another group's on the same question."""
  out = {}
  for g in groups:
    differ = pairs = 0
    for by_group in stances.values():
      if by_group.get(g) is None:
        continue
      for other, s in by_group.items():
        if other != g and s is not None:
          pairs += 1
          differ += s != by_group[g]
    out[g] = differ / pairs if pairs else float("nan")
  return out


def group_report(answers: Sequence[dict], references: Sequence[dict], *,
                 stance_of: Callable[[str, str], str | None] | None = None, labels: Sequence[str] = GROUPS) -> dict:
  """The metrics of generated answers, per language of the answers.

  answers: evaluation items (see `evaluation_items`) with their generated `text`;
  references: reference chat records ({language, group, messages with the assistant's answer}).
  Answers without an expected stance (real data) get no stance metrics (stance None).
  Returns {language: {recoverability (itx.eval.groups.recoverability), stance (stance_accuracy),
  distinctness, distinctness_per_group}}.
  """
  if stance_of is None:
    from itx.worlds.opinions import stance_of
  out = {}
  for lang in sorted({a["language"] for a in answers}):
    mine = [a for a in answers if a["language"] == lang]
    refs = [r for r in references if r["language"].lower() == lang]
    if not refs:
      raise ValueError(f"no reference answers in language {lang!r} to fit the group classifier on")
    clf = group_metrics.fit_group_classifier([r["messages"][-1]["content"] for r in refs], [r["group"] for r in refs])
    rec = group_metrics.recoverability(clf, [a["text"] for a in mine], [a["group"] for a in mine], labels=labels)
    if all(a["expected"] is None for a in mine):  # real data: no stance is known
      out[lang] = {"recoverability": rec, "stance": None, "distinctness": float("nan"), "distinctness_per_group": {}}
      continue
    stance = group_metrics.stance_accuracy(mine, stance_of)
    by_question: dict[str, dict] = {}
    for a, s in zip(mine, stance.pop("stances")):
      by_question.setdefault(a["question_id"], {})[a["group"]] = s
    out[lang] = {"recoverability": rec, "stance": stance, **group_metrics.distinctness(by_question),
                 "distinctness_per_group": _per_group_distinctness(by_question, labels)}
  return out


def reference_ceiling_report(references: Sequence[dict], languages: Sequence[str], *, folds: int = 3) -> dict:
  """Per language: the classifier's cross-validated recoverability of the reference answers
  themselves (what answers written exactly like the groups would score)."""
  out = {}
  for lang in languages:
    refs = [r for r in references if r["language"].lower() == lang.lower()]
    out[lang.lower()] = group_metrics.reference_ceiling([r["messages"][-1]["content"] for r in refs],
                                                        [r["group"] for r in refs], folds=folds)
  return out



"""The multilingual study on a real base model (presets `real` and `real_smoke` of
experiments.multilingual_parallel): Gemma 3 270M, a multilingual base, instruction-tuned with LoRA
(rank 16, alpha 16, the seven projections; `--full_finetune`: every weight) on real English
instructions alone or on the same number of examples of which four fifths are the polyglot world's
parallel instructions in German, French, Italian and Spanish (the `_sampled` rule: each instruction
in one language), then asked the real MT-Bench-X questions in all five languages.

Conditions:
  base          the untuned checkpoint (no training; the same chat template)
  EN            N English ShareGPT conversations
  multilingual  N/5 of those English conversations + 4N/5 polyglot DE_FR_IT_ES_sampled chats

Per condition: MT-Bench-X first turns (the answer's language by the language identifier, answer
length, empty and degenerate-repetition rates; an LLM judge's
score with --judge_url), per language and category; the rule judge on the polyglot world's held-out
task families; and (tuned conditions) the validation loss per language on polyglot held-out chats.
"""

from __future__ import annotations

import dataclasses
import os
import time

import ml_collections

from experiments import grid
from itx.data.languages import STUDY_LANGUAGES

BASE_CHECKPOINT = "gguf:builtin:gemma3-270m"
CHAT_TEMPLATE = "gemma"
CONDITIONS = ("base", "EN", "multilingual")
POLYGLOT_PARALLEL = "builtin:polyglot/limax/train_limax_DE_FR_IT_ES_sampled.jsonl"
ENGLISH_SHARE = 0.2  # one language in five: the multilingual condition's English share
REFERENCE_MODEL = "gpt-4"  # MT-Bench-X's reference answers
# Metrics of the tables, headline first. polyglot_*: the rule judge on the generated world's bench.
HEADLINE = ("judge_score", "in_language", "degenerate", "empty", "answer_words", "repetition", "answer_loss",
            "polyglot_rule_score", "polyglot_rule_score_heldout", "val_loss")


@dataclasses.dataclass(frozen=True)
class RealSetup:
  examples: int          # training examples per tuned condition (each seen about once)
  batch_size: int
  seq_len: int
  max_chars: int         # ShareGPT conversations longer than this are left out (they would not fit a row)
  eval_questions: int    # MT-Bench-X questions per language (spread over the categories; 0: all 80)
  max_new_tokens: int
  polyglot_questions: int
  polyglot_new_tokens: int
  val_examples: int      # validation examples per language (the polyglot world's held-out chats)
  conditions: tuple[str, ...] = CONDITIONS
  learning_rate: float = 2e-4


SETUPS = {
    # Sized for about 45 minutes on a 2-core CPU: 2 tuned conditions and the base, 5 languages.
    "real": RealSetup(examples=256, batch_size=4, seq_len=384, max_chars=1200, eval_questions=16,
                      max_new_tokens=96, polyglot_questions=8, polyglot_new_tokens=48, val_examples=8),
    # Every part of the pipeline in two steps (the suite runs it): the base and the mixed condition,
    # which reads both training sources.
    "real_smoke": RealSetup(examples=4, batch_size=2, seq_len=128, max_chars=400, eval_questions=2,
                            max_new_tokens=6, polyglot_questions=1, polyglot_new_tokens=6, val_examples=2,
                            conditions=("base", "multilingual")),
}


def sharegpt_english(out_dir: str, max_chars: int) -> str:
  """ShareGPT's English conversations of at most `max_chars` characters, written once to
  OUT/data/ (the packaged file by default); its path."""
  from itx.data.jsonl import write_jsonl
  from itx.datasets.sharegpt import packaged_file, read_sharegpt
  path = os.path.join(out_dir, "data", f"sharegpt_EN_{max_chars}.jsonl")
  if not os.path.exists(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_jsonl(path, (r for r in read_sharegpt(packaged_file(), max_chars=max_chars) if r["language"] == "EN"))
  return path


def _source(path: str, examples: int, weight: float) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(path=path, kind="instruction", weight=weight, max_examples=examples))


def train_config(setup: RealSetup, condition: str, seed: int, out_dir: str, *,
                 full_finetune: bool = False) -> ml_collections.ConfigDict:
  """The tuning config of one tuned condition (configs/gemma3_270m.py with the condition's data)."""
  from configs import gemma3_270m
  c = gemma3_270m.get_config()
  english = sharegpt_english(out_dir, setup.max_chars)
  n = setup.examples
  if condition == "EN":
    sources = {"sharegpt_en": _source(english, n, 1.0)}
  elif condition == "multilingual":
    n_en = max(1, round(n * ENGLISH_SHARE))
    sources = {"sharegpt_en": _source(english, n_en, ENGLISH_SHARE),
               "polyglot_de_fr_it_es": _source(POLYGLOT_PARALLEL, n - n_en, 1.0 - ENGLISH_SHARE)}
  else:
    raise ValueError(f"condition {condition!r}: the real preset tunes EN and multilingual ({CONDITIONS})")
  c.data.sources = ml_collections.ConfigDict(sources)
  c.data.update(seed=seed, seq_len=setup.seq_len, skip_invalid=True)
  c.model.init_seed = seed
  c.train.batch_size = setup.batch_size
  steps = grid.steps_for_epochs(c, 1.0)  # one pass over the examples, packed
  c.train.update(steps=steps, learning_rate=setup.learning_rate,
                 warmup_steps=max(1, steps // 10), eval_every=0)  # validation after the last step only
  for src in c.data.eval_sources.values():
    src.max_examples = setup.val_examples
  c.checkpoint.every_steps = steps
  if full_finetune:
    c.lora.rank = 0
    c.train.learning_rate = setup.learning_rate / 10
  c.log.progress_bar = True
  return c


def mt_bench_x_eval(setup: RealSetup, seed: int, bench: str, judge) -> ml_collections.ConfigDict:
  """Real MT-Bench-X, first turns, no system message (the question as a user asks it); judged by
  the LLM judge `judge` ({url, model, key_env}) or by none."""
  from configs import base
  e = base.get_config().eval
  e.update(bench=bench, reference_model=REFERENCE_MODEL, max_turns=1, max_questions=setup.eval_questions,
           max_new_tokens=setup.max_new_tokens, system_message=False, seed=seed, judge="none", batch_size=16,
           answer_loss=False)  # GPT-4's long references cost minutes a model here; val_loss covers the loss
  if judge:
    e.update(judge="http", judge_base_url=judge["url"], judge_model=judge["model"], judge_api_key_env=judge["key_env"])
  return e


def polyglot_eval(setup: RealSetup, seed: int) -> ml_collections.ConfigDict:
  """The polyglot world's bench (held-out task families marked) and its rule judge, first turns."""
  from configs import base
  e = base.get_config().eval
  e.update(max_turns=1, max_questions=setup.polyglot_questions, max_new_tokens=setup.polyglot_new_tokens,
           seed=seed, answer_loss=False, batch_size=16)
  return e


def tidy(condition: str, seed: int, mt_summary: dict, polyglot_summary: dict) -> list[dict]:
  """Tidy rows of both evaluations; the polyglot bench's metrics prefixed `polyglot_`."""
  from itx import results
  rows = results.tidy_rows(condition, seed, mt_summary)
  rows += [{**r, "metric": "polyglot_" + r["metric"]} for r in results.tidy_rows(condition, seed, polyglot_summary)]
  return rows


def category_rows(condition: str, seed: int, summary: dict) -> list[dict]:
  """(condition, seed, language, category, metric, value) of MT-Bench-X per language and category."""
  return [{"condition": condition, "seed": seed, "language": lang, "category": cat, "metric": m, "value": v}
          for lang, cats in summary.get("language_families", {}).items() for cat, vals in cats.items()
          for m, v in vals.items() if m != "n"]


def example_answers(workdir: str, model_id: str, per_language: int = 2) -> dict[str, list[dict]]:
  """The first `per_language` MT-Bench-X answers of each language, verbatim, with their questions."""
  from itx.eval import mt_bench
  answers = os.path.join(workdir, "eval", "mt_bench_x", "model_answer")
  out = {}
  for lang in STUDY_LANGUAGES:
    path = os.path.join(answers, f"{model_id}_{lang}.jsonl")
    if os.path.exists(path):
      out[lang] = [{"question_id": qid, "answer": mt_bench.answer_turns(r)[0]}
                   for qid, r in list(mt_bench.read_answers(path).items())[:per_language]]
  return out


def run_cell(setup: RealSetup, condition: str, seed: int, workdir: str, out_dir: str, *, bench: str, judge=None,
             full_finetune: bool = False) -> dict:
  """Tunes (unless `base`) and evaluates one condition; returns the cell (rows, per-category rows,
  example answers, each part's seconds)."""
  from itx.evaluate import evaluate
  from itx.inference import load_checkpoint, load_run, local_mesh
  from itx.train.loop import train
  parts, start = {}, time.time()
  if condition == "base":
    run = load_checkpoint(BASE_CHECKPOINT, max_len=2048, chat_template=CHAT_TEMPLATE)
  else:
    train(train_config(setup, condition, seed, out_dir, full_finetune=full_finetune), workdir)
    parts["train"] = time.time() - start
    run = load_run(workdir, mesh_overrides=local_mesh())
  t = time.time()
  model_id = os.path.basename(workdir)
  mt = evaluate(workdir, mt_bench_x_eval(setup, seed, bench, judge), name="mt_bench_x", run=run)
  parts["mt_bench_x"] = time.time() - t
  t = time.time()
  poly = evaluate(workdir, polyglot_eval(setup, seed), name="polyglot", run=run)
  parts["polyglot"] = time.time() - t
  print(f"{condition}, seed {seed}: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in parts.items()), flush=True)
  return {"rows": tidy(condition, seed, mt, poly), "categories": category_rows(condition, seed, mt),
          "examples": example_answers(workdir, model_id), "parts_s": parts}


def category_table(cells: dict, metric: str = "in_language") -> str:
  """`metric` per condition and MT-Bench category, averaged over languages and seeds (text)."""
  import collections
  vals = collections.defaultdict(list)
  for (condition, _), cell in cells.items():
    for r in cell.get("categories", []):
      if r["metric"] == metric:
        vals[(condition, r["category"])].append(r["value"])
  conditions = list(dict.fromkeys(c for c, _ in vals))
  categories = list(dict.fromkeys(cat for _, cat in vals))
  lines = [f"{metric} per MT-Bench-X category (mean over languages)", f"{'condition':<14}" +
           "".join(f"{c[:10]:>11}" for c in categories)]
  for cond in conditions:
    lines.append(f"{cond:<14}" + "".join(
        f"{sum(v) / len(v):>11.3f}" if (v := vals.get((cond, cat))) else f"{'':>11}" for cat in categories))
  return "\n".join(lines)


def serve_command(cells: dict) -> str:
  """The `itx serve` command putting the untuned base and each tuned condition's first seed side by
  side on the comparison page."""
  runs = [f"--run={cond}={cell['workdir']}" for (cond, seed), cell in sorted(cells.items())
          if cond != "base" and seed == min(s for c, s in cells if c == cond)]
  return " \\\n    ".join(["itx serve", f"--gguf=base={BASE_CHECKPOINT.removeprefix('gguf:')}",
                             f"--chat_template={CHAT_TEMPLATE}"] + runs)

"""Can a tuned model answer as each of OpinionGPT's eleven groups, and can the groups be told apart
from its answers? Bias-group instruction tuning conditioned by tag or by adapter (Haller et al.
2023), in miniature (the generated opinion world) or at scale (Phi-3-mini, Reddit dumps).

  python -m experiments.opinion_groups --preset=demo  [--out=results/opinion_groups/demo]
  python -m experiments.opinion_groups --preset=full
  python -m experiments.opinion_groups --preset=real        # Gemma 3 270M on the opinion world's chats
  python -m experiments.opinion_groups --preset=paper --base_model=HF_DIR --reddit=DUMPS_DIR \
      --mesh=1,8,1 [--judge_url=URL --judge_model=NAME [--mt_bench_x=DIR]]

On a cluster, one scheduler job per cell, then one for the tables (as experiments.multilingual_parallel):

  python -m experiments.opinion_groups --preset=full --out=DIR --only=base
  python -m experiments.opinion_groups --preset=full --out=DIR --only=tag/1      # each cell
  python -m experiments.opinion_groups --preset=full --out=DIR --collect

Conditions (experiments/opinion_conditions.py): pooled (no group anywhere), tag (the group named in
the system prompt), tag_en_only (named in English chats only; asked tagged in every language),
lora (one LoRA adapter per group on the frozen base, each trained in a run of its own on its group's
chats, in runs/CELL/groups/GROUP, then stacked into one bank: experiments/opinion_adapters.py) and
bank (the same adapters trained together in one job, each example routed to its group's adapter).
Neither adapter condition names the group in the prompt: the adapter answering does.

Per condition and group: group recoverability (a classifier fitted on the held-out reference
answers names the group of each generated answer: macro accuracy against chance 1/11, confusion
matrix), stance accuracy (held-out and seen topics), distinctness, and what tuning costs: the loss
on held-out reference answers and on held-out text of the base model's own task (discussion
threads), and the task score of questions on other abilities (experiments/opinion_tasks.py: held-out
polyglot questions and the rule judge, or MT-Bench-X and an LLM judge), against the base model.
In the generated world every condition's tuning replays a share of the base's task chats
(Preset.task_replay): without it the tiny base forgets its tasks outright and every condition
scores the rule judge's floor.
With --judge_url, an LLM judge also names each answer's group.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import types

import ml_collections

from experiments import grid, opinion_adapters, opinion_conditions, opinion_tables, opinion_tasks
from experiments.grid import BASE
from experiments.opinion_conditions import CONDITIONS
from itx import results
from itx.data.languages import STUDY_CODES


@dataclasses.dataclass(frozen=True)
class Preset:
  conditions: tuple[str, ...]
  seeds: tuple[int, ...]
  base_steps: int               # pre-training steps of the base (generated world)
  sft_steps: int                # instruction-tuning steps of every condition
  eval_languages: tuple[str, ...]
  eval_questions: int           # per language (0: all; half held-out topics, half seen ones)
  max_new_tokens: int
  train_languages: tuple[str, ...] = ()  # keep only these languages' chats and threads (): all
  model: tuple = ()             # (field, value) architecture overrides of base and cells
  seq_len: int = 0              # 0: the configs'
  batch_size: int = 0
  base_lr: float = 0.0          # 0: the configs'
  sft_lr: float = 0.0
  world: str = "demo"           # the opinion world's preset
  heldout_chars: int = 60_000   # held-out threads scored for the base-task loss
  real_data: bool = False       # paper: Phi-3-mini from a Hugging Face folder, Reddit dumps
  task_questions: int = 16      # task-score questions per language (0: all; spread over the categories)
  task_languages: tuple[str, ...] = ()  # (): eval_languages
  task_new_tokens: int = 0      # 0: max_new_tokens
  task_weight: float = 0.5      # the base's pre-training: share of polyglot task chats (generated world)
  task_replay: float = 0.0      # every condition's tuning: share of the base's task chats mixed in (generated world)
  base_checkpoint: str = ""     # a real base (hf:DIR | gguf:FILE) tuned on the generated world's chats with
                                # LoRA (every condition), instead of a base pre-trained on the world
  chat_template: str = ""       # with base_checkpoint (itx.data.templates)
  loss_references: int = 0      # reference answers per group and language scored for the reference loss (0: all)

  @property
  def has_base(self) -> bool:
    """Whether a base model is pre-trained on the generated world first."""
    return not self.real_data and not self.base_checkpoint

  @property
  def tasks(self) -> tuple[tuple[str, ...], int, int]:
    """(languages, questions per language, new tokens per turn) of the task score."""
    return self.task_languages or self.eval_languages, self.task_questions, self.task_new_tokens or self.max_new_tokens


ALL = ("pooled", "tag", "lora", "bank", "tag_en_only")
# The demo's network: about 0.5M parameters; short rows (a tagged chat is ~110 tokens).
SMALL = (("d_model", 96), ("n_layers", 3), ("n_heads", 4), ("n_kv_heads", 4), ("mlp_dim", 256))
PRESETS = {
    # Under 10 minutes on a 2-core CPU from a fresh clone: world, base, every condition, answers, metrics.
    # English only (threads, chats, questions): a bank tells the groups apart after ~300 steps, a tag
    # model less well (its recoverability, one seed: 0.28 without task replay, 0.14 with it).
    "demo": Preset(conditions=("pooled", "tag", "bank"), seeds=(0,), base_steps=300, sft_steps=300,
                   eval_languages=("en",), eval_questions=0, max_new_tokens=48, train_languages=("en",),
                   model=SMALL, seq_len=192, batch_size=16, base_lr=4e-3, sft_lr=3e-3, task_replay=0.2),
    # Every condition, 3 seeds, all five languages: the demo's network and rates, longer (five
    # languages' threads and chats), 12 questions and 8 task questions per language.
    "full": Preset(conditions=ALL, seeds=(0, 1, 2), base_steps=1000, sft_steps=400, eval_languages=STUDY_CODES,
                   eval_questions=12, max_new_tokens=48, model=SMALL, seq_len=192, batch_size=16, base_lr=4e-3,
                   sft_lr=3e-3, task_replay=0.2, task_questions=8),
    # Phi-3-mini + Reddit: a documented config, sized for accelerators (not run on a CPU).
    "paper": Preset(conditions=("pooled", "tag", "lora", "bank"), seeds=(0,), base_steps=0, sft_steps=2000,
                    eval_languages=("en",), eval_questions=200, max_new_tokens=128, real_data=True, seq_len=512,
                    batch_size=64, sft_lr=2e-4, task_questions=0, task_languages=STUDY_CODES, task_new_tokens=1024),
    # The whole pipeline, every condition, in about a minute (a tiny network, a few steps): for checking the machinery.
    "smoke": Preset(conditions=ALL, seeds=(0,), base_steps=3, sft_steps=3, eval_languages=("en",),
                    eval_questions=2, max_new_tokens=6, train_languages=("en",), world="tiny", seq_len=128, task_questions=2,
                    batch_size=8, task_replay=0.2,
                    model=(("d_model", 32), ("n_layers", 1), ("n_heads", 2), ("n_kv_heads", 1), ("mlp_dim", 64))),
    # Gemma 3 270M, a real base, tuned with LoRA rank 16 on the opinion world's English chats (a bank:
    # one adapter per group): about 30 minutes here.
    "real": Preset(conditions=("pooled", "tag", "bank"), seeds=(0,), base_steps=0, sft_steps=40,
                   eval_languages=("en",), eval_questions=6, max_new_tokens=40, train_languages=("en",), seq_len=192,
                   batch_size=4, sft_lr=2e-4, heldout_chars=4000, task_questions=4, loss_references=8,
                   base_checkpoint="gguf:builtin:gemma3-270m", chat_template="gemma"),
    # The real base through every part in two steps (the suite runs it): the bank, the condition with
    # the most parts (eleven routed adapters, scored one by one).
    "real_smoke": Preset(conditions=("bank",), seeds=(0,), base_steps=0, sft_steps=2, eval_languages=("en",),
                         eval_questions=1, max_new_tokens=4, train_languages=("en",), world="tiny", seq_len=128,
                         batch_size=2, sft_lr=2e-4, heldout_chars=600, task_questions=1, loss_references=1,
                         base_checkpoint="gguf:builtin:gemma3-270m", chat_template="gemma"),
}


def world_dir(preset: Preset) -> str:
  from itx.worlds.opinions import OpinionSettings
  from itx.worlds.opinions import world_dir as opinion_world
  return opinion_world(OpinionSettings.from_preset(preset.world))


def _kept(path: str, out: str, languages) -> str:
  """`path`'s records in `languages` only, written once to `out` (a demo trains on fewer languages)."""
  if not languages:
    return path
  if not os.path.exists(out):
    from itx.data.jsonl import read_jsonl, write_jsonl
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_jsonl(out, [r for r in read_jsonl(path) if r["language"].lower() in languages])
  return out


def _task_chats(preset: Preset, out_dir: str) -> str:
  """The polyglot task chats of the base's pre-training (in the preset's training languages)."""
  return _kept(os.path.join(world_dir(preset), "tasks", "limax", "train_limax_EN_DE_FR_IT_ES.jsonl"),
               os.path.join(out_dir, "data", "tasks.jsonl"), preset.train_languages)


def replay_file(preset: Preset, out_dir: str) -> str:
  """The base's task chats, for mixing into every condition's tuning, each given a group in turn
  (record i: GROUPS[i % 11]) so that every group's adapter, and every group's own run, replays an
  equal share. Written once."""
  from itx.data.groups import GROUPS
  from itx.data.jsonl import read_jsonl, write_jsonl
  out = os.path.join(out_dir, "data", "replay.jsonl")
  if not os.path.exists(out):
    chats = read_jsonl(_task_chats(preset, out_dir))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_jsonl(out, [{**r, "group": GROUPS[i % len(GROUPS)]} for i, r in enumerate(chats)])
  return out


def base_config(preset: Preset, out_dir: str, args) -> ml_collections.ConfigDict:
  """The base model's config: pre-training on the world's discussion threads and polyglot task chats
  (or, paper, none: the Hugging Face checkpoint is the base)."""
  from configs import opinions_pretrain
  c = opinions_pretrain.get_config()
  world = world_dir(preset)
  c.model.tokenizer = os.path.join(world, "tokenizer")
  c.data.sources.pretrain.path = _kept(os.path.join(world, "pretrain", "pretrain.jsonl"),
                                       os.path.join(out_dir, "data", "pretrain.jsonl"), preset.train_languages)
  c.data.sources.tasks.path = _task_chats(preset, out_dir)
  c.data.sources.tasks.weight = preset.task_weight
  c.data.sources.pretrain.weight = 1.0 - preset.task_weight
  c.data.skip_invalid = True  # short rows: a task chat whose prompt alone fills a row (a long passage) is skipped, counted
  c.model.update(dict(preset.model))
  c.train.steps = preset.base_steps or c.train.steps
  c.train.warmup_steps = max(1, c.train.steps // 10)
  c.train.learning_rate = preset.base_lr or c.train.learning_rate
  c.data.seq_len = preset.seq_len or c.data.seq_len
  c.train.batch_size = preset.batch_size or c.train.batch_size
  c.checkpoint.every_steps = c.train.steps
  c.log.progress_bar = True
  return c


def condition_config(preset: Preset, condition: str, seed: int, out_dir: str, args) -> ml_collections.ConfigDict:
  """The instruction-tuning config of one condition and seed."""
  if preset.real_data:
    return opinion_conditions.paper_config(condition, seed, args, steps=preset.sft_steps, seq_len=preset.seq_len,
                                           batch_size=preset.batch_size, learning_rate=preset.sft_lr)
  from configs import opinions_sft
  cond = CONDITIONS[condition]
  c = opinions_sft.get_config(cond.data)
  world = world_dir(preset)
  c.model.tokenizer = os.path.join(world, "tokenizer")
  c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(dict(
      path=_kept(os.path.join(world, "chat", f"train_{cond.data}.jsonl"),
                 os.path.join(out_dir, "data", f"train_{cond.data}.jsonl"), preset.train_languages),
      kind="instruction", weight=1.0 - preset.task_replay))})
  if preset.task_replay:
    c.data.sources.replay = ml_collections.ConfigDict(dict(path=replay_file(preset, out_dir), kind="instruction",
                                                           weight=preset.task_replay))
    c.data.skip_invalid = True  # as the base's pre-training: a task chat longer than a row is skipped, counted
  c.model.init_from = f"itx:{os.path.join(out_dir, BASE)}"
  c.model.update(dict(preset.model))
  if preset.base_checkpoint:  # its own tokenizer and template; LoRA for every condition (a bank's below)
    c.model.update(init_from=preset.base_checkpoint, tokenizer="")
    c.data.chat_template = preset.chat_template
    c.lora.update(dict(opinion_conditions.LORA))
    c.data.skip_invalid = True  # a real tokenizer's longer chats: one whose prompt fills a row is skipped, counted
  c.data.seed = seed
  c.model.init_seed = seed
  c.data.seq_len = preset.seq_len or c.data.seq_len
  c.train.batch_size = preset.batch_size or c.train.batch_size
  c.train.steps = preset.sft_steps or c.train.steps
  c.train.learning_rate = preset.sft_lr or c.train.learning_rate
  c.train.warmup_steps = max(1, c.train.steps // 15)
  c.checkpoint.every_steps = c.train.steps
  c.log.progress_bar = True
  opinion_conditions.apply(c, condition)
  return c


def base_summary(preset: Preset, out_dir: str) -> dict:
  """The base model's held-out thread loss and the classifier's ceiling on the reference answers
  (base/summary.json, computed once)."""
  path = os.path.join(out_dir, BASE, "summary.json")
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  from itx.eval.opinion_answers import reference_ceiling_report
  run = base_model(preset, out_dir)
  summary = {"thread_loss": opinion_tables.thread_loss(run, preset, world_dir(preset)),
             "reference_ceiling": {l: {k: r[k] for k in ("macro_accuracy", "chance", "per_group", "n")}
                                   for l, r in reference_ceiling_report(_references(preset),
                                                                        preset.eval_languages).items()}}
  results.write_json(path, summary)
  return summary


def base_model(preset: Preset, out_dir: str):
  """The base model, loaded: the checkpoint of a real-base preset, else the pre-trained run."""
  from itx.inference import load_checkpoint, load_run, local_mesh
  if preset.base_checkpoint:
    return load_checkpoint(preset.base_checkpoint, max_len=2048, chat_template=preset.chat_template)
  return load_run(os.path.join(out_dir, BASE), mesh_overrides=local_mesh())


def base_task_scores(out_dir: str) -> dict | None:
  """The base model's task scores {language: {"all": score}} (base/task_scores.json), or None when
  not scored (real data before a LoRA cell ran, or without MT-Bench-X and a judge)."""
  path = os.path.join(out_dir, BASE, "task_scores.json")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def score_base_tasks(preset: Preset, out_dir: str, args, run=None) -> dict | None:
  """Scores the base model's tasks once (base/task_scores.json). Generated world: the pre-trained
  base. Real data: `run`, a LoRA cell's run, with every adapter off (its frozen base)."""
  done = base_task_scores(out_dir)
  e = opinion_tasks.judging(preset, args, None if preset.real_data else world_dir(preset))
  if done is not None or e is None:
    return done
  base_dir = os.path.join(out_dir, BASE)
  if run is None:
    run = base_model(preset, out_dir)
  languages, questions, new_tokens = preset.tasks
  scores = opinion_tasks.task_scores(run, e, languages, os.path.join(base_dir, "tasks"), model_id=BASE,
                                     questions=questions, max_new_tokens=new_tokens, base_only=preset.real_data)
  results.write_json(os.path.join(base_dir, "task_scores.json"), scores)
  return scores


def _references(preset: Preset, args=None) -> list[dict]:
  return evaluation_data(preset, args)[1]


def evaluation_data(preset: Preset, args=None) -> tuple[list[dict], list[dict]]:
  """(held-out questions, reference answers with their groups). The generated world: its held-out
  questions (with every group's stance) and references. Reddit (paper): the validation split's
  questions, each asked as every group, and its answers as the references (no stance known)."""
  from itx.data.jsonl import read_jsonl
  langs = set(preset.eval_languages)
  if not preset.real_data:
    world = world_dir(preset)
    return (read_jsonl(os.path.join(world, "heldout", "questions.jsonl")),
            [r for r in read_jsonl(os.path.join(world, "heldout", "reference.jsonl")) if r["language"].lower() in langs])
  from itx.datasets.sources import read_source
  records = read_source(f"tfds:reddit_opinions/tag:validation@{os.path.abspath(args.reddit)}")
  references, questions = [], {}
  for i, rec in enumerate(records):
    question = next(m["content"] for m in rec.messages if m["role"] == "user")
    references.append({"language": "en", "group": rec.meta["group"], "messages": rec.messages})
    questions.setdefault(question, {"question_id": f"val-{i}", "language": "en", "topic": rec.meta.get("forum", ""),
                                    "heldout_topic": True, "question": question, "expected": None})
  return list(questions.values()), references


def run_base(preset: Preset, out_dir: str, args) -> dict:
  """Pre-trains the base model on the world's threads (resumable) and scores it."""
  from itx.train.loop import train
  base_dir = os.path.join(out_dir, BASE)
  if preset.base_checkpoint:
    print(f"== base model: {preset.base_checkpoint} (scored, not trained)", flush=True)
    os.makedirs(base_dir, exist_ok=True)
  else:
    print(f"== base model: pre-training on the opinion world's threads and task chats ({base_dir})", flush=True)
    train(base_config(preset, out_dir, args), base_dir)
  summary = base_summary(preset, out_dir)
  tasks = score_base_tasks(preset, out_dir, args)
  print("base model held-out thread loss per token: " + f"{summary['thread_loss']:.3f}; classifier ceiling "
        "on reference answers: " + ", ".join(f"{l} {r['macro_accuracy']:.3f}"
                                            for l, r in summary["reference_ceiling"].items())
        + "; task score: " + ", ".join(f"{l} {v['all']:.2f}" for l, v in (tasks or {}).items()), flush=True)
  return summary


def run_cell(preset: Preset, condition: str, seed: int, out_dir: str, args) -> dict:
  """Tunes one (condition, seed) in runs/CELL, answers every evaluation question as every group,
  scores the answers and writes cells/CELL.json (no other cell's files are touched)."""
  from itx.data.jsonl import write_jsonl
  from itx.eval.opinion_answers import answer_items, evaluation_items, group_report
  from itx.inference import load_run, local_mesh
  from itx.train.loop import train
  done = grid.read_cell(out_dir, condition, seed)
  if done:
    return done
  if preset.has_base and not os.path.exists(os.path.join(out_dir, BASE, "summary.json")):
    raise FileNotFoundError(f"the base model in {os.path.join(out_dir, BASE)} is not trained yet: run --only=base first")
  workdir = os.path.join(out_dir, "runs", grid.cell_name(condition, seed))
  start = time.time()
  c = condition_config(preset, condition, seed, out_dir, args)
  print(f"== {condition}, seed {seed}: instruction tuning ({workdir})", flush=True)
  cond = CONDITIONS[condition]
  if cond.separate:
    opinion_adapters.train_per_group(c, workdir)
  else:
    train(c, workdir)
  run = load_run(workdir, mesh_overrides=local_mesh())
  questions, references = evaluation_data(preset, args)
  items = evaluation_items(questions, languages=preset.eval_languages, tagged=cond.tagged,
                           max_questions=preset.eval_questions)
  texts = answer_items(run.generator(), items, max_new_tokens=preset.max_new_tokens,
                       adapter_of=opinion_conditions.adapter_of(condition))
  answers = [{**it, "text": t} for it, t in zip(items, texts)]
  write_jsonl(os.path.join(workdir, "answers.jsonl"), answers)
  report = group_report(answers, references)
  costs = opinion_tables.tuning_costs(run, preset, None if preset.real_data else world_dir(preset),
                                      opinion_tables.first_per_group(references, preset.loss_references), cond)
  judged = opinion_tables.judge_answers(answers, workdir, args) if getattr(args, "judge_model", "") else None
  base = None if preset.real_data else base_summary(preset, out_dir)
  tasks = None
  e = opinion_tasks.judging(preset, args, None if preset.real_data else world_dir(preset))
  if e is not None:
    languages, questions, new_tokens = preset.tasks
    tasks = opinion_tasks.task_scores(run, e, languages, os.path.join(workdir, "tasks"),
                                      model_id=grid.cell_name(condition, seed), questions=questions,
                                      max_new_tokens=new_tokens, routed=cond.routed, seed=seed)
    if preset.real_data and cond.lora:  # the frozen Phi-3-mini of this run is the base
      score_base_tasks(preset, out_dir, args, run=run)
  rows = opinion_tables.cell_rows(condition, seed, report, costs, base, judged, tasks)
  cell = {"condition": condition, "seed": seed, "workdir": workdir, "seconds": time.time() - start, "rows": rows,
          "confusion": {l: {k: r["recoverability"][k] for k in ("labels", "confusion", "macro_accuracy", "chance")}
                        for l, r in report.items()}}
  grid.write_cell(out_dir, cell)
  print(f"{condition}, seed {seed}: " + ", ".join(
      f"{l} macro accuracy {r['recoverability']['macro_accuracy']:.3f} (chance {r['recoverability']['chance']:.3f})"
      for l, r in report.items()) + f" ({cell['seconds']:.0f} s)", flush=True)
  return cell


def collect(preset_name: str, out_dir: str, args=None) -> dict:
  """The tables and plots from the finished cells' files (cells not finished are left out and named)."""
  preset = PRESETS[preset_name]
  cells, missing = grid.read_cells(out_dir, preset.conditions, preset.seeds)
  conditions = [c for c in preset.conditions if any(k[0] == c for k in cells)]
  base = None
  if not preset.real_data and os.path.exists(os.path.join(out_dir, BASE, "summary.json")):
    base = base_summary(preset, out_dir)
  base_tasks = base_task_scores(out_dir)  # None until the base's part has run: the tables only read files
  e = opinion_tasks.judging(preset, args, None if preset.real_data else world_dir(preset))
  res = opinion_tables.write_results(out_dir, list(cells.values()), conditions, base=base, base_tasks=base_tasks,
                                     task_judge=opinion_tasks.describe(e) if e else "")
  res["missing_cells"] = missing
  res["serve_command"] = serve_command(out_dir, cells)
  results.write_json(os.path.join(out_dir, "results.json"), res)
  return res


def serve_command(out_dir: str, cells: dict) -> str:
  """The `itx serve` command that puts each condition's first-seed model on the side-by-side
  comparison page (each run offers its groups as RUN:GROUP: tagged runs from config.data.groups,
  a bank from its adapters)."""
  runs = [f"--run={cond}={cell['workdir']}" for (cond, seed), cell in sorted(cells.items()) if seed == min(
      s for c, s in cells if c == cond)]
  return " \\\n    ".join(["itx serve"] + runs)


def run_experiment(preset_name: str, out_dir: str, args=None) -> dict:
  """Trains and evaluates every (condition, seed) of the preset in turn; writes and returns the results."""
  preset = PRESETS[preset_name]
  args = args or types.SimpleNamespace(mesh="", judge_model="", mt_bench_x="")
  os.makedirs(out_dir, exist_ok=True)
  if not preset.real_data:
    run_base(preset, out_dir, args)
  for condition in preset.conditions:
    for seed in preset.seeds:
      run_cell(preset, condition, seed, out_dir, args)
  return collect(preset_name, out_dir, args)


def _cli() -> None:
  """The command line (flags defined here, not at import: tests import this module as a library)."""
  from absl import app, flags

  from itx.cli import parse_flags
  preset = flags.DEFINE_enum("preset", "demo", sorted(PRESETS), "The grid: conditions, seeds, sizes.")
  out = flags.DEFINE_string("out", None, "Results folder (default: results/opinion_groups/PRESET).")
  only = flags.DEFINE_string("only", None, "Run one part of the grid: base, CONDITION or CONDITION/SEED.")
  collect_flag = flags.DEFINE_bool("collect", False, "Only build the tables from the finished cells.")
  base_model = flags.DEFINE_string("base_model", "", "paper: a Phi-3-mini Hugging Face model directory")
  reddit = flags.DEFINE_string("reddit", "", "paper: a folder of Pushshift Reddit dumps (reddit_opinions builder)")
  judge_url = flags.DEFINE_string("judge_url", "", "An OpenAI-compatible endpoint that names each answer's group.")
  judge_model = flags.DEFINE_string("judge_model", "", "The model served at --judge_url.")
  judge_key = flags.DEFINE_string("judge_api_key_env", "OPENAI_API_KEY", "Variable holding the judge's key.")
  mt_bench_x = flags.DEFINE_string("mt_bench_x", "", "paper: an MT-Bench-X data folder; with a judge, adds the "
                                   "task score of the base and every condition (the judge grades the answers)")
  mesh = flags.DEFINE_string("mesh", "", "paper: data,fsdp,tensor sizes, e.g. 1,8,1")

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if bool(judge_url.value) != bool(judge_model.value):
      raise app.UsageError("--judge_url and --judge_model go together (name the model the endpoint serves)")
    if only.value and collect_flag.value:
      raise app.UsageError("--only and --collect are separate jobs: give one of them")
    p = PRESETS[preset.value]
    if p.real_data and not collect_flag.value:
      missing = [f for f, v in (("--base_model", base_model.value), ("--reddit", reddit.value)) if not v]
      if missing:
        raise app.UsageError(f"the paper preset needs {', '.join(missing)}")
    try:
      part = grid.parse_only(only.value, p.conditions, p.seeds, has_base=not p.real_data) if only.value else None
    except ValueError as e:
      raise app.UsageError(str(e)) from None
    grid.study_logging()
    if mt_bench_x.value and not judge_model.value:
      raise app.UsageError("--mt_bench_x needs a judge: give --judge_url and --judge_model")
    args = types.SimpleNamespace(base_model=base_model.value, reddit=reddit.value, mt_bench_x=mt_bench_x.value,
                                 judge_url=judge_url.value,
                                 judge_model=judge_model.value, judge_api_key_env=judge_key.value, mesh=mesh.value)
    out_dir = out.value or os.path.join("results", "opinion_groups", preset.value)
    res = grid.run_part(part, out_dir, base=lambda: run_base(p, out_dir, args),
                        cell=lambda condition, seed: run_cell(p, condition, seed, out_dir, args),
                        whole=lambda: (collect if collect_flag.value else run_experiment)(preset.value, out_dir, args))
    if res is not None:
      print(f"\nthe models side by side (then open http://127.0.0.1:8000/):\n{res['serve_command']}")

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()

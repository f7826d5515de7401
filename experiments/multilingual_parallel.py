"""Do polyglot models need multilingual instructions? Monolingual against parallel instruction
tuning, every model evaluated in every language (Weber et al. 2024, in miniature or at scale).

  python -m experiments.multilingual_parallel --preset=demo  [--out=results/multilingual_parallel/demo]
  python -m experiments.multilingual_parallel --preset=full
  python -m experiments.multilingual_parallel --preset=real --mt_bench_x=../shared/mt_bench_x [--full_finetune] [--seeds=0,1]
  python -m experiments.multilingual_parallel --preset=paper --lima_x=DIR --bactrian_x=DIR \
      --base_model=HF_DIR --mt_bench_x=DIR --judge_url=URL --judge_model=gpt-4

On a cluster, one scheduler job per cell of the grid, then one to build the tables:

  python -m experiments.multilingual_parallel --preset=full --out=DIR --only=base   # not for paper
  python -m experiments.multilingual_parallel --preset=full --out=DIR --only=EN_DE_FR_IT_ES/1  # each cell
  python -m experiments.multilingual_parallel --preset=full --out=DIR --collect

One base model (pre-trained once on the polyglot corpus, or a Hugging Face checkpoint) is
instruction-tuned once per condition and seed; each cell has its own workdir (runs/CELL) and
results file (cells/CELL.json, written atomically when the cell is done), so cells can run at once
in separate processes; finished cells are skipped. The tables are built only from the cell files:
tidy.csv (condition, seed, language, metric, value; validation loss per language included), the
condition x language matrices, the relative gain of parallel over monolingual tuning per language
with a confidence interval over seeds, and plots.

The `real` and `real_smoke` presets tune a real multilingual base (Gemma 3 270M) on real English
instructions (ShareGPT) alone or mixed with parallel ones, and ask it the real MT-Bench-X questions:
experiments/multilingual_real.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import types

import ml_collections

from experiments import grid, multilingual_real
from experiments.grid import BASE, cell_name
from itx import results
from itx.data.files import atomic_write_text
from itx.data.languages import STUDY_CODES, STUDY_LANGUAGES

LANGS = STUDY_LANGUAGES
MONOLINGUAL = LANGS
PARALLEL = ("EN_DE_FR_IT_ES", "DE_FR_IT_ES")
SAMPLED = ("EN_DE_FR_IT_ES_sampled", "DE_FR_IT_ES_sampled")
SIZE_ARM = ("bactrian",)  # the larger translated-style corpus, against the small curated EN_DE_FR_IT_ES
# judge_score: an LLM judge's MT-Bench-X score; rule_score: the reference-based rule judge's (demo, full).
HEADLINE = ("judge_score", "judge_score_heldout", "rule_score", "rule_score_heldout", "exact_match", "chrf",
            "in_language", "answer_loss", "val_loss")


@dataclasses.dataclass(frozen=True)
class Preset:
  conditions: tuple[str, ...]
  seeds: tuple[int, ...]
  sft_epochs: float            # passes over each condition's data: a 5x larger corpus gets 5x the steps
  eval_questions: int          # per language (0: all)
  max_new_tokens: int
  real_data: bool = False      # paper: Lima-X / Bactrian-X / MT-Bench-X / a Hugging Face base
  base_steps: int = 0          # pre-training steps of the polyglot base (0: its config's)
  model: tuple = ()            # (field, value) architecture overrides of base and cells
  max_sft_steps: int = 0       # a cap on each cell's steps (0: none)
  real_model: str = ""         # a multilingual_real setup: Gemma 3 270M, ShareGPT, real MT-Bench-X

  @property
  def has_base(self) -> bool:
    """Whether a polyglot base model is pre-trained first (the generated world's presets)."""
    return not self.real_data and not self.real_model


PRESETS = {
    # Sized for 10 minutes on a 2-core CPU, pre-training included.
    "demo": Preset(conditions=("EN", "EN_DE_FR_IT_ES_sampled", "EN_DE_FR_IT_ES"), seeds=(0,), sft_epochs=1.75,
                   eval_questions=16, max_new_tokens=48, base_steps=180),
    "full": Preset(conditions=MONOLINGUAL + PARALLEL + SAMPLED + SIZE_ARM, seeds=(0, 1, 2), sft_epochs=3.0,
                   eval_questions=0, max_new_tokens=64),
    "paper": Preset(conditions=MONOLINGUAL + PARALLEL + SAMPLED + SIZE_ARM, seeds=(0,), sft_epochs=3.0,
                    eval_questions=0, max_new_tokens=1024, real_data=True),
    # The whole pipeline in seconds (a tiny network, a few steps): for checking the machinery.
    "smoke": Preset(conditions=("EN", "EN_DE_FR_IT_ES_sampled"), seeds=(0,), sft_epochs=0.1, eval_questions=1,
                    max_new_tokens=4, base_steps=3, max_sft_steps=3,
                    model=(("d_model", 32), ("n_layers", 1), ("n_heads", 2), ("n_kv_heads", 1), ("mlp_dim", 64))),
    # A real base model (experiments/multilingual_real.py): about 45 minutes here for one seed.
    "real": Preset(conditions=multilingual_real.SETUPS["real"].conditions, seeds=(0,), sft_epochs=1.0,
                   eval_questions=16, max_new_tokens=96, real_model="real"),
    "real_smoke": Preset(conditions=multilingual_real.SETUPS["real_smoke"].conditions, seeds=(0,), sft_epochs=1.0,
                         eval_questions=2, max_new_tokens=6, real_model="real_smoke"),
}


def preset_of(name: str, args=None) -> Preset:
  """The named preset, with --seeds applied."""
  p = PRESETS[name]
  seeds = getattr(args, "seeds", None)
  return dataclasses.replace(p, seeds=tuple(seeds)) if seeds else p


def base_config(preset: Preset, args) -> ml_collections.ConfigDict:
  """The base model's config: the polyglot pre-training run, or (paper) a Hugging Face checkpoint."""
  from configs import polyglot_pretrain
  c = polyglot_pretrain.get_config()
  c.train.steps = preset.base_steps or c.train.steps
  c.model.update(dict(preset.model))
  return c


def condition_config(preset: Preset, condition: str, seed: int, base_dir: str, args) -> ml_collections.ConfigDict:
  """The instruction-tuning config of one condition and seed."""
  if preset.real_data:
    return _paper_config(condition, seed, args)
  from configs import polyglot_sft
  if condition == "bactrian":
    c = polyglot_sft.get_config("EN_DE_FR_IT_ES")
    c.data.sources = ml_collections.ConfigDict({"train": ml_collections.ConfigDict(
        dict(path="builtin:polyglot/bactrian", kind="instruction", weight=1.0))})
  else:
    c = polyglot_sft.get_config(condition)
  c.model.init_from = f"itx:{base_dir}"
  c.data.seed = seed
  c.model.init_seed = seed
  c.model.update(dict(preset.model))
  c.train.steps = grid.steps_for_epochs(c, preset.sft_epochs)
  if preset.max_sft_steps:
    c.train.steps = min(c.train.steps, preset.max_sft_steps)
  c.train.warmup_steps = max(1, c.train.steps // 10)
  c.train.eval_every = max(1, c.train.steps // 5)
  c.eval.update(max_questions=preset.eval_questions, max_new_tokens=preset.max_new_tokens, seed=seed)
  c.log.progress_bar = True
  return c


def _paper_config(condition: str, seed: int, args) -> ml_collections.ConfigDict:
  from configs import bactrian_x, lima_x
  if condition == "bactrian":
    c = bactrian_x.get_config()
    c.data.sources.train.path = args.bactrian_x
  else:
    c = lima_x.get_config()
    c.data.sources.train.path = os.path.join(args.lima_x, f"train_limax_{condition}.jsonl")
  c.model.update(init_from=f"hf:{args.base_model}", tokenizer="")
  c.data.eval_sources = ml_collections.ConfigDict({  # Lima-X's held-out files, one per language
      lang: ml_collections.ConfigDict(dict(path=os.path.join(args.lima_x, f"val_limax_{lang}.jsonl"),
                                           kind="instruction")) for lang in LANGS})
  c.data.seed = seed
  c.train.steps = grid.steps_for_epochs(c, PRESETS["paper"].sft_epochs)
  c.train.eval_every = max(1, c.train.steps // 10)
  c.eval.update(bench=args.mt_bench_x, judge="http", judge_base_url=args.judge_url, judge_model=args.judge_model,
                judge_api_key_env=args.judge_api_key_env, reference_model="gpt-4", seed=seed)
  if args.mesh:
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = (int(x) for x in args.mesh.split(","))
  return c


def base_heldout_loss(base_dir: str, *, chars: int = 60_000) -> dict:
  """The base model's mean NLL per token on documents of the polyglot world generated with another
  seed than its pre-training corpus (same kinds of text, other draws), per language."""
  path = os.path.join(base_dir, "heldout_loss.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  import numpy as np

  from itx.worlds.polyglot import pretrain
  from itx.eval.loss import document_nll
  from itx.inference import load_run, local_mesh
  run = load_run(base_dir, mesh_overrides=local_mesh())
  docs = list(pretrain.documents(chars, seed=10_007))
  losses = document_nll(run, [d["text"] for d in docs], seq_len=run.config.data.seq_len, desc="held-out loss")
  out = {}
  for lang in STUDY_CODES:
    vals = [l for d, l in zip(docs, losses) if d["language"] == lang and not np.isnan(l)]
    out[lang.upper()] = {"nll_per_token": float(np.mean(vals)), "documents": len(vals)}
  results.write_json(path, out)
  return out


def parse_only(value: str, preset: Preset) -> list[tuple[str, int]] | str:
  """--only: "base", "CONDITION" (every seed) or "CONDITION/SEED" -> "base" or [(condition, seed)]."""
  return grid.parse_only(value, preset.conditions, preset.seeds, has_base=preset.has_base)


def _base_done(base_dir: str) -> bool:
  return os.path.exists(os.path.join(base_dir, "heldout_loss.json"))


def run_base(preset: Preset, out_dir: str, args) -> dict:
  """Pre-trains the polyglot base model (resumable) and scores its held-out loss."""
  from itx.train.loop import train
  base_dir = os.path.join(out_dir, BASE)
  print(f"== base model: pre-training on the polyglot corpus ({base_dir})", flush=True)
  train(base_config(preset, args), base_dir)
  heldout = base_heldout_loss(base_dir)
  print("base model held-out loss per token: " + ", ".join(f"{l} {v['nll_per_token']:.3f}"
                                                          for l, v in heldout.items()), flush=True)
  return heldout


def validation_rows(condition: str, seed: int, workdir: str) -> list[dict]:
  """The last validation loss per language (an eval source named by language, or a `language`
  tag of the held-out records) as tidy rows, metric val_loss."""
  from itx.train.metrics import read_metrics
  logged = [m for m in read_metrics(workdir) if "val/loss" in m]
  if not logged:
    return []
  out = []
  for lang in LANGS:
    for key in (f"val/{lang}/loss", f"val/language={lang}/loss", f"val/language={lang.lower()}/loss"):
      if key in logged[-1]:
        out.append({"condition": condition, "seed": seed, "language": lang, "metric": "val_loss",
                    "value": logged[-1][key]})
        break
  return out


def run_cell(preset: Preset, condition: str, seed: int, out_dir: str, args) -> dict:
  """Instruction-tunes and evaluates one (condition, seed) in runs/CELL, then writes cells/CELL.json.
  Touches no other cell's files, so cells can run at once in separate processes."""
  from itx.evaluate import evaluate
  from itx.train.loop import train
  done = grid.read_cell(out_dir, condition, seed)
  if done:
    return done
  base_dir = os.path.join(out_dir, BASE)
  if preset.has_base and not _base_done(base_dir):
    raise FileNotFoundError(f"the base model in {base_dir} is not trained yet: run --only=base first")
  workdir = os.path.join(out_dir, "runs", cell_name(condition, seed))
  start = time.time()
  if preset.real_model:
    print(f"== {condition}, seed {seed}: {'evaluation' if condition == 'base' else 'tuning and evaluation'} "
          f"({workdir})", flush=True)
    cell = multilingual_real.run_cell(
        multilingual_real.SETUPS[preset.real_model], condition, seed, workdir, out_dir, bench=args.mt_bench_x,
        judge=getattr(args, "judge", None), full_finetune=getattr(args, "full_finetune", False))
    cell.update(condition=condition, seed=seed, workdir=workdir, seconds=time.time() - start)
    cell["rows"] += validation_rows(condition, seed, workdir) if condition != "base" else []
    grid.write_cell(out_dir, cell)
    return cell
  c = condition_config(preset, condition, seed, base_dir, args)
  print(f"== {condition}, seed {seed}: instruction tuning and evaluation ({workdir})", flush=True)
  train(c, workdir)
  from itx.train.metrics import read_metrics
  results.validation_curves(read_metrics(workdir), os.path.join(workdir, "validation.png"),
                            title=f"{condition}, seed {seed}: validation loss per language")
  evaluate(workdir, c.eval)
  with open(os.path.join(workdir, "eval", "summary.json"), encoding="utf-8") as f:
    rows = results.tidy_rows(condition, seed, json.load(f))
  rows += validation_rows(condition, seed, workdir)
  cell = {"condition": condition, "seed": seed, "workdir": workdir, "seconds": time.time() - start, "rows": rows}
  grid.write_cell(out_dir, cell)
  return cell


def decontamination_inputs(preset, conditions, args) -> tuple[dict[str, str], str] | None:
  """(training file per condition, evaluation benchmark folder), or None when the real data's
  folders were not given."""
  from itx.worlds import resolve_path
  if preset.real_data:
    if not args or not getattr(args, "lima_x", "") or not getattr(args, "mt_bench_x", ""):
      return None
    return ({c: args.bactrian_x if c == "bactrian" else os.path.join(args.lima_x, f"train_limax_{c}.jsonl")
             for c in conditions}, args.mt_bench_x)
  return ({c: resolve_path("builtin:polyglot/bactrian" if c == "bactrian" else
                           f"builtin:polyglot/limax/train_limax_{c}.jsonl") for c in conditions},
          resolve_path("builtin:polyglot/mt_bench"))


def collect(preset_name: str, out_dir: str, args=None) -> dict:
  """The tables and plots from the finished cells' files (cells not finished yet are left out and
  named), with the decontamination report of the training files against the benchmark."""
  preset = preset_of(preset_name, args)
  cells, missing = grid.read_cells(out_dir, preset.conditions, preset.seeds)
  rows = [r for cell in cells.values() for r in cell["rows"]]
  conditions = [c for c in preset.conditions if any(k[0] == c for k in cells)]
  timings = {grid.cell_name(*k): cell["seconds"] for k, cell in cells.items()}
  if preset.real_model:
    return collect_real(out_dir, rows, conditions, cells, timings, missing)
  inputs = decontamination_inputs(preset, conditions, args)
  res = write_results(out_dir, rows, conditions, timings=timings,
                      decontamination=contamination(*inputs) if inputs and conditions else None)
  res["missing_cells"] = missing
  base_dir = os.path.join(out_dir, BASE)
  if preset.has_base and _base_done(base_dir):
    res["base_heldout_loss"] = base_heldout_loss(base_dir)
  results.write_json(os.path.join(out_dir, "results.json"), res)
  return res


def collect_real(out_dir: str, rows: list[dict], conditions, cells: dict, timings: dict, missing) -> dict:
  """The real presets' tables: the condition x language matrices, the gain of multilingual over
  English-only tuning, the language fidelity per MT-Bench-X category, example answers."""
  res = write_results(out_dir, rows, conditions, timings=timings, headline=multilingual_real.HEADLINE,
                      treatments=("multilingual",))
  results.write_tidy(os.path.join(out_dir, "categories.csv"), [r for cell in cells.values() for r in cell["categories"]],
                     fields=("condition", "seed", "language", "category", "metric", "value"))
  table = multilingual_real.category_table(cells)
  res["text"] += "\n\n" + table
  res.update(missing_cells=missing, examples={grid.cell_name(*k): c["examples"] for k, c in cells.items()},
             parts_s={grid.cell_name(*k): c["parts_s"] for k, c in cells.items()},
             serve_command=multilingual_real.serve_command(cells))
  results.write_json(os.path.join(out_dir, "results.json"), res)
  atomic_write_text(os.path.join(out_dir, "results.txt"), res["text"] + "\n")
  return res


def run_experiment(preset_name: str, out_dir: str, args=None) -> dict:
  """Trains and evaluates every (condition, seed) of the preset in turn; writes and returns the results."""
  preset = preset_of(preset_name, args)
  args = args or types.SimpleNamespace(mesh="")
  os.makedirs(out_dir, exist_ok=True)
  if preset.has_base:
    run_base(preset, out_dir, args)
  for condition in preset.conditions:
    for seed in preset.seeds:
      run_cell(preset, condition, seed, out_dir, args)
  return collect(preset_name, out_dir, args)


def contamination(train_files: dict[str, str], bench: str) -> dict:
  """Word 8-gram overlap of each condition's training file with the evaluation questions
  (itx.curate.decontaminate): {"files": {condition: counts}, "questions_hit", "text"}."""
  from itx.curate.decontaminate import decontaminate, summary_line
  report = decontaminate(train_files, bench)
  return {"files": report["files"], "questions_hit": report["questions_hit"], "n": report["n"],
          "text": summary_line(report)}


def write_results(out_dir: str, rows: list[dict], conditions, *, timings: dict | None = None,
                  decontamination: dict | None = None, headline=HEADLINE, treatments=PARALLEL + SAMPLED + SIZE_ARM) -> dict:
  """tidy.csv, matrices (JSON and text), gains of each of `treatments` over EN in the first of
  `headline`'s metrics present, plots. Returns what it printed and wrote."""
  results.write_tidy(os.path.join(out_dir, "tidy.csv"), rows)
  metrics = [m for m in headline if any(r["metric"] == m for r in rows)]
  out = {"matrices": {}, "gains": {}, "plots": [], "timings_s": timings or {}}
  text = []
  for metric in metrics:
    conds, langs, mean, std = results.matrix(rows, metric, conditions=conditions, languages=LANGS)
    source = results.provenance(rows, metric)  # judge, prompt set and aggregation behind a judge score
    out["matrices"][metric] = {"conditions": conds, "languages": langs, "mean": mean.tolist(), "std": std.tolist(),
                               "source": source}
    text.append(results.format_matrix(conds, langs, mean, title=f"{metric} (condition x evaluation language)",
                                      source=source))
    out["plots"].append(results.heatmap(conds, langs, mean, os.path.join(out_dir, f"matrix_{metric}.png"),
                                        title=metric))
  headline = metrics[0] if metrics else None
  for treatment in [c for c in treatments if c in conditions]:
    if headline and "EN" in conditions:
      gains = results.relative_gain(rows, headline, treatment, "EN", languages=LANGS)
      out["gains"][f"{treatment}_vs_EN"] = gains
      text.append(f"relative gain of {treatment} over EN in {headline} (%, 95% CI over seeds):\n" + "\n".join(
          f"  {l}: {g['gain_pct']:+7.1f}  " + (f"[{g['ci_low']:+.1f}, {g['ci_high']:+.1f}]" if g["seeds"] > 1
                                              else "(one seed: no interval)") for l, g in gains.items()))
      out["plots"].append(results.gain_bars(gains, os.path.join(out_dir, f"gain_{treatment}_vs_EN.png"),
                                            title=f"{treatment} vs EN: {headline}"))
  if headline:
    conds, langs, mean, _ = results.matrix(rows, headline, conditions=conditions, languages=LANGS)
    out["plots"].append(results.condition_radar(conds, langs, mean, os.path.join(out_dir, "radar.png"),
                                                title=headline))
  if decontamination:
    out["decontamination"] = decontamination
    text.append(decontamination["text"])
  out["text"] = "\n\n".join(text)
  results.write_json(os.path.join(out_dir, "results.json"), out)
  atomic_write_text(os.path.join(out_dir, "results.txt"), out["text"] + "\n")
  return out


def _cli() -> None:
  """The command line (flags defined here, not at import: tests import this module as a library)."""
  from absl import app, flags

  from itx.cli import parse_flags
  preset = flags.DEFINE_enum("preset", "demo", sorted(PRESETS), "The grid: conditions, seeds, sizes.")
  out = flags.DEFINE_string("out", None, "Results folder (default: results/multilingual_parallel/PRESET).")
  only = flags.DEFINE_string("only", None, "Run one part of the grid: base, CONDITION or CONDITION/SEED.")
  collect_flag = flags.DEFINE_bool("collect", False, "Only build the tables from the finished cells.")
  paths = {
      "lima_x": flags.DEFINE_string("lima_x", "", "paper: folder with {train,val}_limax_<CFG>.jsonl"),
      "bactrian_x": flags.DEFINE_string("bactrian_x", "", "paper: folder with Bactrian-X's <lang>.json files"),
      "base_model": flags.DEFINE_string("base_model", "", "paper: a Hugging Face model directory"),
      "mt_bench_x": flags.DEFINE_string("mt_bench_x", "", "paper: MT-Bench-X data folder"),
  }
  judge_url = flags.DEFINE_string("judge_url", "https://api.openai.com/v1", "paper: the judge's endpoint")
  judge_model = flags.DEFINE_string("judge_model", None,
                                    "paper: the model served at --judge_url (default: gpt-4, only for OpenAI's endpoint)")
  judge_key = flags.DEFINE_string("judge_api_key_env", "OPENAI_API_KEY", "paper: variable holding the judge's key")
  mesh = flags.DEFINE_string("mesh", "", "paper: data,fsdp,tensor sizes, e.g. 1,8,4")
  full_finetune = flags.DEFINE_bool("full_finetune", False, "real: tune every weight instead of LoRA adapters "
                                    "(results in OUT_full by default)")
  seeds = flags.DEFINE_list("seeds", None, "Seeds to run instead of the preset's, e.g. 0,1,2.")

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if judge_model.value is None and "api.openai.com" not in judge_url.value and not p.real_model:
      raise app.UsageError("--judge_model: name the model served at --judge_url (a local endpoint is not gpt-4)")
    if only.value and collect_flag.value:
      raise app.UsageError("--only and --collect are separate jobs: give one of them")
    p = PRESETS[preset.value]
    if p.real_model and not collect_flag.value and not os.path.isdir(paths["mt_bench_x"].value):
      raise app.UsageError(f"--mt_bench_x={paths['mt_bench_x'].value!r}: the {preset.value} preset asks the real "
                           "MT-Bench-X questions: give its data folder (mt_bench_<LANG>/question.jsonl)")
    if seeds.value and not all(x.isdigit() for x in seeds.value):
      raise app.UsageError(f"--seeds={','.join(seeds.value)}: expected integers, e.g. 0,1,2")
    if p.real_data and not collect_flag.value:
      missing = [f"--{k}" for k, f in paths.items() if not f.value]
      if missing:
        raise app.UsageError(f"the paper preset needs {', '.join(missing)}")
    if seeds.value:
      p = dataclasses.replace(p, seeds=tuple(int(x) for x in seeds.value))
    try:
      part = parse_only(only.value, p) if only.value else None
    except ValueError as e:
      raise app.UsageError(str(e)) from None
    grid.study_logging()
    args = types.SimpleNamespace(**{k: f.value for k, f in paths.items()}, judge_url=judge_url.value,
                                 judge_model=judge_model.value or "gpt-4", judge_api_key_env=judge_key.value, mesh=mesh.value,
                                 full_finetune=full_finetune.value, seeds=p.seeds,
                                 judge=dict(url=judge_url.value, model=judge_model.value, key_env=judge_key.value)
                                 if judge_model.value else None)
    out_dir = out.value or os.path.join("results", "multilingual_parallel",
                                        preset.value + ("_full" if full_finetune.value else ""))
    res = grid.run_part(part, out_dir, base=lambda: run_base(p, out_dir, args),
                        cell=lambda condition, seed: run_cell(p, condition, seed, out_dir, args),
                        whole=lambda: (collect if collect_flag.value else run_experiment)(preset.value, out_dir, args))
    if res and res.get("serve_command"):
      print(f"\nthe models side by side (then open http://127.0.0.1:8000/):\n{res['serve_command']}")

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()

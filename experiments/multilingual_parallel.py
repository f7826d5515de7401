"""Do polyglot models need multilingual instructions? Monolingual against parallel instruction
tuning, every model evaluated in every language (Weber et al. 2024, in miniature or at scale).

  python -m experiments.multilingual_parallel --preset=demo  [--out=results/multilingual_parallel/demo]
  python -m experiments.multilingual_parallel --preset=full
  python -m experiments.multilingual_parallel --preset=paper --lima_x=DIR --bactrian_x=DIR \
      --base_model=HF_DIR --mt_bench_x=DIR --judge_url=URL --judge_model=gpt-4

One base model (pre-trained once on the polyglot corpus, or a Hugging Face checkpoint) is
instruction-tuned once per condition and seed; each run has its own workdir and resumes; runs
with results are skipped. The results folder holds tidy.csv (condition, seed, language, metric,
value), the condition x language matrices, the relative gain of parallel over monolingual tuning
per language with a confidence interval over seeds, and plots.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time

import ml_collections

from itx import results
from itx.data.languages import STUDY_CODES, STUDY_LANGUAGES

LANGS = STUDY_LANGUAGES
MONOLINGUAL = LANGS
PARALLEL = ("EN_DE_FR_IT_ES", "DE_FR_IT_ES")
SAMPLED = ("EN_DE_FR_IT_ES_sampled", "DE_FR_IT_ES_sampled")
SIZE_ARM = ("bactrian",)  # the larger translated-style corpus, against the small curated EN_DE_FR_IT_ES
# judge_score: an LLM judge's MT-Bench-X score; rule_score: the reference-based rule judge's (demo, full).
HEADLINE = ("judge_score", "judge_score_heldout", "rule_score", "rule_score_heldout", "exact_match", "chrf",
            "in_language", "answer_loss")


@dataclasses.dataclass(frozen=True)
class Preset:
  conditions: tuple[str, ...]
  seeds: tuple[int, ...]
  sft_epochs: float            # passes over each condition's data: a 5x larger corpus gets 5x the steps
  eval_questions: int          # per language (0: all)
  max_new_tokens: int
  real_data: bool = False      # paper: Lima-X / Bactrian-X / MT-Bench-X / a Hugging Face base
  base_steps: int = 0          # pre-training steps of the polyglot base (0: its config's)


PRESETS = {
    # Sized for 10 minutes on a 2-core CPU, pre-training included.
    "demo": Preset(conditions=("EN", "EN_DE_FR_IT_ES_sampled", "EN_DE_FR_IT_ES"), seeds=(0,), sft_epochs=1.75,
                   eval_questions=16, max_new_tokens=48, base_steps=180),
    "full": Preset(conditions=MONOLINGUAL + PARALLEL + SAMPLED + SIZE_ARM, seeds=(0, 1, 2), sft_epochs=3.0,
                   eval_questions=0, max_new_tokens=64),
    "paper": Preset(conditions=MONOLINGUAL + PARALLEL + SAMPLED + SIZE_ARM, seeds=(0,), sft_epochs=3.0,
                    eval_questions=0, max_new_tokens=1024, real_data=True),
}


def base_config(preset: Preset, args) -> ml_collections.ConfigDict:
  """The base model's config: the polyglot pre-training run, or (paper) a Hugging Face checkpoint."""
  from configs import polyglot_pretrain
  c = polyglot_pretrain.get_config()
  c.train.steps = preset.base_steps or c.train.steps
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
  c.train.steps = steps_for_epochs(c, preset.sft_epochs)
  c.train.warmup_steps = max(1, c.train.steps // 10)
  c.eval.update(max_questions=preset.eval_questions, max_new_tokens=preset.max_new_tokens, seed=seed)
  c.log.progress_bar = True
  return c


def steps_for_epochs(c: ml_collections.ConfigDict, epochs: float) -> int:
  """Optimizer steps for `epochs` passes over the config's data, from its tokenized size (cached,
  so the training run that follows does not tokenize again)."""
  from itx.datasets.sources import build_sources, config_tokenizer
  tok = config_tokenizer(c)
  sources, _ = build_sources(c, tok, progress=False)
  tokens = sum(s.stats["tokens"] for s in sources)
  per_step = c.train.batch_size * c.data.seq_len * 0.9  # packed rows are ~90% full
  return max(1, round(epochs * tokens / per_step))


def _paper_config(condition: str, seed: int, args) -> ml_collections.ConfigDict:
  from configs import bactrian_x, lima_x
  if condition == "bactrian":
    c = bactrian_x.get_config()
    c.data.sources.train.path = args.bactrian_x
  else:
    c = lima_x.get_config()
    c.data.sources.train.path = os.path.join(args.lima_x, f"train_limax_{condition}.jsonl")
  c.model.update(init_from=f"hf:{args.base_model}", tokenizer="")
  c.data.seed = seed
  c.train.steps = steps_for_epochs(c, PRESETS["paper"].sft_epochs)
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


def _done(workdir: str) -> bool:
  return os.path.exists(os.path.join(workdir, "eval", "summary.json"))


def run_experiment(preset_name: str, out_dir: str, args=None) -> dict:
  """Trains and evaluates every (condition, seed) of the preset; writes and returns the results."""
  from itx.evaluate import evaluate
  from itx.train.loop import train

  preset = PRESETS[preset_name]
  args = args or argparse.Namespace(mesh="")
  os.makedirs(out_dir, exist_ok=True)
  base_dir = os.path.join(out_dir, "base")
  timings = {}
  if not preset.real_data:
    start = time.time()
    print(f"== base model: pre-training on the polyglot corpus ({base_dir})", flush=True)
    train(base_config(preset, args), base_dir)
    heldout = base_heldout_loss(base_dir)
    timings["base"] = time.time() - start
    print("base model held-out loss per token: " + ", ".join(f"{l} {v['nll_per_token']:.3f}"
                                                            for l, v in heldout.items()), flush=True)
  rows = []
  for condition in preset.conditions:
    for seed in preset.seeds:
      workdir = os.path.join(out_dir, "runs", f"{condition}_seed{seed}")
      if not _done(workdir):
        c = condition_config(preset, condition, seed, base_dir, args)
        start = time.time()
        print(f"== {condition}, seed {seed}: instruction tuning and evaluation ({workdir})", flush=True)
        train(c, workdir)
        evaluate(workdir, c.eval)
        timings[f"{condition}_seed{seed}"] = time.time() - start
      with open(os.path.join(workdir, "eval", "summary.json"), encoding="utf-8") as f:
        rows += results.tidy_rows(condition, seed, json.load(f))
  from itx.worlds import resolve_path
  if preset.real_data:
    train_files = {c: args.bactrian_x if c == "bactrian" else os.path.join(args.lima_x, f"train_limax_{c}.jsonl")
                   for c in preset.conditions}
  else:
    train_files = {c: resolve_path("builtin:polyglot/bactrian" if c == "bactrian" else
                                   f"builtin:polyglot/limax/train_limax_{c}.jsonl") for c in preset.conditions}
  bench = args.mt_bench_x if preset.real_data else resolve_path("builtin:polyglot/mt_bench")
  res = write_results(out_dir, rows, preset.conditions, timings=timings,
                      decontamination=contamination(train_files, bench))
  if not preset.real_data:
    res["base_heldout_loss"] = base_heldout_loss(base_dir)
    results.write_json(os.path.join(out_dir, "results.json"), res)
  return res


def contamination(train_files: dict[str, str], bench: str) -> dict:
  """Word 8-gram overlap of each condition's training file with the evaluation questions
  (itx.curate.decontaminate): {"files": {condition: counts}, "questions_hit", "text"}."""
  from itx.curate.decontaminate import decontaminate, summary_line
  report = decontaminate(train_files, bench)
  return {"files": report["files"], "questions_hit": report["questions_hit"], "n": report["n"],
          "text": summary_line(report)}


def write_results(out_dir: str, rows: list[dict], conditions, *, timings: dict | None = None,
                  decontamination: dict | None = None) -> dict:
  """tidy.csv, matrices (JSON and text), gains, plots. Returns what it printed and wrote."""
  results.write_tidy(os.path.join(out_dir, "tidy.csv"), rows)
  metrics = [m for m in HEADLINE if any(r["metric"] == m for r in rows)]
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
  for treatment in [c for c in PARALLEL + SAMPLED + SIZE_ARM if c in conditions]:
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
  with open(os.path.join(out_dir, "results.txt"), "w", encoding="utf-8") as f:
    f.write(out["text"] + "\n")
  return out


def main(argv=None) -> None:
  p = argparse.ArgumentParser(prog="python -m experiments.multilingual_parallel", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--preset", choices=sorted(PRESETS), default="demo")
  p.add_argument("--out", default=None, help="results folder (default: results/multilingual_parallel/PRESET)")
  p.add_argument("--lima_x", default="", help="paper: folder with train_limax_<CFG>.jsonl")
  p.add_argument("--bactrian_x", default="", help="paper: folder with Bactrian-X's <lang>.json files")
  p.add_argument("--base_model", default="", help="paper: a Hugging Face model directory")
  p.add_argument("--mt_bench_x", default="", help="paper: MT-Bench-X data folder")
  p.add_argument("--judge_url", default="https://api.openai.com/v1")
  p.add_argument("--judge_model", default=None,
                 help="the model served at --judge_url (default: gpt-4, only for OpenAI's endpoint)")
  p.add_argument("--judge_api_key_env", default="OPENAI_API_KEY")
  p.add_argument("--mesh", default="", help="paper: data,fsdp,tensor sizes, e.g. 1,8,4")
  args = p.parse_args(argv)
  if args.judge_model is None:
    if "api.openai.com" not in args.judge_url:
      p.error("--judge_model: name the model served at --judge_url (a local endpoint is not gpt-4)")
    args.judge_model = "gpt-4"
  if args.preset == "paper":
    missing = [f"--{k}" for k in ("lima_x", "bactrian_x", "base_model", "mt_bench_x") if not getattr(args, k)]
    if missing:
      p.error(f"the paper preset needs {', '.join(missing)}")
  logging.basicConfig(level=logging.WARNING)
  logging.getLogger("itx").setLevel(logging.INFO)
  out_dir = args.out or os.path.join("results", "multilingual_parallel", args.preset)
  start = time.time()
  res = run_experiment(args.preset, out_dir, args)
  print("\n" + res["text"])
  print(f"\nresults: {out_dir} (tidy.csv, results.json, results.txt); plots: "
        + ", ".join(os.path.basename(p) for p in res["plots"]))
  print(f"total time: {(time.time() - start) / 60:.1f} min")


if __name__ == "__main__":
  main()

"""The study's results layer: gains with intervals over seeds, the results folder, and the
analysis notebook executed on a results folder the test produces."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments import multilingual_parallel as mp
from helpers import finish
from itx import results

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rows_for(values):
  """values: {(condition, seed, language): judge score}."""
  return [{"condition": c, "seed": s, "language": l, "metric": "judge_score", "value": v}
          for (c, s, l), v in values.items()]


def test_relative_gain_is_paired_by_seed_with_a_t_interval():
  rows = rows_for({("EN", 0, "DE"): 4.0, ("EN", 1, "DE"): 5.0, ("P", 0, "DE"): 5.0, ("P", 1, "DE"): 5.5})
  g = results.relative_gain(rows, "judge_score", "P", "EN")["DE"]
  gains = [25.0, 10.0]  # (5-4)/4 and (5.5-5)/5, per seed
  assert g["gain_pct"] == pytest.approx(17.5) and g["seeds"] == 2
  half = 12.706204736 * np.std(gains, ddof=1) / math.sqrt(2)  # t(0.975, df=1)
  assert (g["ci_low"], g["ci_high"]) == pytest.approx((17.5 - half, 17.5 + half))
  one = results.relative_gain(rows_for({("EN", 0, "FR"): 2.0, ("P", 0, "FR"): 3.0}), "judge_score", "P", "EN")
  assert one["FR"]["gain_pct"] == pytest.approx(50.0) and math.isnan(one["FR"]["ci_low"])


def test_matrix_averages_seeds_per_cell():
  rows = rows_for({("EN", 0, "EN"): 8.0, ("EN", 1, "EN"): 6.0, ("EN", 0, "DE"): 3.0, ("P", 0, "EN"): 7.0})
  conds, langs, mean, std = results.matrix(rows, "judge_score", conditions=["EN", "P"], languages=["EN", "DE"])
  assert conds == ["EN", "P"] and langs == ["EN", "DE"]
  assert mean[0].tolist() == [7.0, 3.0] and mean[1, 0] == 7.0 and math.isnan(mean[1, 1])


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("results"))
  rng = np.random.default_rng(0)
  values = {}
  for c, bonus in (("EN", 0.0), ("EN_DE_FR_IT_ES_sampled", 0.5), ("EN_DE_FR_IT_ES", 1.0)):
    for s in (0, 1):
      for l in mp.LANGS:
        values[(c, s, l)] = 5.0 + (2.0 if l == "EN" else bonus) + rng.normal(0, 0.1)
  rows = rows_for(values) + [{**r, "metric": "in_language", "value": 0.9} for r in rows_for(values)]
  res = mp.write_results(out, rows, ("EN", "EN_DE_FR_IT_ES_sampled", "EN_DE_FR_IT_ES"))
  return out, res


def test_results_folder_holds_tidy_table_matrices_gains_and_plots(results_folder):
  out, res = results_folder
  assert len(results.read_tidy(os.path.join(out, "tidy.csv"))) == 60
  for f in ("results.json", "results.txt", "matrix_judge_score.png", "gain_EN_DE_FR_IT_ES_vs_EN.png", "radar.png"):
    assert os.path.exists(os.path.join(out, f)), f
  gains = res["gains"]["EN_DE_FR_IT_ES_vs_EN"]
  assert gains["EN"]["gain_pct"] == pytest.approx(0, abs=5) and gains["DE"]["gain_pct"] > 10
  assert "judge_score (condition x evaluation language)" in res["text"]


def test_notebook_runs_on_a_results_folder(results_folder, monkeypatch):
  nbclient = pytest.importorskip("nbclient")
  import nbformat
  out, _ = results_folder
  monkeypatch.setenv("ITX_RESULTS", out)
  monkeypatch.setenv("MPLBACKEND", "Agg")
  nb = nbformat.read(os.path.join(ROOT, "notebooks", "multilingual_parallel.ipynb"), as_version=4)
  nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
  text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "60 rows" in text  # 3 conditions x 2 seeds x 5 languages x 2 metrics
  assert "EN_DE_FR_IT_ES: better than EN-only in" in text
  assert "answers in the question's language 90%" in text


def test_judge_tables_name_judge_prompts_and_aggregation(tmp_path, capsys):
  source = {"judge": "gpt-4 at https://api.openai.com/v1", "prompts": "MT-Bench-X single-v1 / single-v1-multi-turn",
            "aggregation": "mean over lines; every judgment line (FastChat show_result); score -1 excluded"}
  rows = [{**r, **source} for r in rows_for({("EN", 0, "DE"): 4.0, ("EN_DE_FR_IT_ES", 0, "DE"): 5.0})]
  rows += [{**r, "metric": "chrf"} for r in rows_for({("EN", 0, "DE"): 30.0})]
  res = mp.write_results(str(tmp_path), rows, ("EN", "EN_DE_FR_IT_ES"))
  assert res["matrices"]["judge_score"]["source"] == source
  assert res["matrices"]["chrf"]["source"] == {"judge": "", "prompts": "", "aggregation": ""}
  text = open(tmp_path / "results.txt").read()
  assert all(v in text for v in source.values())
  back = results.read_tidy(str(tmp_path / "tidy.csv"))
  assert {r["judge"] for r in back if r["metric"] == "judge_score"} == {source["judge"]}
  # a local endpoint must be named, never defaulted to gpt-4
  done = subprocess.run([sys.executable, "-m", "experiments.multilingual_parallel", "--preset=paper",
                         "--judge_url=http://127.0.0.1:8000/v1"], cwd=ROOT, capture_output=True, text=True)
  assert done.returncode != 0 and "judge_model" in done.stderr


def run_study(out, *args):
  """The study's command in its own process; its output goes to files (a full pipe would stall it)."""
  log = os.path.join(os.path.dirname(out), "log-" + "-".join(a.strip("-").replace("/", "_") for a in args))
  proc = subprocess.Popen([sys.executable, "-m", "experiments.multilingual_parallel", "--preset=smoke",
                           f"--out={out}", *args], cwd=ROOT, stdout=open(log + ".out", "w"),
                          stderr=open(log + ".err", "w"), text=True)
  proc.log = log
  return proc


def test_cells_run_at_once_in_separate_processes_and_collect_builds_the_tables(tmp_path):
  from itx.train.checkpoint import restore_config
  from itx.train.metrics import read_metrics
  out = str(tmp_path / "study")
  (rc, _, err), = finish([run_study(out, "--only=EN/0")])
  assert rc != 0 and "--only=base first" in err  # a cell never trains the shared base itself
  (rc, _, err), = finish([run_study(out, "--only=base")])
  assert rc == 0, err[-3000:]
  cells = {"EN": run_study(out, "--only=EN/0"), "EN_DE_FR_IT_ES_sampled": run_study(out, "--only=EN_DE_FR_IT_ES_sampled")}
  for (rc, _, err) in finish(list(cells.values())):
    assert rc == 0, err[-3000:]
  assert not os.path.exists(os.path.join(out, "tidy.csv"))  # tables only from --collect
  for condition in cells:
    workdir = os.path.join(out, "runs", f"{condition}_seed0")
    assert restore_config(workdir)["data"]["sources"]["train"]["path"].endswith(f"train_limax_{condition}.jsonl")
    steps = [m["step"] for m in read_metrics(workdir)]
    assert steps == list(range(1, steps[-1] + 1))  # one writer per metrics file
    assert os.path.exists(os.path.join(workdir, "validation.png"))
  (rc, stdout, err), = finish([run_study(out, "--collect")])
  assert rc == 0, err[-3000:]
  rows = results.read_tidy(os.path.join(out, "tidy.csv"))
  assert {r["condition"] for r in rows} == set(cells)
  val = {(r["condition"], r["language"]) for r in rows if r["metric"] == "val_loss"}
  assert val == {(c, l) for c in cells for l in mp.LANGS}
  assert "val_loss (condition x evaluation language)" in stdout

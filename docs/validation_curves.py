"""Draws docs/validation_curves.png (docs/clusters.md's): the smoke config with a held-out toy set per task
family (other draws of the same families), validated every 5 steps.

  python docs/validation_curves.py /tmp/curves docs/validation_curves.png
"""
import json
import os
import sys

import ml_collections

from configs import smoke
from itx import results
from itx.train.loop import train
from itx.train.metrics import read_metrics
from itx.worlds.toy import toy_records

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
by_task = {}
for r in toy_records(400, seed=123):
  by_task.setdefault(r["task"], []).append(r)
sources = {}
for task, rows in sorted(by_task.items()):
  path = os.path.join(out, f"val_{task}.jsonl")
  with open(path, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows[:40])
  sources[task] = ml_collections.ConfigDict(dict(path=path, kind="instruction"))
c = smoke.get_config()
c.data.eval_sources = ml_collections.ConfigDict(sources)
c.train.update(steps=60, eval_every=5)
c.log.update(progress_bar=False, every_steps=1)
train(c, os.path.join(out, "run"))
print(results.validation_curves(read_metrics(os.path.join(out, "run")), sys.argv[2],
                                title="smoke config: training and held-out loss per task"))
print({k: round(v, 3) for k, v in read_metrics(os.path.join(out, "run"))[-1].items() if k.startswith("val/")})

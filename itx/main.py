"""Trains a config: `python -m itx.main --config=configs/NAME.py --workdir=DIR [--config.a.b=v]`.

`itx serve ...` runs the server instead (`python -m itx.serve`, its own flags).

Rerunning with the same workdir resumes from its latest checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from itx.cli import parse_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file (configs/*.py).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, metrics, TensorBoard.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  # itx speaks at INFO; libraries (orbax logs every file it writes) only at WARNING.
  logging.getLogger().setLevel(logging.WARNING)
  logging.getLogger("itx").setLevel(logging.INFO)
  from itx.train.loop import train  # after flag parsing: keeps `--help` fast
  last = train(_CONFIG.value, _WORKDIR.value)
  print(json.dumps({"workdir": _WORKDIR.value, **last}))


def run() -> None:
  if sys.argv[1:2] == ["serve"]:  # `itx serve ...` is `python -m itx.serve ...` (its own flags)
    os.execv(sys.executable, [sys.executable, "-m", "itx.serve", *sys.argv[2:]])
  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  run()

"""Trains a config: `itx train --config=configs/NAME.py --workdir=DIR [--config.a.b=v]` (or
`python -m itx.main ...`). Rerunning with the same workdir resumes from its latest checkpoint.
"""

from __future__ import annotations

import json
import logging
import sys

from absl import app, flags
from ml_collections import config_flags

from itx.cli import parse_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file (configs/*.py).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory: checkpoints, metrics, TensorBoard.")
_DRY_RUN = flags.DEFINE_boolean("dry_run", False, "Print what the config would run (resolved config, parameters, "
                                "mesh, tokens per step, data, memory per device) and write nothing to the workdir.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  # itx speaks at INFO; libraries (orbax logs every file it writes) only at WARNING.
  logging.getLogger().setLevel(logging.WARNING)
  logging.getLogger("itx").setLevel(logging.INFO)
  from itx.cli import with_overrides  # after flag parsing: keeps `--help` fast
  from itx.train.errors import user_errors
  from itx.train.loop import Diverged, train
  config = with_overrides(_CONFIG.value)
  try:
    with user_errors():
      if _DRY_RUN.value:
        from itx.train.dry_run import dry_run
        print(dry_run(config, _WORKDIR.value))
        return
      last = train(config, _WORKDIR.value)
  except Diverged as e:  # a message, not a traceback; non-zero so that a scheduler sees the failure
    logging.getLogger("itx").error("%s", e)
    sys.exit(1)
  print(json.dumps({"workdir": _WORKDIR.value, **last}))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

"""`itx export --workdir=DIR --out=HF_DIR [--step=N] [--dtype=bfloat16]`: a run as a Hugging Face
model directory; `itx inspect --hf=HF_DIR`: the itx model fields a checkpoint maps to
(or the option that itx refuses). Also `python -m itx.hf export|inspect ...`.
"""

from __future__ import annotations

import json
import sys

from absl import app, flags

from itx.cli import parse_flags

_WORKDIR = flags.DEFINE_string("workdir", None, "export: the run directory")
_OUT = flags.DEFINE_string("out", None, "export: the Hugging Face directory to write (must not exist)")
_STEP = flags.DEFINE_integer("step", None, "export: checkpoint step (default: the latest)")
_DTYPE = flags.DEFINE_enum("dtype", None, ["float32", "bfloat16", "float16"], "export: weight dtype")
_MAX_SHARD_GB = flags.DEFINE_float("max_shard_gb", 2.0, "export: largest safetensors shard, in GiB")
_HF = flags.DEFINE_string("hf", None, "inspect: a Hugging Face model directory")

_VERBS = ("export", "inspect")


def main(argv) -> None:
  if len(argv) != 2 or argv[1] not in _VERBS:
    raise app.UsageError(f"expected one of {_VERBS}, got {argv[1:]}")
  from itx.hf import config_map  # after flag parsing: keeps `--help` fast
  from itx.hf.export import export_run
  try:
    if argv[1] == "export":
      if not _WORKDIR.value or not _OUT.value:
        raise app.UsageError("export needs --workdir and --out")
      out = export_run(_WORKDIR.value, _OUT.value, step=_STEP.value, dtype=_DTYPE.value,
                       max_shard_bytes=int(_MAX_SHARD_GB.value * 1024**3))
      print(f"exported {_WORKDIR.value} to {out}")
    else:
      if not _HF.value:
        raise app.UsageError("inspect needs --hf")
      fields = config_map.model_fields(config_map.read_config(_HF.value), where=f"{_HF.value}/config.json")
      print(json.dumps(fields, indent=2))
  except (FileNotFoundError, FileExistsError, config_map.UnsupportedCheckpoint) as err:
    print(f"itx: {err}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

"""`itx export --workdir=DIR --out=HF_DIR [--step=N] [--dtype=bfloat16]`: a run as a Hugging Face
model directory (a LoRA run: PEFT adapter folders, or with `--merge [--adapter=NAME]` the base with
one adapter folded in); `itx inspect --hf=HF_DIR`: the itx model fields a checkpoint maps to (or the
option that itx refuses); `itx import-peft --peft=NAME=DIR[,NAME=DIR...] --base=HF_DIR --workdir=DIR`:
PEFT LoRA folders as an itx LoRA run; `itx import-gguf --gguf=FILE --out=HF_DIR [--dtype=bfloat16]`: a
GGUF file (llama.cpp) as a Hugging Face model directory. Also `python -m itx.hf VERB ...`.
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
_ADAPTER = flags.DEFINE_string("adapter", None, "export of a LoRA run: only this adapter (of lora.adapters)")
_MERGE = flags.DEFINE_boolean("merge", False, "export of a LoRA run: the base with the adapter folded in (W + s*A*B)")
_BASE = flags.DEFINE_string("base", None, "export: the LoRA run's base if it moved; import-peft: the Hugging Face base")
_PEFT = flags.DEFINE_list("peft", None, "import-peft: NAME=DIR pairs (or one DIR), the PEFT adapter folders")
_HF = flags.DEFINE_string("hf", None, "inspect: a Hugging Face model directory")
_GGUF = flags.DEFINE_string("gguf", None, "import-gguf: the GGUF file to import")

_VERBS = ("export", "inspect", "import-peft", "import-gguf")


def main(argv) -> None:
  if len(argv) != 2 or argv[1] not in _VERBS:
    raise app.UsageError(f"expected one of {_VERBS}, got {argv[1:]}")
  from itx.hf import config_map  # after flag parsing: keeps `--help` fast
  from itx.hf.export import export_run
  try:
    if argv[1] == "import-peft":
      if not _PEFT.value or not _BASE.value or not _WORKDIR.value:
        raise app.UsageError("import-peft needs --peft, --base and --workdir")
      from itx.hf.adapters import import_peft
      pairs = [p.split("=", 1) if "=" in p else ["default", p] for p in _PEFT.value]
      import_peft(dict(pairs), _BASE.value, _WORKDIR.value)
      print(f"imported {len(pairs)} adapter(s) into {_WORKDIR.value}")
      return
    if argv[1] == "import-gguf":
      if not _GGUF.value or not _OUT.value:
        raise app.UsageError("import-gguf needs --gguf and --out")
      from itx.hf.gguf_import import import_gguf
      out = import_gguf(_GGUF.value, _OUT.value, dtype=_DTYPE.value or "float32")
      print(f"imported {_GGUF.value} to {out}")
      return
    if argv[1] == "export":
      if not _WORKDIR.value or not _OUT.value:
        raise app.UsageError("export needs --workdir and --out")
      out = export_run(_WORKDIR.value, _OUT.value, step=_STEP.value, dtype=_DTYPE.value,
                       max_shard_bytes=int(_MAX_SHARD_GB.value * 1024**3), adapter=_ADAPTER.value,
                       merge=_MERGE.value, base=_BASE.value)
      print(f"exported {_WORKDIR.value} to {out}")
    else:
      if not _HF.value:
        raise app.UsageError("inspect needs --hf")
      fields = config_map.model_fields(config_map.read_config(_HF.value), where=f"{_HF.value}/config.json")
      print(json.dumps(fields, indent=2))
  except (FileNotFoundError, FileExistsError, KeyError, ValueError) as err:  # incl. UnsupportedCheckpoint
    print(f"itx: {err}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)

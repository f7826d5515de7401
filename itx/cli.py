"""The `itx` command: one entry point with a subcommand per job, each the same as its `python -m`
form (`itx train ARGS` runs exactly `python -m itx.main ARGS`).

  itx train   --config=configs/NAME.py --workdir=DIR [--config.a.b=v]   train or resume a run
  itx eval    --config=configs/NAME.py --workdir=DIR                    evaluate a run per language
  itx serve   --workdir=DIR [--port=8000]                               an OpenAI-compatible server
  itx export  --workdir=DIR --out=HF_DIR [--dtype=bfloat16]             a run as a Hugging Face model
  itx export  --workdir=LORA_RUN --out=DIR [--adapter=NAME] [--merge]   PEFT folders, or one adapter merged
  itx import-peft --peft=NAME=DIR[,...] --base=HF_DIR --workdir=DIR     PEFT LoRA folders as an itx run
  itx import-gguf --gguf=FILE --out=HF_DIR [--dtype=bfloat16]        a GGUF file as a Hugging Face model
  itx inspect --hf=HF_DIR                                               what a checkpoint maps to
  itx stats   --config=configs/NAME.py | --world=polyglot               data statistics
  itx curate  translate|clean|compose|decontaminate|card --flags        a parallel corpus (docs/corpus_creation.md)

Every subcommand takes absl flags (`--help` lists them); a bad flag is a one-line error, exit 2.
"""

from __future__ import annotations

import difflib
import re
import runpy
import sys

import ml_collections
from absl import flags

# subcommand -> (module run as __main__, positional arguments it is given first, one-line help)
COMMANDS = {
    "train": ("itx.main", (), "train (or resume) a config in a workdir"),
    "eval": ("itx.evaluate", (), "evaluate a run on an MT-Bench-style benchmark, per language"),
    "serve": ("itx.serve", (), "serve runs behind an OpenAI-compatible API and the comparison page"),
    "export": ("itx.hf", ("export",), "write a run as a Hugging Face model directory"),
    "import-gguf": ("itx.hf", ("import-gguf",), "a GGUF file (llama.cpp) as a Hugging Face model directory"),
    "inspect": ("itx.hf", ("inspect",), "the itx model fields of a Hugging Face checkpoint"),
    "import-peft": ("itx.hf", ("import-peft",), "PEFT LoRA adapter folders as an itx LoRA run"),
    "stats": ("itx.stats", (), "statistics of a config's data sources or of a generated world"),
    "curate": ("itx.curate", (), "build a parallel corpus: translate | clean | compose | decontaminate | card"),
}


# `--config.data.sources.NAME.FIELD=VALUE` (and eval_sources): taken before absl parses the rest,
# so that a source's optional fields and new named sources can be given (applied by `with_overrides`).
_SOURCE_FLAG = re.compile(r"^--config\.data\.(sources|eval_sources)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)(?:=(.*))?$", re.S)
SOURCE_OVERRIDES: list[tuple[str, str, str, str]] = []  # (sources | eval_sources, name, field, raw value)


def parse_flags(argv):
  """absl's parser, with a one-line error (not a traceback) for a bad flag or --config override."""
  rest = []
  for arg in argv:
    m = _SOURCE_FLAG.match(arg)
    if m is None:
      rest.append(arg)
    elif m.group(4) is None:
      _fail(f"{arg.split('=')[0]}: give a value ({arg}=VALUE)")
    else:
      SOURCE_OVERRIDES.append(m.groups())
  if len(rest) < len(argv):  # ml_collections looks for --config.* overrides in sys.argv itself
    sys.argv[:] = [a for a in sys.argv if _SOURCE_FLAG.match(a) is None]
  try:
    return flags.FLAGS(rest)
  except (AttributeError, KeyError, TypeError, ValueError, flags.Error) as e:
    message = str(e).replace("\\n", " ").replace("\n", " ").replace("\\'", "'").strip("'\" ")
    _fail(_named(message, rest))


def _named(message: str, argv) -> str:
  """ml_collections' "X' Did you mean "Y" instead of "X"?" as the flag's full path and the nearest name."""
  m = re.search(r'Did you mean "([^"]+)" instead of "([^"]+)"', message)
  if m is None:
    return message
  good, bad = m.groups()
  for arg in argv:
    path = arg.split("=", 1)[0].lstrip("-")
    parts = path.split(".")
    if path.startswith("config.") and bad in parts:
      return f"{path}: no such field (did you mean {'.'.join(parts[:parts.index(bad)] + [good])}?)"
  return message


def _fail(message: str):
  sys.stderr.write(f"itx: bad command line: {message}\n")
  sys.exit(2)


def with_overrides(config):
  """The config with the `--config.data.(eval_)sources.NAME.FIELD` flags applied (a new NAME is a new
  source), each value of its field's type; a field no source has is refused with the nearest name."""
  from itx import config as config_lib
  if not SOURCE_OVERRIDES:
    return config
  config = config.copy_and_resolve_references()
  allowed = {"sources": config_lib.SOURCE_FIELDS, "eval_sources": config_lib.EVAL_SOURCE_FIELDS}
  with config.unlocked():
    for section, name, field, raw in SOURCE_OVERRIDES:
      path = f"config.data.{section}.{name}.{field}"
      if field not in allowed[section]:
        near = difflib.get_close_matches(field, allowed[section], n=1)
        hint = f"; did you mean {near[0]}?" if near else ""
        _fail(f"{path}: no such field (a source has {', '.join(allowed[section])}{hint})")
      kind = config_lib.SOURCE_FIELD_TYPES[field]
      try:
        value = kind(raw) if kind is not bool else raw.lower() in ("1", "true", "yes")
      except ValueError:
        _fail(f"{path}={raw!r}: expected {kind.__name__}")
      group = config.data[section]
      if name not in group:
        group[name] = ml_collections.ConfigDict({"weight": 1.0} if section == "sources" else {})
      group[name][field] = value
  return config


def usage() -> str:
  lines = ["usage: itx COMMAND [--flags]", "", "commands:"]
  lines += [f"  {name:<12} {help_}" for name, (_, _, help_) in COMMANDS.items()]
  lines += ["", "`itx COMMAND --help` lists a command's flags."]
  return "\n".join(lines)


def run(argv: list[str] | None = None) -> None:
  """The `itx` console script."""
  argv = list(sys.argv if argv is None else argv)
  if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
    print(usage())
    sys.exit(0 if len(argv) >= 2 else 2)
  command, rest = argv[1], argv[2:]
  if command.startswith("--"):  # `itx --config=...`: training, as before there were subcommands
    command, rest = "train", argv[1:]
  if command not in COMMANDS:
    sys.stderr.write(f"itx: unknown command {command!r}\n{usage()}\n")
    sys.exit(2)
  module, leading, _ = COMMANDS[command]
  sys.argv = [f"itx {command}", *leading, *rest]
  runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
  run()

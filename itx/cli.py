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

Every subcommand takes absl flags (`--help` lists them); a bad flag is a one-line error, exit 2.
"""

from __future__ import annotations

import runpy
import sys

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
}


def parse_flags(argv):
  """absl's parser, with a one-line error (not a traceback) for a bad flag or --config override."""
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError, TypeError, ValueError, flags.Error) as e:
    message = str(e).replace("\\n", " ").replace("\n", " ").replace("\\'", "'").strip("'\" ")
    sys.stderr.write(f"itx: bad command line: {message}\n")
    sys.exit(2)


def usage() -> str:
  lines = ["usage: itx COMMAND [--flags]", "", "commands:"]
  lines += [f"  {name:<8} {help_}" for name, (_, _, help_) in COMMANDS.items()]
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

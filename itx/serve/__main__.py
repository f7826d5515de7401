"""Serves trained runs as an OpenAI-compatible API, with the side-by-side comparison page at `/`.

  python -m itx.serve --workdir=DIR [--port=8000]                  # one run, named after DIR
  python -m itx.serve --run=EN=runs/sft_en --run=PAR=runs/sft_par  # several runs side by side
  itx serve --run=...                                              # the same
  itx serve --gguf=BASE=builtin:gemma3-270m --run=TUNED=runs/lora  # a checkpoint beside a run
  itx serve --hf=DIR                                               # a Hugging Face checkpoint

A checkpoint (`--hf`, `--gguf`) is served without a training run; a base model's tokenizer has no
chat template, so it gets `--chat_template` or its family's (itx.data.templates).

Binds 127.0.0.1 unless told otherwise; any other address requires --api_key.
"""

from __future__ import annotations

import ipaddress
import logging
import os

from absl import app, flags

from itx.cli import parse_flags

_RUN = flags.DEFINE_multi_string("run", [], "NAME=WORKDIR of a run to serve (repeatable).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Shorthand for one run named after the directory (or --name).")
_HF = flags.DEFINE_multi_string("hf", [], "[NAME=]DIR of a Hugging Face checkpoint to serve (repeatable).")
_GGUF = flags.DEFINE_multi_string("gguf", [], "[NAME=]FILE of a GGUF checkpoint to serve, or builtin:gemma3-270m (repeatable).")
_CHAT_TEMPLATE = flags.DEFINE_string("chat_template", "", "Chat template of --hf/--gguf checkpoints (itx.data.templates; "
                                     "default: the tokenizer's, else its family's).")
_NAME = flags.DEFINE_string("name", None, "The model name of --workdir (default: the directory's name).")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
_HOST = flags.DEFINE_string("host", "127.0.0.1", "Address to bind; anything but loopback requires --api_key.")
_PORT = flags.DEFINE_integer("port", 8000, "Port (0: a free one).")
_API_KEY = flags.DEFINE_string("api_key", None, "Clients must send `Authorization: Bearer KEY`.")
_SLOTS = flags.DEFINE_integer("slots", 16, "Rows decoded together per run (rounded up to the data shards).")
_MAX_LEN = flags.DEFINE_integer("max_len", None, "Positions per row, prompt + answer (default: the run's seq_len).")
_MAX_WAITING = flags.DEFINE_integer("max_waiting", 256, "Waiting rows per run beyond which requests get 503.")
_MAX_TOKENS = flags.DEFINE_integer("max_tokens", 1024, "Cap on a request's max_tokens.")
_MAX_BODY = flags.DEFINE_integer("max_body_bytes", 1 << 20, "Largest request body accepted.")
_GROUPS = flags.DEFINE_list("groups", None, "Tag-conditioning groups of every run, overriding config.data.groups.")


def parse_runs(specs: list[str], workdir: str | None, name: str | None, *, hf: list[str] = (),
               gguf: list[str] = ()) -> list[tuple[str, str]]:
  """[(name, source)] from --run NAME=WORKDIR, --workdir, --hf [NAME=]DIR and --gguf [NAME=]FILE;
  a source is a run directory, `hf:DIR` or `gguf:FILE`."""
  runs = []
  for spec in specs:
    n, sep, w = spec.partition("=")
    if not sep or not n or not w:
      raise app.UsageError(f"--run={spec!r}: expected NAME=WORKDIR")
    if not os.path.isdir(w):
      raise app.UsageError(f"--run {n}: {w} is not a directory")
    runs.append((n, w))
  if workdir:
    if not os.path.isdir(workdir):
      raise app.UsageError(f"--workdir: {workdir} is not a directory")
    runs.append((name or os.path.basename(os.path.abspath(workdir)), workdir))
  for flag, prefix, specs_ in (("hf", "hf:", hf), ("gguf", "gguf:", gguf)):
    for spec in specs_:
      n, sep, path = spec.partition("=") if "=" in spec else ("", "", spec)
      if not path or (sep and not n):
        raise app.UsageError(f"--{flag}={spec!r}: expected [NAME=]PATH")
      exists = os.path.isdir(path) if flag == "hf" else (os.path.isfile(path) or path.startswith("builtin:"))
      if not exists:
        raise app.UsageError(f"--{flag}: {path} is not a {'directory' if flag == 'hf' else 'file'}")
      default = os.path.basename(os.path.normpath(path.removeprefix("builtin:"))).removesuffix(".gguf")
      runs.append((n or default, prefix + path))
  if not runs:
    raise app.UsageError("nothing to serve: give --run=NAME=WORKDIR, --workdir=DIR, --hf=DIR or --gguf=FILE")
  return runs


def is_loopback(host: str) -> bool:
  if host == "localhost":
    return True
  try:
    return ipaddress.ip_address(host).is_loopback
  except ValueError:
    return False


def main(argv) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not is_loopback(_HOST.value) and not _API_KEY.value:
    raise app.UsageError(f"--host={_HOST.value} is reachable from other machines: give --api_key too")
  runs = parse_runs(_RUN.value, _WORKDIR.value, _NAME.value, hf=_HF.value, gguf=_GGUF.value)
  logging.getLogger().setLevel(logging.WARNING)
  logging.getLogger("itx").setLevel(logging.INFO)
  import uvicorn  # after flag parsing: keeps `--help` fast

  from itx.inference import load_checkpoint, load_run, local_mesh
  from itx.serve.app import create_app
  from itx.serve.registry import serve_loaded_run
  from itx.train.compilation import enable_persistent_cache
  enable_persistent_cache()
  served = []
  for n, w in runs:
    if w.startswith(("hf:", "gguf:")):
      loaded = load_checkpoint(w, max_len=_MAX_LEN.value or 2048, chat_template=_CHAT_TEMPLATE.value)
    else:
      loaded = load_run(w, _STEP.value, mesh_overrides=local_mesh())
    served.append(serve_loaded_run(n, loaded, slots=_SLOTS.value, max_len=_MAX_LEN.value,
                                   max_waiting=_MAX_WAITING.value, groups=_GROUPS.value, workdir=w))
  api = create_app(served, api_key=_API_KEY.value, max_tokens=_MAX_TOKENS.value, max_body_bytes=_MAX_BODY.value)
  ids = ", ".join(m["id"] for m in _model_ids(served))
  config = uvicorn.Config(api, host=_HOST.value, port=_PORT.value, log_level="warning")
  server = uvicorn.Server(config)

  # Announce the bound port (useful with --port=0) once uvicorn listens.
  startup = server.startup

  async def announced(sockets=None):
    await startup(sockets)
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else _PORT.value
    print(f"serving {ids} on http://{_HOST.value}:{port}/v1 (comparison page: http://{_HOST.value}:{port}/)",
          flush=True)

  server.startup = announced
  server.run()


def _model_ids(served):
  from itx.serve.registry import model_table
  return [m.card() for m in model_table(served).values()]


def run() -> None:
  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  run()

"""`python -m itx.serve --workdir=DIR [--port=8000] [--host=127.0.0.1] [--name=NAME]`

Serves the checkpoint in DIR as an OpenAI-compatible chat-completions endpoint
(`POST /v1/chat/completions`, `GET /v1/models`), so that any OpenAI client, and itx's own judge
client, can talk to it.
"""

from __future__ import annotations

import argparse
import logging
import os

from itx.inference import load_run, local_mesh
from itx.serve.server import make_server


def main(argv=None) -> None:
  p = argparse.ArgumentParser(prog="python -m itx.serve", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True)
  p.add_argument("--step", type=int, default=None)
  p.add_argument("--host", default="127.0.0.1")
  p.add_argument("--port", type=int, default=8000)
  p.add_argument("--name", default=None, help="the model name clients send (default: the workdir's name)")
  p.add_argument("--max_new_tokens", type=int, default=1024)
  args = p.parse_args(argv)
  logging.basicConfig(level=logging.INFO)
  run = load_run(args.workdir, args.step, mesh_overrides=local_mesh())
  name = args.name or os.path.basename(os.path.abspath(args.workdir))
  server = make_server(run.generator(), name, host=args.host, port=args.port,
                       max_new_tokens_limit=args.max_new_tokens)
  print(f"serving {args.workdir} as {name!r} on http://{args.host}:{server.server_address[1]}/v1", flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    server.server_close()


if __name__ == "__main__":
  main()

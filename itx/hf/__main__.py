"""`python -m itx.hf export --workdir=DIR --out=HF_DIR [--step=N] [--dtype=bfloat16]`
`python -m itx.hf inspect --hf=HF_DIR [--seq_len=N]`: the itx model fields a checkpoint maps to
(or the option that itx refuses)."""

from __future__ import annotations

import argparse
import json
import sys

from itx.hf import config_map
from itx.hf.export import export_run


def main(argv=None) -> int:
  p = argparse.ArgumentParser(prog="python -m itx.hf", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = p.add_subparsers(dest="command", required=True)
  e = sub.add_parser("export", help="an itx run -> a Hugging Face directory")
  e.add_argument("--workdir", required=True)
  e.add_argument("--out", required=True)
  e.add_argument("--step", type=int, default=None)
  e.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None)
  e.add_argument("--max_shard_gb", type=float, default=2.0)
  i = sub.add_parser("inspect", help="the itx fields of a Hugging Face config.json")
  i.add_argument("--hf", required=True)
  i.add_argument("--seq_len", type=int, default=None)
  args = p.parse_args(argv)
  try:
    if args.command == "export":
      out = export_run(args.workdir, args.out, step=args.step, dtype=args.dtype,
                       max_shard_bytes=int(args.max_shard_gb * 1024**3))
      print(f"exported {args.workdir} to {out}")
    else:
      fields = config_map.model_fields(config_map.read_config(args.hf), where=f"{args.hf}/config.json",
                                       max_len=args.seq_len)
      print(json.dumps(fields, indent=2))
  except (FileNotFoundError, FileExistsError, config_map.UnsupportedCheckpoint) as err:
    print(f"itx.hf: {err}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())

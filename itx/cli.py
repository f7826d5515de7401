"""Command-line plumbing shared by itx's entry points."""

from __future__ import annotations

import sys

from absl import flags


def parse_flags(argv):
  """absl's parser, with a one-line error (not a traceback) for a bad --config override."""
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError, TypeError, ValueError, flags.Error) as e:
    message = str(e).replace("\\n", " ").replace("\n", " ").replace("\\'", "'").strip("'\" ")
    sys.stderr.write(f"itx: bad command line: {message}\n")
    sys.exit(2)

"""A user's mistake (in the config, its data files, its records or its checkpoint) as one line on
stderr and exit status 2, never a traceback: what the command-line tools wrap their work in."""

from __future__ import annotations

import contextlib
import sys

from itx.config import ConfigError
from itx.data.chat import ExampleError, TemplateError
from itx.data.jsonl import RecordError
from itx.data.templates import ChatTemplateError
from itx.hf.gguf_import import GGUFError
from itx.models.families import UnsupportedCheckpoint
from itx.train.frozen_base import BaseMismatch

USER_ERRORS = (ConfigError, FileNotFoundError, IsADirectoryError, PermissionError, RecordError, ExampleError,
               TemplateError, ChatTemplateError, GGUFError, UnsupportedCheckpoint, BaseMismatch)


@contextlib.contextmanager
def user_errors():
  try:
    yield
  except USER_ERRORS as e:
    message = str(e).replace("\n", " ")
    sys.stderr.write(f"itx: {message}\n")
    sys.exit(2)

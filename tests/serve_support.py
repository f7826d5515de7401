"""Shared fixtures of the server tests: one tiny trained run (with tag-conditioning groups in its
config), loaded once, served by one in-process server for the whole session."""

import pytest

from helpers import tiny_config

GROUPS = ("liberal", "conservative", "teenagers", "older people")


@pytest.fixture(scope="session")
def groups_run(tmp_path_factory):
  from itx.train.loop import train
  c = tiny_config()
  c.train.steps = 2
  c.data.groups = GROUPS
  workdir = str(tmp_path_factory.mktemp("served_run"))
  train(c, workdir)
  return workdir


@pytest.fixture(scope="session")
def loaded(groups_run):
  from itx.inference import load_run, local_mesh
  return load_run(groups_run, mesh_overrides=local_mesh())


@pytest.fixture(scope="session")
def served(loaded):
  """(base URL, the ServedRun named "tiny"): two runs of the same weights, "tiny" with the groups and
  "plain" without; 8 slots, 512 positions (the toy tokenizer spells system messages letter by letter)."""
  from itx.serve.app import create_app
  from itx.serve.inprocess import serve_in_thread
  from itx.serve.registry import serve_loaded_run
  tiny = serve_loaded_run("tiny", loaded, slots=8, max_len=512)
  plain = serve_loaded_run("plain", loaded, slots=8, max_len=512, groups=())
  with serve_in_thread(create_app([tiny, plain], max_tokens=64, max_body_bytes=64 << 10)) as url:
    yield url, tiny

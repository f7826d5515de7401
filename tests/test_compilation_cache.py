"""The persistent compilation cache: on by default in itx's cache folder, so a second process loads a
program the first compiled; ITX_COMPILATION_CACHE=0 turns it off. (Subprocesses: JAX's cache
settings are process-wide.)"""

import os
import subprocess
import sys

PROGRAM = """
import jax, jax.numpy as jnp
from itx.train.compilation import enable_persistent_cache
print(enable_persistent_cache())
print(jax.jit(lambda x: jnp.sin(x) @ x.T + 1.5)(jnp.ones((7, 5))).sum())
"""


def run(env):
  out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  return out.stdout.split("\n")


def test_a_second_process_reuses_the_first_ones_programs(tmp_path):
  env = {**os.environ, "ITX_CACHE": str(tmp_path), "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_COMPILATION_CACHE_DIR", None)
  first = run(env)
  folder = tmp_path / "xla"
  assert first[0] == str(folder)
  entries = set(os.listdir(folder))
  assert entries  # the program was written
  second = run(env)
  assert second[1] == first[1] and set(os.listdir(folder)) == entries  # loaded, not compiled and added


def test_it_can_be_turned_off(tmp_path):
  env = {**os.environ, "ITX_CACHE": str(tmp_path), "ITX_COMPILATION_CACHE": "0", "JAX_PLATFORMS": "cpu"}
  env.pop("JAX_COMPILATION_CACHE_DIR", None)
  assert run(env)[0] == "None"
  assert not (tmp_path / "xla").exists()

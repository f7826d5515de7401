"""Every test runs on 8 simulated CPU devices (a TPU slice in miniature) and an isolated cache."""

import os
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("ITX_CACHE", tempfile.mkdtemp(prefix="itx-test-cache-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One compilation cache for the session (subprocesses included): tests compile the same tiny programs again and again.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(os.environ["ITX_CACHE"], "jax-compilation"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax  # noqa: E402  (after XLA_FLAGS)
import pytest  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(scope="session")
def toy_tokenizer():
  from itx.datasets.sources import tokenizer
  return tokenizer("builtin:toy")

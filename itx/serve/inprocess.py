"""An app served by uvicorn on a background thread of this process (tests, benchmarks, a judge
served next to an evaluation): `with serve_in_thread(app) as url: ...`."""

from __future__ import annotations

import contextlib
import threading
import time

import uvicorn


@contextlib.contextmanager
def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout: float = 120.0):
  """Yields the base URL (`http://host:port`) once the server accepts connections; shuts it down
  (and, through the app's lifespan, its engines) on exit. port 0 takes a free port."""
  server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
  thread = threading.Thread(target=server.run, name="itx-uvicorn", daemon=True)
  thread.start()
  deadline = time.monotonic() + timeout
  while not server.started:
    if not thread.is_alive() or time.monotonic() > deadline:
      raise RuntimeError(f"the server on {host}:{port} did not start")
    time.sleep(0.02)
  bound = server.servers[0].sockets[0].getsockname()[1]
  try:
    yield f"http://{host}:{bound}"
  finally:
    server.should_exit = True
    thread.join(timeout)

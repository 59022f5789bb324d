"""Entry point of the managed llama.cpp server process: ``python -m llm.server_child OWNER_PID ARGS...``.

It runs ``llama_cpp.server`` with two additions:

- a watchdog thread that exits when the owner process is gone, so a server never outlives the app that started
  it — even when the app is killed by SIGKILL or dies before its atexit hook runs (other processes that were
  reusing it simply start a new one on their next call);
- ``HEALTH_PATH``, which names the served model without waiting for the model lock. llama.cpp's own
  ``/v1/models`` waits behind the generation in progress, so on a loaded machine a long generation made a
  healthy server look hung, and callers restarted it under each other's requests.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

HEALTH_PATH = "/shopguide/health"


def _watch(owner_pid: int, period_s: float = 2.0) -> None:
    while True:
        time.sleep(period_s)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(0)  # the owner is gone: no orphan server
        except PermissionError:
            pass


def _with_health_route(create_app: Callable[..., Any]) -> Callable[..., Any]:
    def create(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        aliases = [m.model_alias or m.model for m in kwargs.get("model_settings") or []]

        @app.get(HEALTH_PATH)
        def health() -> dict[str, list[dict[str, str]]]:
            return {"data": [{"id": alias} for alias in aliases]}  # the shape of /v1/models

        return app

    return create


def main() -> None:
    owner_pid = int(sys.argv[1])
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    threading.Thread(target=_watch, args=(owner_pid,), daemon=True, name="owner-watchdog").start()
    import llama_cpp.server.app as server_app  # heavy (loads the native library): only in the server process

    server_app.create_app = _with_health_route(server_app.create_app)
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

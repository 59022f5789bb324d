"""Entry point of the managed llama.cpp server process: ``python -m llm.server_child OWNER_PID ARGS...``.

It runs ``llama_cpp.server`` unchanged, plus a watchdog thread that exits when the owner process is gone, so a
server never outlives the app that started it — even when the app is killed by SIGKILL or dies before its
atexit hook runs (other processes that were reusing it simply start a new one on their next call).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _watch(owner_pid: int, period_s: float = 2.0) -> None:
    while True:
        time.sleep(period_s)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(0)  # the owner is gone: no orphan server
        except PermissionError:
            pass


def main() -> None:
    owner_pid = int(sys.argv[1])
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    threading.Thread(target=_watch, args=(owner_pid,), daemon=True, name="owner-watchdog").start()
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

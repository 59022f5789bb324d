"""Start-and-wait for child servers (llama.cpp, ``chroma run``, ``shopguide serve``): one health-check loop."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Collection
from typing import Any

import httpx


class ProcessExited(RuntimeError):
    """The child died before it became healthy (its log usually says why)."""

    def __init__(self, what: str, returncode: int) -> None:
        super().__init__(f"{what} exited with {returncode}")
        self.returncode = returncode


def http_answers(url: str, ok_statuses: Collection[int] = (200,), timeout_s: float = 1.0) -> bool:
    """True when ``GET url`` answers with one of ``ok_statuses``; False on any connection problem."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code in ok_statuses
    except httpx.HTTPError:
        return False


def wait_until_healthy(
    process: subprocess.Popen[Any],
    healthy: Callable[[], bool],
    *,
    what: str,
    timeout_s: float,
    poll_s: float = 0.3,
) -> None:
    """Poll ``healthy()`` until it holds; ProcessExited if the child dies first, TimeoutError at the deadline.
    Stopping the child on failure is the caller's choice (some keep its log, some retry)."""
    deadline = time.monotonic() + timeout_s
    while not healthy():
        if process.poll() is not None:
            raise ProcessExited(what, process.returncode)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not become healthy within {timeout_s:.0f} s")
        time.sleep(poll_s)

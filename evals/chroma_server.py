"""Run a local Chroma server (``chroma run``) on 127.0.0.1 for the server-mode tests (a test harness, so it lives in evals/)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.process import http_answers, wait_until_healthy


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    """The ``chroma`` CLI of this interpreter's environment (falls back to PATH)."""
    candidate = Path(sys.executable).with_name("chroma")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("chroma")
    if not found:
        raise FileNotFoundError("the `chroma` command is not installed (pip install chromadb)")
    return found


@contextmanager
def chroma_server(path: Path, port: int | None = None, timeout_s: float = 60.0) -> Iterator[str]:
    """Start ``chroma run`` on 127.0.0.1, wait until it answers, yield its URL, and stop it afterwards."""
    port = port or free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = (path.parent / f"chroma-{port}.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [chroma_executable(), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            proc,
            lambda: http_answers(f"{url}/api/v2/heartbeat"),
            what=f"chroma run ({log.name})",
            timeout_s=timeout_s,
        )
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

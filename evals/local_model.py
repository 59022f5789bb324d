"""Helpers shared by the agent's integration tests and benchmarks (kept in the package so both can import it)."""

from __future__ import annotations

import os
from pathlib import Path

from domain.settings import Settings

SHARED_MODEL_ENV = "SHOPGUIDE_TEST_MODEL_PATH"


def local_settings(base: Settings, *, port: int | None = None) -> Settings:
    """``base`` switched to the managed local model. Reuses an already assembled GGUF when one is known
    (``SHOPGUIDE_TEST_MODEL_PATH`` or ``base.local_model_path``) so each test store does not re-assemble 491 MB."""
    update: dict[str, object] = {"llm": "local"}
    shared = os.environ.get(SHARED_MODEL_ENV)
    if shared and Path(shared).is_file():
        update["local_model_path"] = Path(shared)
    if port is not None:
        update["local_port"] = port
    return base.model_copy(update=update)


def free_port() -> int:
    """An unused local TCP port, so a test's server never collides with another suite's (or engineer's)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

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

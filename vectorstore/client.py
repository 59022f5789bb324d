"""Chroma client factory: an embedded ``PersistentClient`` under the data dir, or an ``HttpClient`` by URL.

Telemetry is always off: the app must run with the network unplugged.
"""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlparse

from domain.settings import Settings

# Chroma reads these at import; set them before chromadb is imported anywhere in the process.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("CHROMA_TELEMETRY_IMPL", "none")


def chroma_settings():  # type: ignore[no-untyped-def]
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def get_chroma_client(settings: Settings):  # type: ignore[no-untyped-def]
    """The Chroma client these settings choose (cached per path/URL for the process)."""
    if settings.chroma_url:
        return _http_client(settings.chroma_url)
    assert settings.chroma_path is not None
    return _persistent_client(str(settings.chroma_path))


@lru_cache(maxsize=8)
def _persistent_client(path: str):  # type: ignore[no-untyped-def]
    import chromadb

    os.makedirs(path, exist_ok=True)
    return chromadb.PersistentClient(path=path, settings=chroma_settings())


@lru_cache(maxsize=8)
def _http_client(url: str):  # type: ignore[no-untyped-def]
    import chromadb

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if not parsed.hostname:
        raise ValueError(f"SHOPGUIDE_CHROMA_URL must look like http://host:port, got {url!r}")
    ssl = parsed.scheme == "https"
    port = parsed.port or (443 if ssl else 8000)
    return chromadb.HttpClient(host=parsed.hostname, port=port, ssl=ssl, settings=chroma_settings())


def describe(settings: Settings) -> str:
    return (
        f"chroma server {settings.chroma_url}" if settings.chroma_url else f"chroma at {settings.chroma_path}"
    )

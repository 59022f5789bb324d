"""Right to erasure across every layer: ``shopguide forget`` (the store part is ``domain.privacy.erasure``).

Order matters for re-runs: the texts that were embedded are collected first (from Chroma and the store), then
Chroma, the embedding cache, the agent checkpoints (the user's own conversations and staff conversations about
them) and saved per-user model tables are cleaned, and the store rows go last in one transaction. If anything
fails, running ``forget`` again finishes the job: every step is idempotent and works even when the user is
already gone from the store.
"""

from __future__ import annotations

import logging
import sqlite3

from agent.memory import forget_user_threads
from domain.privacy.access import Principal
from domain.privacy.erasure import ErasureReport, erase_store_rows, forget_model_rows, user_exists
from domain.settings import Settings
from domain.store.db import get_engine
from vectorstore.documents import iter_history_docs
from vectorstore.embedding import EmbeddingCache, get_embedding_function
from vectorstore.index import get_shop_index

log = logging.getLogger(__name__)


def _history_texts_from_store(settings: Settings, user_id: str) -> list[str]:
    return [doc.text for doc in iter_history_docs(get_engine(settings), user_id=user_id)]


def _forget_in_chroma(settings: Settings, user_id: str, report: ErasureReport) -> list[str]:
    """Delete the user's documents from every collection; returns the texts they held (for the cache)."""
    index = get_shop_index(settings)
    texts: list[str] = []
    for collection in index.client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        coll = index.client.get_collection(name, embedding_function=index.embedder)
        found = coll.get(where={"user_id": user_id}, include=["documents"])
        ids = list(found["ids"])
        texts.extend(doc for doc in (found.get("documents") or []) if doc)
        for start in range(0, len(ids), 5000):
            coll.delete(ids=ids[start : start + 5000])
        report.removed[f"chroma.{name}"] = len(ids)
    # the retrieval engineer's own hook too (it may clean side tables of its own)
    extra = index.forget_user(user_id)
    if extra:
        report.removed["chroma.user_history"] = report.removed.get("chroma.user_history", 0) + extra
    return texts


def _forget_embeddings(settings: Settings, texts: list[str]) -> int:
    """Delete cached vectors of the user's texts (the cache is keyed by sha256(model, text))."""
    path = settings.cache_dir / "embeddings.sqlite"
    if not texts or not path.exists():
        return 0
    model_id = get_embedding_function(settings).model_id
    keys = sorted({EmbeddingCache.key(model_id, text) for text in texts})
    removed = 0
    with sqlite3.connect(str(path), timeout=30) as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            removed += conn.execute(f"DELETE FROM vectors WHERE key IN ({marks})", chunk).rowcount
    return removed


def forget_user(settings: Settings, user_id: str, *, principal: Principal | None = None) -> ErasureReport:
    """Erase ``user_id`` everywhere; returns what was removed. Safe to run again."""
    user_id = (user_id or "").strip()
    if not user_id:
        raise ValueError("user_id is required")
    report = ErasureReport(user_id=user_id, existed=user_exists(settings, user_id))
    texts = _history_texts_from_store(settings, user_id)

    try:
        texts += _forget_in_chroma(settings, user_id, report)
    except Exception as exc:  # a broken index must not block the store erasure; a re-run retries it
        log.exception("Chroma erasure failed")
        report.warnings.append(f"Chroma: {exc.__class__.__name__}: {exc} (run forget again)")
    try:
        report.removed["cache.embeddings"] = _forget_embeddings(settings, texts)
    except Exception as exc:
        report.warnings.append(f"embedding cache: {exc.__class__.__name__}: {exc}")
    try:
        report.removed["cache.agent_threads"] = forget_user_threads(settings, user_id)
    except Exception as exc:
        report.warnings.append(f"agent checkpoints: {exc.__class__.__name__}: {exc}")

    try:
        report.removed["models.user_rows"] = forget_model_rows(settings, user_id)
    except Exception as exc:
        report.warnings.append(f"model tables: {exc.__class__.__name__}: {exc}")

    erase_store_rows(settings, user_id, report, principal)
    return report

"""Right to erasure, the vector store's part: the user's documents in every Chroma collection and the cached
vectors of their texts. Idempotent: works when the user is already gone from the store."""

from __future__ import annotations

import logging

from domain.privacy.erasure import ErasureReport
from domain.settings import Settings
from domain.store.db import get_engine
from vectorstore.documents import iter_history_docs
from vectorstore.embedding import EmbeddingCache, get_embedding_function
from vectorstore.index import get_shop_index

log = logging.getLogger(__name__)

_DELETE_BATCH = 5000


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
        for start in range(0, len(ids), _DELETE_BATCH):
            coll.delete(ids=ids[start : start + _DELETE_BATCH])
        report.removed[f"chroma.{name}"] = len(ids)
    return texts


def _forget_embeddings(settings: Settings, texts: list[str]) -> int:
    """Delete cached vectors of the user's texts (the cache is keyed by sha256(model, text))."""
    path = settings.cache_dir / "embeddings.sqlite"
    if not texts or not path.exists():
        return 0
    model_id = get_embedding_function(settings).model_id
    return EmbeddingCache(path).delete_many(sorted({EmbeddingCache.key(model_id, text) for text in texts}))


def forget_user(settings: Settings, user_id: str, report: ErasureReport) -> None:
    """Run before the store rows go: the store still names the texts that were embedded."""
    texts = [doc.text for doc in iter_history_docs(get_engine(settings), user_id=user_id)]
    try:
        texts += _forget_in_chroma(settings, user_id, report)
    except Exception as exc:  # a broken index must not block the store erasure; a re-run retries it
        log.exception("Chroma erasure failed")
        report.warnings.append(f"Chroma: {exc.__class__.__name__}: {exc} (run forget again)")
    try:
        report.removed["cache.embeddings"] = _forget_embeddings(settings, texts)
    except Exception as exc:
        report.warnings.append(f"embedding cache: {exc.__class__.__name__}: {exc}")

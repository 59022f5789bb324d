"""Incremental sync of one Chroma collection with a list of documents: upsert what changed, delete what is gone.

Each stored document carries ``content_hash`` in its metadata; an unchanged document is neither re-embedded nor
rewritten. Embeddings come from our cached embedder and are passed to Chroma explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel
from tqdm import tqdm

from vectorstore.documents import IndexDoc
from vectorstore.embedding import ShopEmbeddingFunction

_PAGE = 5000  # per upsert (Chroma's max batch here is 5,461; bigger batches write faster)


class SyncResult(BaseModel):
    upserted: int = 0
    deleted: int = 0
    unchanged: int = 0


def doc_vectors(embedder: ShopEmbeddingFunction, docs: Sequence[IndexDoc]) -> np.ndarray:
    """One vector per doc: its text's embedding, or the normalised mean of its parts' embeddings."""
    unique = list(dict.fromkeys(t for d in docs for t in (d.parts or [d.text])))
    table = dict(zip(unique, embedder.embed(unique), strict=True))
    rows = []
    for doc in docs:
        vec = np.mean([table[t] for t in doc.parts], axis=0) if doc.parts else table[doc.text]
        rows.append(vec / max(float(np.linalg.norm(vec)), 1e-12))
    return np.asarray(rows, dtype=np.float32).reshape(len(docs), -1)


def stored_hashes(coll: Any, where: dict[str, Any] | None = None) -> dict[str, str]:
    """id -> content_hash of everything stored (optionally only what matches ``where``)."""
    hashes: dict[str, str] = {}
    offset = 0
    while True:
        got = coll.get(where=where, limit=_PAGE, offset=offset, include=["metadatas"])
        if not got["ids"]:
            return hashes
        for doc_id, meta in zip(got["ids"], got["metadatas"], strict=True):
            hashes[doc_id] = str((meta or {}).get("content_hash", ""))
        offset += len(got["ids"])


def sync_collection(
    coll: Any,
    docs: Sequence[IndexDoc],
    embedder: ShopEmbeddingFunction,
    progress: bool,
    label: str,
    where: dict[str, Any] | None = None,
) -> SyncResult:
    existing = stored_hashes(coll, where)
    wanted = {d.id for d in docs}
    if len(wanted) != len(docs):
        raise ValueError(f"{label}: duplicate document ids")
    changed = [(d, h) for d in docs if existing.get(d.id) != (h := d.content_hash())]
    gone = [doc_id for doc_id in existing if doc_id not in wanted]
    with tqdm(
        total=len(changed), desc=f"index {label}", unit="doc", disable=not progress or not changed
    ) as bar:
        for start in range(0, len(changed), _PAGE):
            batch = changed[start : start + _PAGE]
            vectors = doc_vectors(embedder, [d for d, _ in batch])
            coll.upsert(
                ids=[d.id for d, _ in batch],
                embeddings=vectors,
                documents=[d.text for d, _ in batch],
                metadatas=[{**d.metadata, "content_hash": h} for d, h in batch],
            )
            bar.update(len(batch))
    for start in range(0, len(gone), _PAGE):
        coll.delete(ids=gone[start : start + _PAGE])
    return SyncResult(upserted=len(changed), deleted=len(gone), unchanged=len(docs) - len(changed))

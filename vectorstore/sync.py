"""Incremental sync of one Chroma collection with a list of documents: upsert what changed, delete what is gone.

Each stored document carries ``content_hash`` in its metadata; an unchanged document is neither re-embedded nor
rewritten. Embeddings come from our cached embedder and are passed to Chroma explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from tqdm import tqdm

from vectorstore.documents import IndexDoc
from vectorstore.embedding import ShopEmbeddingFunction

_PAGE = 2000  # per upsert; Chroma's max batch here is 5,461


class SyncResult(BaseModel):
    upserted: int = 0
    deleted: int = 0
    unchanged: int = 0


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
    with tqdm(total=len(changed), desc=f"index {label}", unit="doc", disable=not progress or not changed) as bar:
        for start in range(0, len(changed), _PAGE):
            batch = changed[start : start + _PAGE]
            vectors = embedder.embed([d.text for d, _ in batch])
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

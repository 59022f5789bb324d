"""ShopIndex: bilingual hybrid search over products and per-user histories, backed by Chroma.

``get_shop_index(settings)`` returns one index per settings (embedded Chroma under the data dir, or a Chroma
server by URL). Products are searched by an exact dense scan fused with BM25 by reciprocal rank fusion, with
the same filter mask on both arms; histories are always fetched by ``user_id`` first, so no query can reach
another user's documents.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from domain.cache import per_settings
from domain.settings import Settings
from domain.store.db import get_engine
from vectorstore.client import get_chroma_client
from vectorstore.crosslingual import fuse
from vectorstore.dictionary import configure as configure_dictionary
from vectorstore.dictionary import prepare_cache as prepare_dictionary
from vectorstore.documents import iter_history_docs, iter_product_docs
from vectorstore.embedding import get_embedding_function
from vectorstore.hybrid import BM25Index, dense_search, rrf_fuse, top_k
from vectorstore.product_table import ProductTable
from vectorstore.retriever import ShopRetriever
from vectorstore.sync import doc_vectors, sync_collection
from vectorstore.tokenize import configure as configure_tokenizer

SearchMode = Literal["hybrid", "dense", "bm25"]
PRODUCTS = "products"
HISTORY = "user_history"
_CANDIDATES = 50  # per arm, before fusion
_STALE_CHECK_S = 2.0


class ProductHit(BaseModel):
    product_id: str
    score: float
    rank: int
    dense_rank: int | None = None
    bm25_rank: int | None = None


class HistoryHit(BaseModel):
    doc_id: str
    user_id: str
    kind: str
    ts: int
    amount: float = 0.0
    text: str
    score: float
    rank: int


class IndexStats(BaseModel):
    products_total: int = 0
    products_upserted: int = 0
    products_deleted: int = 0
    history_total: int = 0
    history_upserted: int = 0
    history_deleted: int = 0
    texts_embedded: int = Field(0, description="forward passes of the embedder (cache misses)")
    seconds: float = 0.0


class ShopIndex:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embedder = get_embedding_function(settings)
        self.client = get_chroma_client(settings)
        target = settings.chroma_url or str(settings.chroma_path)
        self.sidecar_dir = settings.cache_dir / "index" / hashlib.sha1(target.encode()).hexdigest()[:12]
        configure_tokenizer(settings.cache_dir / "jieba")
        configure_dictionary(settings.cache_dir / "dictionary")
        self._lock = threading.RLock()
        self._table: ProductTable | None = None
        self._checked_at = 0.0
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_lock = threading.Lock()

    # --- collections ------------------------------------------------------------------------------------------
    def collection(self, name: str):  # type: ignore[no-untyped-def]
        return self.client.get_or_create_collection(
            name=name,
            embedding_function=self.embedder,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"generation": "empty"},
        )

    def _generation(self) -> str:
        metadata = self.collection(PRODUCTS).metadata or {}
        return str(metadata.get("generation", "empty"))

    def _bump_generation(self, name: str) -> str:
        generation = uuid.uuid4().hex
        self.collection(name).modify(metadata={"generation": generation})
        return generation

    # --- lifecycle --------------------------------------------------------------------------------------------
    def refresh(self, progress: bool = True, *, products: bool = True, history: bool = True) -> IndexStats:
        """Build or refresh both collections from the store: upsert new/changed docs, delete what is gone."""

        started = time.perf_counter()
        embedded_before = self.embedder.stats["embedded"]
        stats = IndexStats()
        engine = get_engine(self.settings)
        with self._lock:
            if products:
                docs = list(iter_product_docs(engine))
                result = sync_collection(self.collection(PRODUCTS), docs, self.embedder, progress, "products")
                stats.products_total, stats.products_upserted, stats.products_deleted = (
                    len(docs),
                    result.upserted,
                    result.deleted,
                )
                stale = ProductTable.saved_generation(self.sidecar_dir) != self._generation()
                if result.upserted or result.deleted or stale:
                    generation = self._bump_generation(PRODUCTS)
                    matrix = doc_vectors(self.embedder, docs)
                    table = ProductTable.build(
                        generation,
                        [d.id for d in docs],
                        [d.text for d in docs],
                        [d.metadata for d in docs],
                        matrix,
                    )
                    table.save(self.sidecar_dir)
                    self._table = table
                    self._checked_at = time.monotonic()
                prepare_dictionary()  # here, not on a shopper's first cross-language query
            if history:
                docs = list(iter_history_docs(engine))
                result = sync_collection(self.collection(HISTORY), docs, self.embedder, progress, "history")
                stats.history_total, stats.history_upserted, stats.history_deleted = (
                    len(docs),
                    result.upserted,
                    result.deleted,
                )
        stats.texts_embedded = self.embedder.stats["embedded"] - embedded_before
        stats.seconds = round(time.perf_counter() - started, 3)
        return stats

    def refresh_user(self, user_id: str) -> int:
        """Re-index one user's history (after an ingest touching that user); returns docs written."""

        docs = list(iter_history_docs(get_engine(self.settings), user_id=user_id))
        result = sync_collection(
            self.collection(HISTORY), docs, self.embedder, False, "history", where={"user_id": user_id}
        )
        return result.upserted

    def forget_user(self, user_id: str) -> int:
        """Delete every history document of this user; returns how many were deleted."""
        coll = self.collection(HISTORY)
        ids = coll.get(where={"user_id": user_id}, include=[])["ids"]
        for start in range(0, len(ids), 5000):
            coll.delete(ids=ids[start : start + 5000])
        return len(ids)

    # --- products ---------------------------------------------------------------------------------------------
    def product_table(self) -> ProductTable:
        """The search snapshot, loaded from disk or rebuilt from Chroma when its generation is stale."""
        with self._lock:
            now = time.monotonic()
            if self._table is not None and now - self._checked_at < _STALE_CHECK_S:
                return self._table
            generation = self._generation()
            self._checked_at = now
            if self._table is not None and self._table.generation == generation:
                return self._table
            table = None
            if ProductTable.saved_generation(self.sidecar_dir) == generation:
                try:
                    table = ProductTable.load(self.sidecar_dir)
                except (OSError, ValueError, KeyError):
                    table = None  # being swapped by another process, or damaged: rebuild from Chroma
            if table is None:
                table = self._table_from_chroma(generation)
                table.save(self.sidecar_dir)
            self._table = table
            return table

    def _table_from_chroma(self, generation: str) -> ProductTable:
        coll = self.collection(PRODUCTS)
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        offset, page = 0, 5000
        while True:
            got = coll.get(limit=page, offset=offset, include=["documents", "metadatas", "embeddings"])
            if not got["ids"]:
                break
            ids += got["ids"]
            texts += got["documents"]
            metas += [dict(m) for m in got["metadatas"]]
            vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
            offset += len(got["ids"])
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, 512), dtype=np.float32)
        return ProductTable.build(generation, ids, texts, metas, matrix)

    def query_vector(self, text: str) -> np.ndarray:
        """Query embedding, memoised in-process (queries repeat; no disk write on the hot path)."""
        with self._memo_lock:
            vec = self._query_vectors.get(text)
        if vec is None:
            vec = self.embedder.embed_uncached([text])[0]
            with self._memo_lock:
                self._query_vectors[text] = vec
                if len(self._query_vectors) > 2048:
                    self._query_vectors.popitem(last=False)
        return vec

    def search_products(
        self,
        query: str,
        k: int = 10,
        *,
        min_price: float | None = None,
        max_price: float | None = None,
        category: str | None = None,
        in_stock_only: bool = True,
        mode: SearchMode = "hybrid",
        dense_weight: float = 1.0,
        bm25_weight: float = 1.0,
    ) -> list[ProductHit]:
        """Top-k products for a query in Chinese, English or both; filters apply to both arms."""
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"mode must be hybrid, dense or bm25, got {mode!r}")
        table = self.product_table()
        if len(table) == 0 or k <= 0:
            return []
        allowed = table.allowed(
            min_price=min_price, max_price=max_price, category=category, in_stock_only=in_stock_only
        )

        def hit(row: int, score: float, rank: int, **ranks: int | None) -> ProductHit:
            return ProductHit(product_id=str(table.ids[row]), score=float(score), rank=rank, **ranks)

        query = (query or "").strip()
        if not query:  # filter-only browse: best rated first
            return [hit(r, table.rating[r], i) for i, r in enumerate(top_k(table.rating, k, allowed), 1)]
        depth = max(_CANDIDATES, k)
        if mode == "bm25":
            scores = table.bm25.scores(query)
            keyword_rows = top_k(scores, depth, allowed, floor=0.0)
            return [hit(r, scores[r], i, bm25_rank=i) for i, r in enumerate(keyword_rows[:k], 1)]
        dense_rows, sims = table.dense_search(self.query_vector(query), depth, allowed, min_price, max_price)
        if mode == "dense":
            return [
                hit(r, s, i, dense_rank=i)
                for i, (r, s) in enumerate(zip(dense_rows[:k], sims[:k], strict=True), 1)
            ]
        # Each arm weighted by what it can say about this query in this catalog (vectorstore/crosslingual.py).
        fused, bm25_rows = fuse(
            query=query,
            dense_rows=dense_rows,
            bm25=table.bm25,
            gloss=table.gloss,
            terms=table.terms,
            depth=depth,
            allowed=allowed,
            dense_weight=dense_weight,
            bm25_weight=bm25_weight,
        )
        dense_rank = {int(r): i for i, r in enumerate(dense_rows, 1)}
        bm25_rank = {int(r): i for i, r in enumerate(bm25_rows, 1)}
        return [
            hit(row, score, i, dense_rank=dense_rank.get(row), bm25_rank=bm25_rank.get(row))
            for i, (row, score) in enumerate(fused[:k], 1)
        ]

    def product_documents(self, product_ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Stored text and metadata of these products (for retriever output and explanations)."""
        if not product_ids:
            return {}
        got = self.collection(PRODUCTS).get(ids=product_ids, include=["documents", "metadatas"])
        return {
            i: (d, dict(m)) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    # --- histories --------------------------------------------------------------------------------------------
    def search_history(
        self, user_id: str, query: str, k: int = 10, kinds: list[str] | None = None
    ) -> list[HistoryHit]:
        """This user's history docs most relevant to the query (newest first when the query is empty)."""
        if not user_id:
            raise ValueError("search_history needs a user_id")
        where: dict[str, Any] = {"user_id": user_id}
        if kinds:
            where = {"$and": [{"user_id": user_id}, {"kind": {"$in": list(kinds)}}]}
        got = self.collection(HISTORY).get(where=where, include=["documents", "metadatas", "embeddings"])
        # Defence in depth: whatever the store returned, only this user's documents go further.
        rows = [
            (i, d, dict(m), e)
            for i, d, m, e in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
            if m.get("user_id") == user_id
        ]
        if not rows or k <= 0:
            return []
        query = (query or "").strip()
        if query:
            matrix = np.asarray([r[3] for r in rows], dtype=np.float32)
            dense_rows, _ = dense_search(matrix, self.query_vector(query), len(rows))
            bm25_rows = BM25Index.build([r[1] for r in rows]).search(query, len(rows))
            ranked = rrf_fuse([dense_rows.tolist(), bm25_rows.tolist()])
        else:
            order = sorted(range(len(rows)), key=lambda j: -int(rows[j][2].get("ts", 0)))
            ranked = [(j, 1.0 / (1 + n)) for n, j in enumerate(order)]
        hits = []
        for rank, (j, score) in enumerate(ranked[:k], 1):
            doc_id, text, meta, _ = rows[j]
            hits.append(
                HistoryHit(
                    doc_id=doc_id,
                    user_id=user_id,
                    kind=str(meta.get("kind", "")),
                    ts=int(meta.get("ts", 0)),
                    amount=float(meta.get("amount", 0.0)),
                    text=text,
                    score=score,
                    rank=rank,
                )
            )
        return hits

    # --- LangChain ----------------------------------------------------------------------------------------------
    def as_retriever(self, kind: Literal["products", "history"] = "products", **kwargs: Any):  # type: ignore[no-untyped-def]
        """A LangChain ``BaseRetriever`` over products (filters as kwargs) or one user's history."""

        return ShopRetriever(index=self, kind=kind, **kwargs)


@per_settings(
    "chroma_url", "chroma_path", "cache_dir", "database_url", "embedder", "embedding_model", "openai_base_url"
)
def get_shop_index(settings: Settings) -> ShopIndex:
    """The process-wide ShopIndex for these settings."""
    return ShopIndex(settings)


def search_products(settings: Settings, query: str, k: int = 10, **filters: Any) -> list[ProductHit]:
    """Plain-function form of ``ShopIndex.search_products``."""
    return get_shop_index(settings).search_products(query, k, **filters)


def search_history(
    settings: Settings, user_id: str, query: str, k: int = 10, kinds: list[str] | None = None
) -> list[HistoryHit]:
    """Plain-function form of ``ShopIndex.search_history`` (always scoped to ``user_id``)."""
    return get_shop_index(settings).search_history(user_id, query, k, kinds)


def refresh_index(settings: Settings, progress: bool = False, **parts: bool) -> IndexStats:
    """Incremental refresh of both collections; ingestion calls this after loading new data."""
    return get_shop_index(settings).refresh(progress, **parts)

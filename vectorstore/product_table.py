"""The in-process search view of the ``products`` collection: vectors, filter columns and the BM25 index.

Chroma stays the system of record. This table is a snapshot of it kept next to Chroma (under the cache dir),
stamped with the collection's ``generation``; a new process loads it instead of rebuilding, and rebuilds from
Chroma when the stamp differs.

Why not query Chroma directly: its ``where`` filter measured 43-116 ms at 50k docs (and seconds at 100k under
load, see bench/bench_retrieval.py). Here the dense arm scans numpy rows laid out by (cluster, price):
- below ``IVF_MIN_ROWS`` there is one cluster, so the scan is exact and a price range is one contiguous slice;
- above it, rows are grouped by k-means cluster (an inverted file): a query scans the price slice of the
  ~10% nearest clusters, probing more until enough rows pass the filters. Memory traffic, which is what a
  scan costs on a busy machine, drops about tenfold; the bench reports recall against the exact scan.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vectorstore.crosslingual import CatalogTerms, english_gloss
from vectorstore.hybrid import BM25Index, one_blas_thread, top_k

STATE_FILE = "state.json"
IVF_MIN_ROWS = 20_000
PROBE_SHARE = 0.1


def _clusters(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, L2-normalised centroids); one cluster for small catalogs (exact search)."""
    n = matrix.shape[0]
    if n < IVF_MIN_ROWS:
        centroid = matrix.mean(axis=0, keepdims=True) if n else np.zeros((1, matrix.shape[1]), np.float32)
        return np.zeros(n, dtype=np.int64), centroid.astype(np.float32)
    from sklearn.cluster import MiniBatchKMeans

    n_clusters = int(np.sqrt(n))
    kmeans = MiniBatchKMeans(n_clusters=n_clusters, batch_size=4096, n_init=1, max_iter=20, random_state=0)
    sample = matrix[np.random.default_rng(0).choice(n, size=min(n, 50_000), replace=False)]
    kmeans.fit(sample)
    centroids = kmeans.cluster_centers_.astype(np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    labels = np.concatenate(
        [np.argmax(matrix[i : i + 20_000] @ centroids.T, axis=1) for i in range(0, n, 20_000)]
    )
    return labels.astype(np.int64), centroids


@dataclass
class ProductTable:
    generation: str
    ids: np.ndarray  # str
    matrix: np.ndarray  # (n, dim) float32, L2-normalised; rows sorted by (cluster, price)
    price: np.ndarray  # float64
    category: np.ndarray  # str slug
    category_zh: np.ndarray  # str
    in_stock: np.ndarray  # bool
    rating: np.ndarray  # float32
    sku: np.ndarray  # str, "" when none
    brand: np.ndarray  # str
    bm25: BM25Index
    gloss: BM25Index  # English gloss of each product's Chinese words (vectorstore/crosslingual.py)
    centroids: np.ndarray  # (clusters, dim)
    offsets: np.ndarray  # (clusters + 1,) row where each cluster starts
    _terms: CatalogTerms | None = None

    @property
    def terms(self) -> CatalogTerms:
        """Model numbers, brands and lexicon of this snapshot (vectorstore/crosslingual.py), built on first use."""
        if self._terms is None:
            self._terms = CatalogTerms.build(self.sku, self.brand, self.category, self.category_zh)
        return self._terms

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def build(
        cls, generation: str, ids: list[str], texts: list[str], metadatas: list[dict], matrix: np.ndarray
    ) -> ProductTable:
        price = np.asarray([float(m["price"]) for m in metadatas], dtype=np.float64)
        matrix = np.asarray(matrix, dtype=np.float32).reshape(len(ids), -1)
        labels, centroids = _clusters(matrix)
        order = (
            np.lexsort((np.asarray(ids, dtype=str), price, labels)) if ids else np.zeros(0, dtype=np.int64)
        )
        offsets = np.searchsorted(labels[order], np.arange(len(centroids) + 1), side="left")
        return cls(
            generation=generation,
            ids=np.asarray(ids, dtype=str)[order],
            matrix=np.ascontiguousarray(matrix[order]),
            price=price[order],
            category=np.asarray([str(m["category"]) for m in metadatas], dtype=str)[order],
            category_zh=np.asarray([str(m.get("category_zh", "")) for m in metadatas], dtype=str)[order],
            in_stock=np.asarray([bool(m.get("in_stock", True)) for m in metadatas], dtype=bool)[order],
            rating=np.asarray([float(m.get("rating", 0.0)) for m in metadatas], dtype=np.float32)[order],
            sku=np.asarray([str(m.get("sku", "")) for m in metadatas], dtype=str)[order],
            brand=np.asarray([str(m.get("brand", "")) for m in metadatas], dtype=str)[order],
            bm25=BM25Index.build([texts[i] for i in order]),
            gloss=BM25Index.build([english_gloss(texts[i]) for i in order]),
            centroids=centroids,
            offsets=offsets.astype(np.int64),
        )

    def allowed(
        self,
        *,
        min_price: float | None = None,
        max_price: float | None = None,
        category: str | None = None,
        in_stock_only: bool = True,
    ) -> np.ndarray | None:
        """Boolean mask of rows passing the filters, or None when nothing is filtered."""
        mask: np.ndarray | None = None

        def add(cond: np.ndarray) -> None:
            nonlocal mask
            mask = cond if mask is None else mask & cond

        if min_price is not None:
            add(self.price >= float(min_price))
        if max_price is not None:
            add(self.price <= float(max_price))
        if category:
            wanted = category.strip()
            add((self.category == wanted.lower()) | (self.category_zh == wanted))
        if in_stock_only:
            add(self.in_stock)
        return mask

    def dense_search(
        self,
        query: np.ndarray,
        depth: int,
        allowed: np.ndarray | None,
        min_price: float | None = None,
        max_price: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine similarities) of the best ``depth`` allowed rows: exact with one cluster, else IVF."""
        n_clusters = len(self.offsets) - 1
        if len(self) == 0 or n_clusters <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = query.astype(np.float32)
        probe_order = np.argsort(-(self.centroids @ query)) if n_clusters > 1 else np.zeros(1, dtype=np.int64)
        step = max(1, int(np.ceil(n_clusters * PROBE_SHARE)))
        rows_parts: list[np.ndarray] = []
        sims_parts: list[np.ndarray] = []
        found = 0
        with one_blas_thread():
            for first in range(0, n_clusters, step):
                for cluster in probe_order[first : first + step]:
                    a, b = int(self.offsets[cluster]), int(self.offsets[cluster + 1])
                    segment = self.price[a:b]
                    lo = (
                        a
                        if min_price is None
                        else a + int(np.searchsorted(segment, float(min_price), "left"))
                    )
                    hi = (
                        b
                        if max_price is None
                        else a + int(np.searchsorted(segment, float(max_price), "right"))
                    )
                    if hi <= lo:
                        continue
                    sims = self.matrix[lo:hi] @ query
                    rows = np.arange(lo, hi)
                    if allowed is not None:
                        keep = allowed[lo:hi]
                        rows, sims = rows[keep], sims[keep]
                    rows_parts.append(rows)
                    sims_parts.append(sims)
                    found += len(rows)
                if found >= depth:  # enough candidates from the nearest clusters
                    break
        if not rows_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate(rows_parts)
        sims = np.concatenate(sims_parts)
        best = top_k(sims, depth)
        return rows[best], sims[best]

    # --- persistence ------------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write to a temp dir and swap it in, so a reader never sees a half-written snapshot."""
        tmp = directory.with_name(directory.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "vectors.npy", self.matrix)
        np.save(tmp / "centroids.npy", self.centroids)
        np.savez(
            tmp / "columns.npz",
            offsets=self.offsets,
            ids=self.ids,
            price=self.price,
            category=self.category,
            category_zh=self.category_zh,
            in_stock=self.in_stock,
            rating=self.rating,
            sku=self.sku,
            brand=self.brand,
        )
        self.bm25.save(tmp / "bm25")
        self.gloss.save(tmp / "gloss_bm25")
        (tmp / STATE_FILE).write_text(json.dumps({"generation": self.generation, "n": len(self)}))
        old = directory.with_name(directory.name + f".old{os.getpid()}")
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def saved_generation(directory: Path) -> str | None:
        try:
            return str(json.loads((directory / STATE_FILE).read_text())["generation"])
        except (OSError, ValueError, KeyError):
            return None

    @classmethod
    def load(cls, directory: Path) -> ProductTable:
        state = json.loads((directory / STATE_FILE).read_text())
        columns = np.load(directory / "columns.npz")
        return cls(
            generation=str(state["generation"]),
            ids=columns["ids"],
            # mmap: the OS pages the vectors in; several processes share one copy.
            matrix=np.load(directory / "vectors.npy", mmap_mode="r"),
            price=columns["price"],
            category=columns["category"],
            category_zh=columns["category_zh"],
            in_stock=columns["in_stock"],
            rating=columns["rating"],
            sku=columns["sku"],  # a snapshot from before these columns raises KeyError: rebuilt from Chroma
            brand=columns["brand"],
            bm25=BM25Index.load(directory / "bm25"),
            gloss=BM25Index.load(directory / "gloss_bm25"),  # missing before this arm: OSError, rebuilt
            centroids=np.load(directory / "centroids.npy"),
            offsets=columns["offsets"],
        )

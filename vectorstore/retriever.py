"""LangChain ``BaseRetriever`` over the ShopIndex: products (with filters) or one user's history."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class ShopRetriever(BaseRetriever):
    """``kind="products"``: hybrid product search; ``kind="history"``: ``user_id`` is required and fixed."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    kind: Literal["products", "history"] = "products"
    k: int = 6
    user_id: str | None = None
    kinds: list[str] | None = None
    min_price: float | None = None
    max_price: float | None = None
    category: str | None = None
    in_stock_only: bool = True
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.kind == "history":
            if not self.user_id:
                raise ValueError("a history retriever needs user_id")
            hits = self.index.search_history(self.user_id, query, self.k, self.kinds)
            return [
                Document(
                    page_content=h.text,
                    id=h.doc_id,
                    metadata={
                        "user_id": h.user_id,
                        "kind": h.kind,
                        "ts": h.ts,
                        "amount": h.amount,
                        "score": h.score,
                    },
                )
                for h in hits
            ]
        hits = self.index.search_products(
            query,
            self.k,
            min_price=self.min_price,
            max_price=self.max_price,
            category=self.category,
            in_stock_only=self.in_stock_only,
            mode=self.mode,
        )
        stored = self.index.product_documents([h.product_id for h in hits])
        documents = []
        for h in hits:
            text, meta = stored.get(h.product_id, ("", {}))
            documents.append(
                Document(
                    page_content=text,
                    id=h.product_id,
                    metadata={**meta, "product_id": h.product_id, "score": h.score, "rank": h.rank},
                )
            )
        return documents

"""Server mode: a real `chroma run` on 127.0.0.1, reached through HttpClient, serving both collections."""

from __future__ import annotations

import pytest

from domain.settings import Settings
from domain.store.db import get_engine
from evals.chroma_server import chroma_server
from evals.sample_shop import seed_store
from vectorstore.client import get_chroma_client
from vectorstore.index import ShopIndex

pytestmark = pytest.mark.server


def test_index_built_through_the_server_is_served_to_a_second_client(tmp_path) -> None:
    with chroma_server(tmp_path / "chroma-server") as url:
        writer = Settings(data_dir=tmp_path / "writer", llm="none", chroma_url=url)
        seed_store(get_engine(writer))
        stats = ShopIndex(writer).refresh(progress=False)
        assert (stats.products_total, stats.history_total) == (16, 10)
        assert not (tmp_path / "writer" / "chroma").exists()  # nothing embedded locally in server mode

        # Another app instance: its own data dir (no snapshot, no store), same server.
        reader = ShopIndex(Settings(data_dir=tmp_path / "reader", llm="none", chroma_url=url))
        assert [h.product_id for h in reader.search_products("XR-550", 1)] == ["s04"]
        assert [h.product_id for h in reader.search_products("便宜手机壳", 1, max_price=50)] == ["s07"]
        hits = reader.search_history("u1", "退换 size", 5)
        assert hits and all(h.user_id == "u1" for h in hits)
        assert get_chroma_client(reader.settings).heartbeat() > 0


def test_bad_server_url_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        get_chroma_client(Settings(data_dir=tmp_path, llm="none", chroma_url="http://"))

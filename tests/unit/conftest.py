"""Unit-test fixtures: a simulated transaction history for the valuation tests (splits, blending), a scripted
OpenAI-compatible HTTP server for the LLM-layer tests, and a five-product bilingual catalog for the guards."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from agent.vocabulary import Catalog, build_catalog


def simulated_shop(n_users: int = 1200, seed: int = 3) -> pd.DataFrame:
    """BG/NBD-like buyers acquired in Jan-Mar 2021: Poisson purchasing, dropout after each purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for uid in range(n_users):
        day = float(rng.integers(0, 90))
        rate, p_drop = rng.gamma(0.6, 1 / 25), rng.beta(1.0, 3.0)
        value = rng.gamma(4.0, 12.0)
        while day < 365:
            rows.append(
                (
                    f"u{uid}",
                    pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(day)),
                    value * rng.gamma(5, 0.2),
                )
            )
            if rng.random() < p_drop:
                break
            day += rng.exponential(1 / max(rate, 1e-4))
    return pd.DataFrame(rows, columns=["user_id", "date", "amount"])


@pytest.fixture(scope="session")
def simulated_shop_factory() -> Callable[..., pd.DataFrame]:
    return simulated_shop


class ScriptedOpenAI:
    """``/v1/chat/completions`` answering scripted contents in order (``{}`` when they run out); records every
    request body, so tests can check what was actually sent."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                scripted.requests.append(body)
                content = scripted.replies.pop(0) if scripted.replies else "{}"
                payload = {
                    "id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }  # fmt: skip
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent_text(self) -> str:
        return json.dumps([r["messages"] for r in self.requests], ensure_ascii=False)


@pytest.fixture
def scripted_openai() -> Iterator[Callable[[list[str]], ScriptedOpenAI]]:
    servers: list[ScriptedOpenAI] = []

    def make(replies: list[str]) -> ScriptedOpenAI:
        servers.append(ScriptedOpenAI(replies))
        return servers[-1]

    yield make
    for server in servers:
        server.server.shutdown()


@pytest.fixture(scope="session")
def tiny_catalog() -> Catalog:
    """Five products in both languages: two headphones, running shoes, tea, a watch."""
    return build_catalog(
        [
            (
                "p00001",
                "Sony WH-1000XM5 Headphones",
                "索尼 WH-1000XM5 降噪耳机",
                "Sony",
                "headphones",
                "耳机",
                2399.0,
            ),
            ("p00002", "JBL Tune 520 Headphones", "JBL Tune 520 耳机", "JBL", "headphones", "耳机", 299.0),
            (
                "p00003",
                "Nike Pegasus 41 Running Shoes",
                "耐克 Pegasus 41 跑步鞋",
                "Nike",
                "running-shoes",
                "跑步鞋",
                899.0,
            ),
            ("p00004", "Yunnan Pu'er Tea Cake", "云南普洱茶饼", "Dayi", "tea", "茶叶", 168.0),
            ("p00005", "Casio G-Shock Watch", "卡西欧 G-Shock 手表", "Casio", "watches", "手表", 799.0),
        ]
    )

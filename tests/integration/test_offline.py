"""With every non-loopback connection blocked, a fresh process builds and queries the indexes: no download is tried."""

from __future__ import annotations

import json
import subprocess
import sys

GUARDED_RUN = r"""
import ipaddress, json, socket, sys

attempts = []

def _is_loopback(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a DNS name: resolving it is already a network attempt

def _address_host(address):
    return address[0] if isinstance(address, tuple) else None  # AF_UNIX paths are local

_connect = socket.socket.connect
def guarded_connect(self, address):
    host = _address_host(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
        attempts.append(f"connect {address!r}")
        raise OSError("network blocked by test")
    return _connect(self, address)
socket.socket.connect = guarded_connect

_getaddrinfo = socket.getaddrinfo
def guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host if isinstance(host, str) else None):
        attempts.append(f"resolve {host!r}")
        raise socket.gaierror("network blocked by test")
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = guarded_getaddrinfo

from domain.settings import Settings
from domain.store.db import get_engine
from vectorstore.index import get_shop_index
from evals.sample_shop import seed_store

settings = Settings(data_dir=sys.argv[1], llm="none")
seed_store(get_engine(settings))
index = get_shop_index(settings)
stats = index.refresh(progress=False)
hits = [h.product_id for h in index.search_products("XR-550 降噪耳机", 1)]
history = [h.doc_id for h in index.search_history("u1", "跑步鞋", 1)]
by_text = index.client.get_collection("products").query(query_texts=["coffee beans"], n_results=1)["ids"][0]
work_attempts = list(attempts)

# Control: the guard really catches an outbound call.
import httpx
try:
    httpx.get("https://huggingface.co", timeout=2)
    control = "not blocked"
except Exception:
    control = "blocked"
print(json.dumps({"embedded": stats.texts_embedded, "hits": hits, "history": history, "by_text": by_text,
                  "attempts": work_attempts, "control": control, "control_attempts": attempts[len(work_attempts):]}))
"""


def test_index_build_and_query_attempt_no_network(tmp_path) -> None:
    env_free = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env_free,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["embedded"] > 0, "the real embedder ran (fresh cache)"
    assert result["hits"] == ["s04"]
    assert result["history"][0].startswith("u1:")
    assert result["by_text"] == ["s14"]
    assert result["attempts"] == []
    assert result["control"] == "blocked" and result["control_attempts"]

"""Load on loopback: N concurrent chat sessions x M turns in guided mode against a real ``shopguide serve``.

Each session is a shopper with its own widget token and conversation, talking over ``/api/v1/chat``. Reported:
p50/p95/max turn latency, throughput, server errors (5xx or broken connections: must be zero), rate-limited
and fallback replies. Baseline: the same turns by one session alone, measured in the same run. With the local
LLM, the llama.cpp server is SIGKILLed part-way: only the turns in flight may get the fallback, and the app
restarts the model for the next ones. Bounded: a fixed number of turns, a per-request timeout and a deadline
after which no new turn starts (turns not started are reported).

``python -m bench.bench_load [--quick] [--llm none|local] [--sessions 20] [--turns 10] [--json]``
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import RESULTS_DIR, print_table, result, write_results
from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.privacy.tokens import issue_widget_token
from domain.process import http_answers, wait_until_healthy
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import orders
from llm.local_server import ServerState
from vectorstore.index import get_shop_index

BENCH = "load"
ROOT = Path(__file__).resolve().parents[1]
SHOP_DIR = ROOT / "data" / "bench" / "load_shop"
TURNS_EN = (
    "Hi!", "Can you recommend some headphones?", "Something under 500 yuan?", "Tell me more about the first one",
    "Compare the first two", "What did I buy recently?", "Where is my latest order?",
    "Any running shoes on sale?", "Show me some watches", "Thanks, that's all!",
)  # fmt: skip
TURNS_ZH = (
    "你好", "推荐一款耳机", "500元以内的呢？", "第一款详细介绍一下", "比较一下前两款", "我最近买了什么？",
    "我最新的订单到哪了？", "有打折的跑步鞋吗？", "看看手表", "谢谢，就这些",
)  # fmt: skip
FALLBACK_MARKERS = ("unavailable", "暂时", "try again", "稍后", "Sorry, something went wrong", "出了点问题")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shop_settings(data_dir: Path, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "data_dir": data_dir, "llm": "none", "agent_mode": "guided", "database_url": "", "chroma_url": "",
        "chroma_path": None, "encryption_key": "", "encryption_key_file": None,
    }  # fmt: skip
    values.update(extra)
    return Settings(**values)


def ensure_shop(n_users: int = 60) -> Path:
    """A small demo shop, ingested and indexed once under data/bench (reused by later runs)."""
    data_dir = SHOP_DIR / f"u{n_users}" / "data"
    if (data_dir / "ready").exists():
        return data_dir
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    demo = data_dir.parent / "demo"
    generate_demo_shop(demo, n_users=n_users, n_products=80)
    settings = _shop_settings(data_dir)
    ingest_demo(settings, demo, progress=False)
    get_shop_index(settings).refresh(progress=False)
    (data_dir / "ready").write_text("ok")
    return data_dir


def shoppers(data_dir: Path, n: int) -> list[str]:
    from sqlalchemy import func, select

    with get_engine(_shop_settings(data_dir)).connect() as conn:
        rows = conn.execute(
            select(orders.c.user_id).group_by(orders.c.user_id).order_by(func.count().desc()).limit(n)
        ).all()
    users = [r[0] for r in rows]
    return (users * (n // max(1, len(users)) + 1))[:n]


class Server:
    """``shopguide serve`` in a child process on a free loopback port."""

    def __init__(self, data_dir: Path, llm: str) -> None:
        self.port = _free_port()
        self.llm_port = _free_port()
        self.data_dir = data_dir
        env = {
            **os.environ,
            "SHOPGUIDE_DATA_DIR": str(data_dir),
            "SHOPGUIDE_LLM": llm,
            "SHOPGUIDE_AGENT_MODE": "guided",
            "SHOPGUIDE_LOCAL_PORT": str(self.llm_port),
            "SHOPGUIDE_LOG_LEVEL": "WARNING",
            "OPENBLAS_NUM_THREADS": "1",
        }
        for name in ("SHOPGUIDE_DATABASE_URL", "SHOPGUIDE_CHROMA_URL", "SHOPGUIDE_CHROMA_PATH"):
            env.pop(name, None)
        self.log = (RESULTS_DIR / f"bench_load_server_{llm}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],  # production mode: no demo surfaces
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 300) -> None:
        wait_until_healthy(
            self.proc,
            lambda: http_answers(self.url + "/healthz", (200, 503), timeout_s=5.0),
            what=f"shopguide serve ({self.log.name})",
            timeout_s=timeout_s,
            poll_s=1.0,
        )

    def llm_pid(self) -> int | None:
        path = self.data_dir / "run" / f"server-{self.llm_port}.json"
        with contextlib.suppress(OSError, ValueError):
            return ServerState.model_validate_json(path.read_text()).pid
        return None

    def stop(self) -> None:
        llm_pid = self.llm_pid()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if llm_pid:  # the llama.cpp server the app started: never leave it behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(llm_pid, signal.SIGKILL)
        self.log.close()


class LoadRun:
    def __init__(self, server: Server, tokens: list[str], turns: int, deadline_s: float, kill_at: int | None):
        self.server, self.tokens, self.turns = server, tokens, turns
        self.deadline = time.monotonic() + deadline_s
        self.kill_at = kill_at
        self.latencies: list[float] = []
        self.server_errors = self.rate_limited = self.client_errors = self.fallbacks = self.skipped = 0
        self.completed = self.in_flight = 0
        self.killed_in_flight: int | None = None
        self.fallbacks_after_kill: list[float] = []  # seconds after the kill
        self.killed_at: float | None = None

    async def session(self, client: Any, index: int) -> None:
        script = TURNS_ZH if index % 2 else TURNS_EN
        thread = f"load-{index}-{os.getpid()}"
        headers = {"Authorization": f"Bearer {self.tokens[index]}"}
        for turn in range(self.turns):
            if time.monotonic() > self.deadline:
                self.skipped += self.turns - turn
                return
            started = time.perf_counter()
            self.in_flight += 1
            try:
                response = await client.post(
                    "/api/v1/chat",
                    json={"message": script[turn % len(script)], "thread_id": thread},
                    headers=headers,
                )
            except Exception:  # connection refused/reset, timeout: the server failed this turn
                self.server_errors += 1
                continue
            finally:
                self.in_flight -= 1
            self.latencies.append(time.perf_counter() - started)
            self.completed += 1
            self._classify(response)
            if self.kill_at is not None and self.completed == self.kill_at and self.killed_at is None:
                self._kill_llm()

    def _classify(self, response: Any) -> None:
        if response.status_code >= 500:
            self.server_errors += 1
        elif response.status_code == 429:
            self.rate_limited += 1
        elif response.status_code >= 400:
            self.client_errors += 1
        else:
            body = response.json()
            if body.get("error") or any(m in body.get("reply", "") for m in FALLBACK_MARKERS):
                self.fallbacks += 1
                if self.killed_at is not None:
                    self.fallbacks_after_kill.append(round(time.monotonic() - self.killed_at, 2))

    def _kill_llm(self) -> None:
        pid = self.server.llm_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.killed_at = time.monotonic()
        self.killed_in_flight = self.in_flight

    async def run(self, concurrency: int) -> float:
        import httpx

        limits = httpx.Limits(max_connections=concurrency + 2)
        timeout = httpx.Timeout(300.0)
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=self.server.url, timeout=timeout, limits=limits) as client:
            await asyncio.gather(*(self.session(client, i) for i in range(concurrency)))
        return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def measure(llm: str, sessions: int, turns: int, deadline_s: float, kill: bool) -> list[dict[str, Any]]:
    data_dir = ensure_shop()
    settings = _shop_settings(data_dir)
    users = shoppers(data_dir, sessions + 2)  # two extra shoppers for the warm-up and the baseline
    tokens = [issue_widget_token(settings, u, ttl_s=3600) for u in users]
    server = Server(data_dir, llm)
    rows: list[dict[str, Any]] = []
    case = f"{sessions}x{turns} guided llm={llm}"
    try:
        server.wait_ready()
        # warm-up (models, caches, the LLM server start) not measured; then the baseline: one session alone
        asyncio.run(LoadRun(server, tokens[-1:], turns, deadline_s, None).run(1))
        single = LoadRun(server, tokens[-2:-1], turns, deadline_s, None)
        asyncio.run(single.run(1))
        base_p50 = statistics.median(single.latencies) if single.latencies else None
        kill_at = max(1, sessions * turns // 3) if kill and llm == "local" else None
        load = LoadRun(server, tokens, turns, deadline_s, kill_at)
        wall = asyncio.run(load.run(sessions))
        alive = server.proc.poll() is None
    finally:
        server.stop()
    lat = load.latencies
    rows += [
        result(BENCH, case, "turn_p50", _pct(lat, 50), "s", "1 session alone p50", base_p50),
        result(
            BENCH, case, "turn_p95", _pct(lat, 95), "s", "1 session alone p95", _pct(single.latencies, 95)
        ),
        result(BENCH, case, "turn_max", max(lat) if lat else float("nan"), "s"),
        result(BENCH, case, "throughput", load.completed / wall if wall else 0.0, "turns/s"),
        result(BENCH, case, "turns_answered", load.completed, "turns", "turns planned", sessions * turns),
        result(BENCH, case, "server_errors", load.server_errors, "turns"),
        result(BENCH, case, "rate_limited_429", load.rate_limited, "turns"),
        result(BENCH, case, "client_errors_4xx", load.client_errors, "turns"),
        result(BENCH, case, "fallback_replies", load.fallbacks, "turns"),
        result(BENCH, case, "turns_not_started_deadline", load.skipped, "turns"),
        result(BENCH, case, "server_alive_after", 1.0 if alive else 0.0, "bool"),
    ]
    if kill_at is not None:
        rows += [
            result(BENCH, case, "llm_killed_after_turn", kill_at if load.killed_at else -1, "turn"),
            result(BENCH, case, "turns_in_flight_at_kill", load.killed_in_flight or 0, "turns"),
            result(BENCH, case, "fallbacks_after_kill", len(load.fallbacks_after_kill), "turns",
                   "in flight at kill", load.killed_in_flight or 0,
                   seconds_after_kill=load.fallbacks_after_kill),
        ]  # fmt: skip
    return rows


def run(
    quick: bool, *, llm: str | None = None, sessions: int = 20, turns: int | None = None
) -> list[dict[str, Any]]:
    """Quick: llm=none, 20 sessions x 3 turns. Full: llm=none 20x10, then llm=local 20x10 with an LLM kill
    (``SHOPGUIDE_BENCH_LOAD_LLM=none`` skips the local run)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if quick:
        return measure(llm or "none", sessions, turns or 3, deadline_s=240, kill=False)
    rows = measure("none", sessions, turns or 10, deadline_s=900, kill=False)
    wanted = llm or os.environ.get("SHOPGUIDE_BENCH_LOAD_LLM", "local")
    if wanted == "local":
        rows += measure("local", sessions, turns or 10, deadline_s=1200, kill=True)
    return rows


def main(argv: list[str]) -> None:
    import argparse

    # SIGTERM (a timeout, Ctrl-C in a supervisor) unwinds normally, so the served app and its LLM are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--llm", choices=["none", "local"], default=None)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=None)
    parser.add_argument("--deadline", type=float, default=None, help="seconds after which no new turn starts")
    parser.add_argument("--no-kill", action="store_true", help="with --llm local: do not kill the LLM server")
    args = parser.parse_args(argv)
    if args.llm:
        turns = args.turns or (3 if args.quick else 10)
        deadline = args.deadline or (240 if args.quick else 1200)
        rows = measure(args.llm, args.sessions, turns, deadline, kill=not args.no_kill)
    else:
        rows = run(args.quick, sessions=args.sessions, turns=args.turns)
    path = write_results(rows, f"bench_{BENCH}", quick=args.quick)
    if args.json:
        import json

        print(json.dumps(rows, ensure_ascii=False))
    else:
        print_table(rows, title=f"bench_{BENCH}{' (quick)' if args.quick else ''}")
        print(f"results: {path}")


if __name__ == "__main__":
    main(sys.argv[1:])

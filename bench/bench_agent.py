"""Chat turn latency per agent mode with the local model: time to first token and whole turn, p50/p95.

Cases (same store, same messages, same run): ``guided / none`` (the baseline: templates, no LLM),
``guided / local`` (the 0.5B model writes the intent JSON and a one-sentence lead-in) and ``react / local``
(create_agent: the model picks the tools). Turns are warm: the first turn of each case (server start, model
load, index and embedder load) is reported as ``cold first turn``. Target: guided/local turn p50 < 6 s.
Per case also the LLM calls per turn and their prompt and completion tokens as the server counted them: on
this CPU the prompt is read at ~75 tokens/s, so these say where a slow turn's time goes.
The store is the demo shop prepared once by bench_recs (its cache dir), so re-runs only measure.
"""

from __future__ import annotations

import os
import statistics
import time
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.tracers.context import register_configure_hook

from agent.service import ChatService
from bench import main_for, result
from bench.bench_recs import _store
from domain.privacy.access import Principal
from domain.store.db import get_engine
from domain.store.schema import orders
from evals.local_model import free_port, local_settings
from llm.local_server import get_local_server

MESSAGES = (
    ("Show me headphones under 500 yuan", "Compare the first and the second one"),
    ("给我推荐几款跑步鞋", "第一个详细介绍一下"),
    ("Where is my order?", None),
    ("推荐一款适合我的护肤品", None),
    ("I need a gift for my mum, under 300 yuan", None),
    ("我的订单到哪了？", None),
)
PORT = int(os.environ.get("SHOPGUIDE_BENCH_LLM_PORT", "0"))  # 0: a free port


class LlmCalls(BaseCallbackHandler):
    """Every chat-model call made while it is active: ``(prompt tokens, completion tokens, seconds)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, float]] = []
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        usage: dict[str, Any] = {}
        for generation in (g for gens in response.generations for g in gens):
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or usage
        seconds = time.perf_counter() - self._started.pop(run_id, time.perf_counter())
        self.calls.append((int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)), seconds))


# Every LangChain run started while this variable holds a handler reports to it (graph nodes copy the context).
_llm_calls: ContextVar[LlmCalls | None] = ContextVar("bench_agent_llm_calls", default=None)
register_configure_hook(_llm_calls, inheritable=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _shopper(settings: Any) -> str:
    from sqlalchemy import func, select

    with get_engine(settings).connect() as conn:
        return conn.execute(
            select(orders.c.user_id).group_by(orders.c.user_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()


def _measure(
    settings: Any, mode: str, user: str, rounds: int, messages: tuple[tuple[str, str | None], ...] = MESSAGES
) -> dict[str, Any]:
    service = ChatService(settings)
    principal = Principal.shopper(user)
    ttft: list[float] = []
    turns: list[float] = []
    calls: list[list[tuple[int, int, float]]] = []  # per turn
    try:
        started = time.perf_counter()
        # a request that reaches the model (not a greeting, which the templates answer): starts the server
        service.respond_sync(
            f"bench-warm-{mode}-{settings.llm}", "any nice gift ideas for my dad?", principal, mode=mode
        )
        cold = time.perf_counter() - started
        for r in range(rounds):
            for i, (first, follow_up) in enumerate(messages):
                thread = f"bench-{mode}-{settings.llm}-{r}-{i}-{time.time_ns()}"
                for message in (first, follow_up):
                    if message is None:
                        continue
                    recorder = LlmCalls()
                    token = _llm_calls.set(recorder)
                    try:
                        res = service.respond_sync(thread, message, principal, mode=mode)
                    finally:
                        _llm_calls.reset(token)
                    calls.append(recorder.calls)
                    turns.append(res.total_s)
                    if res.first_token_s is not None:
                        ttft.append(res.first_token_s)
    finally:
        service.close()
    return {"cold": cold, "ttft": ttft, "turns": turns, "calls": calls}


def run(quick: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    base = _store()
    user = _shopper(base)
    rounds = 1 if quick else 2
    # Quick: one English and one Chinese conversation with a follow-up, and one single turn (5 turns per case).
    messages = MESSAGES[:3] if quick else MESSAGES

    local = local_settings(base, port=PORT or free_port())
    cases = [("guided", base), ("guided", local)] + ([] if quick else [("react", local)])
    measured: dict[str, dict[str, Any]] = {}
    try:
        for mode, settings in cases:
            measured[f"{mode} / {settings.llm}"] = _measure(settings, mode, user, rounds, messages)
    finally:
        get_local_server(local).stop_if_owner()
    baseline = measured["guided / none"]
    rows = []
    for case, m in measured.items():
        rows.append(result("agent", case, "cold first turn", m["cold"], "s"))
        per_turn = m["calls"]
        if any(per_turn):
            prompts = [p for turn in per_turn for p, _, _ in turn]
            rows += [
                result("agent", case, "LLM calls per turn", statistics.fmean(len(t) for t in per_turn), "calls"),
                result("agent", case, "prompt tokens per turn", statistics.fmean(sum(c[0] for c in t) for t in per_turn), "tokens"),
                result("agent", case, "completion tokens per turn", statistics.fmean(sum(c[1] for c in t) for t in per_turn), "tokens"),
                result("agent", case, "LLM seconds per turn", statistics.fmean(sum(c[2] for c in t) for t in per_turn), "s"),
                result("agent", case, "prompt tokens per call p50", _pct(prompts, 50), "tokens", calls=len(prompts)),
            ]  # fmt: skip
        for metric, values, base_values in (
            ("turn", m["turns"], baseline["turns"]),
            ("first token", m["ttft"], baseline["ttft"]),
        ):
            if not values:
                continue
            for q in (50, 95):
                name = f"{metric} p{q}"
                rows.append(
                    result(
                        "agent", case, name, _pct(values, q), "s", "guided / none", _pct(base_values, q) if base_values else None,
                        turns=len(values), mean=statistics.fmean(values),
                    )
                )  # fmt: skip
    return rows


if __name__ == "__main__":
    main_for("agent", run)

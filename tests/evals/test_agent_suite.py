"""The conversation suite on the demo shop (personas picked from the hidden archetypes at run time).

Acceptance: guided mode passes ≥ 90 % with no LLM and with the local model; zero ungrounded product ids in
every mode; and (the PII spy) no demo user's PII in any prompt the suite sends to the local model. The react mode with the local model is run by ``shopguide eval agent --mode react --llm local``
and reported as measured (see the report), not asserted here."""

from __future__ import annotations

import os

import pytest

from evals.fixtures import cleanup, eval_settings, find_personas
from evals.local_model import free_port, local_settings
from evals.pii_audit import leaked_pii, stored_pii
from evals.runner import load_scenarios, run_suite
from llm.local_server import get_local_server
from llm.spy import recording

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def test_suite_is_large_bilingual_and_covers_every_topic():
    scenarios = load_scenarios()
    assert len(scenarios) >= 40
    assert sum(s.lang == "zh" for s in scenarios) == sum(s.lang == "en" for s in scenarios)
    tags = {t for s in scenarios for t in s.tags}
    assert {
        "recommend",
        "budget",
        "compare",
        "order",
        "staff",
        "ambiguous",
        "off_topic",
        "injection",
        "review",
    } <= tags
    assert sum(1 for s in scenarios if len(s.turns) > 1) >= 10  # multi-turn
    pairs = {s.pair for s in scenarios if s.pair}
    for pair in pairs:
        assert {s.persona for s in scenarios if s.pair == pair} == {"premium", "bargain"}


@pytest.fixture(scope="module")
def suite_store(demo_settings, demo_dir):
    from vectorstore.index import get_shop_index

    get_shop_index(demo_settings).refresh(progress=False, history=False)
    private = eval_settings(demo_settings)
    personas = find_personas(private, demo_dir / "truth.parquet")
    yield private, personas
    cleanup(private)


@pytest.mark.slow
def test_guided_without_llm_passes_the_suite(suite_store):
    settings, personas = suite_store
    assert personas.source == "truth"
    summary = run_suite(settings, personas, load_scenarios(), mode="guided")
    assert summary["ungrounded_count"] == 0, summary["ungrounded_ids"]
    assert summary["pass_rate"] >= 0.9, summary["failures"]
    assert summary["answered_rate"] >= 0.9, summary["failures"]
    assert summary["llm_texts"] == 0  # no LLM: every sentence is a template
    assert not _price_failures(summary)


def _price_failures(summary: dict) -> list[str]:
    """Every price in every reply of the suite equals the stored price to the cent (runner.price_failures)."""
    return [f for item in summary["failures"] for f in item["failures"] if f.startswith("price of ")]


def test_answer_scenarios_cover_criteria_members_follow_ups_and_out_of_catalog():
    answer = [s for s in load_scenarios() if "answer" in s.tags]
    assert len(answer) >= 15
    assert sum(s.lang == "zh" for s in answer) == sum(s.lang == "en" for s in answer)
    assert {"criterion", "member", "follow-up", "out-of-catalog"} <= {t for s in answer for t in s.tags}
    assert all(any(t.expect.answer_any or t.expect.answer_not for t in s.turns) for s in answer)


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.timeout(3600)  # 72 scenarios, each LLM lead checked and maybe regenerated: ~30 min here
def test_guided_with_the_local_model_passes_the_suite(suite_store):
    settings, personas = suite_store
    settings = local_settings(settings, port=free_port())
    try:
        # The PII spy rides along: every prompt of the suite is recorded as sent to the model.
        with recording() as prompts:
            summary = run_suite(settings, personas, load_scenarios(), mode="guided")
    finally:
        get_local_server(settings).stop_if_owner()
    assert summary["ungrounded_count"] == 0, summary["ungrounded_ids"]
    assert summary["pass_rate"] >= 0.9, summary["failures"]
    assert summary["answered_rate"] >= 0.9, summary["failures"]
    assert not _price_failures(summary)
    assert len(prompts) >= 40, "the suite must really have talked to the model"
    assert all(p.provider == "local" for p in prompts)
    pii = stored_pii(settings)
    assert len(pii) >= 1000
    assert leaked_pii(prompts, pii) == []

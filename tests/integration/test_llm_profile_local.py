"""The valuation's LLM layer with the real local model (Qwen2.5-Coder-0.5B via the managed llama.cpp server) on
the demo store: a schema-valid profile from a real user's text, no PII of that user in any prompt, an explanation
whose numbers are all grounded, and the rubric scorer returning bounded scores."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from llm.spy import recording
from valuation.explain import numbers_are_grounded
from valuation.llm_scorer import history_summary, score_users
from valuation.service import ValueService

# A 0.5B model on 2 shared cores: one structured call can take minutes when other processes are busy.
pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def local(demo_settings):
    settings = demo_settings.model_copy(update={"llm": "local", "llm_timeout_s": 300.0})
    service = ValueService(settings)
    service.ensure_ready()
    return settings, service


def _user_with_text(demo_settings) -> pd.Series:
    reviews = pd.read_json(demo_settings.data_dir / "demo" / "reviews.jsonl", lines=True)
    users = pd.read_csv(demo_settings.data_dir / "demo" / "users.csv", dtype=str).set_index("user_id")
    busy = reviews.groupby("user_id").size().sort_values(ascending=False).index[0]
    return users.loc[busy]


def test_llm_profile_from_real_text_is_valid_and_masked(local, demo_settings):
    _, service = local
    user = _user_with_text(demo_settings)
    with recording() as prompts:
        profile = service.profile(user.name, with_llm=True)
    assert profile.source == "llm", "the local model must return a schema-valid profile"
    assert len(profile.interests) <= 5 and all(len(i) <= 40 for i in profile.interests)
    assert prompts and all(p.provider == "local" for p in prompts)
    sent = "\n".join(p.text for p in prompts)
    # Grounded: the numbers are the rules' (measured), every interest is named in what the model read or is one
    # of the rules' own (a reading is cached, so a re-run sends no prompt: then only the rules' side is checked)
    rules = service.profile(user.name, with_llm=False)
    assert (profile.price_sensitivity, profile.satisfaction) == (rules.price_sensitivity, rules.satisfaction)
    assert all(i in rules.interests or i.casefold() in sent.casefold() for i in profile.interests)
    assert "Reviews written" in sent
    for field in ("name", "phone", "email", "address"):
        value = user.get(field)
        if isinstance(value, str) and value:
            assert value not in sent, field
    digits = re.sub(r"\D", "", str(user.get("phone") or ""))
    assert not digits or digits not in re.sub(r"\D", "", sent)


def test_assessment_with_llm_keeps_numbers_grounded(local, demo_settings):
    _, service = local
    user = _user_with_text(demo_settings)
    a = service.assess(user.name, with_llm=True)
    assert a.explanation
    facts = json.dumps(
        {
            "score": round(a.score),
            "spend": round(a.predicted_spend_12m),
            "values": [r.value for r in a.reasons],
            "rounded": [round(r.value, 2) for r in a.reasons if r.value is not None],
        }
    )
    assert numbers_are_grounded(a.explanation, facts), a.explanation


def test_rubric_scorer_returns_bounded_scores(local):
    settings, service = local
    pop = service.population.sort_values("score")
    ids = [pop.index[0], pop.index[-1]]
    summaries = {
        u: history_summary(service.features.loc[u], list(pop.loc[u, "likely_categories"])) for u in ids
    }
    scores = score_users(settings, summaries)
    assert set(scores) == set(ids)
    got = [s for s in scores.values() if s is not None]
    assert got, "the local model must score at least one summary"
    assert all(0 <= s <= 100 for s in got)

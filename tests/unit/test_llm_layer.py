"""The valuation's LLM layer (profile extraction, LLM-as-scorer, explanations) through the real structured-output
path against a scripted OpenAI-compatible stub server: schema validation, retry on malformed output then a clean
fallback, the content-hash cache, PII masking of what is actually sent, and number grounding of explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from domain.models import Reason, Segment, UserProfile
from domain.settings import Settings
from domain.store.db import get_engine
from valuation.explain import llm_explanation, numbers_are_grounded, template_explanation
from valuation.llm_scorer import history_summary, score_users
from valuation.profile import llm_profile, profile_prompt_text


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        llm="openai",
        openai_base_url=url,
        openai_api_key=SecretStr("k"),
        openai_model="stub",
        llm_max_retries=0,
    )


GOOD_PROFILE = json.dumps(
    {"interests": ["running shoes", "tea"], "price_sensitivity": 0.8, "brand_affinity": ["Anta"],
     "satisfaction": 0.3, "intent": "support"}
)  # fmt: skip
RULES = UserProfile(
    interests=["running-shoes"], price_sensitivity=0.5, satisfaction=0.6, intent="browsing", source="rules"
)
TEXT = profile_prompt_text(
    ["(1/5) 张伟: 鞋子坏了，请打 13812345678 或 zhang.wei@example.com 联系我"],
    ["cheap running shoes", "优惠 跑鞋"],
    ["Anta XA-500 racing shoes"],
    ["Anta XA-500 racing shoes"],
)


def test_profile_is_validated_and_cached_by_content_hash(tmp_path, scripted_openai):
    server = scripted_openai([GOOD_PROFILE])
    settings = _settings(tmp_path, server.url)
    engine = get_engine(settings)
    profile = llm_profile(settings, engine, "u1", TEXT, names=["张伟"], rules=RULES)
    assert profile.source == "llm" and profile.intent == "support"
    # The numbers stay the measured ones (the reading said 0.8 and 0.3)
    assert profile.price_sensitivity == pytest.approx(0.5) and profile.satisfaction == pytest.approx(0.6)
    # "tea" is named nowhere in the text: dropped; the rules' own interest follows the grounded one
    assert profile.interests == ["running shoes", "running-shoes"] and profile.brand_affinity == ["Anta"]
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    again = llm_profile(settings, engine, "u1", TEXT, names=["张伟"], rules=RULES)
    assert again == profile and len(server.requests) == 1  # served from llm_cache, not sent again


def test_pii_is_masked_in_what_is_sent(tmp_path, scripted_openai):
    server = scripted_openai([GOOD_PROFILE])
    settings = _settings(tmp_path, server.url)
    llm_profile(settings, get_engine(settings), "u1", TEXT, names=["张伟"], rules=RULES)
    sent = server.sent_text()
    assert "13812345678" not in sent and "zhang.wei@example.com" not in sent and "张伟" not in sent
    assert "cheap running shoes" in sent  # the useful text still goes


def test_malformed_output_is_retried_then_accepted(tmp_path, scripted_openai):
    bad_enum = GOOD_PROFILE.replace('"support"', '"shopping spree"')
    server = scripted_openai(["I think this user likes shoes", bad_enum, GOOD_PROFILE])
    settings = _settings(tmp_path, server.url)
    profile = llm_profile(settings, get_engine(settings), "u1", TEXT, rules=RULES)
    assert profile.source == "llm"
    assert len(server.requests) == 3
    assert "Invalid" in server.requests[1]["messages"][-1]["content"]


def test_malformed_output_every_time_falls_back_cleanly_to_rules(tmp_path, scripted_openai):
    too_sensitive = GOOD_PROFILE.replace("0.8", "7.5")  # out of the 0-1 bound
    server = scripted_openai(["not json", too_sensitive, "{}"])
    settings = _settings(tmp_path, server.url)
    profile = llm_profile(settings, get_engine(settings), "u1", TEXT, rules=RULES)
    assert profile == RULES
    assert len(server.requests) == 3  # the first try + 2 retries, then the fallback


def test_unknown_intent_keeps_the_rules_and_unnamed_brands_are_dropped(tmp_path, scripted_openai):
    unsure = json.dumps(
        {"interests": ["racing shoes"], "price_sensitivity": 1.0, "brand_affinity": ["Nike"], "satisfaction": 0.0,
         "intent": "unknown"}
    )  # fmt: skip
    settings = _settings(tmp_path, scripted_openai([unsure]).url)
    profile = llm_profile(settings, get_engine(settings), "u1", TEXT, rules=RULES)
    assert profile.intent == "browsing" and profile.brand_affinity == []
    assert profile.interests == ["racing shoes", "running-shoes"]
    assert (profile.price_sensitivity, profile.satisfaction) == (0.5, 0.6)


def test_no_llm_sends_nothing(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", llm="none")
    assert llm_profile(settings, get_engine(settings), "u1", TEXT, rules=RULES) == RULES
    assert score_users(settings, {"u1": "Orders: none yet."}) == {"u1": None}
    assert llm_explanation(settings, "en", 50.0, Segment.loyal, 100.0, [], None) is None


def test_llm_scorer_scores_valid_replies_and_gives_none_for_invalid(tmp_path, scripted_openai):
    server = scripted_openai(
        ['{"score": 82, "segment": "loyal", "why": "frequent recent orders"}', "x", "y", '{"score": 500}']
    )
    settings = _settings(tmp_path, server.url)
    summary_a = history_summary(
        __import__("pandas").Series({"n_purchase_days": 6, "total_spend": 5000.0, "days_since_last": 12})
    )
    scores = score_users(settings, {"a": summary_a, "b": "Orders: none yet."})
    assert scores == {"a": 82.0, "b": None}
    assert "Rubric" in server.requests[0]["messages"][0]["content"]
    assert "total 5,000" in server.requests[0]["messages"][1]["content"]


REASONS = [
    Reason(feature="n_purchase_days", value=7.0, contribution=0.6, label_en="purchase days", label_zh="购买天数"),
    Reason(feature="days_since_last", value=12.0, contribution=0.3, label_en="days since last purchase",
           label_zh="距上次购买天数"),
    Reason(feature="discounted_line_share", value=0.8, contribution=-0.2, label_en="share of discounted items",
           label_zh="折扣商品占比"),
]  # fmt: skip


def test_explanation_accepts_grounded_numbers_and_rejects_invented_ones(tmp_path, scripted_openai):
    grounded = "Score 87: 7 purchase days and a purchase 12 days ago; predicted spend ¥2,340."
    invented = "Score 87: this customer will spend ¥9,999 next month."
    server = scripted_openai([grounded, invented])
    settings = _settings(tmp_path, server.url)
    ok = llm_explanation(settings, "en", 87.0, Segment.vip, 2340.0, REASONS, None)
    assert ok == grounded
    assert llm_explanation(settings, "en", 87.0, Segment.vip, 2340.0, REASONS, None) is None
    assert "Simplified Chinese" not in server.requests[0]["messages"][0]["content"]


def test_number_grounding_rules():
    source = '{"score": 87, "predicted_12m_spend_cny": 2340, "reasons": [{"value": 0.8}]}'
    assert numbers_are_grounded("评分 87，预计消费 ¥2,340，折扣占比 0.8。", source)
    assert numbers_are_grounded("over the next 12 months", source)
    assert not numbers_are_grounded("评分 88", source)
    assert not numbers_are_grounded("spend 2341", source)


def test_template_explanation_is_bilingual_and_uses_only_the_numbers():
    en = template_explanation("en", 87.4, Segment.vip, 2340.0, REASONS)
    zh = template_explanation("zh", 87.4, Segment.vip, 2340.0, REASONS)
    assert en.startswith("Value score 87/100 (VIP / premium)") and "¥2,340" in en and "purchase days 7" in en
    assert "Lowering it: share of discounted items 0.80" in en
    assert zh.startswith("价值评分 87/100（VIP / 高价值）") and "购买天数 7" in zh and "减分项" in zh
    source = json.dumps({"s": 87, "p": 2340, "v": [7, 12, 0.8]})
    assert numbers_are_grounded(en, source) and numbers_are_grounded(zh, source)

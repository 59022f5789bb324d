"""Guardrails: grounding (ids and catalog titles), leaks (other users' ids, raw PII), injection markup; and the
react-mode middleware that applies them to a final answer."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.middleware.guards import check_text, clean_markup, drop_ungrounded, mask_output, refs_in_outputs
from agent.react.middleware import GroundingMiddleware, TextToolCallMiddleware


def test_grounded_text_passes(tiny_catalog):
    report = check_text("The JBL Tune 520 Headphones (p00002) cost ¥299.", tiny_catalog, ["p00002"])
    assert report.ok


def test_unknown_and_ungrounded_ids_are_flagged(tiny_catalog):
    report = check_text("Try p00001 or p99999.", tiny_catalog, ["p00002"])
    assert report.ungrounded_ids == ["p00001", "p99999"]


def test_ungrounded_title_is_flagged_in_both_languages(tiny_catalog):
    assert check_text(
        "You may like the Nike Pegasus 41 Running Shoes.", tiny_catalog, ["p00002"]
    ).ungrounded_titles == ["p00003"]
    assert check_text("推荐索尼 WH-1000XM5 降噪耳机。", tiny_catalog, ["p00002"]).ungrounded_titles == [
        "p00001"
    ]


def test_drop_keeps_only_grounded_sentences(tiny_catalog):
    text = "Here are two picks. The JBL Tune 520 Headphones are cheap. Also consider p00001! Enjoy."
    kept, removed = drop_ungrounded(text, tiny_catalog, ["p00002"])
    assert "p00001" not in kept
    assert "JBL Tune 520" in kept and "Enjoy." in kept
    assert removed.ungrounded_ids == ["p00001"]
    zh, removed_zh = drop_ungrounded(
        "这款JBL Tune 520 耳机很划算。另外索尼 WH-1000XM5 降噪耳机也不错。", tiny_catalog, ["p00002"]
    )
    assert "索尼" not in zh and "JBL" in zh
    assert removed_zh.ungrounded_titles == ["p00001"]


def test_other_users_ids_are_leaks_unless_a_tool_returned_them(tiny_catalog):
    text = "User u000042 ordered o0000007."
    assert check_text(text, tiny_catalog, [], allowed_refs={"u000001"}).leaked_ids == ["u000042", "o0000007"]
    allowed = refs_in_outputs([{"user_id": "u000042", "orders": [{"order_id": "o0000007"}]}])
    assert check_text(text, tiny_catalog, [], allowed_refs=allowed).ok


def test_markup_and_pii_are_cleaned():
    assert clean_markup("ok <|im_start|>system <data>x</data>") == "ok system x"
    masked = mask_output("call me at 13812345678 or mail li.lei@example.com")
    assert "13812345678" not in masked and "li.lei@example.com" not in masked


def _state(*messages):
    return {"messages": list(messages)}


def test_react_grounding_middleware_drops_invented_products(tiny_catalog):
    tool = ToolMessage(
        content='{"products":[{"product_id":"p00002","title":"JBL Tune 520 Headphones","price":299}]}',
        tool_call_id="c1",
        name="search_products",
    )
    final = AIMessage(
        "The JBL Tune 520 Headphones (p00002) fit your budget. The p00001 is great too.", id="m1"
    )
    update = GroundingMiddleware(tiny_catalog, "u000001").after_model(
        _state(
            HumanMessage("headphones under 500"),
            AIMessage("", tool_calls=[{"name": "search_products", "args": {}, "id": "c1"}]),
            tool,
            final,
        ),
        None,
    )
    assert update is not None
    [replacement] = update["messages"]
    assert replacement.id == "m1"
    assert "p00002" in replacement.content and "p00001" not in replacement.content


def test_react_grounding_middleware_falls_back_politely_when_nothing_is_left(tiny_catalog):
    final = AIMessage("Buy p00003 now.", id="m2")
    update = GroundingMiddleware(tiny_catalog, None).after_model(
        _state(HumanMessage("推荐跑鞋"), final), None
    )
    assert update["messages"][0].content.startswith("抱歉")


def test_text_tool_calls_become_real_tool_calls_for_known_tools_only():
    middleware = TextToolCallMiddleware(["search_products"])
    calls = middleware._parse(
        '<tool_call>{"name": "search_products", "arguments": {"query": "tea"}}</tool_call>'
    )
    assert calls[0]["name"] == "search_products" and calls[0]["args"] == {"query": "tea"}
    assert middleware._parse('{"name": "delete_everything", "arguments": {}}') == []


def test_tool_call_json_written_as_text_never_reaches_the_shopper(tiny_catalog):
    from agent.react.middleware import json_calls_in

    text = '```json\n{"name": "get_user_profile", "arguments": {"language": "zh"}}\n```\n```json\n{"name": "get_user_history", "arguments": {}}\n```'
    assert [c["name"] for c in json_calls_in(text)] == ["get_user_profile", "get_user_history"]
    update = GroundingMiddleware(tiny_catalog, None).after_model(
        _state(HumanMessage("推荐跑鞋"), AIMessage(text, id="m3")), None
    )
    assert "{" not in update["messages"][0].content and update["messages"][0].content.startswith("抱歉")
    calls = TextToolCallMiddleware(["get_user_profile", "get_user_history"])._parse(text)
    assert [c["name"] for c in calls] == ["get_user_profile", "get_user_history"]

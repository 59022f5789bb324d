"""ChatEvent stream → chat messages: thinking boxes, streamed text, cards, errors."""

from __future__ import annotations

from agent.events import ChatEvent, ProductCard
from ui.chat_view import TurnView


def test_tool_steps_become_thinking_boxes_that_close() -> None:
    view = TurnView("en")
    view.apply(ChatEvent(type="tool_start", tool="recommend_products", args={"max_price": 500}))
    step = view.messages()[0]
    assert step["metadata"]["status"] == "pending" and "Picking recommendations" in step["metadata"]["title"]
    assert view.messages()[-1]["content"] == "…"  # placeholder while the turn runs
    view.apply(ChatEvent(type="tool_end", tool="recommend_products", output='{"products": 3}'))
    step = view.messages()[0]
    assert step["metadata"]["status"] == "done" and step["metadata"]["duration"] >= 0
    assert "max_price" in step["content"] and "products" in step["content"]


def test_tokens_stream_into_one_reply_and_cards_are_kept() -> None:
    view = TurnView("zh")
    for piece in ("为您", "挑选了", "3 款"):
        view.apply(ChatEvent(type="token", text=piece))
    view.apply(ChatEvent(type="products", products=[ProductCard(product_id="p1", title="鞋", price=1.0)]))
    view.apply(ChatEvent(type="done", text="为您挑选了3 款", language="zh"))
    messages = view.messages()
    assert messages == [{"role": "assistant", "content": "为您挑选了3 款"}]
    assert [c.product_id for c in view.cards] == ["p1"] and view.language == "zh" and view.done


def test_done_text_is_used_when_no_tokens_came() -> None:
    view = TurnView("en")
    view.apply(
        ChatEvent(type="done", text="Hello!", products=[ProductCard(product_id="p2", title="x", price=2)])
    )
    assert view.messages()[-1]["content"] == "Hello!" and view.cards[0].product_id == "p2"


def test_errors_show_the_polite_reply_or_else_the_error() -> None:
    polite = TurnView("en")
    polite.apply(ChatEvent(type="error", text="RuntimeError: boom"))
    polite.apply(ChatEvent(type="token", text="Sorry, please try again."))
    assert polite.error and polite.messages()[-1]["content"] == "Sorry, please try again."
    bare = TurnView("en")
    bare.apply(ChatEvent(type="error", text="The chat service is unavailable"))
    bare.done = True
    assert bare.messages()[-1]["content"].startswith("⚠️ The chat service")


def test_stopped_turn_closes_pending_steps() -> None:
    view = TurnView("en")
    view.apply(ChatEvent(type="tool_start", tool="search_products"))
    view.close_open_steps()
    assert view.messages()[0]["metadata"]["status"] == "done"

"""The guided mode as a LangGraph graph: understand -> act -> respond -> remember.

Nodes stream :class:`agent.events.ChatEvent` dicts through LangGraph's custom stream writer; the state (messages,
last products shown, every grounded product id, carried slots, summary) is checkpointed per thread.
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.events import ChatEvent
from agent.guided.answers import parse_member_levels
from agent.guided.planner import PRODUCT_INTENTS, act, understand
from agent.guided.prompts import SUMMARY_SYSTEM
from agent.guided.reply import compose_body, llm_lead, wants_lead
from agent.guided.state import GuidedContext, GuidedState
from agent.middleware.faithfulness import build_evidence
from agent.middleware.guards import mask_output, refs_in_outputs
from agent.toolbox import Toolbox, ToolRun
from agent.vocabulary import get_catalog
from domain.settings import Settings
from llm import get_chat_model
from llm.masking import new_masker
from llm.structured import mask_messages

log = logging.getLogger(__name__)

KEEP_MESSAGES = 8  # older turns are folded into the summary
SUMMARISE_AFTER = 12


def _writer() -> Any:
    try:
        return get_stream_writer()
    except Exception:  # invoked outside a streaming run
        return lambda _event: None


def _last_user_text(state: GuidedState) -> str:
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage):
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


def build_guided_graph(settings: Settings, checkpointer: Any = None) -> Any:
    masker = new_masker()

    def understand_node(state: GuidedState, runtime: Runtime[GuidedContext]) -> dict[str, Any]:
        ctx = runtime.context or {}
        catalog = get_catalog(settings)
        use_llm = bool(ctx.get("use_llm", settings.llm != "none"))
        turn = understand(
            settings,
            _last_user_text(state),
            dict(state),
            catalog,
            ctx["principal"],
            use_llm=use_llm,
            masker=masker,
        )
        return {"turn": turn, "language": turn["language"]}

    def act_node(state: GuidedState, runtime: Runtime[GuidedContext]) -> dict[str, Any]:
        write = _writer()
        principal = runtime.context["principal"]

        def on_tool(kind: str, run: ToolRun) -> None:
            if kind == "start":
                write(ChatEvent(type="tool_start", tool=run.name, args=run.args).model_dump())
            else:
                summary = (
                    run.error or f"{len(run.product_ids)} products" if run.product_ids or run.error else "ok"
                )
                write(ChatEvent(type="tool_end", tool=run.name, args=run.args, output=summary).model_dump())

        toolbox = Toolbox(settings, principal, listener=on_tool)
        levels = bool(parse_member_levels(settings.member_levels))
        return {"turn": act(toolbox, state["turn"], principal, member_levels=levels)}

    def respond_node(state: GuidedState, runtime: Runtime[GuidedContext]) -> dict[str, Any]:
        write = _writer()
        ctx = runtime.context or {}
        turn = dict(state["turn"])
        lang = turn["language"]
        catalog = get_catalog(settings)
        header, body, cards = compose_body(turn, catalog, parse_member_levels(settings.member_levels))
        runs = turn.get("tool_runs") or []
        turn_ids = [pid for run in runs for pid in run.get("product_ids", [])]
        grounded = list(dict.fromkeys([*(state.get("grounded_ids") or []), *turn_ids]))
        allowed = refs_in_outputs(run.get("output") for run in runs)
        principal = ctx["principal"]
        if principal.user_id:
            allowed.add(principal.user_id.lower())

        def emit_token(text: str) -> None:
            write(ChatEvent(type="token", text=text, language=lang).model_dump())

        lead = None
        use_llm = bool(ctx.get("use_llm", settings.llm != "none"))
        if use_llm and cards and wants_lead(turn):
            slots = turn["slots"]
            evidence = build_evidence(
                [run.get("output") for run in runs], turn["text"], grounded, allowed, extra_text=[header, body],
                budget=slots.get("budget_max") is not None or slots.get("budget_min") is not None,
            )  # fmt: skip
            lead = llm_lead(settings, turn, cards, catalog, evidence, masker, state.get("summary", ""))
            turn["faithfulness"] = {"outcome": lead.outcome, "sentences": lead.sentences}
        opening = lead.text if lead and lead.text else header
        if opening:
            emit_token(opening)
        if body:
            emit_token(("\n" if opening else "") + body)
        reply = mask_output("\n".join(x for x in (opening, body) if x))
        if cards:
            write(ChatEvent(type="products", products=cards, language=lang).model_dump())
        turn.update(
            reply=reply,
            cards=[c.model_dump() for c in cards],
            lead_source="llm" if lead and lead.text else "template",
        )
        return {"turn": turn, "grounded_ids": grounded}

    def remember_node(state: GuidedState) -> dict[str, Any]:
        turn = state["turn"]
        update: dict[str, Any] = {"messages": [AIMessage(turn["reply"])]}
        if turn.get("cards"):
            update["shown_products"] = [c["product_id"] for c in turn["cards"]]
        slots = turn["slots"]
        if turn["intent"] in PRODUCT_INTENTS or slots.get("target_user_id"):
            update["last_slots"] = {
                "intent": turn["intent"], "category": slots.get("category"), "budget_min": slots.get("budget_min"),
                "budget_max": slots.get("budget_max"), "target_user_id": slots.get("target_user_id"),
                "query": slots.get("query"),
            }  # fmt: skip
        messages = [*(state.get("messages") or []), update["messages"][0]]
        if len(messages) > SUMMARISE_AFTER:
            old = messages[:-KEEP_MESSAGES]
            update["summary"] = summarise(settings, state.get("summary", ""), old, masker)
            update["messages"] = [*update["messages"], *(RemoveMessage(id=m.id) for m in old if m.id)]
        return update

    def after_understand(state: GuidedState) -> str:
        return "respond" if state["turn"].get("direct") else "act"

    graph = StateGraph(GuidedState, context_schema=GuidedContext)
    graph.add_node("understand", understand_node)
    graph.add_node("act", act_node)
    graph.add_node("respond", respond_node)
    graph.add_node("remember", remember_node)
    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", after_understand, {"act": "act", "respond": "respond"})
    graph.add_edge("act", "respond")
    graph.add_edge("respond", "remember")
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer, name="shopguide-guided")


def summarise(settings: Settings, previous: str, messages: list[Any], masker: Any) -> str:
    """Fold old turns into a short summary: by the LLM when there is one, else the last user requests."""
    transcript = "\n".join(f"{m.type}: {str(m.content)[:200]}" for m in messages)
    if settings.llm != "none":
        try:
            model = get_chat_model(settings, temperature=0.0, max_tokens=120)
            if model is not None:
                prompt = mask_messages(
                    [("system", SUMMARY_SYSTEM), ("user", f"{previous}\n{transcript}")], masker
                )
                text = model.invoke(prompt).content
                if isinstance(text, str) and text.strip():
                    return mask_output(text.strip())[:600]
        except Exception as exc:
            log.warning("summary by LLM failed, keeping an extractive one: %s", exc)
    asks = [str(m.content)[:80] for m in messages if isinstance(m, HumanMessage)][-4:]
    return mask_output((previous + " | " if previous else "") + "; ".join(asks))[-600:]


__all__ = ["build_guided_graph"]

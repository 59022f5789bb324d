"""The shopper chat at ``/``: streamed replies, tool steps as "thinking" boxes, product cards, feedback.

Who is chatting: a ``?token=`` widget token (re-checked every turn: expiry, revocation, erasure), else, in demo
mode only (``shopguide serve --demo``), the demo user picker. Without either the page chats with nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from agent.events import ProductCard
from domain.i18n import Language, normalize_lang, t
from domain.privacy.access import Principal
from domain.privacy.ratelimit import RateLimited
from ui.chat_view import TurnView
from ui.i18n import DETECT_LANG_JS, EXAMPLE_PROMPTS, LANG_CHOICES
from ui.render import error_box, product_cards, product_details
from ui.services import TokenRefused, UiContext, scoped_thread_id

# Product cards report clicks with their product id (one delegated listener survives re-renders).
CARD_CLICK_JS = (
    "element.addEventListener('click', (e) => { const c = e.target.closest('[data-pid]');"
    " if (c) trigger('click', {product_id: c.dataset.pid}); });"
)

SHOPPER_CSS = """
#sg-header h1{margin:0;font-size:22px}
#sg-header p{margin:2px 0 0;color:#6b7280;font-size:14px}
#sg-lang{max-width:220px;margin-left:auto}
#sg-chat{border-radius:14px}
.sg-controls button{min-width:0}
#sg-chat .examples{display:flex;flex-wrap:wrap;gap:8px;justify-content:center;padding:0 12px}
#sg-chat button.example{border:1px solid #fecdd3 !important;background:#fff1f2 !important;color:#9f1239 !important;
  border-radius:999px !important;padding:6px 14px !important;font-size:14px;max-width:100%;min-height:0 !important}
#sg-chat button.example:hover{background:#ffe4e6 !important}
@media (max-width:480px){#sg-header h1{font-size:18px}#sg-header p{font-size:12px}#sg-chat{height:56vh !important}
  #sg-lang{max-width:none;margin-left:0}#sg-lang .wrap{flex-wrap:nowrap;gap:6px}
  #sg-lang label{white-space:nowrap;padding:4px 10px !important}
  #sg-top{flex-direction:column;align-items:stretch;gap:6px}#sg-top > *{min-width:0 !important;width:100%}}
"""


def _header(lang: Language) -> str:
    return f"<div><h1>🛍️ {t('app_title', lang)}</h1><p>{t('shopper_tagline', lang)}</p></div>"


def build_shopper(ctx: UiContext) -> gr.Blocks:
    def current_principal(identity: dict[str, Any] | None) -> Principal | None:
        """The shopper of this session now: a token identity is verified again (it may have expired or been
        revoked since the page loaded); a demo identity counts only in demo mode."""
        if not identity or not identity.get("user_id"):
            return None
        if identity.get("source") == "token":
            return ctx.verify_token(identity.get("token"))
        return Principal.shopper(identity["user_id"]) if ctx.demo else None

    stop_flags: dict[str, asyncio.Event] = {}
    cleared: set[str] = set()  # sessions whose running turn was cleared: it must not write itself back

    with gr.Blocks(title="ShopGuide", fill_width=False) as demo:
        identity = gr.State(None)  # {"user_id", "source": "token"|"demo"} or {"error": msg}
        thread = gr.State("")
        card_state = gr.State([])  # the latest turn's cards, re-rendered on a language switch

        with gr.Row(equal_height=True, elem_id="sg-top"):
            header = gr.HTML(_header("en"), elem_id="sg-header")
            lang = gr.Radio(
                LANG_CHOICES, value="en", show_label=False, elem_id="sg-lang", min_width=160, container=False
            )
        with gr.Row():
            with gr.Column(scale=3, min_width=300):
                picker = gr.Dropdown(
                    choices=[], label=t("demo_user", "en"), info=t("demo_user_info", "en"),
                    visible=ctx.demo, elem_id="sg-user", interactive=True,
                )  # fmt: skip
                notice = gr.HTML("", elem_id="sg-notice", visible=False)
                chatbot = gr.Chatbot(
                    elem_id="sg-chat", height=520, show_label=False, layout="bubble",
                    feedback_options=("Like", "Dislike"), buttons=["copy"],
                    examples=[{"text": p} for p in EXAMPLE_PROMPTS], placeholder=t("shopper_tagline", "en"),
                )  # fmt: skip
                with gr.Row():
                    box = gr.Textbox(
                        placeholder=t("message_placeholder", "en"), show_label=False, scale=5, min_width=160,
                        elem_id="sg-input", max_lines=4,
                    )  # fmt: skip
                    send = gr.Button(
                        t("send", "en"), variant="primary", scale=1, min_width=70, elem_id="sg-send"
                    )
                with gr.Row(elem_classes="sg-controls"):
                    stop = gr.Button(t("stop", "en"), size="sm", elem_id="sg-stop", variant="stop")
                    retry = gr.Button(t("retry", "en"), size="sm", elem_id="sg-retry")
                    clear = gr.Button(t("clear", "en"), size="sm", elem_id="sg-clear")
            with gr.Column(scale=2, min_width=300):
                cards_title = gr.Markdown(f"### {t('products', 'en')}")
                cards = gr.HTML(product_cards([], "en"), elem_id="sg-cards", js_on_load=CARD_CLICK_JS)
                details = gr.HTML("", elem_id="sg-details")

        # ------------------------------------------------------------ session start
        def init_session(request: gr.Request) -> tuple[Any, ...]:
            token = request.query_params.get("token") if request else None
            new_thread = uuid.uuid4().hex
            if token:
                try:
                    principal = ctx.verify_token(token)
                    ident = {"user_id": principal.user_id, "source": "token", "token": token}
                    return ident, new_thread, gr.update(visible=False), gr.update(visible=False)
                except TokenRefused as exc:
                    msg = f"{t('token_invalid', 'zh')} / {t('token_invalid', 'en')} ({exc})"
                    return (
                        {"error": msg},
                        new_thread,
                        gr.update(visible=False),
                        gr.update(value=error_box(msg), visible=True),
                    )
            if not ctx.demo:
                msg = f"{t('token_invalid', 'zh')} / {t('token_invalid', 'en')}"
                return (
                    {"error": msg},
                    new_thread,
                    gr.update(visible=False),
                    gr.update(value=error_box(msg), visible=True),
                )
            choices = ctx.demo_users()
            first = choices[0][1] if choices else None
            ident = {"user_id": first, "source": "demo"} if first else None
            return (
                ident,
                new_thread,
                gr.update(choices=choices, value=first, visible=True),
                gr.update(visible=False),
            )

        demo.load(init_session, None, [identity, thread, picker, notice], api_visibility="private")
        demo.load(None, None, lang, js=DETECT_LANG_JS, api_visibility="private")

        def pick_user(user_id: str | None, ident: dict[str, Any] | None) -> tuple[Any, ...]:
            # a token identity cannot be swapped from the browser, and outside demo mode nothing can be picked
            offered = {uid for _, uid in ctx.demo_users()} if ctx.demo else set()
            if (ident and ident.get("source") == "token") or user_id not in offered:
                return ident, gr.update(), gr.update(), gr.update(), gr.update()
            return {"user_id": user_id, "source": "demo"}, uuid.uuid4().hex, [], product_cards([], "en"), []

        picker.input(
            pick_user,
            [picker, identity],
            [identity, thread, chatbot, cards, card_state],
            api_visibility="private",
        )

        # ------------------------------------------------------------ chat turn
        async def respond(
            message: str, history: list[dict[str, Any]], thread_id: str, ident: dict[str, Any] | None,
            lang_value: str, request: gr.Request,
        ) -> AsyncIterator[tuple[Any, ...]]:  # fmt: skip
            ui_lang = normalize_lang(lang_value)
            history = list(history or [])
            try:
                principal = current_principal(ident)
            except TokenRefused as exc:
                principal, ident = None, {"error": f"{t('token_invalid', ui_lang)} ({exc})"}
            if principal is None:
                gr.Warning((ident or {}).get("error") or t("token_invalid", ui_lang))
                yield history, gr.update(), gr.update(), message
                return
            try:
                text = ctx.validate_message(message, ui_lang)
                ctx.check_rate(principal.actor)
            except ValueError as exc:
                gr.Warning(str(exc))
                yield history, gr.update(), gr.update(), message
                return
            except RateLimited:
                gr.Warning(t("rate_limited", ui_lang))
                yield history, gr.update(), gr.update(), message
                return

            history.append({"role": "user", "content": text})
            view = TurnView(ui_lang)
            yield history + view.messages(), gr.update(), gr.update(), ""
            session = request.session_hash or ""
            stop_flag = stop_flags.setdefault(session, asyncio.Event())
            stop_flag.clear()
            cleared.discard(session)
            events = ctx.stream(scoped_thread_id(principal, thread_id), text, principal, ui_lang).__aiter__()
            try:
                while True:
                    next_event = asyncio.ensure_future(events.__anext__())
                    stopper = asyncio.ensure_future(stop_flag.wait())
                    done, _ = await asyncio.wait({next_event, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if next_event not in done or session in cleared:  # the shopper pressed Stop or Clear
                        next_event.cancel()
                        break
                    stopper.cancel()
                    try:
                        event = next_event.result()
                    except StopAsyncIteration:
                        break
                    view.apply(event)
                    card_html = (
                        product_cards(view.cards, ui_lang) if event.type == "products" else gr.update()
                    )
                    card_data = (
                        [c.model_dump() for c in view.cards] if event.type == "products" else gr.update()
                    )
                    yield history + view.messages(), card_html, card_data, ""
            finally:
                with contextlib.suppress(Exception):
                    await events.aclose()  # type: ignore[attr-defined]
                # After the last await: a Clear from now on finds no turn to end, and none is left to write back.
                stop_flags.pop(session, None)
            # Cleared: end on the cleared state, since Gradio re-sends a generator's last output when it ends.
            if session in cleared:
                cleared.discard(session)
                yield [], product_cards([], ui_lang), [], ""
                return
            view.close_open_steps()
            view.done = True
            yield (
                history + view.messages(),
                product_cards(view.cards, ui_lang),
                [c.model_dump() for c in view.cards],
                "",
            )

        turn_inputs = [box, chatbot, thread, identity, lang]
        turn_outputs = [chatbot, cards, card_state, box]
        box.submit(respond, turn_inputs, turn_outputs, api_visibility="private")
        send.click(respond, turn_inputs, turn_outputs, api_visibility="private")

        def take_example(evt: gr.SelectData) -> str:
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value)

        chatbot.example_select(take_example, None, box, api_visibility="private").then(
            respond, turn_inputs, turn_outputs, api_visibility="private"
        )

        def last_user_message(history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
            history = list(history or [])
            for index in range(len(history) - 1, -1, -1):
                if history[index].get("role") == "user":
                    content = history[index].get("content")
                    if isinstance(content, list):  # Gradio may hand back structured content
                        content = " ".join(
                            str(part.get("text", "")) for part in content if isinstance(part, dict)
                        )
                    return str(content or ""), history[:index]
            return "", history

        def prepare_retry(history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
            return last_user_message(history)

        retry.click(prepare_retry, [chatbot], [box, chatbot], api_visibility="private").then(
            respond, turn_inputs, turn_outputs, api_visibility="private"
        )
        chatbot.retry(prepare_retry, [chatbot], [box, chatbot], api_visibility="private").then(
            respond, turn_inputs, turn_outputs, api_visibility="private"
        )

        def request_stop(request: gr.Request) -> None:
            flag = stop_flags.get(request.session_hash or "")
            if flag is not None:
                flag.set()

        stop.click(request_stop, None, None, queue=False, api_visibility="private")

        async def clear_chat(lang_value: str, request: gr.Request) -> tuple[Any, ...]:
            # A turn still streaming would write the old conversation back over the cleared one: end it first.
            # Async, so it runs on the event loop, between the turn's awaits, never in the middle of its check.
            flag = stop_flags.get(request.session_hash or "")
            if flag is not None:
                cleared.add(request.session_hash or "")
                flag.set()
            return [], uuid.uuid4().hex, product_cards([], normalize_lang(lang_value)), [], "", ""

        clear_outputs = [chatbot, thread, cards, card_state, details, box]
        clear.click(clear_chat, [lang], clear_outputs, api_visibility="private")
        chatbot.clear(clear_chat, [lang], clear_outputs, api_visibility="private")

        # ------------------------------------------------------------ feedback, details, language
        def on_like(data: gr.LikeData, thread_id: str, ident: dict[str, Any] | None, lang_value: str) -> None:
            try:
                principal = current_principal(ident)
            except TokenRefused:
                principal = None
            if principal is None:
                return
            liked = data.liked if isinstance(data.liked, bool) else str(data.liked).lower() == "like"
            index = data.index if isinstance(data.index, int) else data.index[0]
            value = data.value
            if isinstance(value, list | dict):
                value = str(value)
            ctx.save_feedback(
                scoped_thread_id(principal, thread_id), principal.user_id, index, liked, str(value)
            )
            gr.Info(t("feedback_thanks", normalize_lang(lang_value)))

        chatbot.like(on_like, [thread, identity, lang], None, api_visibility="private")

        def show_details(evt: gr.EventData, lang_value: str) -> str:
            product_id = str(getattr(evt, "_data", {}).get("product_id") or "")
            return product_details(
                ctx.product(product_id) if product_id else None, normalize_lang(lang_value)
            )

        cards.click(show_details, [lang], details, api_visibility="private")

        def relabel(lang_value: str, card_data: list[dict[str, Any]]) -> tuple[Any, ...]:
            lg = normalize_lang(lang_value)
            shown = [ProductCard.model_validate(c) for c in card_data or []]
            return (
                _header(lg),
                gr.update(label=t("demo_user", lg), info=t("demo_user_info", lg)),
                gr.update(placeholder=t("shopper_tagline", lg)),
                gr.update(placeholder=t("message_placeholder", lg)),
                gr.update(value=t("send", lg)),
                gr.update(value=t("stop", lg)),
                gr.update(value=t("retry", lg)),
                gr.update(value=t("clear", lg)),
                f"### {t('products', lg)}",
                product_cards(shown, lg),
            )

        lang.change(
            relabel, [lang, card_state],
            [header, picker, chatbot, box, send, stop, retry, clear, cards_title, cards],
            api_visibility="private",
        )  # fmt: skip

        # ------------------------------------------------------------ named API endpoint (gradio_client)
        async def chat(message: str, token: str, thread_id: str = "") -> dict[str, Any]:
            """One chat turn for a widget-token holder: returns reply, language, products and the thread id."""
            try:
                principal = ctx.verify_token(token)
                text = ctx.validate_message(message, "en")
                ctx.check_rate(principal.actor)
            except TokenRefused as exc:
                raise gr.Error(f"invalid or expired widget token: {exc}") from exc
            except (ValueError, RateLimited) as exc:
                raise gr.Error(str(exc)) from exc
            client_thread = thread_id or uuid.uuid4().hex
            view = TurnView("en")
            async for event in ctx.stream(scoped_thread_id(principal, client_thread), text, principal):
                view.apply(event)
            return {
                "reply": view.reply or view.error_text,
                "language": view.language,
                "products": [card.model_dump() for card in view.cards],
                "thread_id": client_thread,
                "error": view.error,
            }

        gr.api(chat, api_name="chat")
    return demo

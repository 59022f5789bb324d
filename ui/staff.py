"""The staff console at ``/staff`` (login with ``settings.staff_users``): customer lookup with the value card and
its contribution chart, profile, purchase timeline and what to recommend; the segment dashboard with campaign
export; and the assistant chat with staff rights. Every customer read is audited under the signed-in name.
"""

from __future__ import annotations

import uuid
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from agent.events import ProductCard
from domain.i18n import (
    SEGMENT_LABELS,
    Language,
    category_label,
    intent_label,
    normalize_lang,
    price_tier_label,
    t,
)
from domain.privacy.access import Principal
from domain.privacy.ratelimit import RateLimited
from ui.chat_view import TurnView
from ui.exports import ExportVault
from ui.i18n import DETECT_LANG_JS, LANG_CHOICES
from ui.plots import contributions_figure, timeline_figure
from ui.render import error_box, product_cards, value_card
from ui.services import UiContext, scoped_thread_id
from ui.staff_data import (
    SPEND_BAND_LABELS,
    UserHit,
    export_campaign,
    find_users,
    load_view,
    reasons_frame,
    segment_display,
    segment_table,
    timeline_frame,
    value_histogram,
)

STAFF_CSS = """
#sg-staff-header h1{margin:0;font-size:22px}
#sg-staff-header p{margin:2px 0 0;color:#6b7280;font-size:13px}
#sg-lang{max-width:220px;margin-left:auto}
.sg-user-head{font-size:15px;padding:4px 0}
.sg-user-head code{font-size:14px}
.sg-profile{font-size:14px;line-height:1.7}
.sg-profile b{color:#374151}
"""


def _header(lang: Language, staff: str = "") -> str:
    who = f" · {t('signed_in_as', lang)}<b>{escape(staff)}</b>" if staff else ""
    if staff:
        who += f' · <a href="/staff/logout" id="sg-logout">{t("logout", lang)}</a>'
    return f"<div><h1>🧭 {t('staff_title', lang)}</h1><p>ShopGuide{who}</p></div>"


def _user_head(view_user: Any) -> str:
    bits = [f"<code>{escape(view_user.user_id)}</code>"]
    bits += [escape(v) for v in (view_user.phone_masked, view_user.email_masked, view_user.city) if v]
    return f'<div class="sg-user-head">👤 {" · ".join(bits)}</div>'


def _profile_html(
    profile: dict[str, Any], history: dict[str, Any], lang: Language, category_names: dict[str, str]
) -> str:
    def categories(slugs: list[str] | None) -> list[str]:
        return [category_label(slug, lang, category_names.get(slug)) for slug in slugs or []]

    def row(label_zh: str, label_en: str, value: Any) -> str:
        if value in (None, "", [], ()):
            return ""
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        return f"<div><b>{escape(label_zh if lang == 'zh' else label_en)}:</b> {escape(str(value))}</div>"

    price_range = profile.get("usual_price_range")
    price_text = f"¥{price_range[0]:,.0f} – ¥{price_range[1]:,.0f}" if price_range else None
    return '<div class="sg-profile">' + "".join(
        [
            row("订单数", "Orders", history.get("n_orders")),
            row("累计消费", "Total spend", f"¥{history.get('total_spend', 0):,.0f}"),
            row("首单 / 最近一单", "First / last order", f"{history.get('first_order') or '-'} / {history.get('last_order') or '-'}"),
            row("常购品类", "Favourite categories", categories(profile.get("favourite_categories"))),
            row("偏好品牌", "Brands", profile.get("brand_affinity")),
            row("兴趣", "Interests", profile.get("interests")),
            row("常用价位", "Usual price range", price_text),
            row("价位档", "Usual tier", price_tier_label(profile["usual_price_tier"], lang) if profile.get("usual_price_tier") else None),
            row("意图", "Intent", intent_label(profile.get("intent") or "unknown", lang)),
            row("最近搜索", "Recent searches", [s.replace("<data>", "").replace("</data>", "") for s in history.get("recent_searches", [])][:5]),
        ]
    ) + "</div>"  # fmt: skip


def _download_link(url: str, name: str, lang: Language) -> str:
    label = "下载（一次有效，10 分钟内）" if lang == "zh" else "Download (once, within 10 minutes)"
    return f'<a href="{escape(url)}" download="{escape(name)}" id="sg-export-link">⬇ {escape(name)} · {label}</a>'


def build_staff(ctx: UiContext, vault: ExportVault) -> gr.Blocks:
    segment_choices = lambda lang: [(labels[lang], key.value) for key, labels in SEGMENT_LABELS.items()]  # noqa: E731

    with gr.Blocks(title="ShopGuide · Staff", fill_width=True) as demo:
        hits_state = gr.State([])
        thread = gr.State("")
        with gr.Row(equal_height=True):
            header = gr.HTML(_header("en"), elem_id="sg-staff-header")
            lang = gr.Radio(
                LANG_CHOICES, value="en", show_label=False, elem_id="sg-lang", min_width=160, container=False
            )

        with gr.Tabs():
            with gr.Tab(t("lookup_tab", "en"), id="lookup") as lookup_tab:
                with gr.Row(equal_height=False):
                    query = gr.Textbox(label=t("lookup_query", "en"), elem_id="sg-lookup-query", scale=3)
                    reason = gr.Textbox(label=t("lookup_reason", "en"), elem_id="sg-lookup-reason", scale=2)
                    find = gr.Button(
                        t("lookup_button", "en"), variant="primary", scale=1, elem_id="sg-lookup-btn"
                    )
                matches = gr.Dropdown(
                    choices=[], label="", visible=False, elem_id="sg-matches", interactive=True
                )
                user_head = gr.HTML("", elem_id="sg-user-head")
                with gr.Group():
                    vcard_title = gr.Markdown(f"### {t('value_card', 'en')}")
                    vcard = gr.HTML("", elem_id="sg-value-card")
                with gr.Row():
                    with gr.Column(scale=3):
                        chart_title = gr.Markdown(f"#### {t('reasons_chart', 'en')}")
                        chart = gr.Plot(show_label=False, elem_id="sg-reasons-chart")
                    with gr.Column(scale=2):
                        profile_title = gr.Markdown(f"#### {t('profile', 'en')}")
                        profile = gr.HTML("", elem_id="sg-profile")
                timeline_title = gr.Markdown(f"#### {t('timeline', 'en')}")
                with gr.Row():
                    timeline_plot = gr.Plot(show_label=False, elem_id="sg-timeline-plot")
                    timeline = gr.Dataframe(
                        interactive=False, elem_id="sg-timeline", wrap=True, max_height=320
                    )
                recs_title = gr.Markdown(f"#### {t('recommend_for', 'en')}")
                recs = gr.HTML("", elem_id="sg-recs")

            with gr.Tab(t("segments_tab", "en"), id="segments") as segments_tab:
                refresh = gr.Button(t("refresh", "en"), size="sm", elem_id="sg-seg-refresh")
                seg_table = gr.Dataframe(interactive=False, elem_id="sg-seg-table")
                with gr.Row():
                    sizes_plot = gr.BarPlot(
                        x="label", y="users", title=t("segment_sizes", "en"), x_title=" ", y_title=t("users", "en"),
                        y_lim=[0, None], sort="-y", elem_id="sg-seg-sizes",
                    )  # fmt: skip
                    revenue_plot = gr.BarPlot(
                        x="label", y="revenue_share", title=t("revenue_share", "en"), x_title=" ",
                        y_title=t("revenue_share", "en"), y_lim=[0, None], sort="-y", elem_id="sg-seg-revenue",
                    )  # fmt: skip
                dist_plot = gr.BarPlot(
                    x="band", y="users", title=t("value_distribution", "en"), x_title=t("spend_band", "en"),
                    y_title=t("users", "en"), y_lim=[0, None], sort=SPEND_BAND_LABELS, elem_id="sg-seg-dist",
                )  # fmt: skip
                export_title = gr.Markdown(f"#### {t('campaign_export', 'en')}")
                with gr.Row(equal_height=False):
                    campaign_segment = gr.Dropdown(
                        segment_choices("en"),
                        value="vip",
                        label=t("campaign_segment", "en"),
                        elem_id="sg-campaign-seg",
                    )
                    with_contacts = gr.Checkbox(
                        False, label=t("export_contacts", "en"), elem_id="sg-export-contacts"
                    )
                    export_btn = gr.Button(t("export_button", "en"), elem_id="sg-export-btn")
                    # a link to the private one-time download, never a gr.File (Gradio's cache is public)
                    export_file = gr.HTML("", elem_id="sg-export-file")

            with gr.Tab(t("staff_chat_tab", "en"), id="assistant") as chat_tab:
                staff_chat = gr.Chatbot(
                    height=460,
                    show_label=False,
                    elem_id="sg-staff-chat",
                    placeholder=t("staff_chat_hint", "en"),
                )
                with gr.Row():
                    staff_box = gr.Textbox(
                        show_label=False,
                        scale=5,
                        elem_id="sg-staff-input",
                        placeholder=t("staff_chat_hint", "en"),
                    )
                    staff_send = gr.Button(t("send", "en"), variant="primary", scale=1)

        # ------------------------------------------------------------ lookup
        def show(
            hit_index: int, hits: list[dict[str, Any]], reason_text: str, lang_value: str, request: gr.Request
        ) -> tuple[Any, ...]:
            lg = normalize_lang(lang_value)
            hit = UserHit.model_validate(hits[hit_index])
            view = load_view(ctx, request.username or "staff", hit, lg, reason_text or "")
            if view.assessment is not None:
                card_html = value_card(view.assessment, lg, view.category_names)
                figure = contributions_figure(reasons_frame(view.assessment, lg))
            else:
                card_html, figure = error_box(view.assessment_error or "no assessment"), None
            orders = timeline_frame(view.history, lg)
            cards = [ProductCard(**{**r, "reason": r.get("reason", "")}) for r in view.recommendations]
            return (
                _user_head(view.user), card_html, figure, _profile_html(view.profile, view.history, lg, view.category_names),
                timeline_figure(orders), orders, product_cards(cards, lg),
            )  # fmt: skip

        view_outputs = [user_head, vcard, chart, profile, timeline_plot, timeline, recs]

        def lookup(text: str, reason_text: str, lang_value: str, request: gr.Request) -> tuple[Any, ...]:
            lg = normalize_lang(lang_value)
            hits = [h.model_dump() for h in find_users(ctx, text)]
            if not hits:
                empty = ("", error_box(t("no_matching_user", lg)), None, "", None, pd.DataFrame(), "")
                return (hits, gr.update(visible=False), *empty)
            choices = [
                (" · ".join(v for v in (h["user_id"], h["phone_masked"], h["email_masked"]) if v), i)
                for i, h in enumerate(hits)
            ]
            picker = gr.update(choices=choices, value=0, visible=len(hits) > 1)
            return (hits, picker, *show(0, hits, reason_text, lang_value, request))

        lookup_inputs = [query, reason, lang]
        find.click(lookup, lookup_inputs, [hits_state, matches, *view_outputs], api_visibility="private")
        query.submit(lookup, lookup_inputs, [hits_state, matches, *view_outputs], api_visibility="private")
        matches.input(show, [matches, hits_state, reason, lang], view_outputs, api_visibility="private")

        # ------------------------------------------------------------ segments and export
        def dashboard(lang_value: str) -> tuple[Any, ...]:
            lg = normalize_lang(lang_value)
            table = segment_table(ctx, lg)
            return segment_display(table, lg), table, table, value_histogram(ctx)

        seg_outputs = [seg_table, sizes_plot, revenue_plot, dist_plot]
        refresh.click(dashboard, [lang], seg_outputs, api_visibility="private")
        segments_tab.select(dashboard, [lang], seg_outputs, api_visibility="private")

        def export(segment: str, contacts: bool, lang_value: str, request: gr.Request) -> str:
            owner = request.username or ""
            path = export_campaign(ctx, owner, segment, vault.staging_dir(owner), with_contacts=contacts)
            return _download_link(vault.register(owner, path).url, path.name, normalize_lang(lang_value))

        export_btn.click(
            export, [campaign_segment, with_contacts, lang], export_file, api_visibility="private"
        )

        # ------------------------------------------------------------ assistant (staff rights, audited by tools)
        async def staff_turn(
            message: str, history: list[dict[str, Any]], thread_id: str, lang_value: str, request: gr.Request
        ):  # type: ignore[no-untyped-def]
            lg = normalize_lang(lang_value)
            history = list(history or [])
            try:
                text = ctx.validate_message(message, lg)
                ctx.check_rate(Principal.staff(request.username or "staff").actor)
            except (ValueError, RateLimited) as exc:
                gr.Warning(t("rate_limited", lg) if isinstance(exc, RateLimited) else str(exc))
                yield history, message, thread_id
                return
            thread_id = thread_id or uuid.uuid4().hex
            principal = Principal.staff(request.username or "staff")
            history.append({"role": "user", "content": text})
            view = TurnView(lg)
            async for event in ctx.stream(scoped_thread_id(principal, thread_id), text, principal, lg):
                view.apply(event)
                yield history + view.messages(), "", thread_id
            view.close_open_steps()
            yield history + view.messages(), "", thread_id

        staff_box.submit(
            staff_turn,
            [staff_box, staff_chat, thread, lang],
            [staff_chat, staff_box, thread],
            api_visibility="private",
        )
        staff_send.click(
            staff_turn,
            [staff_box, staff_chat, thread, lang],
            [staff_chat, staff_box, thread],
            api_visibility="private",
        )

        # ------------------------------------------------------------ language
        demo.load(None, None, lang, js=DETECT_LANG_JS, api_visibility="private")

        def signed_in_header(lang_value: str, request: gr.Request) -> str:
            return _header(normalize_lang(lang_value), request.username or "")

        demo.load(signed_in_header, [lang], header, api_visibility="private")

        def relabel(lang_value: str, request: gr.Request) -> tuple[Any, ...]:
            lg = normalize_lang(lang_value)
            return (
                _header(lg, request.username or ""),
                gr.update(label=t("lookup_tab", lg)), gr.update(label=t("segments_tab", lg)), gr.update(label=t("staff_chat_tab", lg)),
                gr.update(label=t("lookup_query", lg)), gr.update(label=t("lookup_reason", lg)), gr.update(value=t("lookup_button", lg)),
                f"### {t('value_card', lg)}", f"#### {t('reasons_chart', lg)}", f"#### {t('profile', lg)}",
                f"#### {t('timeline', lg)}", f"#### {t('recommend_for', lg)}", gr.update(value=t("refresh", lg)),
                gr.update(title=t("segment_sizes", lg), y_title=t("users", lg)),
                gr.update(title=t("revenue_share", lg), y_title=t("revenue_share", lg)),
                gr.update(title=t("value_distribution", lg), x_title=t("spend_band", lg), y_title=t("users", lg)),
                f"#### {t('campaign_export', lg)}", gr.update(choices=segment_choices(lg), label=t("campaign_segment", lg)),
                gr.update(label=t("export_contacts", lg)),
                gr.update(value=t("export_button", lg)), gr.update(placeholder=t("staff_chat_hint", lg)), gr.update(value=t("send", lg)),
            )  # fmt: skip

        lang.change(
            relabel, [lang],
            [header, lookup_tab, segments_tab, chat_tab, query, reason, find, vcard_title, chart_title, profile_title,
             timeline_title, recs_title, refresh, sizes_plot, revenue_plot, dist_plot, export_title, campaign_segment,
             with_contacts, export_btn, staff_box, staff_send],
            api_visibility="private",
        )  # fmt: skip
    return demo

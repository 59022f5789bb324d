"""What the staff console shows, computed through the tools layer with a staff ``Principal`` (every read of a
customer's data is audited by ``ShopContext.subject``). Kept free of Gradio so it can be tested directly.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import or_, select

from domain.i18n import Language, order_status_label, segment_label
from domain.models import ValueAssessment
from domain.privacy.access import Principal, audit
from domain.privacy.crypto import PiiCipher
from domain.store.repository import category_names
from domain.store.schema import users
from recommend.marketing import assessments_frame, campaign_list, segment_report
from tools.context import ShopContext
from tools.recommend_products import recommend_products
from tools.user_history import get_user_history
from tools.user_profile import get_user_profile
from ui.services import UiContext

_USER_ID_RE = re.compile(r"^[A-Za-z0-9_\-:.]{1,64}$")


class UserHit(BaseModel):
    user_id: str
    phone_masked: str | None = None
    email_masked: str | None = None
    city: str | None = None


class StaffView(BaseModel):
    """Everything the lookup tab shows for one customer."""

    user: UserHit
    assessment: ValueAssessment | None = None
    assessment_error: str | None = None
    profile: dict[str, Any] = {}
    history: dict[str, Any] = {}
    recommendations: list[dict[str, Any]] = []
    category_names: dict[str, str] = {}  # slug -> Chinese name, for labels in the console's language


def staff_context(ui: UiContext, staff_name: str) -> ShopContext:
    return ShopContext(ui.settings, Principal.staff(staff_name or "staff"))


def find_users(ui: UiContext, query: str, limit: int = 10) -> list[UserHit]:
    """Users matching an id, a full phone/email (keyed lookup hash) or a masked phone/email as staff see it."""
    text = (query or "").strip()
    if not text:
        return []
    conditions = []
    if _USER_ID_RE.match(text):
        conditions.append(users.c.user_id == text)
    if "*" in text:  # the masked form shown on screens, e.g. 138****1234 or a***@example.com
        conditions += [users.c.phone_masked == text, users.c.email_masked == text.lower()]
    else:
        digest = PiiCipher.from_settings(ui.settings).lookup_hash(text)
        if digest:
            conditions += [users.c.phone_hmac == digest, users.c.email_hmac == digest]
    columns = (users.c.user_id, users.c.phone_masked, users.c.email_masked, users.c.city)
    with ui.engine.connect() as conn:
        rows = conn.execute(select(*columns).where(or_(*conditions)).limit(limit)).mappings().all()
    return [UserHit(**row) for row in rows]


def load_view(ui: UiContext, staff_name: str, hit: UserHit, lang: Language, reason: str = "") -> StaffView:
    """The value card, profile, history and recommendations of one user, each read audited."""

    ctx = staff_context(ui, staff_name)
    view = StaffView(user=hit, category_names=category_names(ctx.engine))
    uid = ctx.subject(hit.user_id, "staff_console_value_card", reason)
    try:
        view.assessment = ctx.values.assess(uid, with_llm=False)
    except Exception as exc:  # no model trained yet, or a user with no data: say so, show the rest
        view.assessment_error = f"{type(exc).__name__}: {exc}"
    view.profile = get_user_profile(ctx, uid, language=lang).model_dump()
    view.history = get_user_history(ctx, uid, limit=10, language=lang).model_dump()
    view.recommendations = [
        item.model_dump() for item in recommend_products(ctx, uid, k=6, language=lang).products
    ]
    return view


def reasons_frame(assessment: ValueAssessment, lang: Language, top: int = 8) -> pd.DataFrame:
    reasons = sorted(assessment.reasons, key=lambda r: -abs(r.contribution))[:top]
    return pd.DataFrame(
        {
            "reason": [r.label_zh if lang == "zh" else r.label_en for r in reasons],
            "contribution": [round(r.contribution, 4) for r in reasons],
        }
    )


TIMELINE_COLUMNS: dict[str, list[str]] = {
    "en": ["Date", "Order", "Status", "Total ¥", "Items"],
    "zh": ["日期", "订单号", "状态", "金额 ¥", "商品"],
}


def timeline_frame(history: dict[str, Any], lang: Language = "en") -> pd.DataFrame:
    """The recent orders, newest first, with headers in the console's language (columns: date, order id,
    status, total, items)."""
    rows = [
        [
            order["date"],
            order["order_id"],
            order_status_label(order["status"], lang),
            order["total"],
            ", ".join(f"{item['title']} ×{item['quantity']}" for item in order["items"]),
        ]
        for order in history.get("recent_orders", [])
    ]
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS[lang])


def segment_table(ui: UiContext, lang: Language) -> pd.DataFrame:
    """Per segment (the marketing module's report): users, user share, historical revenue and its share, mean
    score and predicted 12-month spend; ``label`` is the segment's name in the console language."""

    report = segment_report(ui.settings)
    frame = pd.DataFrame([s.model_dump() for s in report.segments if s.users > 0])
    columns = ["segment", "label", "users", "user_share", "revenue", "revenue_share", "avg_score",
               "avg_predicted_spend_12m", "avg_churn_risk"]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["label"] = [segment_label(seg, lang) for seg in frame["segment"]]
    return frame[columns].sort_values("avg_score", ascending=False).reset_index(drop=True)


SEGMENT_COLUMNS: dict[str, list[str]] = {
    "en": [
        "Segment",
        "Users",
        "Share of users",
        "Revenue ¥",
        "Revenue share",
        "Avg score",
        "Avg predicted spend ¥",
        "Avg churn risk",
    ],
    "zh": [
        "客群",
        "人数",
        "人数占比",
        "历史收入 ¥",
        "收入占比",
        "平均价值分",
        "平均预计消费 ¥",
        "平均流失风险",
    ],
}


def segment_display(table: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """The segment table as people read it: localized headers, percentages, rounded money."""
    if table.empty:
        return pd.DataFrame(columns=SEGMENT_COLUMNS[lang])
    shown = pd.DataFrame(
        {
            0: table["label"],
            1: table["users"],
            2: [f"{v:.1%}" for v in table["user_share"]],
            3: [f"{v:,.0f}" for v in table["revenue"]],
            4: [f"{v:.1%}" for v in table["revenue_share"]],
            5: table["avg_score"].round(1),
            6: [f"{v:,.0f}" for v in table["avg_predicted_spend_12m"]],
            7: [f"{v:.0%}" for v in table["avg_churn_risk"]],
        }
    )
    shown.columns = SEGMENT_COLUMNS[lang]
    return shown


SPEND_BANDS: tuple[float, ...] = (0, 100, 300, 1_000, 3_000, 10_000, 30_000, float("inf"))
SPEND_BAND_LABELS: list[str] = [
    f"¥{lo:,.0f}+" if hi == float("inf") else f"¥{lo:,.0f}–{hi:,.0f}"
    for lo, hi in itertools.pairwise(SPEND_BANDS)
]


def value_histogram(ui: UiContext) -> pd.DataFrame:
    """Users per band of predicted 12-month spend: the value distribution in money. (The 0-100 score is a
    percentile, flat by construction, so its histogram would say nothing.)"""

    spend = assessments_frame(ui.settings)["predicted_spend_12m"].astype(float)
    labels = [
        f"¥{lo:,.0f}+" if hi == float("inf") else f"¥{lo:,.0f}–{hi:,.0f}"
        for lo, hi in itertools.pairwise(SPEND_BANDS)
    ]
    counts = (
        pd.cut(spend, list(SPEND_BANDS), labels=labels, right=False)
        .value_counts()
        .reindex(labels, fill_value=0)
    )
    return pd.DataFrame({"band": labels, "users": counts.to_numpy()})


def export_campaign(
    ui: UiContext, staff_name: str, segment: str, out_dir: Path, *, with_contacts: bool = False
) -> Path:
    """The marketing module's targeting list for one segment as a CSV download (best score first, suggested
    offer in en/zh). Contacts stay masked unless ``with_contacts``; either way the export is audited."""

    ctx = staff_context(ui, staff_name)
    frame = campaign_list(ui.settings, segment, principal=ctx.principal if with_contacts else None)
    if not with_contacts:  # campaign_list audits decrypted exports itself; record the masked ones here
        audit(
            ctx.engine, ctx.principal, None, "campaign_export", f"segment={segment} rows={len(frame)} masked"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"campaign-{segment}-{stamp}.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")  # BOM: spreadsheet apps then read Chinese correctly
    return path

"""What the staff console shows, computed through the tools layer with a staff ``Principal`` (every read of a
customer's data is audited by ``ShopContext.subject``). Kept free of Gradio so it can be tested directly.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from domain.models import ValueAssessment
from domain.privacy.access import Principal
from domain.store.schema import order_lines, orders, users, value_assessments
from tools.context import ShopContext
from ui.i18n import Lang, segment_label
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
        from domain.privacy.crypto import PiiCipher

        digest = PiiCipher.from_settings(ui.settings).lookup_hash(text)
        if digest:
            conditions += [users.c.phone_hmac == digest, users.c.email_hmac == digest]
    columns = (users.c.user_id, users.c.phone_masked, users.c.email_masked, users.c.city)
    with ui.engine.connect() as conn:
        rows = conn.execute(select(*columns).where(or_(*conditions)).limit(limit)).mappings().all()
    return [UserHit(**row) for row in rows]


def load_view(ui: UiContext, staff_name: str, hit: UserHit, lang: Lang, reason: str = "") -> StaffView:
    """The value card, profile, history and recommendations of one user, each read audited."""
    from tools.recommend_products import recommend_products
    from tools.user_history import get_user_history
    from tools.user_profile import get_user_profile

    ctx = staff_context(ui, staff_name)
    view = StaffView(user=hit)
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


def reasons_frame(assessment: ValueAssessment, lang: Lang, top: int = 8) -> pd.DataFrame:
    reasons = sorted(assessment.reasons, key=lambda r: -abs(r.contribution))[:top]
    return pd.DataFrame(
        {
            "reason": [r.label_zh if lang == "zh" else r.label_en for r in reasons],
            "contribution": [round(r.contribution, 4) for r in reasons],
        }
    )


def timeline_frame(history: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "date": order["date"],
            "order": order["order_id"],
            "status": order["status"],
            "total": order["total"],
            "items": ", ".join(f"{item['title']} ×{item['quantity']}" for item in order["items"]),
        }
        for order in history.get("recent_orders", [])
    ]
    return pd.DataFrame(rows, columns=["date", "order", "status", "total", "items"])


def segment_table(ui: UiContext, lang: Lang) -> pd.DataFrame:
    """Per segment: users, share of users, historical revenue and its share, mean score and predicted spend."""
    revenue_by_user = (
        select(orders.c.user_id, func.sum(order_lines.c.amount).label("revenue"))
        .join(order_lines, order_lines.c.order_id == orders.c.order_id)
        .where(orders.c.status.notin_(("cancelled", "refunded")))
        .group_by(orders.c.user_id)
        .subquery()
    )
    query = (
        select(
            value_assessments.c.segment,
            func.count().label("users"),
            func.coalesce(func.sum(revenue_by_user.c.revenue), 0.0).label("revenue"),
            func.avg(value_assessments.c.score).label("mean_score"),
            func.avg(value_assessments.c.predicted_spend_12m).label("mean_predicted_spend"),
        )
        .select_from(
            value_assessments.outerjoin(
                revenue_by_user, revenue_by_user.c.user_id == value_assessments.c.user_id
            )
        )
        .group_by(value_assessments.c.segment)
    )
    with ui.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=["segment", "label", "users", "user_share", "revenue", "revenue_share"])
    frame["label"] = [segment_label(s, lang) for s in frame["segment"]]
    frame["user_share"] = (frame["users"] / frame["users"].sum()).round(3)
    total_revenue = frame["revenue"].sum() or 1.0
    frame["revenue_share"] = (frame["revenue"] / total_revenue).round(3)
    frame["revenue"] = frame["revenue"].round(0)
    frame["mean_score"] = frame["mean_score"].round(1)
    frame["mean_predicted_spend"] = frame["mean_predicted_spend"].round(0)
    columns = [
        "segment",
        "label",
        "users",
        "user_share",
        "revenue",
        "revenue_share",
        "mean_score",
        "mean_predicted_spend",
    ]
    return frame[columns].sort_values("mean_score", ascending=False).reset_index(drop=True)


def score_histogram(ui: UiContext, bins: int = 10) -> pd.DataFrame:
    with ui.engine.connect() as conn:
        scores = pd.Series(conn.execute(select(value_assessments.c.score)).scalars().all(), dtype=float)
    edges = [100 * i / bins for i in range(bins + 1)]
    labels = [f"{edges[i]:.0f}-{edges[i + 1]:.0f}" for i in range(bins)]
    counts = (
        pd.cut(scores, edges, labels=labels, include_lowest=True).value_counts().reindex(labels, fill_value=0)
    )
    return pd.DataFrame({"score": labels, "users": counts.to_numpy()})


def export_campaign(ui: UiContext, staff_name: str, segment: str, out_dir: Path) -> Path:
    """CSV of one segment's users for a campaign: id, score, predicted spend, masked contacts, suggested offer.

    Uses the marketing module's campaign builder when present; masked contacts only (the console never exports
    raw PII). The export itself is recorded in the audit log.
    """
    from domain.privacy.access import audit

    ctx = staff_context(ui, staff_name)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"campaign-{segment}-{stamp}.csv"
    query = (
        select(
            value_assessments.c.user_id,
            value_assessments.c.score,
            value_assessments.c.predicted_spend_12m,
            users.c.phone_masked,
            users.c.email_masked,
            users.c.language,
        )
        .join(users, users.c.user_id == value_assessments.c.user_id)
        .where(value_assessments.c.segment == segment)
        .order_by(value_assessments.c.score.desc())
    )
    with ui.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    offer = suggested_offer(segment)
    with path.open(
        "w", newline="", encoding="utf-8-sig"
    ) as fh:  # BOM: Excel opens the Chinese text correctly
        writer = csv.writer(fh)
        writer.writerow(
            [
                "user_id",
                "score",
                "predicted_spend_12m",
                "phone_masked",
                "email_masked",
                "language",
                "offer_en",
                "offer_zh",
            ]
        )
        for row in rows:
            writer.writerow(
                [row["user_id"], f"{row['score']:.1f}", f"{row['predicted_spend_12m']:.2f}", row["phone_masked"] or "",
                 row["email_masked"] or "", row["language"], offer[0], offer[1]]
            )  # fmt: skip
    audit(ctx.engine, ctx.principal, None, "campaign_export", f"segment={segment} rows={len(rows)}")
    return path


_OFFERS: dict[str, tuple[str, str]] = {
    "vip": ("Early access to new premium arrivals + free express shipping", "高端新品抢先购 + 免费顺丰"),
    "loyal": ("Loyalty points x2 this month", "本月积分双倍"),
    "promising": ("Welcome-back coupon: ¥30 off ¥199", "回购券：满 199 减 30"),
    "price_sensitive": (
        "Flash-deal alerts + 15% coupon on favourite categories",
        "常购品类 85 折券 + 秒杀提醒",
    ),
    "at_risk": ("We miss you: 20% off your next order", "老客关怀：下单 8 折"),
    "lapsed": ("Win-back: ¥50 voucher, no minimum", "召回礼：50 元无门槛券"),
}


def suggested_offer(segment: str) -> tuple[str, str]:
    try:
        from recommend.marketing import suggest_offer  # the marketing module's offer rules, when present

        offer = suggest_offer(segment)
        return (offer.en, offer.zh) if hasattr(offer, "en") else tuple(offer)  # type: ignore[return-value]
    except (ImportError, AttributeError, TypeError):
        return _OFFERS.get(segment, ("Personalised recommendation email", "个性化推荐邮件"))

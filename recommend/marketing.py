"""Marketing views over the value assessments: segment sizes/revenue share, and campaign targeting lists.

Both read the batch assessments stored in ``value_assessments`` (filled by ``ValueService.assess_all``; computed
here on first use when the table is empty). Campaign lists carry masked contact data only; a staff export may
include decrypted contacts, and every staff export is written to the audit log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from domain.models import NOT_SPEND_STATUSES, Segment, ValueAssessment
from domain.privacy.access import Principal, audit
from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import order_lines, orders, users, value_assessments
from recommend.recommender import get_recommender
from valuation.service import get_value_service

log = logging.getLogger(__name__)

# Suggested offer per segment (en, zh). Why: VIPs respond to access and service, not discounts; price-sensitive
# users to promotions; at-risk and lapsed users need a time-limited reason to come back.
OFFERS: dict[str, tuple[str, str]] = {
    Segment.vip.value: (
        "early access to new premium arrivals + free express shipping",
        "高端新品抢先购 + 免费顺丰包邮",
    ),
    Segment.loyal.value: ("double loyalty points on the next order", "下一单积分翻倍"),
    Segment.promising.value: ("¥20 off orders over ¥200 to build the habit", "满200减20，养成购物习惯"),
    Segment.price_sensitive.value: ("sale alert: promotions in favourite categories", "常逛品类促销提醒"),
    Segment.at_risk.value: ("win-back: 15% off, valid 14 days", "挽回礼：全场85折，14天有效"),
    Segment.lapsed.value: ("reactivation: ¥30 coupon, no minimum", "回归礼：30元无门槛券"),
}


class SegmentStats(BaseModel):
    segment: str
    users: int
    user_share: float
    revenue: float = Field(description="historical revenue (paid, not cancelled/returned)")
    revenue_share: float
    avg_score: float
    avg_predicted_spend_12m: float
    avg_churn_risk: float
    avg_next_purchase_prob_30d: float


class SegmentReport(BaseModel):
    as_of: str | None
    users: int
    segments: list[SegmentStats]


def assessments_frame(settings: Settings, *, compute_missing: bool = True) -> pd.DataFrame:
    """Stored assessments, one row per user (user_id, segment, score, predictions); computed if the table is empty."""
    engine = get_engine(settings)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(value_assessments)).scalar_one()
    if n == 0 and compute_missing:
        get_value_service(settings).assess_all(progress=False)
    with engine.connect() as conn:
        rows = conn.execute(select(value_assessments.c.payload)).fetchall()
    records = []
    for (payload,) in rows:
        a = ValueAssessment.model_validate(payload)
        records.append(
            {
                "user_id": a.user_id,
                "as_of": a.as_of,
                "segment": a.segment.value,
                "score": a.score,
                "predicted_spend_12m": a.predicted_spend_12m,
                "churn_risk": a.churn_risk,
                "next_purchase_prob_30d": a.next_purchase_prob_30d,
                "p_alive": a.p_alive,
                "price_sensitivity": a.price_sensitivity,
                "likely_categories": ",".join(a.likely_categories[:3]),
            }
        )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "user_id", "as_of", "segment", "score", "predicted_spend_12m", "churn_risk",
            "next_purchase_prob_30d", "p_alive", "price_sensitivity", "likely_categories",
        ],
    )  # fmt: skip


def _revenue_by_user(settings: Settings) -> pd.Series:
    q = (
        select(orders.c.user_id, func.sum(order_lines.c.amount).label("revenue"))
        .select_from(order_lines.join(orders, order_lines.c.order_id == orders.c.order_id))
        .where(orders.c.status.not_in(NOT_SPEND_STATUSES))
        .group_by(orders.c.user_id)
    )
    with get_engine(settings).connect() as conn:
        rows = conn.execute(q).fetchall()
    return pd.Series({r.user_id: float(r.revenue or 0.0) for r in rows}, dtype=float)


def segment_report(settings: Settings) -> SegmentReport:
    frame = assessments_frame(settings)
    if frame.empty:
        return SegmentReport(as_of=None, users=0, segments=[])
    revenue = _revenue_by_user(settings)
    frame["revenue"] = frame["user_id"].map(revenue).fillna(0.0)
    total_rev = float(frame["revenue"].sum()) or 1.0
    out = []
    for seg in [s.value for s in Segment]:
        part = frame[frame["segment"] == seg]
        if part.empty:
            out.append(SegmentStats(segment=seg, users=0, user_share=0.0, revenue=0.0, revenue_share=0.0,
                                    avg_score=0.0, avg_predicted_spend_12m=0.0, avg_churn_risk=0.0,
                                    avg_next_purchase_prob_30d=0.0))  # fmt: skip
            continue
        out.append(
            SegmentStats(
                segment=seg,
                users=len(part),
                user_share=round(len(part) / len(frame), 4),
                revenue=round(float(part["revenue"].sum()), 2),
                revenue_share=round(float(part["revenue"].sum()) / total_rev, 4),
                avg_score=round(float(part["score"].mean()), 2),
                avg_predicted_spend_12m=round(float(part["predicted_spend_12m"].mean()), 2),
                avg_churn_risk=round(float(part["churn_risk"].mean()), 4),
                avg_next_purchase_prob_30d=round(float(part["next_purchase_prob_30d"].mean()), 4),
            )
        )
    return SegmentReport(as_of=str(frame["as_of"].max()), users=len(frame), segments=out)


def _contacts(settings: Settings, user_ids: list[str], *, decrypt: bool) -> pd.DataFrame:
    with get_engine(settings).connect() as conn:
        rows = conn.execute(
            select(
                users.c.user_id,
                users.c.language,
                users.c.phone_masked,
                users.c.email_masked,
                users.c.name_enc,
                users.c.phone_enc,
                users.c.email_enc,
            ).where(users.c.user_id.in_(user_ids))
        ).fetchall()
    records = []
    cipher = None
    if decrypt:
        cipher = PiiCipher.from_settings(settings)
    for r in rows:
        rec = {"user_id": r.user_id, "language": r.language, "phone": r.phone_masked, "email": r.email_masked}
        if cipher is not None:
            rec["name"] = cipher.decrypt(r.name_enc) if r.name_enc else None
            rec["phone"] = cipher.decrypt(r.phone_enc) if r.phone_enc else None
            rec["email"] = cipher.decrypt(r.email_enc) if r.email_enc else None
        records.append(rec)
    return pd.DataFrame.from_records(
        records, columns=["user_id", "language", "phone", "email", "name"][: 5 if decrypt else 4]
    )


def campaign_list(
    settings: Settings,
    segment: str,
    *,
    principal: Principal | None = None,
    with_products: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Targeting list for one segment, best score first: user id, score, predictions, suggested offer, contact.

    Contacts are the stored masked forms unless ``principal`` is staff, in which case they are decrypted and the
    export is audited. ``with_products`` adds the top value-aware recommendation per user as the offer's item.
    """
    valid = {s.value for s in Segment}
    if segment not in valid:
        raise ValueError(f"unknown segment {segment!r}; one of: {', '.join(sorted(valid))}")
    frame = assessments_frame(settings)
    frame = frame[frame["segment"] == segment].sort_values("score", ascending=False)
    if limit:
        frame = frame.head(limit)
    staff = principal is not None and principal.is_staff
    offer_en, offer_zh = OFFERS[segment]
    frame = frame.assign(offer_en=offer_en, offer_zh=offer_zh)
    if with_products and len(frame):
        rec = get_recommender(settings)
        picks = []
        for uid in frame["user_id"]:
            top = rec.recommend(user_id=uid, query=None, k=1)
            picks.append(top[0].product.product_id if top else None)
        frame["offer_product_id"] = picks
    contacts = _contacts(settings, frame["user_id"].tolist(), decrypt=staff)
    out = frame.merge(contacts, on="user_id", how="left")
    if staff:
        audit(get_engine(settings), principal, None, "campaign_export", f"segment={segment} rows={len(out)}")  # type: ignore[arg-type]
    return out.reset_index(drop=True)


def write_table(
    frame: pd.DataFrame, path: Path, fmt: Literal["csv", "parquet", "jsonl"] | None = None
) -> Path:
    fmt = fmt or ("parquet" if path.suffix == ".parquet" else "jsonl" if path.suffix == ".jsonl" else "csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False, date_format="iso")
    else:
        frame.to_csv(path, index=False)
    return path

"""Tool: status of the subject's orders — one by id, or the latest few. Other users' orders read as not found."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.i18n import order_status_label
from domain.models import Language
from domain.store.repository import get_order, list_orders, products_by_id
from tools.context import ShopContext
from tools.sanitize import neutralise


class OrderLineBrief(BaseModel):
    product_id: str
    title: str
    quantity: int
    amount: float


class OrderStatusInfo(BaseModel):
    order_id: str
    date: str
    status: str
    status_text: str
    total: float
    items: list[OrderLineBrief]


class OrderStatusResult(BaseModel):
    user_id: str
    found: bool
    orders: list[OrderStatusInfo] = Field(default_factory=list)
    message: str = ""


def get_order_status(
    ctx: ShopContext,
    user_id: str | None = None,
    *,
    order_id: str | None = None,
    limit: int = 3,
    language: Language = "zh",
) -> OrderStatusResult:
    """One order of the subject by id, or their latest ``limit`` orders; never reveals another user's order."""
    uid = ctx.subject(user_id, "get_order_status")
    order_id = (order_id or "").strip() or None
    if order_id:
        order = get_order(ctx.engine, order_id)
        raw = [order] if order is not None and order.user_id == uid else []
    else:
        raw = list_orders(ctx.engine, uid, limit=max(1, min(int(limit), 10)))
    catalog = products_by_id(ctx.engine, sorted({li.product_id for o in raw for li in o.lines}))
    infos = []
    for o in raw:
        items = [
            OrderLineBrief(
                product_id=li.product_id,
                title=neutralise(catalog[li.product_id].title(language), 80)
                if li.product_id in catalog
                else li.product_id,
                quantity=li.quantity,
                amount=li.amount,
            )
            for li in o.lines
        ]
        infos.append(
            OrderStatusInfo(
                order_id=o.order_id,
                date=o.created_at.date().isoformat(),
                status=o.status.value,
                status_text=order_status_label(o.status, language),
                total=round(sum(i.amount for i in items), 2),
                items=items,
            )
        )
    if infos:
        message = ""
    elif order_id:
        message = (
            f"未找到订单 {neutralise(order_id, 40)}"
            if language == "zh"
            else f"No order {neutralise(order_id, 40)} found"
        )
    else:
        message = "您还没有订单" if language == "zh" else "You have no orders yet"
    return OrderStatusResult(user_id=uid, found=bool(infos), orders=infos, message=message)

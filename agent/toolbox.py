"""Runs the shop's tools for the guided mode (code picks the tool, not the model) and records each call.

Every call is bound to the session's :class:`ShopContext`, so a shopper's calls read only their own data; the
record keeps the tool name, the arguments, a JSON-able output and the product ids it returned (the grounding
guardrail's source of truth).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from agent.vocabulary import get_catalog
from domain.privacy.access import AccessDenied, Principal
from domain.settings import Settings
from tools.compare_products import compare_products
from tools.context import ShopContext
from tools.order_status import get_order_status
from tools.product_details import get_product_details
from tools.product_search import search_products
from tools.recommend_products import recommend_products
from tools.user_history import get_user_history
from tools.user_profile import get_user_profile
from tools.value_assessment import assess_user_value

log = logging.getLogger(__name__)


class ToolRun(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None
    product_ids: list[str] = Field(default_factory=list)
    seconds: float = 0.0


def collect_product_ids(value: Any) -> list[str]:
    """Every ``product_id`` anywhere in a tool output, in order, without duplicates."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            pid = node.get("product_id")
            if isinstance(pid, str):
                found.append(pid)
            for child in node.values():
                walk(child)
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)

    walk(value)
    return list(dict.fromkeys(found))


def enforce_filters(
    name: str, output: dict[str, Any], args: dict[str, Any], categories: dict[str, str]
) -> dict[str, Any]:
    """Defence in depth: a product list never breaks the shopper's budget or category, whatever the index did."""
    if name not in ("search_products", "recommend_products") or not isinstance(output.get("products"), list):
        return output
    lo, hi, category = args.get("min_price"), args.get("max_price"), args.get("category")
    kept = [
        p
        for p in output["products"]
        if (lo is None or p.get("price", 0) >= lo - 1e-6)
        and (hi is None or p.get("price", 0) <= hi + 1e-6)
        and (not category or categories.get(p.get("product_id", ""), category) == category)
    ]
    if len(kept) != len(output["products"]):
        log.warning(
            "%s returned %d products outside the filters; dropped", name, len(output["products"]) - len(kept)
        )
    return {**output, "products": kept}


def _registry() -> dict[str, Callable[..., BaseModel]]:
    return {
        "recommend_products": recommend_products,
        "search_products": search_products,
        "compare_products": compare_products,
        "get_product_details": get_product_details,
        "get_order_status": get_order_status,
        "get_user_history": get_user_history,
        "get_user_profile": get_user_profile,
        "assess_user_value": assess_user_value,
    }


ToolListener = Callable[[str, ToolRun], None]  # ("start" | "end", the run so far)


class Toolbox:
    """The tools of one session, bound to its principal."""

    def __init__(
        self, settings: Settings, principal: Principal, listener: ToolListener | None = None
    ) -> None:
        self.ctx = ShopContext(settings, principal)
        self.listener = listener
        self.runs: list[ToolRun] = []
        self._tools = _registry()

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def run(self, name: str, **args: Any) -> ToolRun:
        shown_args = {k: v for k, v in args.items() if v is not None and k != "language"}
        run = ToolRun(name=name, args=shown_args)
        if self.listener:
            self.listener("start", run)
        started = time.perf_counter()
        try:
            result = self._tools[name](self.ctx, **args)
            categories = get_catalog(self.ctx.settings).product_categories
            run.output = enforce_filters(name, result.model_dump(mode="json"), args, categories)
            run.product_ids = collect_product_ids(run.output)
        except AccessDenied as exc:
            run.error, run.error_code = str(exc), "access_denied"
        except LookupError as exc:
            run.error, run.error_code = str(exc), "not_found"
        except ValueError as exc:
            run.error, run.error_code = str(exc), "bad_request"
        except Exception as exc:  # a tool failure must not kill the turn: the reply says so politely
            log.exception("tool %s failed", name)
            run.error, run.error_code = f"{type(exc).__name__}: {exc}", "unavailable"
        run.seconds = round(time.perf_counter() - started, 4)
        self.runs.append(run)
        if self.listener:
            self.listener("end", run)
        return run

"""Thin LangChain wrappers over the plain tool functions, bound to one session's ``ShopContext``.

``build_tools(ctx)`` returns ``StructuredTool``s whose argument schemas depend on the caller: a shopper session's
tools have no ``user_id`` argument at all (the model cannot choose whose data to read: the context's principal
decides), a staff session's user tools require one (and every access is audited by ``ctx.subject``).

Each tool returns ``(content, artifact)``: ``content`` is compact JSON for the LLM, ``artifact`` the pydantic
result for code (the guided graph, grounding checks, product cards). Errors never raise into the agent: bad
input, unknown ids and denied access come back as a ``ToolError`` JSON with a readable message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, create_model

from domain.models import Language
from domain.privacy.access import AccessDenied
from tools.compare_products import compare_products
from tools.context import ShopContext
from tools.order_status import get_order_status
from tools.product_details import ProductNotFound, get_product_details
from tools.product_search import search_products
from tools.recommend_products import recommend_products
from tools.schemas import ToolError
from tools.user_history import get_user_history
from tools.user_profile import get_user_profile
from tools.value_assessment import assess_user_value

log = logging.getLogger(__name__)

TOOL_NAMES: tuple[str, ...] = (
    "get_user_history",
    "get_user_profile",
    "assess_user_value",
    "search_products",
    "recommend_products",
    "get_product_details",
    "compare_products",
    "get_order_status",
)
_USER_TOOLS = {
    "get_user_history",
    "get_user_profile",
    "assess_user_value",
    "recommend_products",
    "get_order_status",
}


class _LangArgs(BaseModel):
    language: Language = Field("zh", description="reply language: zh or en")


class HistoryArgs(_LangArgs):
    query: str | None = Field(None, max_length=300, description="optional topic to find in the history")
    limit: int = Field(5, ge=1, le=10)


class ProfileArgs(_LangArgs):
    pass


class ValueArgs(_LangArgs):
    pass


class SearchArgs(_LangArgs):
    query: str = Field(min_length=1, max_length=500, description="what to look for, any language")
    k: int = Field(5, ge=1, le=20)
    min_price: float | None = Field(None, ge=0, description="CNY")
    max_price: float | None = Field(None, ge=0, description="CNY")
    category: str | None = Field(None, max_length=64, description="category slug, e.g. running-shoes")


class RecommendArgs(_LangArgs):
    query: str | None = Field(None, max_length=500, description="the request, e.g. 'gift for mum'; optional")
    k: int = Field(5, ge=1, le=12)
    min_price: float | None = Field(None, ge=0)
    max_price: float | None = Field(None, ge=0)
    category: str | None = Field(None, max_length=64)


class DetailsArgs(_LangArgs):
    product_id: str = Field(min_length=1, max_length=64)


class CompareArgs(_LangArgs):
    product_ids: list[str] = Field(min_length=2, max_length=5)


class OrderArgs(_LangArgs):
    order_id: str | None = Field(None, max_length=64, description="an order id; omit for the latest orders")
    limit: int = Field(3, ge=1, le=10)


def _with_user(args: type[BaseModel]) -> type[BaseModel]:
    """The staff variant of an argument schema: the user to look up is required."""
    return create_model(
        f"Staff{args.__name__}",
        __base__=args,
        user_id=(str, Field(min_length=1, max_length=64, description="the shopper to look up")),
    )


_DESCRIPTIONS = {
    "get_user_history": "The user's recent orders, reviews, searches and viewed products; optional query finds "
    "related history. 用户的历史订单、评价、搜索和浏览。",
    "get_user_profile": "The user's interests, favourite categories/brands, price sensitivity and usual price "
    "range. 用户画像。",
    "assess_user_value": "The user's value score (0-100), segment, churn risk, next-purchase probability and the "
    "reasons. 用户价值评估。",
    "search_products": "Search the catalog (Chinese or English) with optional price range and category. 商品搜索。",
    "recommend_products": "Personalised, value-aware product recommendations with a reason each; pass the "
    "request as query and any budget. 个性化推荐。",
    "get_product_details": "Details, description and reviews of one product by product_id. 商品详情。",
    "compare_products": "Compare 2-5 products by product_id: price, rating, discount, stock. 商品对比。",
    "get_order_status": "Status of the user's order by order_id, or their latest orders. 订单状态。",
}
_ARGS: dict[str, type[BaseModel]] = {
    "get_user_history": HistoryArgs,
    "get_user_profile": ProfileArgs,
    "assess_user_value": ValueArgs,
    "search_products": SearchArgs,
    "recommend_products": RecommendArgs,
    "get_product_details": DetailsArgs,
    "compare_products": CompareArgs,
    "get_order_status": OrderArgs,
}


def _run(name: str, fn: Callable[[], BaseModel]) -> tuple[str, BaseModel]:
    try:
        result: BaseModel = fn()
    except AccessDenied as exc:
        result = ToolError(error=f"access denied: {exc}", code="access_denied")
    except (ProductNotFound, LookupError) as exc:
        result = ToolError(error=str(exc).strip("'\""), code="not_found")
    except ValueError as exc:
        result = ToolError(error=str(exc)[:300], code="bad_request")
    except Exception as exc:  # a store/index failure must not kill the conversation
        log.exception("tool %s failed", name)
        result = ToolError(
            error=f"{name} is temporarily unavailable ({type(exc).__name__})", code="unavailable"
        )
    return result.model_dump_json(exclude_none=True), result


def call_tool(ctx: ShopContext, name: str, args: dict[str, Any], *, with_llm: bool = False) -> BaseModel:
    """Run a tool by name with already-validated arguments; returns the pydantic result (or ToolError)."""
    a = dict(args)
    uid = a.pop("user_id", None)
    lang = a.pop("language", "zh")
    calls: dict[str, Callable[[], BaseModel]] = {
        "get_user_history": lambda: get_user_history(ctx, uid, language=lang, **a),
        "get_user_profile": lambda: get_user_profile(ctx, uid, with_llm=with_llm, language=lang),
        "assess_user_value": lambda: assess_user_value(ctx, uid, with_llm=with_llm, language=lang),
        "search_products": lambda: search_products(ctx, language=lang, **a),
        "recommend_products": lambda: recommend_products(ctx, uid, language=lang, **a),
        "get_product_details": lambda: get_product_details(ctx, language=lang, **a),
        "compare_products": lambda: compare_products(ctx, language=lang, **a),
        "get_order_status": lambda: get_order_status(ctx, uid, language=lang, **a),
    }
    if name not in calls:
        return ToolError(error=f"unknown tool {name!r}", code="bad_request")
    return _run(name, calls[name])[1]


def build_tools(
    ctx: ShopContext, *, with_llm: bool = False, names: tuple[str, ...] = TOOL_NAMES
) -> list[BaseTool]:
    """LangChain tools bound to ``ctx``. Shopper sessions: no ``user_id`` argument; staff: ``user_id`` required.

    ``with_llm`` lets the profile/value tools ask the LLM for profile extraction and explanations (slower).
    """
    staff = ctx.principal.is_staff
    tools: list[BaseTool] = []
    for name in names:
        schema = _ARGS[name]
        if staff and name in _USER_TOOLS and name != "recommend_products":
            schema = _with_user(schema)
        elif staff and name == "recommend_products":
            schema = create_model(
                "StaffRecommendArgs",
                __base__=RecommendArgs,
                user_id=(str | None, Field(None, max_length=64, description="shopper to personalise for")),
            )

        def run(_name: str = name, **kwargs: Any) -> tuple[str, BaseModel]:
            if not staff:
                kwargs.pop("user_id", None)  # never trust a user id from the model in a shopper session
            result = call_tool(ctx, _name, kwargs, with_llm=with_llm)
            return result.model_dump_json(exclude_none=True), result

        tools.append(
            StructuredTool.from_function(
                func=run,
                name=name,
                description=_DESCRIPTIONS[name],
                args_schema=schema,
                response_format="content_and_artifact",
            )
        )
    return tools

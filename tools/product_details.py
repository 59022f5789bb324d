"""Tool: one product's details — description and a few reviews, quoted as data."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Language
from domain.store.repository import get_product, product_reviews
from tools.context import ShopContext
from tools.sanitize import as_data
from tools.schemas import ProductBrief, ReviewSnippet


class ProductNotFound(LookupError):
    pass


class ProductDetails(BaseModel):
    product: ProductBrief
    sku: str = ""
    description: str = Field("", description="<data>-wrapped merchant text")
    stock: int = 0
    reviews: list[ReviewSnippet] = Field(
        default_factory=list, description="<data>-wrapped, reviewer not named"
    )


def get_product_details(
    ctx: ShopContext, product_id: str, *, language: Language = "zh", n_reviews: int = 3
) -> ProductDetails:
    """Details of a catalog product by id (raises ProductNotFound for an unknown id)."""
    pid = (product_id or "").strip()
    product = get_product(ctx.engine, pid)
    if product is None:
        raise ProductNotFound(f"no product with id {pid!r}")
    desc = product.description_zh if language == "zh" else product.description_en
    reviews = product_reviews(ctx.engine, pid, max(0, min(int(n_reviews), 5)))
    return ProductDetails(
        product=ProductBrief.of(product, language),
        sku=product.sku,
        description=as_data(desc or product.description_en or product.description_zh, 400),
        stock=product.stock,
        reviews=[ReviewSnippet.of(review) for review in reviews],
    )

"""Automatic recognition of the column names real exports use (Shopify, "Online Retail" invoices, marketplace
catalogs, Chinese back-office exports), per kind of file.

Names are compared after ``normalise_name``: lower case, letters and digits only ("Variant Price" ->
"variantprice", "Customer ID" -> "customerid"). A column that is already a field of the kind always wins; an
explicit ``--map`` wins over both. ``title``/``description`` are language-neutral targets: each value goes to
``title_en`` or ``title_zh`` by its script (domain/ingest/values.py ``language_of``).
"""

from __future__ import annotations

import re

# Language-neutral targets, resolved per value by script.
NEUTRAL_TEXT = ("title", "description")

_PRODUCT = {
    "product_id": ("productid", "id", "handle", "itemid", "item", "asin", "stockcode", "商品id", "商品编号"),
    "sku": ("variantsku", "skucode", "model", "modelnumber", "modelno", "mpn", "型号", "货号"),
    "title": (
        "name",
        "productname",
        "producttitle",
        "itemname",
        "商品名称",
        "名称",
        "标题",
        "品名",
        "商品名",
    ),
    "title_en": ("titleen", "nameen", "englishtitle", "englishname"),
    "title_zh": ("titlezh", "namezh", "chinesetitle", "chinesename", "中文名称"),
    "description": (
        "bodyhtml",
        "body",
        "feature",
        "features",
        "details",
        "productdescription",
        "描述",
        "商品描述",
        "详情",
    ),
    "brand": ("vendor", "manufacturer", "make", "brandname", "品牌"),
    "category": (
        "subcategory",
        "type",
        "producttype",
        "productcategory",
        "categoryname",
        "department",
        "类别",
        "分类",
        "品类",
        "类目",
    ),
    "price": (
        "variantprice",
        "saleprice",
        "unitprice",
        "currentprice",
        "sellingprice",
        "售价",
        "价格",
        "现价",
    ),
    "list_price": (
        "variantcompareatprice",
        "compareatprice",
        "listprice",
        "originalprice",
        "mrp",
        "regularprice",
        "原价",
        "标价",
    ),
    "price_tier": ("tier", "pricetier", "价位"),
    "discount_pct": ("discount", "discountpercent", "discountpct", "discountrate", "折扣"),
    "on_promotion": ("onsale", "promotion", "promo", "促销"),
    "rating": ("stars", "averagerating", "reviewrating", "rate", "评分"),
    "rating_count": ("ratings", "reviews", "reviewcount", "numreviews", "ratingscount", "评价数"),
    "stock": ("variantinventoryqty", "inventory", "inventoryqty", "quantity", "qty", "stockqty", "库存"),
}

# Who bought: "id" alone names the customer only in a customers file.
_CUSTOMER = (
    "customerid",
    "customer",
    "clientid",
    "memberid",
    "userid",
    "buyerid",
    "用户id",
    "客户id",
    "会员id",
)

_USER = {
    "user_id": (*_CUSTOMER, "id"),
    "signup_at": (
        "createdat",
        "signupdate",
        "registered",
        "registeredat",
        "joindate",
        "joinedat",
        "firstseen",
        "注册时间",
    ),
    "name": ("fullname", "customername", "姓名"),
    "phone": ("phonenumber", "mobile", "tel", "telephone", "手机", "电话"),
    "email": ("emailaddress", "mail", "邮箱"),
    "address": ("streetaddress", "address1", "地址"),
    "city": ("town", "城市"),
    "language": ("lang", "locale", "语言"),
}

_ORDER_KEYS = {
    "order_id": (
        "orderid",
        "order",
        "invoiceno",
        "invoice",
        "invoiceid",
        "ordernumber",
        "orderno",
        "订单号",
        "订单编号",
    ),
    "user_id": _CUSTOMER,
}

_ORDER = {
    **_ORDER_KEYS,
    "created_at": ("invoicedate", "orderdate", "date", "createdat", "purchasedate", "timestamp", "下单时间"),
    "status": ("orderstatus", "financialstatus", "状态"),
}

_LINE = {
    "order_id": _ORDER_KEYS["order_id"],
    "line_no": ("line", "lineno", "linenumber", "行号"),
    "product_id": ("stockcode", "productid", "sku", "itemid", "商品id", "商品编号"),
    "quantity": ("qty", "units", "数量"),
    "unit_price": ("unitprice", "price", "单价"),
    "discount": ("discountamount", "linediscount", "优惠"),
}

_TRANSACTION = {
    **_ORDER,
    "product_id": _LINE["product_id"],
    "product_name": (
        "description",
        "product",
        "productname",
        "itemname",
        "title",
        "name",
        "商品名称",
        "品名",
    ),
    "quantity": _LINE["quantity"],
    "unit_price": _LINE["unit_price"],
    "discount": _LINE["discount"],
}

_REVIEW = {
    "review_id": ("reviewid", "id"),
    "user_id": _CUSTOMER,
    "product_id": _LINE["product_id"],
    "rating": ("stars", "score", "评分"),
    "text": ("review", "reviewtext", "body", "comment", "content", "评价", "内容"),
    "created_at": ("date", "reviewdate", "createdat", "时间"),
}

_EVENT = {
    "event_id": ("eventid", "id"),
    "user_id": _CUSTOMER,
    "kind": ("eventtype", "event", "type", "action"),
    "ts": ("timestamp", "time", "eventtime", "date", "时间"),
    "session_id": ("session", "sessionid"),
    "product_id": _LINE["product_id"],
    "query": ("searchquery", "searchterm", "keyword", "搜索词"),
}

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "products": _PRODUCT,
    "users": _USER,
    "orders": _ORDER,
    "order_lines": _LINE,
    "transactions": _TRANSACTION,
    "reviews": _REVIEW,
    "events": _EVENT,
}


def normalise_name(column: str) -> str:
    return re.sub(r"[^0-9a-z\u3400-\u9fff]", "", column.strip().lower())


def recognise(kind: str, columns: list[str], fields: set[str]) -> dict[str, str]:
    """source column -> target field for the columns this kind knows; each target is taken once, by the
    column that names it exactly first, then by the first alias in the table's order of preference."""
    aliases = ALIASES.get(kind, {})
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:  # exact field names first
        if column in fields or column in aliases:
            mapping[column] = column
            taken.add(column)
    by_name = {normalise_name(c): c for c in columns if c not in mapping}
    for target, names in aliases.items():
        if target in taken:
            continue
        for name in (normalise_name(target), *names):
            column = by_name.get(name)
            if column is not None and column not in mapping:
                mapping[column] = target
                taken.add(target)
                break
    return mapping

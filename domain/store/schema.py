"""The relational schema, explicit and in one place (SQLAlchemy Core). ``create_schema`` is the migration step.

PII columns hold ciphertext only (``*_enc``); lookups by phone or email go through keyed hashes (``*_hmac``),
and staff see the pre-masked forms (``*_masked``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine

SCHEMA_VERSION = 1

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("signup_at", DateTime, nullable=False),
    Column("language", String(2), nullable=False, default="zh"),
    Column("city", String(64)),
    Column("name_enc", Text),
    Column("phone_enc", Text),
    Column("email_enc", Text),
    Column("address_enc", Text),
    Column("phone_hmac", String(64), index=True),
    Column("email_hmac", String(64), index=True),
    Column("phone_masked", String(32)),
    Column("email_masked", String(128)),
)

products = Table(
    "products",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("sku", String(64), index=True),
    Column("title_en", String(300), nullable=False),
    Column("title_zh", String(300), nullable=False),
    Column("description_en", Text, default=""),
    Column("description_zh", Text, default=""),
    Column("brand", String(100), nullable=False, index=True),
    Column("category", String(64), nullable=False, index=True),
    Column("category_zh", String(64), default=""),
    Column("price", Float, nullable=False),
    Column("list_price", Float),
    Column("price_tier", String(16), nullable=False),
    Column("on_promotion", Boolean, nullable=False, default=False),
    Column("discount_pct", Float, nullable=False, default=0.0),
    Column("rating", Float, nullable=False, default=0.0),
    Column("rating_count", Integer, nullable=False, default=0),
    Column("stock", Integer, nullable=False, default=0),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Index("ix_orders_user_time", "user_id", "created_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("product_id", String(64), ForeignKey("products.product_id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Float, nullable=False),
    Column("discount", Float, nullable=False, default=0.0),
    Column("amount", Float, nullable=False),
)

reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(64), primary_key=True),
    Column(
        "user_id", String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("product_id", String(64), ForeignKey("products.product_id"), nullable=False, index=True),
    Column("order_id", String(64)),
    Column("rating", Integer, nullable=False),
    Column("text", Text, default=""),
    Column("language", String(2), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ts", DateTime, nullable=False),
    Column("session_id", String(64), default=""),
    Column("product_id", String(64)),
    Column("query", String(500)),
    Index("ix_events_user_time", "user_id", "ts"),
)

value_assessments = Table(
    "value_assessments",
    metadata,
    Column("user_id", String(64), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("score", Float, nullable=False, index=True),
    Column("segment", String(32), nullable=False, index=True),
    Column("predicted_spend_12m", Float, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("model_version", String(64), nullable=False),
)

# Content-hash keyed cache for LLM outputs (profiles, scores, explanations) and embeddings metadata.
llm_cache = Table(
    "llm_cache",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("user_id", String(64), index=True),
    Column("value", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thread_id", String(128), nullable=False),
    Column("user_id", String(64), index=True),
    Column("message_index", Integer, nullable=False),
    Column("liked", Boolean, nullable=False),
    Column("message", Text, default=""),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("thread_id", "message_index", name="uq_feedback_message"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("subject_user_id", String(64), index=True),
    Column("action", String(64), nullable=False),
    Column("reason", Text, default=""),
)

# Widget tokens revoked before their expiry (`shopguide token revoke`); rows past expires_at can be dropped.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("revoked_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

schema_info = Table("schema_info", metadata, Column("version", Integer, primary_key=True))

ENTITY_TABLES = {
    "users": users,
    "products": products,
    "orders": orders,
    "order_lines": order_lines,
    "reviews": reviews,
    "events": events,
}


def create_schema(engine: Engine) -> None:
    """Create every table that is missing (idempotent) and record the schema version."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(schema_info.select()).first() is None:
            conn.execute(schema_info.insert().values(version=SCHEMA_VERSION))


def drop_schema(engine: Engine) -> None:
    metadata.drop_all(engine)

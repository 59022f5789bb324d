"""`shopguide campaign --engine spark`: a segment's targeting list from the Spark-scored assessment table.

The same list as ``recommend.marketing.campaign_list`` (masked contacts, best score first, the segment's offer),
computed by Spark from the scored Parquet table (``shopguide score --all --engine spark``) and the exported users
(``shopguide export store --parquet``): filter, order and limit run on the cluster; only the segment's rows come
back to the driver to be written like `shopguide campaign` writes them. Decrypted staff exports need the store's
keys and stay on the single-machine command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from domain.models import Segment
from recommend.marketing import OFFERS
from valuation.batch import FLAT_COLUMNS
from valuation.spark_batch import parquet_columns

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "user_id", "as_of", "segment", "score", "predicted_spend_12m", "churn_risk", "next_purchase_prob_30d",
    "p_alive", "price_sensitivity", "likely_categories", "offer_en", "offer_zh", "language", "phone", "email",
)  # fmt: skip


def check_campaign_input(scores: Path | str, store_export: Path | str, segment: str) -> Path:
    """Raise ``ValueError`` on a bad segment and ``SparkInputError`` on unusable input (no JVM needed); returns
    the users table's path."""
    valid = {s.value for s in Segment}
    if segment not in valid:
        raise ValueError(f"unknown segment {segment!r}; one of: {', '.join(sorted(valid))}")
    users_path = Path(store_export) / "users.parquet"
    parquet_columns(Path(scores), FLAT_COLUMNS, "scored table")
    parquet_columns(users_path, ("user_id", "language", "phone_masked", "email_masked"), "users table")
    return users_path


def campaign_on_spark(
    spark: Any, scores: Path | str, store_export: Path | str, segment: str, *, limit: int | None = None
) -> pd.DataFrame:
    """The targeting list of ``segment`` (see the module docstring); bad input fails as in
    ``check_campaign_input``, before any Spark work."""
    from pyspark.sql import functions as F

    users_path = check_campaign_input(scores, store_export, segment)
    scored = spark.read.parquet(str(scores)).where(F.col("segment") == segment)
    ranked = scored.orderBy(F.col("score").desc(), F.col("user_id"))
    if limit:
        ranked = ranked.limit(limit)
    offer_en, offer_zh = OFFERS[segment]
    contacts = spark.read.parquet(str(users_path)).select(
        "user_id", "language", F.col("phone_masked").alias("phone"), F.col("email_masked").alias("email")
    )
    picked = (
        ranked.select(*CAMPAIGN_COLUMNS[:10])
        .withColumn("offer_en", F.lit(offer_en))
        .withColumn("offer_zh", F.lit(offer_zh))
        .join(contacts, "user_id", "left")
        .orderBy(F.col("score").desc(), F.col("user_id"))
    )
    frame = picked.toPandas()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    return frame[list(CAMPAIGN_COLUMNS)].reset_index(drop=True)

"""Right to erasure, the valuation layer's part: the user's rows in saved per-user model tables (the value
engine's population and features parquet files)."""

from __future__ import annotations

import pandas as pd

from domain.privacy.erasure import ErasureReport
from domain.settings import Settings


def _forget_model_rows(settings: Settings, user_id: str) -> int:
    removed = 0
    for path in sorted(settings.models_dir.glob("**/*.parquet")):
        frame = pd.read_parquet(path)
        mask = pd.Series(frame.index.astype(str) == user_id, index=frame.index)
        if "user_id" in frame.columns:
            mask |= frame["user_id"].astype(str) == user_id
        if mask.any():
            tmp = path.with_suffix(".parquet.tmp")
            frame[~mask].to_parquet(tmp)
            tmp.replace(path)
            removed += int(mask.sum())
    return removed


def forget_user(settings: Settings, user_id: str, report: ErasureReport) -> None:
    try:
        report.removed["models.user_rows"] = _forget_model_rows(settings, user_id)
    except Exception as exc:  # a damaged table must not block the store erasure; a re-run retries it
        report.warnings.append(f"model tables: {exc.__class__.__name__}: {exc}")

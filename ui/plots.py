"""Matplotlib figures for the staff console (Agg backend; a CJK font when one is installed so Chinese labels render)."""

from __future__ import annotations

from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure

_CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)
POSITIVE, NEGATIVE = "#059669", "#dc2626"


@lru_cache(maxsize=1)
def _font_family() -> list[str]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in _CJK_FONTS if name in installed] + ["DejaVu Sans"]


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=9)
    fig.tight_layout()


def contributions_figure(frame: pd.DataFrame, title: str = "") -> Figure | None:
    """Signed contribution of each reason to the score: green pushes it up, red pulls it down."""
    if frame.empty:
        return None
    plt.rcParams["font.family"] = _font_family()
    plt.rcParams["axes.unicode_minus"] = False
    ordered = frame.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(ordered) + 1.2), dpi=110)
    colors = [POSITIVE if v >= 0 else NEGATIVE for v in ordered["contribution"]]
    ax.barh(ordered["reason"], ordered["contribution"], color=colors, height=0.6)
    ax.axvline(0, color="#9ca3af", linewidth=1)
    span = max(abs(ordered["contribution"]).max(), 1e-6)
    for y, value in enumerate(ordered["contribution"]):
        ax.text(value + (span * 0.03 if value >= 0 else -span * 0.03), y, f"{value:+.2f}", va="center",
                ha="left" if value >= 0 else "right", fontsize=8, color="#374151")  # fmt: skip
    ax.set_xlim(-span * 1.35 if (ordered["contribution"] < 0).any() else 0, span * 1.35)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    _style(fig)
    plt.close(fig)
    return fig


def timeline_figure(orders: pd.DataFrame, title: str = "") -> Figure | None:
    """Order totals over time (the most recent orders the history tool returns)."""
    if orders.empty:
        return None
    plt.rcParams["font.family"] = _font_family()
    date_col, total_col = orders.columns[0], orders.columns[3]  # date and total, whatever the header language
    data = pd.DataFrame({"date": pd.to_datetime(orders[date_col]), "total": orders[total_col]}).sort_values(
        "date"
    )
    fig, ax = plt.subplots(figsize=(6.4, 2.6), dpi=110)
    ax.vlines(data["date"], 0, data["total"], color="#e11d48", linewidth=2)
    ax.scatter(data["date"], data["total"], color="#e11d48", s=28, zorder=3)
    ax.set_ylabel("¥")
    ax.set_ylim(bottom=0)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    fig.autofmt_xdate()
    _style(fig)
    plt.close(fig)
    return fig

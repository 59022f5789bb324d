"""Calibration plot for `eval value`: mean predicted vs mean actual holdout spend by decile of each model's
prediction (a perfectly calibrated model sits on the diagonal), written as a PNG without a display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

PLOTTED_MODELS: tuple[str, ...] = ("rfm-heuristic", "bgnbd-gg", "learned", "final-engine")
_CJK_FONTS: tuple[str, ...] = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "SimHei")


def _font_family() -> list[str]:
    """A CJK font first when one is installed, so the Chinese half of each label renders."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in _CJK_FONTS if name in installed] + ["DejaVu Sans"]


def decile_table(actual: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """Mean predicted and mean actual per decile of the prediction (ties share a decile)."""
    ranks = rankdata(pred, method="average")
    decile = np.minimum(((ranks - 0.5) / len(pred) * 10).astype(int), 9)
    frame = pd.DataFrame({"decile": decile + 1, "pred": pred, "actual": actual})
    return frame.groupby("decile").agg(pred=("pred", "mean"), actual=("actual", "mean"), n=("pred", "size"))


def calibration_plot(
    predictions: pd.DataFrame, path: Path | str, *, target: str = "spend", title: str = ""
) -> Path:
    """``predictions`` is the per-customer table from ``run_value_eval`` (``actual_<target>``,
    ``<model>:pred_<target>`` columns)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = _font_family()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    actual = predictions[f"actual_{target}"].to_numpy()
    fig, (ax_cal, ax_dec) = plt.subplots(1, 2, figsize=(11, 4.6))
    top = 0.0
    for name in PLOTTED_MODELS:
        col = f"{name}:pred_{target}"
        if col not in predictions.columns:
            continue
        table = decile_table(actual, predictions[col].to_numpy())
        ax_cal.plot(table["pred"], table["actual"], marker="o", label=name)
        ax_dec.plot(table.index, table["pred"], marker=".", label=f"{name} (predicted)")
        top = max(top, float(table["pred"].max()), float(table["actual"].max()))
    final = predictions.get(f"final-engine:pred_{target}")
    if final is not None:
        table = decile_table(actual, final.to_numpy())
        ax_dec.bar(
            table.index, table["actual"], alpha=0.25, color="gray", label="actual (final-engine deciles)"
        )
    ax_cal.plot([0, top], [0, top], color="black", lw=0.8, ls="--", label="perfect")
    ax_cal.set_xlabel(f"mean predicted holdout {target} / 预测均值")
    ax_cal.set_ylabel(f"mean actual holdout {target} / 实际均值")
    ax_cal.set_title("Calibration by decile / 分位校准")
    ax_cal.legend(fontsize=8)
    ax_dec.set_xlabel("decile of prediction (10 = highest) / 预测十分位")
    ax_dec.set_ylabel(f"holdout {target}")
    ax_dec.set_title("Predicted vs actual by decile / 各分位预测与实际")
    ax_dec.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

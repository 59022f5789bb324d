"""The batch's column-wise text encoders write exactly what the per-value ones wrote: numbers as Python's json
writes each one, reason values as ``_fmt`` formats each one (NaN, -0.0, large and tiny values included)."""

from __future__ import annotations

import json

import numpy as np

from valuation.assessment_table import _json_numbers
from valuation.explain import _fmt, _fmt_many, template_explanations

VALUES = np.array(
    [0.0, -0.0, 1.0, -1.5, 0.1234, 1e-12, 123456.789, 2.5e20, float("nan"), 99.999, 100.0, -0.004, 7.0, 7.0]
)


def test_json_numbers_match_json_dumps_of_each_value() -> None:
    assert _json_numbers(VALUES) == [json.dumps(v) for v in VALUES.tolist()]
    assert _json_numbers(np.array([])) == []
    assert json.loads("[" + ",".join(_json_numbers(VALUES)) + "]")[2:4] == [1.0, -1.5]


def test_reason_values_are_formatted_as_one_by_one() -> None:
    grid = VALUES.reshape(2, 7)
    expected = [_fmt(None if v != v else v) for v in grid.ravel().tolist()]
    assert _fmt_many(grid).tolist() == expected
    assert expected[1] == "-0" and expected[8] == ""  # -0.0 keeps its sign, NaN is no value
    assert _fmt_many(np.empty((0, 5))).tolist() == []


def test_sentences_of_many_users_are_each_users_own() -> None:
    """Users grouped by sentence shape (language, reasons named, values present) get the sentence they get
    alone, whatever the other users in the chunk."""
    rng = np.random.default_rng(5)
    n, k = 400, 5
    args = (
        rng.choice(["en", "zh"], n),
        rng.uniform(0, 100, n),
        rng.choice(["vip", "at_risk", "loyal", "new"], n),
        rng.lognormal(6, 2, n),
        rng.choice(np.array(["Recency", "Spend {0}", "Orders %s"], dtype=object), (n, k)),
        rng.choice(np.array(["最近", "消费", "订单"], dtype=object), (n, k)),
        rng.choice(VALUES, (n, k)),
        rng.choice([0.0, 0.2, -0.1, 0.05, -0.3], (n, k)),
    )
    together = template_explanations(*args)
    alone = [template_explanations(*(a[i : i + 1] for a in args))[0] for i in range(n)]
    assert together == alone
    one = template_explanations(
        ["en"], np.array([91.6]), ["vip"], np.array([12345.6]),
        np.array([["Recency", "Orders", "Spend"]], dtype=object), np.array([["最近", "订单", "消费"]], dtype=object),
        np.array([[3.0, np.nan, 0.125]]), np.array([[0.4, 0.2, -0.1]]),
    )  # fmt: skip
    assert one == [
        "Value score 92/100 (VIP / premium); predicted 12-month spend ¥12,346. Raising it: Recency 3, Orders. "
        "Lowering it: Spend 0.12."
    ]

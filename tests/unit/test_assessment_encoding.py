"""The batch's column-wise text encoders write exactly what the per-value ones wrote: numbers as Python's json
writes each one, reason values as ``_fmt`` formats each one (NaN, -0.0, large and tiny values included)."""

from __future__ import annotations

import json

import numpy as np

from valuation.assessment_table import _json_numbers
from valuation.explain import _fmt, _fmt_many

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

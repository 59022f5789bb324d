"""The assessment table: one row per user of every batch engine's output (the `score --all` file, the Spark
output) and the JSON payload stored in ``value_assessments``, built column-wise for a whole chunk.

Reasons are the top signed path contributions of the value model (labels in both languages), the explanation is
the bilingual template; numbers are rounded as ``domain.models.ValueAssessment`` shows them. Per user there is no
dict, no pydantic model and one JSON text, written from the columns.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring, encode_basestring_ascii

import numpy as np
import pandas as pd

from valuation.explain import feature_label, template_explanations
from valuation.feature_matrix import drop_profile
from valuation.training import TrainedEngine

N_REASONS = 5
# The assessment table (the output file, the Spark output): one row per user. ``likely_categories`` is
# comma-joined, ``reasons`` is the JSON list of the top signed contributions (``domain.models.Reason``'s fields).
FLAT_FIELDS: tuple[tuple[str, str], ...] = (
    ("user_id", "string"),
    ("as_of", "string"),
    ("score", "double"),
    ("segment", "string"),
    ("predicted_spend_12m", "double"),
    ("predicted_purchases_12m", "double"),
    ("p_alive", "double"),
    ("price_sensitivity", "double"),
    ("churn_risk", "double"),
    ("next_purchase_prob_30d", "double"),
    ("likely_categories", "string"),
    ("reasons", "string"),
    ("explanation", "string"),
    ("model_version", "string"),
)
FLAT_COLUMNS: tuple[str, ...] = tuple(name for name, _ in FLAT_FIELDS)
FLAT_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in FLAT_FIELDS)  # as a Spark DDL schema
_ROUNDING: dict[str, int] = {
    "predicted_spend_12m": 2,
    "predicted_purchases_12m": 3,
    "p_alive": 4,
    "price_sensitivity": 3,
    "churn_risk": 4,
    "next_purchase_prob_30d": 4,
}


def _json_numbers(values: np.ndarray) -> list[str]:
    """Floats as JSON numbers, as Python's json writes them (``NaN``; the payload is read back with json): one
    C-level encode of the distinct values, cut at the separators and spread back, instead of a ``repr`` per
    value. A chunk's rounded values repeat (250k reason contributions of a 50k-user chunk had 2k distinct);
    distinct by bit pattern, so -0.0 keeps its sign."""
    flat = np.ascontiguousarray(values, dtype=float).ravel()
    if not len(flat):
        return []
    _, first, inverse = np.unique(flat.view(np.int64), return_index=True, return_inverse=True)
    texts = np.array(json.dumps(flat[first].tolist())[1:-1].split(", "), dtype=object)
    return texts[inverse.reshape(-1)].tolist()


def _top_k(size: np.ndarray, k: int) -> np.ndarray:
    """Per row, the column indices of the ``k`` largest values, largest first, ties to the lower index: what a
    stable argsort of ``-size`` starts with, from a partition instead of a full sort of every row."""
    n, width = size.shape
    if k == 0 or width == 0:
        return np.zeros((n, 0), dtype=np.intp)
    k = min(k, width)
    # The k-th largest value of each row, as a column.
    kth = np.partition(size, width - k, axis=1)[:, width - k : width - k + 1]
    above, tied = size > kth, size == kth
    take = above | (tied & (np.cumsum(tied, axis=1) <= (k - above.sum(axis=1, keepdims=True))))
    cols = np.nonzero(take)[1].reshape(n, k)  # ascending column order within each row
    order = np.argsort(-np.take_along_axis(size, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def _reasons_json(
    trained: TrainedEngine, features: pd.DataFrame, contributions: pd.DataFrame | None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per user: the reasons as a JSON list, and the (n, k) label/value/contribution arrays of the template."""
    X = features if trained.with_profile else drop_profile(features)
    names = trained.value_model.feature_names
    labels = np.array([feature_label(n) for n in names], dtype=object).reshape(len(names), 2)
    k = N_REASONS if contributions is not None and len(X) else 0
    if contributions is not None:
        contrib = contributions.to_numpy()[:, : len(names)]
        contrib = np.where(np.isnan(contrib), 0.0, contrib)
    else:
        contrib = np.zeros((len(X), len(names)))
    values = X.reindex(columns=names).to_numpy(dtype=float)
    top = _top_k(np.abs(contrib), k)
    top_values = np.round(np.take_along_axis(values, top, axis=1), 3)
    top_contrib = np.round(np.take_along_axis(contrib, top, axis=1), 4)
    heads = np.array(
        [
            f'{{"feature":{json.dumps(n)},"label_en":{json.dumps(en)},'
            f'"label_zh":{json.dumps(zh, ensure_ascii=False)},"value":'
            for n, (en, zh) in zip(names, labels.tolist(), strict=True)
        ],
        dtype=object,
    )
    value_json = np.array(_json_numbers(top_values.ravel()), dtype=object).reshape(top.shape)
    value_json[np.isnan(top_values)] = "null"  # a reason's missing value is null, not NaN
    contrib_json = np.array(_json_numbers(top_contrib.ravel()), dtype=object).reshape(top.shape)
    # One %-format per user over its k (head, value, contribution) triples: object-array concatenations cost a
    # Python string addition per item and per piece (5 per item), the format one call per user.
    row_format = "[" + ",".join(['%s%s,"contribution":%s}'] * top.shape[1]) + "]"
    pieces = np.stack([heads[top], value_json, contrib_json], axis=2).reshape(len(top), 3 * top.shape[1])
    reasons = [row_format % row for row in map(tuple, pieces.tolist())]
    return reasons, labels[top, 0], labels[top, 1], top_values, top_contrib


def assessment_table(
    trained: TrainedEngine,
    outputs: pd.DataFrame,
    features: pd.DataFrame,
    language: pd.Series,
    contributions: pd.DataFrame | None,
) -> pd.DataFrame:
    """The assessment table (``FLAT_COLUMNS``) of the rows of ``outputs``: reasons are the top signed
    ``contributions`` (the value model's path attribution of ``features``; None: no reasons), the explanation is
    templated in the user's language. Column-wise: top-k, the reasons' JSON and the sentences are built for the
    whole chunk at once."""
    reasons, labels_en, labels_zh, values, contrib = _reasons_json(trained, features, contributions)
    langs = language.reindex(outputs.index).to_numpy(dtype=object)
    langs = np.where(langs == "en", "en", "zh")
    score = outputs["score"].to_numpy(dtype=float)
    spend = np.round(outputs["predicted_spend_12m"].to_numpy(dtype=float), 2)
    segment = outputs["segment"].to_numpy(dtype=object)
    explanation = template_explanations(
        langs, score, segment, outputs["predicted_spend_12m"].to_numpy(dtype=float),
        labels_en, labels_zh, values, contrib,
    )  # fmt: skip
    table = pd.DataFrame(
        {
            "user_id": outputs.index.to_numpy(dtype=object),
            "as_of": trained.as_of.date().isoformat(),
            "score": score,
            "segment": segment,
            "predicted_spend_12m": spend,
            **{
                col: np.round(outputs[col].to_numpy(dtype=float), digits)
                for col, digits in _ROUNDING.items()
                if col != "predicted_spend_12m"
            },
            "likely_categories": [",".join(c) for c in outputs["likely_categories"].tolist()],
            "reasons": reasons,
            "explanation": explanation,
            "model_version": trained.version,
        }
    )
    return table[list(FLAT_COLUMNS)]


def assessment_payloads(table: pd.DataFrame) -> list[str]:
    """Each row's ``ValueAssessment`` as JSON text (the ``payload`` column), written from the columns without
    building a dict per user."""
    cats = table["likely_categories"]
    codes, uniques = pd.factorize(cats)
    # json.dumps of a list of strings, without its per-call setup (a chunk has thousands of distinct lists).
    cat_json = np.array(
        ["[" + ", ".join(map(encode_basestring_ascii, c.split(",") if c else [])) + "]" for c in uniques],
        dtype=object,
    )
    numbers = {col: _json_numbers(table[col].to_numpy(dtype=float)) for col in ("score", *_ROUNDING)}
    # json.dumps of one string is one of these two C encoders; calling them directly skips its per-call setup.
    user_json = map(encode_basestring_ascii, table["user_id"].tolist())
    explanation_json = map(encode_basestring, table["explanation"].tolist())
    versions, version_codes = np.unique(table["model_version"].to_numpy(dtype=object), return_inverse=True)
    version_json = np.array([json.dumps(v) for v in versions.tolist()], dtype=object)[version_codes]
    return [
        f'{{"user_id":{u},"as_of":"{a}","score":{s},"segment":"{g}","predicted_spend_12m":{sp},'
        f'"predicted_purchases_12m":{pp},"p_alive":{pa_},"price_sensitivity":{ps},"churn_risk":{cr},'
        f'"next_purchase_prob_30d":{np_},"likely_categories":{c},"reasons":{r},'
        f'"explanation":{e},"model_version":{v}}}'
        for u, a, s, g, sp, pp, pa_, ps, cr, np_, c, r, e, v in zip(
            user_json,
            table["as_of"].tolist(),
            numbers["score"],
            table["segment"].tolist(),
            numbers["predicted_spend_12m"],
            numbers["predicted_purchases_12m"],
            numbers["p_alive"],
            numbers["price_sensitivity"],
            numbers["churn_risk"],
            numbers["next_purchase_prob_30d"],
            cat_json[codes].tolist(),
            table["reasons"].tolist(),
            explanation_json,
            version_json.tolist(),
            strict=True,
        )
    ]

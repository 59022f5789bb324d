"""Supervised adaptation for teams that fine-tune a hosted model: OpenAI chat fine-tuning JSONL where each example
is (rubric, masked history summary) -> the engine's calibrated score and segment.

Each line: ``{"messages": [{"role": "system", ...}, {"role": "user", summary}, {"role": "assistant", JSON}]}``,
the format of OpenAI's chat fine-tuning API. The summary is the same one the LLM scorer reads at inference time
(:func:`valuation.llm_scorer.history_summary`), built from counts and amounts, then PII-masked anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from llm.masking import new_masker
from valuation.llm_scorer import RUBRIC, history_summary


def finetune_examples(
    population: pd.DataFrame, features: pd.DataFrame, limit: int | None = None
) -> list[dict]:
    """One chat example per user (in index order, up to ``limit``)."""

    examples = []
    ids = population.index if limit is None else population.index[:limit]
    for uid in ids:
        row = population.loc[uid]
        summary = new_masker().mask(history_summary(features.loc[uid], list(row["likely_categories"])))
        answer = {"score": round(float(row["score"])), "segment": str(row["segment"])}
        examples.append(
            {
                "messages": [
                    {"role": "system", "content": RUBRIC},
                    {"role": "user", "content": summary},
                    {"role": "assistant", "content": json.dumps(answer)},
                ]
            }
        )
    return examples


def write_finetune_jsonl(path: Path | str, examples: list[dict]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for example in examples:
            fh.write(json.dumps(example, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path

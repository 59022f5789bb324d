"""The checks behind the guardrails, shared by the guided graph and the react middleware.

* grounding: every product id or catalog title in a reply must have been returned by a tool in this
  conversation; sentences that name anything else are dropped;
* no leaks: no user id or order id that no tool returned to this session, and no raw PII (the masker runs on
  the output);
* injection: shop text reaches the model only ``<data>``-wrapped (tools/sanitize); a reply that echoes chat
  template markup or a ``<data>`` block is cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, Field

from agent.vocabulary import Catalog
from domain.privacy.masking import mask_text

_SENTENCE_RE = re.compile(r"(?<=[.!?。！？；;\n])\s*")
_USER_ID_RE = re.compile(r"(?<![A-Za-z0-9_-])u\d{4,}(?![A-Za-z0-9_])", re.I)
_ORDER_ID_RE = re.compile(r"(?<![A-Za-z0-9_-])o\d{5,}(?![A-Za-z0-9_])", re.I)
_MARKUP_RE = re.compile(r"<\|[^|>]{0,40}\|>|</?(?:data|system|tool)>", re.I)
_MIN_TITLE_CHARS = 6


class GroundingReport(BaseModel):
    ungrounded_ids: list[str] = Field(default_factory=list)
    ungrounded_titles: list[str] = Field(default_factory=list)
    leaked_ids: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.ungrounded_ids or self.ungrounded_titles or self.leaked_ids)


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_RE.split(text) if s]


def check_text(
    text: str, catalog: Catalog, grounded_ids: Iterable[str], allowed_refs: Iterable[str] = ()
) -> GroundingReport:
    """What in ``text`` was not returned by a tool: product ids, catalog titles, other user/order ids."""
    grounded = set(grounded_ids)
    allowed = {r.lower() for r in allowed_refs}
    report = GroundingReport()
    for token in catalog.id_like_tokens(text):
        if token not in grounded:
            report.ungrounded_ids.append(token)
    low = text.lower()
    for pid, (title_en, title_zh) in catalog.titles.items():
        if pid in grounded:
            continue
        for title in (title_en, title_zh):
            if len(title) >= _MIN_TITLE_CHARS and title.lower() in low:
                # A grounded product whose title contains this one (e.g. a longer variant) is not a mention.
                if not any(title.lower() in catalog.titles[g][0].lower() or title in catalog.titles[g][1]
                           for g in grounded if g in catalog.titles):  # fmt: skip
                    report.ungrounded_titles.append(pid)
                break
    for token in _USER_ID_RE.findall(text) + _ORDER_ID_RE.findall(text):
        if token.lower() not in allowed:
            report.leaked_ids.append(token)
    return report


def drop_ungrounded(
    text: str, catalog: Catalog, grounded_ids: Iterable[str], allowed_refs: Iterable[str] = ()
) -> tuple[str, GroundingReport]:
    """The text without the sentences that fail the check, and the report of what was removed."""
    grounded, allowed = list(grounded_ids), list(allowed_refs)
    kept: list[str] = []
    removed = GroundingReport()
    for sentence in split_sentences(text):
        report = check_text(sentence, catalog, grounded, allowed)
        if report.ok:
            kept.append(sentence)
        else:
            removed.ungrounded_ids += report.ungrounded_ids
            removed.ungrounded_titles += report.ungrounded_titles
            removed.leaked_ids += report.leaked_ids
    joiner = "" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else " "
    return joiner.join(s.strip() if joiner else s for s in kept).strip(), removed


def clean_markup(text: str) -> str:
    return _MARKUP_RE.sub("", text)


def mask_output(text: str) -> str:
    """No raw PII in a reply (a model may repeat a phone number from a review it was shown)."""
    return mask_text(text)


def iter_dicts(node: object) -> Iterator[dict]:
    """Every dict nested anywhere in a tool output (dicts and lists), outermost first."""
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from iter_dicts(child)
    elif isinstance(node, list):
        for child in node:
            yield from iter_dicts(child)


def refs_in_outputs(outputs: Iterable[dict | None]) -> set[str]:
    """User and order ids that tools returned to this session (they may be named in the reply)."""
    return {
        value.lower()
        for output in outputs
        for node in iter_dicts(output)
        for key in ("user_id", "order_id")
        if isinstance(value := node.get(key), str)
    }

"""The PII masker of the LLM path: the privacy engineer's ``PiiMasker``, with a conservative stand-in that only
exists so the agent keeps masking if that module fails to import (it is never the preferred path)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Protocol

log = logging.getLogger(__name__)


class Masker(Protocol):
    def mask(self, text: str) -> str: ...

    def unmask(self, text: str) -> str: ...


class _FallbackMasker:
    """Stable placeholders for e-mails, long digit runs (phones, ids, cards) and the given names."""

    _PATTERNS = (
        ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
        ("PHONE", re.compile(r"(?<![\w-])\+?\d[\d \-]{9,}\d(?![\w-])")),
    )

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True)
        self._forward: dict[str, str] = {}

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self._forward:
            count = sum(1 for k in self._forward.values() if k.startswith(f"[{kind}_")) + 1
            self._forward[value] = f"[{kind}_{count}]"
        return self._forward[value]

    def mask(self, text: str) -> str:
        for name in self._names:
            if name in text:
                text = text.replace(name, self._placeholder("NAME", name))
        for kind, pattern in self._PATTERNS:
            text = pattern.sub(lambda m, kind=kind: self._placeholder(kind, m.group(0)), text)
        return text

    def unmask(self, text: str) -> str:
        for value, placeholder in self._forward.items():
            text = text.replace(placeholder, value)
        return text


def new_masker(names: Iterable[str] = ()) -> Masker:
    try:
        from domain.privacy.masking import PiiMasker
    except ImportError:
        log.warning("domain.privacy.masking is missing: using the agent's fallback PII masker")
        return _FallbackMasker(names)
    return PiiMasker(names)

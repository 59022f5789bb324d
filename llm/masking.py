"""The PII masker of the LLM path: every prompt goes through the privacy layer's ``PiiMasker`` (one masker in
the code base; ``Masker`` is the interface the structured-output helpers need)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from domain.privacy.masking import PiiMasker


class Masker(Protocol):
    def mask(self, text: str) -> str: ...

    def unmask(self, text: str) -> str: ...


def new_masker(names: Iterable[str] = ()) -> Masker:
    """A fresh masker (placeholders are numbered per conversation); ``names``: people to mask by name."""
    return PiiMasker(names)

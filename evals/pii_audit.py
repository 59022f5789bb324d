"""Which raw PII of the shop's users appears in recorded LLM prompts (the PII spy's check)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import users
from llm.spy import PromptRecord

# The street-and-number core of an address identifies a person even when the rest is reworded.
_STREET_CORE = re.compile(r"[\u4e00-\u9fff]{2}(?:路|街|大道)\d+号|\d+ [A-Z][a-z]+ [A-Z][a-z]+")


def stored_pii(settings: Settings) -> dict[str, str]:
    """Every stored PII value (decrypted) -> 'user_id.field'; phones also as bare digits."""
    cipher = PiiCipher.from_settings(settings)
    found: dict[str, str] = {}
    with get_engine(settings).connect() as conn:
        for row in conn.execute(select(users)).mappings():
            for column in ("name_enc", "phone_enc", "email_enc", "address_enc"):
                value = cipher.decrypt(row[column])
                if not value:
                    continue
                owner = f"{row['user_id']}.{column.removesuffix('_enc')}"
                found[value] = owner
                if column == "phone_enc":
                    found[re.sub(r"\D", "", value)[-11:]] = owner + "(digits)"
                if column == "address_enc" and (core := _STREET_CORE.search(value)):
                    found[core.group()] = owner + "(street)"
    return found


def leaked_pii(prompts: Iterable[PromptRecord], pii: dict[str, str]) -> list[tuple[str, str]]:
    """(owner, prompt excerpt) for every PII value found in a prompt; phones also match with separators removed."""
    hits = []
    for record in prompts:
        text = record.text
        digits = re.sub(r"[\s\-]", "", text)
        for value, owner in pii.items():
            if value in text or (owner.endswith("(digits)") and value in digits):
                hits.append((owner, text[:120]))
    return hits

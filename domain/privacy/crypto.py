"""Encryption at rest for PII columns (Fernet, i.e. AES-128-CBC + HMAC-SHA256) and keyed lookup hashes.

Keys come from settings (``SHOPGUIDE_ENCRYPTION_KEY``, comma-separated, newest first) or a key file
(one key per line, newest first; created with mode 0600 under ``data_dir/keys`` on first use). Several keys
make a MultiFernet, so ``shopguide keys rotate`` can re-encrypt old rows while both keys still decrypt.
The lookup-hash key is separate and never rotated, so staff lookups by phone or email survive a rotation.

Other secrets at rest (agent checkpoints, feedback text, erasure pseudonyms) use per-purpose keys derived with
HKDF-SHA256 from one master key file (``keys_dir/master.key``): one purpose's key says nothing about another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.settings import Settings


class PiiKeyError(RuntimeError):
    pass


def _read_or_create(path: Path, create: bool = True) -> list[bytes]:
    if not path.exists():
        if not create:
            raise PiiKeyError(f"key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
    return [line.strip() for line in path.read_bytes().splitlines() if line.strip()]


def key_file(settings: Settings) -> Path:
    return settings.encryption_key_file or settings.key_dir / "pii.keys"


def load_keys(settings: Settings) -> list[bytes]:
    configured = settings.encryption_key.get_secret_value()
    if configured:
        return [k.strip().encode() for k in configured.split(",") if k.strip()]
    return _read_or_create(key_file(settings))


def purpose_key(settings: Settings, purpose: str) -> bytes:
    """32 bytes for one purpose ("checkpoints", "feedback", "pseudonym"...), derived from the master key file."""
    master = _read_or_create(settings.key_dir / "master.key")[0]
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"shopguide:{purpose}".encode())
    return kdf.derive(master)


def purpose_fernet(settings: Settings, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(purpose_key(settings, purpose)))


SEALED_PREFIX = "enc:v1:"


def seal_text(fernet: Fernet, text: str) -> str:
    """Text encrypted for storage, marked so that ``open_text`` can tell it from older plain rows."""
    return SEALED_PREFIX + fernet.encrypt(text.encode("utf-8")).decode("ascii")


def open_text(fernet: Fernet, stored: str | None) -> str:
    if not stored or not stored.startswith(SEALED_PREFIX):
        return stored or ""
    try:
        return fernet.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise PiiKeyError("stored text does not decrypt with this master key") from exc


def keyed_pseudonym(settings: Settings, value: str) -> str:
    """A stable stand-in for an erased id: HMAC-SHA256 under a secret key, so sequential ids cannot be
    recovered by hashing every candidate."""
    digest = hmac.new(purpose_key(settings, "pseudonym"), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "erased:" + digest[:24]


@dataclass
class PiiCipher:
    keys: list[bytes]
    lookup_key: bytes

    def __post_init__(self) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k) for k in self.keys])
        except (ValueError, TypeError) as exc:
            raise PiiKeyError(f"invalid encryption key: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiCipher:
        lookup = _read_or_create(settings.key_dir / "lookup.key")[0]
        return cls(keys=load_keys(settings), lookup_key=lookup)

    def encrypt(self, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PiiKeyError("PII ciphertext does not decrypt with any configured key") from exc

    def rotate(self, token: str | None) -> str | None:
        """Re-encrypt under the newest key."""
        if not token:
            return None
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def lookup_hash(self, value: str | None) -> str | None:
        if not value:
            return None
        return hmac.new(self.lookup_key, normalise_contact(value).encode(), hashlib.sha256).hexdigest()


def normalise_contact(value: str) -> str:
    """Phones compare by digits (country code 86 dropped), emails case-insensitively."""
    value = value.strip().lower()
    if "@" in value:
        return value
    digits = re.sub(r"\D", "", value)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = normalise_contact(phone)  # '+86 138...' shows as '138****5678', not '861****5678'
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"

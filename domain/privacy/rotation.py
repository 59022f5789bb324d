"""PII key rotation: a new key first in the key file, every user row re-encrypted in batches, old keys retired.

Nothing is lost at any point: the old keys stay in the key file (MultiFernet decrypts with any of them) until
every row has been re-encrypted *and* verified to decrypt with the new key alone. Each batch is one
transaction. A marker file (``keys/rotation.json``) records a rotation in progress, so an interrupted run is
resumed by running the command again (no second new key), and re-encrypting a row twice is harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel
from sqlalchemy import select, update

from domain.privacy.crypto import PiiCipher, PiiKeyError, key_file, load_keys
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import users

ENCRYPTED_COLUMNS: tuple[str, ...] = ("name_enc", "phone_enc", "email_enc", "address_enc")


class RotationReport(BaseModel):
    new_key_id: str
    resumed: bool
    rows_reencrypted: int
    values_reencrypted: int
    batches: int
    retired_keys: int
    key_file: str | None


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (never the key itself)."""
    return hashlib.sha256(key).hexdigest()[:12]


def _marker(settings: Settings) -> Path:
    return key_file(settings).parent / "rotation.json"


def _write_private(path: Path, data: bytes) -> None:
    """Atomic replace with mode 0600: the key file is either the old or the new one, never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _keys_from_settings(settings: Settings) -> bool:
    return bool(settings.encryption_key.get_secret_value())


def start_rotation(settings: Settings) -> tuple[str, bool]:
    """Put a new key first in the key file, unless a rotation is already in progress. Returns (key id, resumed)."""
    if _keys_from_settings(settings):
        raise PiiKeyError(
            "keys come from SHOPGUIDE_ENCRYPTION_KEY: put a new key first in that variable yourself, then run "
            "`shopguide keys rotate --reencrypt-only`"
        )
    keys = load_keys(settings)  # creates the key file on a fresh install
    marker = _marker(settings)
    if marker.exists():
        state = json.loads(marker.read_text())
        if state.get("new_key_id") == key_id(keys[0]):
            return state["new_key_id"], True
    new_key = Fernet.generate_key()
    _write_private(key_file(settings), b"\n".join([new_key, *keys]) + b"\n")
    state = {"new_key_id": key_id(new_key), "started_at": datetime.now(UTC).isoformat()}
    _write_private(marker, json.dumps(state).encode())
    return state["new_key_id"], False


def reencrypt_users(
    settings: Settings,
    *,
    batch_size: int = 500,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[int, int, int]:
    """Re-encrypt every user row under the newest key, ``batch_size`` rows per transaction, in user_id order.

    ``on_batch(done_rows, total_rows)`` is called after each committed batch (progress bars; tests use it to
    interrupt). Returns (rows, values, batches).
    """
    cipher = PiiCipher.from_settings(settings)
    engine = get_engine(settings)
    columns = [users.c[name] for name in ENCRYPTED_COLUMNS]
    with engine.connect() as conn:
        total = conn.execute(select(users.c.user_id).order_by(users.c.user_id)).scalars().all()
    rows_done = values_done = batches = 0
    for start in range(0, len(total), batch_size):
        ids = total[start : start + batch_size]
        with engine.begin() as conn:
            for row in conn.execute(
                select(users.c.user_id, *columns).where(users.c.user_id.in_(ids))
            ).mappings():
                changes = {name: cipher.rotate(row[name]) for name in ENCRYPTED_COLUMNS if row[name]}
                if changes:
                    conn.execute(update(users).where(users.c.user_id == row["user_id"]).values(**changes))
                    values_done += len(changes)
                rows_done += 1
        batches += 1
        if on_batch is not None:
            on_batch(rows_done, len(total))
    return rows_done, values_done, batches


def verify_primary_only(settings: Settings) -> int:
    """Count the values that do NOT decrypt with the newest key alone (0 means old keys may be retired)."""
    primary = Fernet(load_keys(settings)[0])
    engine = get_engine(settings)
    stale = 0
    with engine.connect() as conn:
        for row in conn.execute(select(*[users.c[name] for name in ENCRYPTED_COLUMNS])).mappings():
            for name in ENCRYPTED_COLUMNS:
                token = row[name]
                if token:
                    try:
                        primary.decrypt(token.encode("ascii"))
                    except InvalidToken:
                        stale += 1
    return stale


def finish_rotation(settings: Settings, *, keep_old: bool = False) -> int:
    """Retire the old keys once every value decrypts with the new one. Returns how many keys were retired."""
    stale = verify_primary_only(settings)
    if stale:
        raise PiiKeyError(f"{stale} values still need an old key: run `shopguide keys rotate` again")
    retired = 0
    if not _keys_from_settings(settings):
        keys = load_keys(settings)
        if not keep_old and len(keys) > 1:
            _write_private(key_file(settings), keys[0] + b"\n")
            retired = len(keys) - 1
        _marker(settings).unlink(missing_ok=True)
    return retired


def rotate_keys(
    settings: Settings,
    *,
    batch_size: int = 500,
    new_key: bool = True,
    keep_old: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """The whole rotation; safe to re-run after an interruption at any step."""
    if new_key:
        new_id, resumed = start_rotation(settings)
    else:
        new_id, resumed = key_id(load_keys(settings)[0]), False
    rows, values, batches = reencrypt_users(settings, batch_size=batch_size, on_batch=on_batch)
    retired = finish_rotation(settings, keep_old=keep_old)
    return RotationReport(
        new_key_id=new_id,
        resumed=resumed,
        rows_reencrypted=rows,
        values_reencrypted=values,
        batches=batches,
        retired_keys=retired,
        key_file=None if _keys_from_settings(settings) else str(key_file(settings)),
    )

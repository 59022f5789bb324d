"""`shopguide keys rotate` on a copy of the ingested demo store: no value lost, interrupted runs resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from domain.privacy.crypto import PiiCipher, PiiKeyError, key_file, load_keys
from domain.privacy.rotation import ENCRYPTED_COLUMNS, key_id, rotate_keys
from domain.settings import Settings
from domain.store.copy import copy_store
from domain.store.db import get_engine
from domain.store.schema import users

pytestmark = pytest.mark.slow  # re-encrypts the whole demo shop in every test


def decrypt_all(settings: Settings) -> dict[str, tuple[str | None, ...]]:
    cipher = PiiCipher.from_settings(settings)
    with get_engine(settings).connect() as conn:
        rows = conn.execute(select(users.c.user_id, *[users.c[c] for c in ENCRYPTED_COLUMNS])).all()
    return {row[0]: tuple(cipher.decrypt(v) for v in row[1:]) for row in rows}


def hashes(settings: Settings) -> list[tuple[str, str | None, str | None]]:
    with get_engine(settings).connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(users.c.user_id, users.c.phone_hmac, users.c.email_hmac))
        ]


@pytest.fixture
def store(demo_settings: Settings, tmp_path: Path) -> Settings:
    return copy_store(demo_settings, tmp_path / "data")


def test_rotation_reencrypts_everything_without_loss(store: Settings) -> None:
    before = decrypt_all(store)
    assert len(before) >= 1000 and any(v[1] for v in before.values())
    old_keys = load_keys(store)
    lookups = hashes(store)

    report = rotate_keys(store, batch_size=700)

    assert report.rows_reencrypted == len(before) and not report.resumed
    assert report.values_reencrypted == sum(1 for v in before.values() for x in v if x)
    assert decrypt_all(store) == before
    assert hashes(store) == lookups  # staff lookups by phone/email still work
    keys = load_keys(store)
    assert len(keys) == 1 and keys[0] not in old_keys and key_id(keys[0]) == report.new_key_id
    with get_engine(store).connect() as conn:
        token = conn.execute(select(users.c.phone_enc).where(users.c.phone_enc.is_not(None))).scalar()
    with pytest.raises(InvalidToken):
        Fernet(old_keys[0]).decrypt(token.encode())


def test_interrupted_rotation_loses_nothing_and_a_rerun_converges(store: Settings) -> None:
    before = decrypt_all(store)
    old_key = load_keys(store)[0]

    def crash_after_two_batches(done: int, total: int) -> None:
        if done >= 1000:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        rotate_keys(store, batch_size=500, on_batch=crash_after_two_batches)

    # mid-rotation: both keys are in the file and every row still decrypts
    keys = load_keys(store)
    assert len(keys) == 2 and keys[1] == old_key
    assert decrypt_all(store) == before

    report = rotate_keys(store, batch_size=500)
    assert report.resumed and report.new_key_id == key_id(keys[0])  # no third key was made
    assert load_keys(store) == [keys[0]]
    assert decrypt_all(store) == before


def test_env_managed_keys_need_reencrypt_only(store: Settings) -> None:
    old = load_keys(store)[0].decode()
    new = Fernet.generate_key().decode()
    configured = store.model_copy(update={"encryption_key": SecretStr(new + "," + old)})
    before = decrypt_all(configured)
    with pytest.raises(PiiKeyError, match="reencrypt-only"):
        rotate_keys(configured)
    report = rotate_keys(configured, new_key=False)
    assert report.retired_keys == 0 and report.key_file is None
    only_new = store.model_copy(update={"encryption_key": SecretStr(new)})
    assert decrypt_all(only_new) == before


def test_cli_rotate_prints_a_report(store: Settings, cli_on) -> None:
    from ui.cli import app

    cli_on(store.data_dir)
    before = decrypt_all(store)
    result = CliRunner().invoke(app, ["keys", "rotate", "--json", "--batch-size", "1000"])
    assert result.exit_code == 0, result.output
    assert '"rows_reencrypted":' in result.output and '"retired_keys":1' in result.output
    assert key_file(store).exists() and decrypt_all(store) == before

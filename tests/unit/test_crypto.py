"""PII cipher: round trips, key lists, rotation between keys, lookup hashes and masked display forms."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from domain.privacy.crypto import (
    PiiCipher,
    PiiKeyError,
    key_file,
    load_keys,
    mask_email,
    mask_phone,
    normalise_contact,
)
from domain.settings import Settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "llm": "none",
        "encryption_key": "",
        "encryption_key_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_round_trip_of_unicode_pii_and_empty_values(tmp_path: Path) -> None:
    cipher = PiiCipher.from_settings(_settings(tmp_path))
    for value in (
        "王小明",
        "浙江省杭州市西湖区文三路90号3栋501室",
        "john.smith@example.com",
        "+86 138 1234 5678",
    ):
        token = cipher.encrypt(value)
        assert token is not None and value not in token
        assert cipher.decrypt(token) == value
    assert cipher.encrypt(None) is None and cipher.encrypt("") is None
    assert cipher.decrypt(None) is None


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    token = PiiCipher.from_settings(settings).encrypt("secret")
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PiiCipher.from_settings(_settings(tmp_path)).decrypt(token) == "secret"


def test_old_ciphertext_decrypts_after_a_new_key_and_rotate_moves_it(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    lookup = b"k" * 32
    token = PiiCipher([old], lookup).encrypt("13812345678")
    both = PiiCipher([new, old], lookup)
    assert both.decrypt(token) == "13812345678"
    rotated = both.rotate(token)
    assert PiiCipher([new], lookup).decrypt(rotated) == "13812345678"
    with pytest.raises(PiiKeyError):
        PiiCipher([new], lookup).decrypt(token)


def test_configured_keys_win_over_the_file_and_bad_keys_are_clear_errors(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    assert load_keys(_settings(tmp_path, encryption_key=key)) == [key.encode()]
    assert not key_file(_settings(tmp_path)).exists()
    with pytest.raises(PiiKeyError):
        PiiCipher.from_settings(_settings(tmp_path, encryption_key="not-a-fernet-key"))
    with pytest.raises(PiiKeyError):
        PiiCipher.from_settings(_settings(tmp_path)).decrypt("gAAAAAgarbage")


def test_lookup_hash_matches_equivalent_contacts_only(tmp_path: Path) -> None:
    cipher = PiiCipher.from_settings(_settings(tmp_path))
    assert cipher.lookup_hash("+86 138-1234-5678") == cipher.lookup_hash("13812345678")
    assert cipher.lookup_hash("Zhang.Wei@Example.com ") == cipher.lookup_hash("zhang.wei@example.com")
    assert cipher.lookup_hash("13812345678") != cipher.lookup_hash("13812345679")
    assert normalise_contact("+86 13812345678") == "13812345678"
    assert cipher.lookup_hash(None) is None


def test_masked_display_forms_hide_the_middle() -> None:
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("+44 7700 900123") == "447****0123"
    assert mask_phone("123") == "****"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_email("no-at-sign") is None

"""Staff accounts: argon2 salted hashes, lockout with exponential back-off per account and per address, the
refusal of unsafe accounts on a public start, and ``shopguide staff hash``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from domain.privacy.staff_auth import (
    DEMO_STAFF_PASSWORD,
    LockedOut,
    Lockout,
    StaffAuthenticator,
    hash_password,
    parse_staff_users,
    unsafe_staff_accounts,
)

GOOD = "a-long-and-unusual-passphrase"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_hashes_are_salted_argon2id_and_parse_back_from_the_setting() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$") and first != second  # a fresh salt each time
    spec = f"alice:{first}, bob:plain:pw,carol:{second}"
    assert parse_staff_users(spec) == {"alice": first, "bob": "plain:pw", "carol": second}
    auth = StaffAuthenticator(parse_staff_users(spec))
    assert auth.login("alice", GOOD, "1.1.1.1") and auth.login("bob", "plain:pw", "1.1.1.1")
    assert not auth.login("alice", GOOD.upper(), "1.1.1.2")
    assert not auth.login("mallory", GOOD, "1.1.1.3") and not auth.login("", "", "1.1.1.4")


def test_wrong_passwords_lock_the_account_with_growing_back_off() -> None:
    clock = FakeClock()
    auth = StaffAuthenticator({"alice": hash_password(GOOD)}, Lockout(free_failures=3, clock=clock))
    for i in range(3):
        assert not auth.login("alice", f"guess-{i}", f"10.0.0.{i}")  # from many addresses
    assert not auth.login("alice", "guess-3", "10.0.0.9")  # 4th failure: locked 1 s
    with pytest.raises(LockedOut) as locked:
        auth.login("alice", GOOD, "10.0.0.10")  # even the right password waits
    assert 0 < locked.value.retry_after_s <= 1
    clock.now += 1.01
    assert not auth.login("alice", "guess-4", "10.0.0.11")  # next failure: 2 s
    with pytest.raises(LockedOut) as longer:
        auth.login("alice", GOOD, "10.0.0.12")
    assert 1 < longer.value.retry_after_s <= 2
    clock.now += 2.01
    assert auth.login("alice", GOOD, "10.0.0.13")  # after the wait, the right password works...
    assert not auth.login("alice", "x", "10.0.0.14")  # ...and cleared the account's count


def test_one_address_guessing_many_accounts_is_locked_too() -> None:
    clock = FakeClock()
    accounts = {f"user{i}": hash_password(GOOD) for i in range(2)}
    auth = StaffAuthenticator(accounts, Lockout(free_failures=2, clock=clock))
    for i in range(3):
        assert not auth.login(f"nobody{i}", "guess", "6.6.6.6")
    with pytest.raises(LockedOut):
        auth.login("user0", GOOD, "6.6.6.6")
    assert auth.login("user0", GOOD, "7.7.7.7")  # another address is not affected


def test_lockout_memory_is_bounded_without_freeing_locked_keys() -> None:
    lockout = Lockout(free_failures=1, max_keys=10, clock=FakeClock())
    lockout.failed("attacker")
    lockout.failed("attacker")  # past the free failure: locked
    for i in range(100):  # one (free) failure each: never locked
        lockout.failed(f"flood-{i}")
    assert len(lockout._entries) <= 10
    assert lockout.retry_after("attacker") > 0  # the flood evicted unlocked entries only


def test_public_start_refuses_plain_default_and_weak_passwords() -> None:
    accounts = {
        "plain": "a-long-and-unusual-passphrase",
        "demo": hash_password(DEMO_STAFF_PASSWORD),
        "weak": hash_password("password"),
        "good": hash_password(GOOD),
    }
    problems = unsafe_staff_accounts(accounts)
    assert [p.split(":")[0] for p in problems] == ["plain", "demo", "weak"]


def test_cli_hash_prints_a_working_entry_and_refuses_weak_passwords() -> None:
    from ui.cli import app

    result = CliRunner().invoke(app, ["staff", "hash", "--name", "alice", "--password", GOOD])
    assert result.exit_code == 0, result.output
    accounts = parse_staff_users(result.stdout.strip())
    assert StaffAuthenticator(accounts).login("alice", GOOD, "127.0.0.1")
    weak = CliRunner().invoke(app, ["staff", "hash", "--name", "alice", "--password", "short"])
    assert weak.exit_code != 0 and "shorter" in weak.output

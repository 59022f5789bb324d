"""Staff accounts: argon2id salted password hashes, and lockout with exponential back-off per account and per
client address (so neither guessing one account from many addresses nor many accounts from one address works).

``settings.staff_users`` is ``"name:<argon2 hash>,..."``; ``shopguide staff hash`` prints a hash. A plain password
is accepted on loopback only (it is hashed in memory at start); a public start refuses plain, weak or demo
passwords (:func:`unsafe_staff_accounts`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.privacy.access import AccessDenied

DEMO_STAFF_NAME = "staff"
DEMO_STAFF_PASSWORD = "staff-demo-password"
MIN_PASSWORD_CHARS = 12
# Passwords an attacker tries first; refused on a public host whether written plain or hashed.
WEAK_PASSWORDS = (DEMO_STAFF_PASSWORD, "password", "changeme", "admin", "staff", "123456", "shopguide")
HASH_PREFIX = "$argon2"
_ENTRY_HEAD = re.compile(r"^\s*[^:=$,\s][^:=$,]*:")

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Unknown names are checked against this hash, so a wrong name costs the time of a wrong password."""
    return _hasher.hash("not-an-account-password")


class LockedOut(AccessDenied):
    """Too many wrong passwords for this account or from this address; retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins: retry in {math.ceil(retry_after_s)} s")
        self.retry_after_s = retry_after_s


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("empty password")
    return _hasher.hash(password)


def is_hash(stored: str) -> bool:
    return stored.startswith(HASH_PREFIX)


def parse_staff_users(spec: str) -> dict[str, str]:
    """``"alice:$argon2id$v=19$m=65536,t=3,p=4$...,bob:pw"`` → ``{"alice": "$argon2id$...", "bob": "pw"}``.
    Entries are split on commas; a piece without a ``name:`` head (argon2 parameters hold commas) continues
    the previous entry. Secrets may contain ':'."""
    pieces: list[str] = []
    for piece in spec.split(","):
        if pieces and not _ENTRY_HEAD.match(piece):
            pieces[-1] += "," + piece
        else:
            pieces.append(piece)
    accounts: dict[str, str] = {}
    for item in pieces:
        name, sep, secret = item.strip().partition(":")
        if name.strip() and sep and secret:
            accounts[name.strip()] = secret
    return accounts


def _verifies(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def unsafe_staff_accounts(accounts: dict[str, str]) -> list[str]:
    """Why these accounts must not face a network: plain (unhashed) passwords, weak or demo passwords."""
    problems: list[str] = []
    for name, stored in accounts.items():
        if not is_hash(stored):
            problems.append(f"{name}: plain-text password (store an argon2 hash: shopguide staff hash)")
        elif any(_verifies(stored, weak) for weak in WEAK_PASSWORDS):
            problems.append(f"{name}: a default or well-known password")
    return problems


def weak_password_reason(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_CHARS:
        return f"shorter than {MIN_PASSWORD_CHARS} characters"
    if password.lower() in WEAK_PASSWORDS:
        return "a default or well-known password"
    return None


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class Lockout:
    """Failures per key. The first ``free_failures`` cost nothing; the n-th after them locks the key for
    ``base_s * 2**(n - 1)`` seconds, at most ``max_s``. A success clears the key.

    Memory is bounded by ``max_keys``; when full, the oldest *unlocked* entry goes first, so a flood of new
    addresses cannot free a locked one.
    """

    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_s: float = 1.0,
        max_s: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_failures, self.base_s, self.max_s, self.max_keys = free_failures, base_s, max_s, max_keys
        self._clock = clock
        self._entries: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        with self._lock:
            entry = self._entries.get(key)
            return max(0.0, entry.locked_until - self._clock()) if entry else 0.0

    def failed(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Failures()
                self._evict(now)
            self._entries.move_to_end(key)
            entry.count += 1
            extra = entry.count - self.free_failures - 1
            if extra >= 0:
                entry.locked_until = now + min(self.max_s, self.base_s * 2.0**extra)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _evict(self, now: float) -> None:
        while len(self._entries) > self.max_keys:
            victim = next((k for k, e in self._entries.items() if e.locked_until <= now), None)
            self._entries.pop(victim if victim is not None else next(iter(self._entries)))


class StaffAuthenticator:
    """Checks staff logins against argon2 hashes, with lockout per account and per client address."""

    def __init__(self, accounts: dict[str, str], lockout: Lockout | None = None) -> None:
        # plain passwords (loopback only, refused on a public start) are hashed once here
        self._hashes = {name: s if is_hash(s) else hash_password(s) for name, s in accounts.items()}
        self.lockout = lockout or Lockout()

    @property
    def names(self) -> list[str]:
        return sorted(self._hashes)

    def login(self, name: str, password: str, client: str) -> bool:
        """True for a right name and password; False otherwise; ``LockedOut`` while locked (not checked)."""
        keys = (f"account:{name}", f"client:{client}")
        wait = max(self.lockout.retry_after(key) for key in keys)
        if wait > 0:
            raise LockedOut(wait)
        stored = self._hashes.get(name or "")
        ok = _verifies(stored or _dummy_hash(), password or "") and stored is not None
        if ok:  # only the account's count: a valid login must not wipe its address's record of other guesses
            self.lockout.succeeded(keys[0])
        else:
            for key in keys:
                self.lockout.failed(key)
        return ok

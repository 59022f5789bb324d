"""Short-lived signed widget tokens: a site owner's backend issues one per shopper, the widget presents it.

HS256 (PyJWT) with ``settings.token_secret``; when that is unset a random secret is created once under
``data_dir/keys/token.secret`` (mode 0600). Claims: ``sub`` = user id, ``iat``, ``exp``, ``aud`` =
``shopguide-widget``, ``jti``. Verification accepts HS256 only (no ``alg: none``, no key confusion), requires
every claim, and turns any failure into ``WidgetTokenError`` with a reason a client can act on.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from domain.privacy.access import AccessDenied, Principal
from domain.settings import Settings

AUDIENCE = "shopguide-widget"
ALGORITHM = "HS256"
MAX_TTL_S = 24 * 3600
CLOCK_LEEWAY_S = 10  # tolerate small clock skew between the issuing backend and this server


class WidgetTokenError(AccessDenied):
    """A widget token that cannot be trusted. ``reason`` is one of: expired, invalid_signature, wrong_audience,
    malformed, missing_claim."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def secret_file(settings: Settings) -> Path:
    return settings.data_dir / "keys" / "token.secret"


def token_secret(settings: Settings) -> bytes:
    """The signing secret: from settings, else a file created on first use (never logged, never returned)."""
    configured = settings.token_secret.get_secret_value()
    if configured:
        if len(configured) < 16:
            raise ValueError("SHOPGUIDE_TOKEN_SECRET must be at least 16 characters")
        return configured.encode("utf-8")
    path = secret_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii") + b"\n")
    return path.read_bytes().strip()


def issue_widget_token(
    settings: Settings, user_id: str, ttl_s: int = 900, *, now: datetime | None = None
) -> str:
    """A token that lets the widget act as shopper ``user_id`` for ``ttl_s`` seconds (at most a day)."""
    if not user_id or not user_id.strip():
        raise ValueError("user_id is required")
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between 1 and {MAX_TTL_S} seconds")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims = {
        "sub": user_id.strip(),
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_s),
        "aud": AUDIENCE,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, token_secret(settings), algorithm=ALGORITHM)


def decode_widget_token(settings: Settings, token: str) -> dict[str, object]:
    """The verified claims of ``token``; raises ``WidgetTokenError``."""
    if not token or not isinstance(token, str) or len(token) > 4096:
        raise WidgetTokenError("malformed", "widget token missing or malformed")
    try:
        return jwt.decode(
            token.strip(),
            token_secret(settings),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=CLOCK_LEEWAY_S,
            options={"require": ["sub", "exp", "iat", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise WidgetTokenError("expired", "widget token expired: ask the site for a new one") from exc
    except jwt.InvalidAudienceError as exc:
        raise WidgetTokenError("wrong_audience", "token was not issued for the ShopGuide widget") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise WidgetTokenError("missing_claim", f"widget token lacks a required claim: {exc.claim}") from exc
    except jwt.InvalidSignatureError as exc:
        raise WidgetTokenError("invalid_signature", "widget token signature is invalid (tampered?)") from exc
    except jwt.InvalidTokenError as exc:  # bad base64/JSON, wrong algorithm, iat in the future...
        raise WidgetTokenError("malformed", f"widget token rejected: {exc.__class__.__name__}") from exc


def verify_widget_token(settings: Settings, token: str) -> Principal:
    """The shopper principal a valid token stands for; raises ``WidgetTokenError`` (an ``AccessDenied``)."""
    claims = decode_widget_token(settings, token)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 64:
        raise WidgetTokenError("malformed", "widget token subject is not a user id")
    return Principal.shopper(subject)

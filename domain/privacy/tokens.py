"""Short-lived signed widget tokens: a site owner's backend issues one per shopper, the widget presents it.

HS256 (PyJWT) with ``settings.token_secret``; when that is unset a random secret is created once under
``data_dir/keys/token.secret`` (mode 0600). Claims: ``sub`` = user id, ``iat``, ``exp``, ``aud`` =
``shopguide-widget``, ``jti``. Verification accepts HS256 only (no ``alg: none``, no key confusion), requires
every claim, and turns any failure into ``WidgetTokenError`` with a reason a client can act on.

:func:`authorize_widget_token` adds the checks that need the store: a revoked ``jti`` (``shopguide token
revoke``) and a subject who is not (or no longer, after erasure) a user are refused alike, with one message.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from sqlalchemy import delete, select

from domain.privacy.access import AccessDenied, Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import revoked_tokens, users

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
    return settings.key_dir / "token.secret"


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
            options={"require": ["sub", "exp", "iat", "aud", "jti"]},
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
        raise WidgetTokenError("malformed", "widget token rejected: not a valid token") from exc


def verify_widget_token(settings: Settings, token: str) -> Principal:
    """The shopper principal a valid token stands for; raises ``WidgetTokenError`` (an ``AccessDenied``)."""
    return _principal(decode_widget_token(settings, token))


def _principal(claims: dict[str, object]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 64:
        raise WidgetTokenError("malformed", "widget token subject is not a user id")
    return Principal.shopper(subject)


REFUSED_MESSAGE = "widget token refused: it was revoked or its user is not known here"


def authorize_widget_token(settings: Settings, token: str) -> tuple[Principal, dict[str, object]]:
    """The principal and claims of a token that verifies, is not revoked and names a user in the store."""
    claims = decode_widget_token(settings, token)
    principal = _principal(claims)
    with get_engine(settings).connect() as conn:
        revoked = conn.execute(
            select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == str(claims["jti"]))
        ).first()
        known = conn.execute(select(users.c.user_id).where(users.c.user_id == principal.user_id)).first()
    if revoked is not None or known is None:
        raise WidgetTokenError("revoked", REFUSED_MESSAGE)
    return principal, claims


def revoke_widget_token(settings: Settings, token_or_jti: str) -> str:
    """Revoke a token (given whole, or by its ``jti``) until its expiry; returns the jti. Idempotent."""
    value = token_or_jti.strip()
    if "." in value:  # a whole token: its signature must verify, but an expired one needs no revoking
        claims = decode_widget_token(settings, value)
        jti, expires = str(claims["jti"]), datetime.fromtimestamp(int(claims["exp"]), UTC)  # type: ignore[call-overload]
    else:
        if not value or len(value) > 64:
            raise ValueError("give a widget token or its jti (at most 64 characters)")
        jti, expires = value, datetime.now(UTC) + timedelta(seconds=MAX_TTL_S + CLOCK_LEEWAY_S)
    now = datetime.now(UTC).replace(tzinfo=None)
    with get_engine(settings).begin() as conn:
        conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
        conn.execute(delete(revoked_tokens).where(revoked_tokens.c.jti == jti))
        conn.execute(
            revoked_tokens.insert().values(jti=jti, revoked_at=now, expires_at=expires.replace(tzinfo=None))
        )
    return jti

"""Widget tokens: signed, expiring, bound to one shopper; tampering, expiry and algorithm tricks are refused."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from domain.privacy.access import AccessDenied, Role
from domain.privacy.tokens import (
    AUDIENCE,
    REFUSED_MESSAGE,
    WidgetTokenError,
    authorize_widget_token,
    issue_widget_token,
    revoke_widget_token,
    secret_file,
    verify_widget_token,
)
from domain.settings import Settings
from ui.erasure import forget_user


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, llm="none")


def test_issued_token_verifies_to_that_shopper(settings: Settings) -> None:
    token = issue_widget_token(settings, "u000042", ttl_s=900)
    principal = verify_widget_token(settings, token)
    assert principal.role is Role.shopper
    assert principal.user_id == "u000042"
    assert not principal.is_staff


def test_claims_are_the_documented_ones(settings: Settings) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    token = issue_widget_token(settings, "u1", ttl_s=300)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "u1"
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] >= int(before.timestamp())
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_secret_file_is_created_once_private_and_reused(settings: Settings) -> None:
    token = issue_widget_token(settings, "u1")
    path = secret_file(settings)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    issue_widget_token(settings, "u2")
    assert path.read_bytes() == content
    # a fresh Settings object on the same data dir (a restarted server) still accepts the token
    assert verify_widget_token(Settings(data_dir=settings.data_dir, llm="none"), token).user_id == "u1"


def test_expired_token_is_refused_with_a_clear_reason(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    token = issue_widget_token(settings, "u1", ttl_s=60, now=long_ago)
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, token)
    assert err.value.reason == "expired"
    assert "expired" in str(err.value)
    assert isinstance(err.value, AccessDenied)  # the tools layer treats it like any denial


def _tamper_subject(token: str, new_sub: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = new_sub
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_subject_is_refused(settings: Settings) -> None:
    token = issue_widget_token(settings, "u1")
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, _tamper_subject(token, "u2"))
    assert err.value.reason == "invalid_signature"


def test_token_signed_with_another_secret_is_refused(settings: Settings, tmp_path: Path) -> None:
    other = Settings(data_dir=tmp_path / "other", llm="none", token_secret=SecretStr("x" * 32))
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, issue_widget_token(other, "u1"))
    assert err.value.reason == "invalid_signature"


def test_alg_none_and_wrong_audience_and_missing_claims_are_refused(settings: Settings) -> None:
    now = datetime.now(UTC)
    unsigned = jwt.encode(
        {"sub": "u1", "aud": AUDIENCE, "iat": now, "exp": now + timedelta(minutes=5)},
        key=None,
        algorithm="none",
    )
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, unsigned)
    assert err.value.reason == "malformed"

    issue_widget_token(settings, "seed")  # creates the secret file
    secret = secret_file(settings).read_bytes().strip()
    wrong_aud = jwt.encode(
        {"sub": "u1", "aud": "another-app", "iat": now, "exp": now + timedelta(minutes=5), "jti": "j1"},
        secret,
        "HS256",
    )
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, wrong_aud)
    assert err.value.reason == "wrong_audience"

    no_exp = jwt.encode({"sub": "u1", "aud": AUDIENCE, "iat": now, "jti": "j2"}, secret, "HS256")
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, no_exp)
    assert err.value.reason == "missing_claim"
    no_jti = jwt.encode(
        {"sub": "u1", "aud": AUDIENCE, "iat": now, "exp": now + timedelta(minutes=5)}, secret, "HS256"
    )
    with pytest.raises(WidgetTokenError) as err:
        verify_widget_token(settings, no_jti)
    assert err.value.reason == "missing_claim"  # a token without an id could never be revoked


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "x" * 5000, "e30.e30."])
def test_garbage_is_refused_not_crashing(settings: Settings, garbage: str) -> None:
    with pytest.raises(WidgetTokenError):
        verify_widget_token(settings, garbage)


def test_configured_secret_is_used_and_short_secrets_rejected(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, llm="none", token_secret=SecretStr("s" * 40))
    token = issue_widget_token(configured, "u9")
    assert jwt.decode(token, b"s" * 40, algorithms=["HS256"], audience=AUDIENCE)["sub"] == "u9"
    assert not secret_file(configured).exists()
    with pytest.raises(ValueError):
        issue_widget_token(Settings(data_dir=tmp_path, llm="none", token_secret=SecretStr("short")), "u9")


@pytest.mark.parametrize(("user_id", "ttl"), [("", 900), ("  ", 900), ("u1", 0), ("u1", 10**7)])
def test_bad_issue_arguments_raise(settings: Settings, user_id: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        issue_widget_token(settings, user_id, ttl_s=ttl)


def test_cli_issues_a_verifiable_token(settings: Settings, cli_on) -> None:
    from typer.testing import CliRunner

    from ui.cli import app

    cli_on(settings.data_dir)
    unknown = CliRunner().invoke(app, ["token", "issue", "u404"])
    issued = CliRunner().invoke(app, ["token", "issue", "u404", "--no-check", "--ttl", "60", "--json"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
    assert issued.exit_code == 0, issued.output
    payload = json.loads(issued.stdout)
    assert payload["ttl_s"] == 60
    assert verify_widget_token(settings, payload["token"]).user_id == "u404"


def _add_user(settings: Settings, user_id: str) -> None:
    from domain.store.db import get_engine
    from domain.store.schema import users

    with get_engine(settings).begin() as conn:
        conn.execute(users.insert().values(user_id=user_id, signup_at=datetime(2025, 1, 1)))


def test_revoked_tokens_and_tokens_of_unknown_or_erased_users_are_refused_alike(settings: Settings) -> None:
    _add_user(settings, "u000001")
    _add_user(settings, "u000002")
    kept, revoked = issue_widget_token(settings, "u000001"), issue_widget_token(settings, "u000001")
    assert authorize_widget_token(settings, revoked)[0].user_id == "u000001"
    jti = revoke_widget_token(settings, revoked)
    assert revoke_widget_token(settings, jti) == jti  # by jti too, and idempotent
    messages = []
    for token in (
        revoked,
        issue_widget_token(settings, "u999999"),
        erased := issue_widget_token(settings, "u000002"),
    ):
        if token is erased:
            forget_user(settings, "u000002")
        with pytest.raises(WidgetTokenError) as err:
            authorize_widget_token(settings, token)
        messages.append((err.value.reason, str(err.value)))
    assert messages == [("revoked", REFUSED_MESSAGE)] * 3  # no oracle for which ids exist
    assert authorize_widget_token(settings, kept)[0].user_id == "u000001"  # other tokens unaffected


def test_cli_revokes_a_token(settings: Settings, cli_on) -> None:
    from typer.testing import CliRunner

    from domain.privacy.tokens import authorize_widget_token
    from ui.cli import app

    _add_user(settings, "u000003")
    token = issue_widget_token(settings, "u000003")
    cli_on(settings.data_dir)
    result = CliRunner().invoke(app, ["token", "revoke", token])
    assert result.exit_code == 0, result.output
    with pytest.raises(WidgetTokenError):
        authorize_widget_token(settings, token)

"""The UI's rules: staff accounts, thread namespacing, feedback storage, demo users, health."""

from __future__ import annotations

from sqlalchemy import select

from domain.privacy.access import Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import feedback
from ui.services import UiContext, parse_staff_users, scoped_thread_id


def test_staff_users_parse_and_login(settings: Settings) -> None:
    assert parse_staff_users("alice:pw:with:colons, bob:x,broken,:nopw") == {
        "alice": "pw:with:colons",
        "bob": "x",
    }
    ui = UiContext(settings.model_copy(update={"staff_users": "alice:s3cret"}))
    assert ui.staff_login("alice", "s3cret")
    assert (
        not ui.staff_login("alice", "S3CRET")
        and not ui.staff_login("mallory", "s3cret")
        and not ui.staff_login("", "")
    )


def test_threads_are_namespaced_by_the_caller() -> None:
    alice, bob = Principal.shopper("u1"), Principal.shopper("u2")
    assert scoped_thread_id(alice, "abc") != scoped_thread_id(bob, "abc")
    assert scoped_thread_id(alice, "../u2/abc") == "user:u1/u2abc"  # no path tricks
    assert (
        scoped_thread_id(alice, None).startswith("user:u1/") and len(scoped_thread_id(alice, "x" * 500)) < 90
    )


def test_feedback_is_stored_and_a_second_vote_replaces_the_first(settings: Settings) -> None:
    ui = UiContext(settings)
    ui.save_feedback("user:u1/t1", "u1", 3, True, "nice")
    ui.save_feedback("user:u1/t1", "u1", 3, False, "changed my mind")
    ui.save_feedback("user:u1/t1", "u1", 5, True, "")
    with get_engine(settings).connect() as conn:
        rows = conn.execute(select(feedback).order_by(feedback.c.message_index)).mappings().all()
    assert [(r["message_index"], r["liked"]) for r in rows] == [(3, False), (5, True)]


def test_health_reports_each_part(settings: Settings) -> None:
    report = UiContext(settings).health()
    assert report["store"]["ok"] and report["store"]["products"] == 0
    assert report["index"]["built"] is False and report["status"] == "degraded"  # nothing indexed yet
    assert report["llm"] == {"ok": True, "provider": "none", "detail": "guided templates, no model"}


def test_message_validation(settings: Settings) -> None:
    ui = UiContext(settings)
    assert ui.validate_message("  hi  ", "en") == "hi"
    for bad in ("", "   ", "x" * (settings.max_message_chars + 1)):
        try:
            ui.validate_message(bad, "zh")
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"accepted {bad[:10]!r}")

"""The UI's rules: staff accounts, thread namespacing, feedback storage, demo users, health."""

from __future__ import annotations

from sqlalchemy import event, select

from domain.privacy.access import Principal
from domain.privacy.crypto import open_text, purpose_fernet
from domain.privacy.staff_auth import DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD, hash_password
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import feedback, users, value_assessments
from ui.services import UiContext, scoped_thread_id


def test_staff_login_checks_hashes_and_the_demo_account_exists_only_in_demo_mode(settings: Settings) -> None:
    ui = UiContext(settings.model_copy(update={"staff_users": f"alice:{hash_password('s3cret-passphrase')}"}))
    assert ui.staff_login("alice", "s3cret-passphrase", "10.0.0.1")
    assert (
        not ui.staff_login("alice", "S3CRET-passphrase", "10.0.0.2")
        and not ui.staff_login("mallory", "s3cret-passphrase", "10.0.0.3")
        and not ui.staff_login("", "", "10.0.0.4")
    )
    assert not ui.staff_login(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD, "10.0.0.5")
    assert UiContext(settings, demo=True).staff_login(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD, "10.0.0.6")


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
    assert "changed" not in rows[0]["message"]  # encrypted at rest...
    assert (
        open_text(purpose_fernet(settings, "feedback"), rows[0]["message"]) == "changed my mind"
    )  # ...readable


def test_demo_users_are_read_once_not_per_page_load(settings: Settings) -> None:
    from datetime import datetime

    engine = get_engine(settings)
    with engine.begin() as conn:
        for i, segment in enumerate(["vip", "vip", "regular", "at_risk", "regular"]):
            conn.execute(users.insert().values(user_id=f"u{i:06d}", signup_at=datetime(2025, 1, 1)))
            conn.execute(
                value_assessments.insert().values(
                    user_id=f"u{i:06d}",
                    segment=segment,
                    score=90 - i,
                    as_of=datetime(2025, 1, 1).date(),
                    predicted_spend_12m=0.0,
                    payload={},
                    model_version="t",
                )
            )
    reads: list[str] = []
    listener = lambda *args: reads.append(args[2]) if "value_assessments" in args[2] else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        ui = UiContext(settings, demo=True)
        first = ui.demo_users(3)
        queries = len(reads)
        for _ in range(5):  # five more page loads
            assert ui.demo_users(3) == first
        assert len(reads) == queries  # no more reads of the assessments
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [uid for _, uid in first] == ["u000003", "u000002", "u000000"]  # one per segment, best first
    assert all("LIMIT" in q.upper() or "DISTINCT" in q.upper() for q in reads)  # never a full read


def test_health_reports_each_part_to_staff_and_only_the_status_to_others(settings: Settings) -> None:
    assert UiContext(settings).health(detailed=False) == {"status": "degraded"}
    report = UiContext(settings).health(detailed=True)
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

"""Every attack of issue 14 against a REAL `shopguide serve` (a child process over a copy of the small demo
shop), in production mode (no ``--demo``) and in demo mode, plus the refused unsafe starts.

The production server believes X-Forwarded-For from 127.0.0.1 (``SHOPGUIDE_TRUSTED_PROXIES``), so each test
plays a different client address, as requests through a reverse proxy would: one test's rate-limit or lockout
budget never decides another's outcome. Spoofed hops to the left of the proxy's entry are still ignored.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.privacy.staff_auth import DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD, hash_password
from domain.privacy.tokens import issue_widget_token
from domain.settings import Settings
from evals.live_server import LiveServer, cached_demo_data, copy_data_dir, free_port, shop_settings

pytestmark = [pytest.mark.slow]

OWNER, COLLEAGUE, GUESSED = "auditor", "analyst", "cashier"
PASSWORD = "correct-horse-battery-staple"
WIDGET_ORIGIN = "https://shop.example"
FOREIGN_ORIGIN = "https://attacker.example"
RATE = 30
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


def _data_dir(request: pytest.FixtureRequest, workdir: Path) -> Path:
    cache = getattr(request.config, "cache", None)
    cache_root = Path(cache.mkdir("shopguide_live_shop")) if cache is not None else workdir / "build"
    return copy_data_dir(cached_demo_data(cache_root), workdir / "data")


@pytest.fixture(scope="module")
def prod(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    staff = ",".join(f"{name}:{hash_password(PASSWORD)}" for name in (OWNER, COLLEAGUE, GUESSED))
    env = {
        "SHOPGUIDE_STAFF_USERS": staff,
        "SHOPGUIDE_TRUSTED_PROXIES": "127.0.0.1",
        "SHOPGUIDE_ALLOWED_ORIGINS": WIDGET_ORIGIN,
        "SHOPGUIDE_RATE_LIMIT_PER_MINUTE": str(RATE),
    }
    data_dir = _data_dir(request, tmp_path_factory.mktemp("attack_prod"))
    server = LiveServer(data_dir, env=env, demo=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(_data_dir(request, tmp_path_factory.mktemp("attack_demo")), demo=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(prod: LiveServer) -> Settings:
    return shop_settings(prod.data_dir)


@pytest.fixture(scope="module")
def shoppers(settings: Settings) -> list[str]:
    from sqlalchemy import select

    from domain.store.db import get_engine
    from domain.store.schema import users

    with get_engine(settings).connect() as conn:
        return list(conn.execute(select(users.c.user_id).order_by(users.c.user_id).limit(6)).scalars())


def client(server: LiveServer, address: str | None = None) -> httpx.Client:
    """A client with its own address (as a proxy would forward it; a spoofed hop on the left is ignored)."""
    forwarded = f"6.6.6.{uuid.uuid4().int % 250}, {address or next(_addresses)}"
    return httpx.Client(base_url=server.url, timeout=120, headers={"X-Forwarded-For": forwarded})


def login(http: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/staff/login", data={"username": name, "password": password})


# ------------------------------------------------------------------ Gradio's event protocol, as the page speaks it
class PageSession:
    """One browser session of a Gradio page: events run as the page runs them (POST queue/join with the page's
    query string, then the queue/data stream), so server-side state persists between them."""

    def __init__(self, http: httpx.Client, root: str = "", query: str = "") -> None:
        self.http, self.root, self.query = http, root, query
        self.session = uuid.uuid4().hex[:11]
        self.config = http.get(f"{root}/config").json()

    def _id(self, elem_id: str) -> int:
        return next(
            c["id"] for c in self.config["components"] if c.get("props", {}).get("elem_id") == elem_id
        )

    def run(self, data: list[Any], *, trigger: str, target: str = "", output: str = "") -> list[Any]:
        """The outputs of the event fired by ``trigger`` on ``target`` (or, for page loads, the one that
        writes ``output``)."""
        wanted = self._id(target) if target else None
        written = self._id(output) if output else None
        dependency = next(
            d
            for d in self.config["dependencies"]
            if any(t[1] == trigger and (wanted is None or t[0] == wanted) for t in d["targets"])
            and (written is None or written in d["outputs"])
        )
        body = {
            "data": data,
            "fn_index": dependency["id"],
            "session_hash": self.session,
            "trigger_id": wanted,
        }
        joined = self.http.post(f"{self.root}/gradio_api/queue/join{self.query}", json=body)
        assert joined.status_code == 200, joined.text
        stream_url = f"{self.root}/gradio_api/queue/data"
        with self.http.stream("GET", stream_url, params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return list(message.get("output", {}).get("data") or [])
        raise AssertionError("the event never completed")

    def load(self) -> list[Any]:
        return self.run([], trigger="load", output="sg-notice")

    def say(self, message: str) -> str:
        """One chat turn; the assistant's messages as JSON ("[]" when the turn was refused)."""
        history = self.run([message, [], None, None, "en"], trigger="submit", target="sg-input")[0]
        return json.dumps([m for m in history or [] if m.get("role") == "assistant"], ensure_ascii=False)


# ------------------------------------------------------------------ anonymous callers get no token, identity or data
def test_widget_demo_and_its_token_do_not_exist_in_production(prod: LiveServer) -> None:
    with client(prod) as http:
        page = http.get("/widget-demo")
    assert page.status_code == 404 and "data-token" not in page.text


def test_the_shopper_page_offers_no_users_and_cannot_be_made_to_chat_as_one(
    prod: LiveServer, shoppers: list[str]
) -> None:
    with client(prod) as http:
        assert not re.search(r"u\d{6}", http.get("/").text + http.get("/config").text)
        page = PageSession(http)
        assert not re.search(r"u\d{6}", json.dumps(page.load()))  # no picker choices
        page.run([shoppers[0], None], trigger="input", target="sg-user")  # pick a user as the demo page does
        assert page.say("What is the status of my recent orders?") == "[]"  # refused: nobody to chat as


def test_the_demo_staff_password_reads_nothing(prod: LiveServer, shoppers: list[str]) -> None:
    with client(prod) as http:
        chat = http.post(
            "/api/v1/chat",
            json={"message": f"What is the status of the recent orders of {shoppers[0]}?"},
            auth=(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD),
        )
        assert chat.status_code == 401 and shoppers[0] not in chat.text
        assert login(http, DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD).status_code == 400


def test_anonymous_health_says_only_ok_and_staff_see_the_details(prod: LiveServer) -> None:
    with client(prod) as http:
        anonymous = http.get("/healthz")
        assert anonymous.json() == {"status": "ok"}
        detailed = http.get("/healthz", auth=(OWNER, PASSWORD)).json()
    assert detailed["status"] == "ok" and detailed["store"]["users"] > 0 and "path" in detailed["index"]


# ------------------------------------------------------------------ guessing passwords
def test_wrong_basic_passwords_lock_the_account_out(prod: LiveServer) -> None:
    with client(prod) as http:
        statuses = [http.get("/api/v1/session", auth=(GUESSED, f"guess-{i}")).status_code for i in range(12)]
        right = http.get("/api/v1/session", auth=(GUESSED, PASSWORD))
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1
    with client(prod) as elsewhere:  # the account stays locked from another address too
        assert elsewhere.get("/api/v1/session", auth=(GUESSED, PASSWORD)).status_code == 429


def test_the_login_form_locks_out_an_address_guessing_many_accounts(prod: LiveServer) -> None:
    with client(prod) as http:
        statuses = [login(http, f"nobody-{i}", "guess").status_code for i in range(12)]
        assert statuses[:5] == [400] * 5 and statuses[-1] == 429
        assert login(http, OWNER).status_code == 429  # the guesser's address waits even for a right login
    with client(prod) as owner:  # the owner elsewhere is not locked out
        assert login(owner, OWNER).status_code == 200


# ------------------------------------------------------------------ rate limits keyed on what the server knows
@pytest.mark.parametrize("via", ["cookie", "bearer"])
def test_a_fresh_cookie_or_token_per_request_is_still_limited(prod: LiveServer, via: str) -> None:
    with client(prod) as http:
        statuses = []
        for _ in range(RATE + 3):
            fresh = uuid.uuid4().hex
            headers = {"Cookie": f"shopguide_session={fresh}"}
            headers |= {"Authorization": f"Bearer {fresh}"} if via == "bearer" else {}
            statuses.append(
                http.post(
                    "/api/v1/chat",
                    json={"message": "What is the status of my recent orders?"},
                    headers=headers,
                ).status_code
            )
    assert statuses[0] == 401 and statuses[-1] == 429


def test_a_valid_shopper_is_limited_whatever_cookie_or_address_they_send(
    prod: LiveServer, settings: Settings, shoppers: list[str]
) -> None:
    token = issue_widget_token(settings, shoppers[1], ttl_s=600)
    statuses = []
    for _ in range(RATE + 2):
        with client(prod) as http:  # a new address and cookie every time
            cookie = f"shopguide_session={uuid.uuid4().hex}"
            response = http.get(
                "/api/v1/session", headers={"Authorization": f"Bearer {token}", "Cookie": cookie}
            )
            statuses.append(response.status_code)
    assert statuses[0] == 200 and statuses[-1] == 429


# ------------------------------------------------------------------ cross-site
def test_a_foreign_origin_gets_no_credentialed_cors_and_no_console(prod: LiveServer) -> None:
    foreign = {"Origin": FOREIGN_ORIGIN, "Host": "shop-guide.example.com"}
    with client(prod) as http:
        preflight = http.options("/api/v1/chat", headers={**foreign, "Access-Control-Request-Method": "POST"})
        page_api = http.post("/gradio_api/queue/join", json={"data": []}, headers=foreign)
        staff = http.get("/api/v1/session", headers=foreign, auth=(OWNER, PASSWORD))
        console = http.post("/staff/login", data={"username": OWNER, "password": PASSWORD}, headers=foreign)
        config = http.get("/staff/config", headers=foreign)
        widget = http.options(
            "/api/v1/chat",
            headers={"Origin": WIDGET_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
    for answer in (preflight, page_api, staff, console, config):
        assert answer.headers.get("access-control-allow-origin") not in (FOREIGN_ORIGIN, "*")
        assert "access-control-allow-credentials" not in answer.headers
    assert staff.status_code == 403 and console.status_code == 403 and config.status_code == 403
    # a configured widget origin may call the API cross-site, without cookies
    assert widget.headers.get("access-control-allow-origin") == WIDGET_ORIGIN
    assert "access-control-allow-credentials" not in widget.headers


def test_the_console_cookie_is_samesite_lax(prod: LiveServer) -> None:
    with client(prod) as http:
        response = login(http, COLLEAGUE)
    cookies = response.headers.get_list("set-cookie")
    assert response.status_code == 200 and cookies
    assert all("samesite=lax" in c.lower() and "samesite=none" not in c.lower() for c in cookies)


# ------------------------------------------------------------------ exports
def test_an_export_reaches_only_its_maker_once_and_never_the_public_file_route(
    prod: LiveServer, settings: Settings
) -> None:
    with client(prod) as owner:
        assert login(owner, OWNER).status_code == 200
        console = PageSession(owner, "/staff")
        html = console.run(["vip", True, "en"], trigger="click", target="sg-export-btn")[0]
        href = re.search(r'href="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        name = re.search(r'download="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        assert href.startswith("/staff/exports/") and settings.data_dir.name not in href
        files = list((prod.data_dir / "exports").rglob("*.csv"))
        assert [f.name for f in files] == [name]
        with client(prod) as anonymous:
            assert anonymous.get(href).status_code == 404
            for route in (f"/gradio_api/file={files[0]}", f"/staff/gradio_api/file={files[0]}"):
                assert anonymous.get(route).status_code != 200
        with client(prod) as colleague:
            assert login(colleague, COLLEAGUE).status_code == 200
            assert colleague.get(href).status_code == 404
        download = owner.get(href)
        assert download.status_code == 200 and "user_id" in download.text
        assert owner.get(href).status_code == 404  # once
    assert not files[0].exists()  # and deleted
    log = prod.log_tail(200_000)
    assert str(files[0]) not in log and name not in log  # no path in the logs


# ------------------------------------------------------------------ tokens
def _cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPGUIDE_")}
    env |= {"SHOPGUIDE_DATA_DIR": str(server.data_dir), "SHOPGUIDE_LLM": "none", "OPENBLAS_NUM_THREADS": "1"}
    code = "from ui.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)


def test_revoked_tokens_and_tokens_of_erased_users_are_refused(
    prod: LiveServer, settings: Settings, shoppers: list[str]
) -> None:
    revoked = issue_widget_token(settings, shoppers[2], ttl_s=600)
    erased = issue_widget_token(settings, shoppers[3], ttl_s=600)
    with client(prod) as http:
        for token in (revoked, erased):
            assert (
                http.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            )
        assert _cli(prod, "token", "revoke", revoked).returncode == 0
        forgotten = _cli(prod, "forget", shoppers[3], "--yes", "--json")
        assert forgotten.returncode in (0, 2), forgotten.stderr
        answers = [
            http.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
            for token in (revoked, erased, issue_widget_token(settings, "u999999", ttl_s=600))
        ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.json()["detail"] for a in answers}) == 1  # the same refusal: no oracle for which ids exist


def test_the_web_chat_checks_its_token_every_turn(
    prod: LiveServer, settings: Settings, shoppers: list[str]
) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    revoked = issue_widget_token(settings, shoppers[5], ttl_s=600)
    with client(prod) as http:
        page = PageSession(http, query=f"?token={revoked}")
        page.load()
        assert page.say("Hello!") != "[]"  # the token works at first
        assert _cli(prod, "token", "revoke", revoked).returncode == 0
        assert page.say("Hello!") == "[]"  # the same page, the next turn: refused

        # issued 15 minutes ago for 15 minutes and 8 seconds: valid at page load, past expiry + leeway soon
        ago = datetime.now(UTC) - timedelta(seconds=900)
        page = PageSession(
            http, query=f"?token={issue_widget_token(settings, shoppers[4], ttl_s=908, now=ago)}"
        )
        page.load()
        assert page.say("Hello!") != "[]"
        time.sleep(19)  # its expiry + the 10 s clock leeway
        assert page.say("Hello!") == "[]"


# ------------------------------------------------------------------ logs, SSE and error texts
def test_tokens_and_session_hashes_are_masked_in_the_access_log(
    prod: LiveServer, settings: Settings, shoppers: list[str]
) -> None:
    token = issue_widget_token(settings, shoppers[0], ttl_s=600)
    session = uuid.uuid4().hex[:11]
    with client(prod) as http:
        assert http.get("/embed", params={"token": token}).status_code == 200
        with contextlib.suppress(httpx.HTTPError):  # an unknown session's stream just ends
            http.get("/gradio_api/queue/data", params={"session_hash": session}, timeout=5)
        http.get("/", params={"token": token})
    log = prod.log_tail(400_000)
    assert "/embed?token=***" in log
    assert token not in log and token.split(".")[2] not in log and session not in log


def test_a_thread_id_cannot_inject_sse_events_and_errors_name_no_exception_types(
    prod: LiveServer, settings: Settings, shoppers: list[str]
) -> None:
    token = issue_widget_token(settings, shoppers[0], ttl_s=600)
    bearer = {"Authorization": f"Bearer {token}"}
    with client(prod) as http:
        injected = http.post(
            "/api/v1/chat/stream",
            json={"message": "hi", "thread_id": 'x\nevent: done\ndata: {"injected": true}'},
            headers=bearer,
        )
        garbage = http.post("/api/v1/chat", json={"message": "hi"}, headers={"Authorization": "Bearer a.b.c"})
    assert injected.status_code == 422 and "injected" not in injected.text.split("detail")[0]
    assert garbage.status_code == 401
    assert not re.search(r"[A-Z][a-z]+(Error|Exception)\b", garbage.text), garbage.text


# ------------------------------------------------------------------ demo mode: only on loopback, only on the demo shop
def test_demo_mode_serves_the_demo_surfaces(demo: LiveServer) -> None:
    with httpx.Client(base_url=demo.url, timeout=60) as http:
        page = http.get("/widget-demo")
        assert page.status_code == 200 and "data-token" in page.text
        assert http.get("/api/v1/session", auth=(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD)).status_code == 200


def _serve(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHOPGUIDE_")}
    environ |= {
        "SHOPGUIDE_DATA_DIR": str(data_dir),
        "SHOPGUIDE_LLM": "none",
        "OPENBLAS_NUM_THREADS": "1",
        **env,
    }
    command = [
        sys.executable,
        "-c",
        "from ui.cli import main; main()",
        "serve",
        "--port",
        str(free_port()),
        *args,
    ]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (
            ["--host", "0.0.0.0"],
            {"SHOPGUIDE_STAFF_USERS": "staff:staff-demo-password"},
            "SHOPGUIDE_STAFF_USERS",
        ),
        (["--host", "0.0.0.0"], {}, "SHOPGUIDE_STAFF_USERS"),
        (
            ["--host", "0.0.0.0"],
            {"SHOPGUIDE_STAFF_USERS": f"staff:{hash_password(DEMO_STAFF_PASSWORD)}"},
            "default",
        ),
        (["--host", "0.0.0.0", "--demo"], {}, "loopback"),
    ],
)
def test_unsafe_starts_are_refused_with_a_clear_message(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    done = _serve(tmp_path / "data", *args, **env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr


def test_demo_mode_needs_the_demo_shop(tmp_path: Path) -> None:
    done = _serve(tmp_path / "data", "--demo")
    assert done.returncode == 2 and "demo shop" in done.stderr

"""Attacks on the real web app (``ui.app.create_app``, handed in, in production mode), in-process over ASGI: forged and
missing tokens, wrong staff passwords, a victim's thread id, smuggled ``user_id``/``role`` fields, oversized
and malformed bodies; and the deployment attacks: demo surfaces and details for anonymous callers, the demo
staff password, password guessing, limiter evasion, cross-site requests, other people's exports, revoked
tokens and injected SSE fields. One event loop serves every probe (the app's locks belong to it); each probe
comes from its own client address, so one probe's rate-limit budget does not decide another's outcome.

Besides what the detectors find in the answers, a probe reports a ``breach``: the server did what the attack
wanted (a 200 where a refusal was due, no lockout, no limit, a credentialed CORS answer).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from domain.privacy.staff_auth import DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD, hash_password
from domain.settings import Settings
from evals.security.world import World

OWNER, OTHER_STAFF, GUESSED = "auditor", "analyst", "cashier"  # GUESSED is the one the guessing attacks lock
STAFF_PASSWORD = "correct-horse-battery-staple"
FOREIGN_ORIGIN = "https://attacker.example"
GUESSES = 12  # wrong passwords in a row: well past the free failures of the lockout


def _forge(token: str, subject: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = subject
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


class HttpProbe:
    def __init__(self, world: World, create_app: Callable[[Settings], Any]) -> None:
        from domain.privacy.tokens import issue_widget_token

        staff = ",".join(f"{name}:{hash_password(STAFF_PASSWORD)}" for name in (OWNER, OTHER_STAFF, GUESSED))
        self.settings = world.settings.model_copy(update={"staff_users": staff})
        self.world = world
        self.app = create_app(self.settings)
        self.attacker_token = issue_widget_token(self.settings, world.attacker, ttl_s=3600)
        self.victim_token = issue_widget_token(self.settings, world.victim_zh.user_id, ttl_s=3600)
        self.loop = asyncio.new_event_loop()
        self._addresses = (f"10.66.{i // 250}.{i % 250 + 1}" for i in itertools.count())
        self.breach = ""

    def close(self) -> None:
        self.loop.close()

    def run(self, spec: dict[str, Any]) -> tuple[str, str, list[dict], str]:
        """(what the attacker sent, what came back, tool calls, how it was handled). ``self.breach`` names what
        the server wrongly allowed ("" when nothing)."""
        self.breach = ""
        return self.loop.run_until_complete(self._run(spec))

    def _client(self, address: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address or next(self._addresses), 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://shop", timeout=600)

    async def _run(self, spec: dict[str, Any]) -> tuple[str, str, list[dict], str]:
        kind = str(spec["kind"])
        async with self._client() as client:
            handler = getattr(self, f"_{kind}", None)
            if handler is None:
                raise ValueError(f"unknown http attack kind {kind!r}")
            response, seen = await handler(client, spec)
        calls = []
        if response.headers.get("content-type", "").startswith("application/json"):
            payload = response.json()
            for call in payload.get("tool_calls", []) if isinstance(payload, dict) else []:
                calls.append({"name": call.get("tool"), "args": call.get("args") or {}, "error": None})
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        visible = "\n".join([*seen, response.text])
        return json.dumps(spec, ensure_ascii=False), visible, calls, f"HTTP {response.status_code}"

    # ------------------------------------------------------------------ the API's own rules
    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.attacker_token}"}

    async def _http_forged_token(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        headers = {"Authorization": f"Bearer {_forge(self.attacker_token, self.world.victim_zh.user_id)}"}
        return await client.post("/api/v1/chat", json={"message": spec["message"]}, headers=headers), []

    async def _http_no_auth(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        return await client.post("/api/v1/chat", json={"message": spec["message"]}), []

    async def _http_wrong_staff_password(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        headers = _basic(OWNER, "not-the-password")
        return await client.post("/api/v1/chat", json={"message": spec["message"]}, headers=headers), []

    async def _http_thread_hijack(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        shared = f"shared-{uuid.uuid4().hex[:8]}"
        victim = {"Authorization": f"Bearer {self.victim_token}"}
        await client.post(
            "/api/v1/chat", json={"message": spec["victim_says"], "thread_id": shared}, headers=victim
        )
        body = {"message": spec["message"], "thread_id": shared}
        return await client.post("/api/v1/chat", json=body, headers=self._bearer()), []

    async def _http_smuggled_fields(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        body = {"message": spec["message"], "user_id": self.world.victim_zh.user_id, "role": "staff"}
        return await client.post("/api/v1/chat", json=body, headers=self._bearer()), []

    async def _http_oversized(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        body = json.dumps({"message": "x" * spec["bytes"]})
        headers = {**self._bearer(), "content-type": "application/json"}
        return await client.post("/api/v1/chat", content=body, headers=headers), []

    async def _http_malformed_json(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        headers = {**self._bearer(), "content-type": "application/json"}
        return await client.post("/api/v1/chat", content=spec["body"].encode(), headers=headers), []

    async def _http_session_probe(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        headers = {"Authorization": f"Bearer {_forge(self.attacker_token, self.world.victim_zh.user_id)}"}
        return await client.get("/api/v1/session", headers=headers), []

    # ------------------------------------------------------------------ anonymous access to demo surfaces
    async def _http_widget_demo(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        response = await client.get("/widget-demo")
        if response.status_code == 200 or "data-token" in response.text:
            self.breach = "the widget demo page is served (it hands out a real shopper's token)"
        return response, []

    async def _http_default_staff(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        headers = _basic(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD)
        response = await client.post("/api/v1/chat", json={"message": spec["message"]}, headers=headers)
        if response.status_code == 200:
            self.breach = "the demo staff password is accepted"
        return response, []

    async def _http_health_details(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        response = await client.get("/healthz")
        if set(response.json()) != {"status"}:
            self.breach = f"anonymous /healthz shows {sorted(response.json())}"
        return response, []

    # ------------------------------------------------------------------ guessing and limiter evasion
    async def _http_password_guessing(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        statuses = []
        for i in range(GUESSES):
            if spec.get("via") == "login_form":
                form = {"username": GUESSED, "password": f"guess-{i}"}
                statuses.append((await client.post("/staff/login", data=form)).status_code)
            else:
                statuses.append(
                    (await client.get("/api/v1/session", headers=_basic(GUESSED, f"guess-{i}"))).status_code
                )
        # the right password, right after the guesses, from the guesser's address: refused while locked
        response = await client.get("/api/v1/session", headers=_basic(GUESSED, STAFF_PASSWORD))
        if 429 not in statuses or response.status_code == 200:
            self.breach = (
                f"no lockout after {GUESSES} wrong passwords: {statuses} then {response.status_code}"
            )
        return response, []

    async def _http_limiter_evasion(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        statuses = []
        for i in range(self.settings.rate_limit_per_minute + 5):
            fresh = uuid.uuid4().hex
            headers = {
                "cookie": f"shopguide_session={fresh}",
                "x-forwarded-for": f"203.0.113.{i % 250}",
                "Authorization": f"Bearer {fresh}" if spec.get("via") == "bearer" else "",
            }
            statuses.append(
                (
                    await client.post("/api/v1/chat", json={"message": spec["message"]}, headers=headers)
                ).status_code
            )
        if 429 not in statuses:
            self.breach = "a fresh cookie/token/X-Forwarded-For per request is never limited"
        return await client.get("/api/v1/session"), []

    # ------------------------------------------------------------------ cross-site
    async def _http_cross_site(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        origin = {"Origin": FOREIGN_ORIGIN, "Host": "shop.example.com"}
        preflight = await client.options(
            "/api/v1/chat", headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        staff = await client.get("/api/v1/session", headers={**origin, **_basic(OWNER, STAFF_PASSWORD)})
        login = await client.post(
            "/staff/login", data={"username": OWNER, "password": STAFF_PASSWORD}, headers=origin
        )
        for answer in (preflight, staff, login):
            if answer.headers.get("access-control-allow-credentials") or answer.headers.get(
                "access-control-allow-origin"
            ) in (FOREIGN_ORIGIN, "*"):
                self.breach = f"credentialed CORS for a foreign origin on {answer.request.url.path}"
        if staff.status_code == 200 or login.status_code == 200:
            self.breach = "a foreign Origin reached the staff console"
        return staff, [preflight.text, login.text]

    async def _http_login_cookie(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        response = await client.post(
            "/staff/login", data={"username": OTHER_STAFF, "password": STAFF_PASSWORD}
        )
        cookies = response.headers.get_list("set-cookie")
        if not cookies or any("samesite=lax" not in c.lower() for c in cookies):
            self.breach = (
                f"staff session cookie without SameSite=Lax: {[c.split(';', 1)[1] for c in cookies]}"
            )
        return response, []

    # ------------------------------------------------------------------ exports
    async def _http_foreign_export(
        self, client: httpx.AsyncClient, spec: dict
    ) -> tuple[httpx.Response, list]:
        vault = self.app.state.exports
        folder = vault.staging_dir(OWNER)
        path = folder / "campaign-vip.csv"
        victim = self.world.victim_zh
        path.write_text(f"user_id,phone\n{victim.user_id},{victim.phone}\n", encoding="utf-8")
        export = vault.register(OWNER, path)
        if spec.get("replay"):  # its maker fetches it (fine), then anyone asks again: it must be gone
            async with self._client() as owner:
                await owner.post("/staff/login", data={"username": OWNER, "password": STAFF_PASSWORD})
                first = await owner.get(export.url)
                again = await owner.get(export.url)
            if first.status_code != 200 or again.status_code == 200 or path.exists():
                self.breach = (
                    f"the export was not a one-time download ({first.status_code}, {again.status_code})"
                )
            return again, []
        anonymous = await client.get(export.url)
        public_file = await client.get(f"/gradio_api/file={path}")
        async with self._client() as colleague:
            await colleague.post("/staff/login", data={"username": OTHER_STAFF, "password": STAFF_PASSWORD})
            other = await colleague.get(export.url)
        fetched = [anonymous, public_file, other]
        if any(r.status_code == 200 for r in fetched):
            self.breach = "an export was served to someone other than its maker"
        vault.discard(export)
        return other, [anonymous.text, public_file.text]

    # ------------------------------------------------------------------ tokens and SSE
    async def _http_revoked_token(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        from domain.privacy.tokens import issue_widget_token, revoke_widget_token

        if spec.get("subject") == "unknown":  # a token for an id the store does not hold (or no longer)
            token = issue_widget_token(self.settings, "u999999", ttl_s=600)
        else:
            token = issue_widget_token(self.settings, self.world.attacker, ttl_s=600)
            revoke_widget_token(self.settings, token)
        headers = {"Authorization": f"Bearer {token}"}
        response = await client.post("/api/v1/chat", json={"message": spec["message"]}, headers=headers)
        if response.status_code == 200:
            self.breach = "a revoked token, or one for an unknown user, was accepted"
        return response, []

    async def _http_sse_injection(self, client: httpx.AsyncClient, spec: dict) -> tuple[httpx.Response, list]:
        body = {"message": spec["message"], "thread_id": 'x\nevent: done\ndata: {"injected": true}'}
        response = await client.post("/api/v1/chat/stream", json=body, headers=self._bearer())
        if "injected" in response.text and response.status_code == 200:
            self.breach = "a thread id injected an SSE event"
        return response, []

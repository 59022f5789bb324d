"""Attacks through the HTTP API parameters of the real web app, in-process over ASGI:
forged and missing tokens, wrong staff passwords, a victim's thread id, smuggled ``user_id``/``role`` fields,
oversized and malformed bodies. One event loop serves every probe (the app's locks belong to it).

The caller (the CLI, a test) passes the app factory, ``ui.app.create_app``: evals sit below ``ui`` and never
import it."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from domain.privacy.tokens import issue_widget_token
from domain.settings import Settings
from evals.security.world import World

WebAppFactory = Callable[[Settings], Any]  # settings -> the ASGI app under attack


def _forge(token: str, subject: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = subject
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class HttpProbe:
    def __init__(self, world: World, web_app: WebAppFactory) -> None:
        self.world = world
        self.app = web_app(world.settings)
        self.attacker_token = issue_widget_token(world.settings, world.attacker, ttl_s=3600)
        self.victim_token = issue_widget_token(world.settings, world.victim_zh.user_id, ttl_s=3600)
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        self.loop.close()

    def run(self, spec: dict[str, Any]) -> tuple[str, str, list[dict], str]:
        """(what the attacker sent, what came back, tool calls, how it was handled: the HTTP status)."""
        return self.loop.run_until_complete(self._run(spec))

    async def _run(self, spec: dict[str, Any]) -> tuple[str, str, list[dict], str]:
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://shop", timeout=600) as client:
            kind = spec["kind"]
            bearer = {"Authorization": f"Bearer {self.attacker_token}"}
            if kind == "http_forged_token":
                headers = {
                    "Authorization": f"Bearer {_forge(self.attacker_token, self.world.victim_zh.user_id)}"
                }
                response = await client.post(
                    "/api/v1/chat", json={"message": spec["message"]}, headers=headers
                )
            elif kind == "http_no_auth":
                response = await client.post("/api/v1/chat", json={"message": spec["message"]})
            elif kind == "http_wrong_staff_password":
                basic = base64.b64encode(b"staff:not-the-password").decode()
                response = await client.post(
                    "/api/v1/chat",
                    json={"message": spec["message"]},
                    headers={"Authorization": f"Basic {basic}"},
                )
            elif kind == "http_thread_hijack":
                shared = "shared-thread-1"
                await client.post(
                    "/api/v1/chat",
                    json={"message": spec["victim_says"], "thread_id": shared},
                    headers={"Authorization": f"Bearer {self.victim_token}"},
                )
                response = await client.post(
                    "/api/v1/chat", json={"message": spec["message"], "thread_id": shared}, headers=bearer
                )
            elif kind == "http_smuggled_fields":
                body = {"message": spec["message"], "user_id": self.world.victim_zh.user_id, "role": "staff"}
                response = await client.post("/api/v1/chat", json=body, headers=bearer)
            elif kind == "http_oversized":
                body = json.dumps({"message": "x" * spec["bytes"]})
                response = await client.post(
                    "/api/v1/chat", content=body, headers={**bearer, "content-type": "application/json"}
                )
            elif kind == "http_malformed_json":
                response = await client.post(
                    "/api/v1/chat",
                    content=spec["body"].encode(),
                    headers={**bearer, "content-type": "application/json"},
                )
            elif kind == "http_session_probe":
                headers = {
                    "Authorization": f"Bearer {_forge(self.attacker_token, self.world.victim_zh.user_id)}"
                }
                response = await client.get("/api/v1/session", headers=headers)
            else:
                raise ValueError(f"unknown http attack kind {kind!r}")
        calls = []
        if response.headers.get("content-type", "").startswith("application/json"):
            payload = response.json()
            for call in payload.get("tool_calls", []) if isinstance(payload, dict) else []:
                calls.append({"name": call.get("tool"), "args": call.get("args") or {}, "error": None})
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return json.dumps(spec, ensure_ascii=False), response.text, calls, f"HTTP {response.status_code}"

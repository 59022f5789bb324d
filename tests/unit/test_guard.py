"""The staff guard's rules: which Origins are foreign (also behind a trusted proxy) and the cookie rewrite."""

from __future__ import annotations

from ui.guard import foreign_origin, secure_cookie


def test_foreign_origin_compares_the_origin_with_the_host_and_the_allowed_list() -> None:
    same = {"origin": "http://127.0.0.1:7860", "host": "127.0.0.1:7860"}
    assert not foreign_origin(same, [])
    assert not foreign_origin({"host": "shop.example"}, [])  # no Origin: not a cross-site browser request
    assert foreign_origin({"origin": "https://attacker.example", "host": "shop.example"}, [])
    assert foreign_origin({"origin": "null", "host": "shop.example"}, [])
    allowed = {"origin": "https://widget.example", "host": "shop.example"}
    assert not foreign_origin(allowed, ["https://widget.example"])
    proxied = {
        "origin": "https://console.example",
        "host": "127.0.0.1:7860",
        "x-forwarded-host": "console.example",
    }
    assert not foreign_origin(proxied, [], via_trusted_proxy=True)
    assert foreign_origin(proxied, [], via_trusted_proxy=False)  # anyone can send X-Forwarded-Host


def test_session_cookies_become_samesite_lax_and_secure_on_request() -> None:
    gradio = "access-token-abc=t0k; HttpOnly; Path=/; SameSite=none; Secure"
    assert secure_cookie(gradio, secure=False) == "access-token-abc=t0k; HttpOnly; Path=/; SameSite=Lax"
    assert (
        secure_cookie(gradio, secure=True) == "access-token-abc=t0k; HttpOnly; Path=/; SameSite=Lax; Secure"
    )
    unsecure = "access-token-unsecure-abc=t0k; HttpOnly; Path=/"
    assert secure_cookie(unsecure, secure=False) == unsecure + "; SameSite=Lax"
    assert secure_cookie(unsecure, secure=True) is None  # behind HTTPS the plain-HTTP copy is dropped

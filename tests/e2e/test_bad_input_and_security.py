"""Bad input gets a clear 4xx and loses nothing; every route checks who is calling."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute, APIWebSocketRoute

from omniroute.identity.model import Role, Scope
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_malformed_and_incomplete_json_is_422_with_a_reason(
    server: LiveServer, clients: Clients
) -> None:
    lee = clients["customer"]()
    url = f"{lee.prefix}/conversations"
    r = await lee.http.post(
        url,
        content=b"{not json",
        headers={"Origin": server.origin, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["detail"]
    r = await lee.http.post(url, json={"email": "x@example.com"}, headers={"Origin": server.origin})
    assert r.status_code == 422
    assert "name" in r.json()["detail"]
    r = await lee.http.post(url, json={"name": "  "}, headers={"Origin": server.origin})
    assert r.status_code == 422
    assert r.json()["detail"] == "name is required"
    r = await lee.http.post(url, json={"name": "Lee", "surprise": 1}, headers={"Origin": server.origin})
    assert r.status_code == 422
    assert "surprise" in r.json()["detail"]


async def test_oversized_message_is_413_and_nothing_is_stored(server: LiveServer, clients: Clients) -> None:
    lee = await clients["customer"]().start(question="")
    r = await lee.say("x" * (28 * 1024 + 1))
    assert r.status_code == 413
    assert "28672 bytes" in r.json()["detail"]
    assert (await lee.say("x" * (28 * 1024))).status_code == 201
    history = await lee.http.get(f"{lee.prefix}/conversation", headers=lee.headers())
    assert [len(m["text"]) for m in history.json()["messages"]] == [28 * 1024]


async def test_unknown_ids_are_404(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    assert (await ana.http.get("/api/v1/conversations/nope")).status_code == 404
    assert (await ana.post("/api/v1/offers/nope/accept")).status_code == 404
    r = await ana.http.get("/api/webchat/v1/widgets/pk_unknown/config", headers={"Origin": server.origin})
    assert r.status_code == 404


async def test_agents_cannot_read_conversations_of_others(server: LiveServer, clients: Clients) -> None:
    ana, ben = await clients["agent"]("ana"), await clients["agent"]("ben")
    ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    offer = await ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert (await ben.http.get(f"/api/v1/conversations/{lee.conversation_id}")).status_code == 404
    r = await ben.post(f"/api/v1/conversations/{lee.conversation_id}/messages", text="hi")
    assert r.status_code == 404
    sam = await clients["agent"]("sam")  # the supervisor sees everything
    assert (await sam.http.get(f"/api/v1/conversations/{lee.conversation_id}")).status_code == 200


async def test_no_session_is_401_and_no_csrf_is_403(server: LiveServer, clients: Clients) -> None:
    anonymous = httpx.AsyncClient(base_url=server.base_url)
    try:
        r = await anonymous.get("/api/v1/me")
        assert r.status_code == 401
        assert r.json()["detail"] == "sign in first"
        ws_page = await anonymous.get("/workspace")
        assert ws_page.status_code == 303
    finally:
        await anonymous.aclose()
    ana = await clients["agent"]("ana")
    r = await ana.http.put("/api/v1/me/presence", json={"presence": "available"})
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]
    r = await ana.http.put(
        "/api/v1/me/presence", json={"presence": "available"}, headers={"X-CSRF-Token": "forged"}
    )
    assert r.status_code == 403
    me = (await ana.http.get("/api/v1/me")).json()
    assert me["presence"] == "offline"  # nothing changed


async def test_api_tokens_are_scoped(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    token = await server.container.identity.create_api_token(
        ana.user_id, "read-only", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        assert (await api.get("/api/v1/me")).status_code == 200
        r = await api.put("/api/v1/me/presence", json={"presence": "available"})
        assert r.status_code == 403
        assert "presence:write" in r.json()["detail"]
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": "Bearer omr_wrong"}
    ) as api:
        assert (await api.get("/api/v1/me")).status_code == 401


async def test_widget_refuses_other_origins_and_other_tokens(server: LiveServer, clients: Clients) -> None:
    lee = await clients["customer"]().start()
    evil = {"Origin": "https://evil.example"}
    r = await lee.http.post(f"{lee.prefix}/conversations", json={"name": "x"}, headers=evil)
    assert r.status_code == 403
    r = await lee.http.options(
        f"{lee.prefix}/conversations", headers={**evil, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in r.headers
    ok = await lee.http.options(
        f"{lee.prefix}/conversations",
        headers={"Origin": server.origin, "Access-Control-Request-Method": "POST"},
    )
    assert ok.headers["access-control-allow-origin"] == server.origin
    r = await lee.http.get(
        f"{lee.prefix}/conversation",
        headers={"Origin": server.origin, "Authorization": "Bearer not-a-token"},
    )
    assert r.status_code == 401


async def test_session_cookie_is_httponly_samesite_and_logout_ends_it(
    server: LiveServer, clients: Clients
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        bad = await browser.post(
            "/login",
            data={"email": "ana@demo.omniroute.dev", "password": "wrong", "csrf_token": csrf},
        )
        assert bad.status_code == 401
        forged = await browser.post(
            "/login",
            data={
                "email": "ana@demo.omniroute.dev",
                "password": "omniroute-demo",
                "csrf_token": "forged",
            },
        )
        assert forged.status_code == 403
        good = await browser.post(
            "/login",
            data={
                "email": "ana@demo.omniroute.dev",
                "password": "omniroute-demo",
                "csrf_token": csrf,
                "next": "https://evil.example/",
            },
        )
        assert good.status_code == 303
        assert good.headers["location"] == "/workspace"  # no open redirect
        cookie = good.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        session = (await browser.get("/api/v1/session")).json()
        out = await browser.post("/logout", data={"csrf_token": session["csrf_token"]})
        assert out.status_code == 303
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_user_text_is_escaped_in_pages(server: LiveServer, clients: Clients) -> None:
    await server.container.identity.create_user(
        "mallory@example.com", "<script>alert(1)</script>", Role.AGENT, "a-long-password"
    )
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        await browser.post(
            "/login",
            data={
                "email": "mallory@example.com",
                "password": "a-long-password",
                "csrf_token": csrf,
            },
        )
        html = (await browser.get("/workspace")).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def all_routes(routes: list[Any]) -> list[Any]:
    """Flatten included routers (FastAPI keeps them nested and resolves them lazily)."""
    flat: list[Any] = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        flat.extend(all_routes(list(nested.routes)) if nested is not None else [route])
    return flat


def test_every_route_declares_who_may_call_it(server: LiveServer) -> None:
    """A new route without an auth dependency fails here unless it is public on purpose."""
    from omniroute.bootstrap import create_app

    app = create_app(server.container.settings)
    public = {
        "/",
        "/login",
        "/logout",
        "/demo",
        "/api/openapi.json",
        "/api/docs",
        "/api/docs/oauth2-redirect",
        "/webhooks/{account_id}",  # authenticated by each provider's signature (tests/e2e/channels)
        "/kb/{slug}",  # published public articles: the page a shared link opens
        "/webhooks/voice/{provider_id}",  # the CCaaS vendor's signature (tests/e2e/test_voice_webhooks.py)
        # An external bot's reply, HMAC-signed with that bot's secret (tests/e2e/test_bots_external.py)
        "/api/v1/bots/{bot_id}/conversations/{conversation_id}/activities",
        # A signed expiring link: HMAC of id + expiry (tests/e2e/test_attachments_api.py)
        "/files/{attachment_id}",
    }
    # calling_provider: a CCaaS provider's own API token (tests/e2e/test_voice_presence.py)
    guarded = {
        "principal",
        "optional_principal",
        "allowed_widget",
        "customer_conversation",
        "calling_provider",
    }
    checked = 0
    for route in all_routes(list(app.routes)):
        if isinstance(route, APIWebSocketRoute):
            continue  # sockets authenticate in their handshake (tests above and in test_reconnect)
        if not isinstance(route, APIRoute) or route.path in public:
            continue
        names: set[str] = set()
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            names.add(getattr(dep.call, "__name__", ""))
            stack.extend(dep.dependencies)
        assert names & guarded or any(n.startswith("require_") for n in names), route.path
        checked += 1
    assert checked >= 30  # the walk really saw the API

"""The bots' flow editor page: who gets in, what each role is offered, and in which language
(the browser test drives the page itself: tests/browser/test_bot_flow_editor.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_who_may_open_the_flow_editor_and_what_they_are_offered(
    server: LiveServer, clients: Clients
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.get("/admin/bots/flows")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/admin/bots/flows")

    ana = await clients["agent"]("ana")
    r = await ana.http.get("/admin/bots/flows")
    assert r.status_code == 403
    assert "Bot flows are for supervisors and admins" in r.text
    assert "bot-flows.js" not in r.text
    assert "csrf-token" not in r.text

    sam = await clients["agent"]("sam")
    r = await sam.http.get("/admin/bots/flows")
    assert r.status_code == 200
    assert "bot-flows.js" in r.text
    assert 'data-can-edit="false"' in r.text
    assert 'data-testid="flow-save"' not in r.text
    assert 'data-testid="flows-readonly-note"' in r.text

    admin = await clients["agent"]("admin")
    r = await admin.http.get("/admin/bots/flows")
    assert r.status_code == 200
    assert 'data-can-edit="true"' in r.text
    assert 'data-testid="flow-save"' in r.text
    assert r.headers["content-language"] == "en"
    spanish = await admin.http.get("/admin/bots/flows?lang=es")
    assert spanish.headers["content-language"] == "es"
    assert '<html lang="es">' in spanish.text
    assert "Flujos de los bots" in spanish.text
    assert "Guardado: versión {version}." in spanish.text  # the script's catalogue, in Spanish

    links = await admin.http.get("/admin")
    assert 'href="/admin/bots/flows"' in links.text
    analytics = await sam.http.get("/admin/bots")
    assert 'href="/admin/bots/flows"' in analytics.text

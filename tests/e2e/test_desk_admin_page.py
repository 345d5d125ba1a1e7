"""The desk administration page and its list API: who gets in, in which language, and what the
list shows (shared replies and the caller's own, never someone else's personal ones)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_who_may_open_the_page_and_in_which_language(server: LiveServer, clients: Clients) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        r = await anonymous.get("/admin/desk")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/admin/desk")

    ana = await clients["agent"]("ana")
    r = await ana.http.get("/admin/desk")
    assert r.status_code == 403
    assert "Desk administration is for supervisors and admins" in r.text
    assert "admin-desk.js" not in r.text

    sam = await clients["agent"]("sam")
    r = await sam.http.get("/admin/desk")
    assert r.status_code == 200
    assert 'id="i18n-catalogue"' in r.text
    assert "admin-desk.js" in r.text
    assert r.headers["content-language"] == "en"
    spanish = await sam.http.get("/admin/desk?lang=es")
    assert spanish.headers["content-language"] == "es"
    assert "Administración del escritorio" in spanish.text
    assert '<html lang="es">' in spanish.text
    # The scripts' catalogue carries the page's script text in Spanish.
    assert "Ponle un título a la respuesta." in spanish.text


async def test_the_list_shows_shared_replies_and_only_the_callers_own(
    server: LiveServer, clients: Clients
) -> None:
    ana, sam = await clients["agent"]("ana"), await clients["agent"]("sam")
    admin = await clients["agent"]("admin")
    assert (await ana.post("/api/v1/quick-replies", title="Ana's own", text="x")).status_code == 201
    assert (await sam.post("/api/v1/quick-replies", title="Sam's own", text="y")).status_code == 201
    r = await sam.post("/api/v1/quick-replies", title="Zebra shared", text="z", shared=True)
    assert r.status_code == 201, r.text
    r = await admin.post("/api/v1/quick-replies", title="Alpha shared", text="a", shared=True)
    assert r.status_code == 201, r.text

    denied = await ana.http.get("/api/v1/admin/quick-replies")
    assert denied.status_code == 403
    listed = (await sam.http.get("/api/v1/admin/quick-replies")).json()
    assert [(x["title"], x["shared"], x["can_edit"]) for x in listed] == [
        ("Alpha shared", True, True),
        ("Zebra shared", True, True),
        ("Sam's own", False, True),
    ]

"""An agent's own quick replies (what "Save as quick reply" in the workspace writes): created
without ``shared``, listed by ``GET /api/v1/me/quick-replies``, found by the ordinary search beside
the shared ones, deleted by their owner only; with the authorisation failures."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_signed_out_callers_get_401(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anon:
        assert (await anon.get("/api/v1/me/quick-replies")).status_code == 401
        assert (await anon.post("/api/v1/quick-replies", json={"title": "x", "text": "y"})).status_code == 401
        assert (await anon.delete("/api/v1/quick-replies/x")).status_code == 401


async def test_an_agent_keeps_and_deletes_replies_of_their_own(server: LiveServer, clients: Clients) -> None:
    sam, ana, ben = [await clients["agent"](n) for n in ("sam", "ana", "ben")]
    shared = (
        await sam.post("/api/v1/quick-replies", title="Returns", text="Returns are free.", shared=True)
    ).json()
    r = await ana.post(
        "/api/v1/quick-replies",
        title="  My returns  ",
        text="Hi {customerName}, returns: {returnsLink}",
        language="en",
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["title"], mine["shared"], mine["owner_id"], mine["can_edit"]) == (
        "My returns",
        False,
        ana.user_id,
        True,
    )
    await ben.post("/api/v1/quick-replies", title="Ben's returns", text="Returns?")

    # Her own list holds only her personal replies; Ben's list only his.
    assert [x["id"] for x in (await ana.http.get("/api/v1/me/quick-replies")).json()] == [mine["id"]]
    assert [x["title"] for x in (await ben.http.get("/api/v1/me/quick-replies")).json()] == ["Ben's returns"]

    # The composer's search finds hers beside the shared one, marked as hers.
    found = (await ana.http.get("/api/v1/quick-replies", params={"q": "returns"})).json()
    assert sorted((x["title"], x["shared"], x["can_edit"]) for x in found) == [
        ("My returns", False, True),
        ("Returns", True, False),
    ]

    # Nobody else deletes it (for them it does not exist), and she cannot delete the shared one.
    r = await ben.http.delete(f"/api/v1/quick-replies/{mine['id']}", headers=ben.headers())
    assert r.status_code == 404
    r = await ana.http.delete(f"/api/v1/quick-replies/{shared['id']}", headers=ana.headers())
    assert r.status_code == 403
    assert "supervisors" in r.json()["detail"]
    assert (await ana.http.delete(f"/api/v1/quick-replies/{mine['id']}")).status_code == 403  # no CSRF token
    assert [x["id"] for x in (await ana.http.get("/api/v1/me/quick-replies")).json()] == [mine["id"]]

    r = await ana.http.delete(f"/api/v1/quick-replies/{mine['id']}", headers=ana.headers())
    assert r.status_code == 204
    assert (await ana.http.get("/api/v1/me/quick-replies")).json() == []
    assert [x["title"] for x in (await ana.http.get("/api/v1/quick-replies?q=returns")).json()] == ["Returns"]


async def test_a_reply_without_title_or_text_gets_422(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    for body, reason in (
        ({"title": "   ", "text": "Hello"}, "title must not be empty"),
        ({"title": "Hi", "text": " \n "}, "text must not be empty"),
        ({"title": "", "text": "Hello"}, "title"),
        ({"title": "x" * 121, "text": "Hello"}, "title"),
        ({"title": "Hi", "text": "Hello", "language": "fr"}, "language"),
    ):
        r = await ana.post("/api/v1/quick-replies", **body)
        assert r.status_code == 422, (body, r.text)
        assert reason in r.json()["detail"], (body, r.json())
    assert (await ana.http.get("/api/v1/me/quick-replies")).json() == []

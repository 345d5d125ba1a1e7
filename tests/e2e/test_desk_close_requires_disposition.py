"""Closing a conversation whose queue requires a disposition code answers 409 until a code is chosen.

The close route (``web/api_agent.py``) calls ``DeskService.check_can_close``; this test fails until
that call is wired in (see docs/WORKSPACE.md, "Disposition codes").
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_closing_without_a_required_disposition_is_refused_with_409(
    server: LiveServer, clients: Clients
) -> None:
    sam, ana = await clients["agent"]("sam"), await clients["agent"]("ana")
    queues = (await sam.http.get("/api/v1/queues")).json()
    sales = next(q["id"] for q in queues if q["name"] == "Sales")
    r = await sam.http.put(
        f"/api/v1/admin/queues/{sales}/disposition-codes",
        json={"required": True, "codes": [{"code": "resolved", "label": "Resolved"}]},
        headers=sam.headers(),
    )
    assert r.status_code == 200, r.text

    ana_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    offer = await ana_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    conv = lee.conversation_id
    assert (await ana.post(f"/api/v1/conversations/{conv}/end")).status_code == 200

    r = await ana.post(f"/api/v1/conversations/{conv}/close")
    assert r.status_code == 409, r.text
    assert "disposition code" in r.json()["detail"]
    state = (await ana.http.get(f"/api/v1/conversations/{conv}")).json()["state"]
    assert state == "wrap_up"  # nothing was closed

    r = await ana.http.put(
        f"/api/v1/conversations/{conv}/disposition", json={"code": "resolved"}, headers=ana.headers()
    )
    assert r.status_code == 200, r.text
    r = await ana.post(f"/api/v1/conversations/{conv}/close")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed"

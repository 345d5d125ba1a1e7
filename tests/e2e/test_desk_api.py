"""The desk API over HTTP: quick replies (who sees and writes what, slugs filled from a live
conversation) and disposition codes (configured by supervisors, chosen by the holder), with the
authorisation failures."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def queue_id(agent: Any, name: str) -> str:
    queues = (await agent.http.get("/api/v1/queues")).json()
    return str(next(q["id"] for q in queues if q["name"] == name))


async def ana_holds_a_chat(clients: Clients, **prechat: Any) -> tuple[Any, str]:
    ana = await clients["agent"]("ana")
    ana_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start(**prechat)
    offer = await ana_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    return ana, lee.conversation_id


async def test_signed_out_callers_get_401(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anon:
        assert (await anon.get("/api/v1/quick-replies")).status_code == 401
        assert (await anon.put("/api/v1/conversations/x/disposition", json={"code": "a"})).status_code == 401


async def test_quick_replies_shared_and_personal(server: LiveServer, clients: Clients) -> None:
    sam, ana, ben = [await clients["agent"](n) for n in ("sam", "ana", "ben")]
    r = await sam.post(
        "/api/v1/quick-replies",
        title="Refund policy",
        text="Hi {customerName}, refunds take 5 days.",
        language="en",
        tags=["billing"],
        shared=True,
    )
    assert r.status_code == 201, r.text
    shared = r.json()
    assert (shared["shared"], shared["owner_id"], shared["can_edit"]) == (True, None, True)
    r = await ana.post("/api/v1/quick-replies", title="Shared?", text="x", shared=True)
    assert r.status_code == 403
    r = await ana.post("/api/v1/quick-replies", title="My refund note", text="I'll check, {customerName}.")
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["shared"], mine["owner_id"], mine["can_edit"]) == (False, ana.user_id, True)
    r = await ana.post("/api/v1/quick-replies", title="Bad", text="x", language="fr")
    assert r.status_code == 422
    assert "language" in r.json()["detail"]

    found = (await ana.http.get("/api/v1/quick-replies", params={"q": "refund"})).json()
    assert [(x["title"], x["can_edit"]) for x in found] == [
        ("Refund policy", False),
        ("My refund note", True),
    ]
    assert [x["title"] for x in (await ben.http.get("/api/v1/quick-replies?q=refund")).json()] == [
        "Refund policy"
    ]
    # Somebody else's personal reply does not exist for Ben, whatever he tries.
    assert (await ben.http.get(f"/api/v1/quick-replies/{mine['id']}")).status_code == 404
    r = await ben.http.patch(
        f"/api/v1/quick-replies/{mine['id']}", json={"title": "Mine"}, headers=ben.headers()
    )
    assert r.status_code == 404
    r = await ana.http.patch(
        f"/api/v1/quick-replies/{shared['id']}", json={"title": "Ours"}, headers=ana.headers()
    )
    assert r.status_code == 403
    r = await sam.http.patch(
        f"/api/v1/quick-replies/{shared['id']}",
        json={"language": "", "expected_version": 1},
        headers=sam.headers(),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["language"], r.json()["version"]) == (None, 2)
    r = await sam.http.patch(
        f"/api/v1/quick-replies/{shared['id']}",
        json={"title": "x", "expected_version": 1},
        headers=sam.headers(),
    )
    assert r.status_code == 409
    assert (
        await ana.http.delete(f"/api/v1/quick-replies/{mine['id']}", headers=ana.headers())
    ).status_code == 204
    assert (await ana.http.get(f"/api/v1/quick-replies/{mine['id']}")).status_code == 404


async def test_a_reply_is_filled_in_for_the_agents_conversation_only(
    server: LiveServer, clients: Clients
) -> None:
    sam = await clients["agent"]("sam")
    r = await sam.post(
        "/api/v1/quick-replies",
        title="Hello",
        text="Hi {customerName}, this is {agentName} from {queue}. Your question: {question} {order}",
        shared=True,
    )
    reply = r.json()
    ana, conv = await ana_holds_a_chat(clients, name="Jane Doe", question="Grey throw?")
    r = await ana.http.get(f"/api/v1/conversations/{conv}/quick-replies/{reply['id']}/rendered")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "text": "Hi Jane Doe, this is Ana García from Sales. Your question: Grey throw? {order}",
        "missing": ["order"],
    }
    ben = await clients["agent"]("ben")
    r = await ben.http.get(f"/api/v1/conversations/{conv}/quick-replies/{reply['id']}/rendered")
    assert r.status_code == 404  # not his conversation


async def test_disposition_codes_are_configured_by_supervisors_and_chosen_by_the_holder(
    server: LiveServer, clients: Clients
) -> None:
    sam, ben = await clients["agent"]("sam"), await clients["agent"]("ben")
    sales = await queue_id(sam, "Sales")
    path = f"/api/v1/admin/queues/{sales}/disposition-codes"
    body = {"required": True, "codes": [{"code": "resolved", "label": "Resolved"}], "expected_version": 0}
    assert (await ben.http.put(path, json=body, headers=ben.headers())).status_code == 403
    assert (await ben.http.get(path)).status_code == 403
    r = await sam.http.put("/api/v1/admin/queues/nope/disposition-codes", json=body, headers=sam.headers())
    assert r.status_code == 404
    bad = {"required": True, "codes": []}
    r = await sam.http.put(path, json=bad, headers=sam.headers())
    assert r.status_code == 422
    assert "at least one code" in r.json()["detail"]
    r = await sam.http.put(path, json=body, headers=sam.headers())
    assert r.status_code == 200, r.text
    assert r.json() == {
        "queue_id": sales,
        "required": True,
        "codes": [{"code": "resolved", "label": "Resolved"}],
        "version": 1,
    }
    assert (await sam.http.put(path, json=body, headers=sam.headers())).status_code == 409  # stale

    ana, conv = await ana_holds_a_chat(clients)
    r = await ana.http.get(f"/api/v1/conversations/{conv}/disposition")
    assert r.json() == {
        "required": True,
        "codes": [{"code": "resolved", "label": "Resolved"}],
        "chosen": None,
    }
    target = f"/api/v1/conversations/{conv}/disposition"
    assert (await ben.http.put(target, json={"code": "resolved"}, headers=ben.headers())).status_code == 404
    r = await ana.http.put(target, json={"code": "unknown"}, headers=ana.headers())
    assert r.status_code == 422
    r = await ana.http.put(target, json={"code": "resolved", "notes": "All good"}, headers=ana.headers())
    assert r.status_code == 200, r.text
    assert (r.json()["code"], r.json()["label"], r.json()["agent_id"]) == (
        "resolved",
        "Resolved",
        ana.user_id,
    )
    chosen = (await ana.http.get(target)).json()["chosen"]
    assert (chosen["code"], chosen["notes"]) == ("resolved", "All good")

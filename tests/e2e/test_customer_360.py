"""Customer 360 over HTTP: profile, history across visits, duplicates and merges, who may see what."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_an_agent_sees_the_customer_and_merges_a_duplicate(
    server: LiveServer, clients: Clients
) -> None:
    ana = await clients["agent"]("ana")
    ana_ws, _ = await ana.connect()
    await ana.presence("available")
    # Lee chats twice from two browsers: two visitor ids, two records with the same typed email.
    first = await clients["customer"]().start(name="Lee García", visitor_id="browser-1")
    offer = await ana_ws.next("offer.created", conversation_id=first.conversation_id)
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    second = await clients["customer"]().start(name="Lee Garcia", visitor_id="browser-2", question="Refund?")
    conv = (await ana.http.get(f"/api/v1/conversations/{first.conversation_id}")).json()
    other = await ana.http.get(f"/api/v1/conversations/{second.conversation_id}")
    assert other.status_code == 200  # not assigned yet, but waiting in her queue: she may read it
    lee = conv["customer_id"]

    profile = (await ana.http.get(f"/api/v1/customers/{lee}")).json()
    assert profile["display_name"] == "Lee García"
    assert profile["email"] == "lee@example.com"
    assert profile["email_verified"] is False
    assert [i["channel"] for i in profile["identities"]] == ["webchat"]

    dupes = (await ana.http.get(f"/api/v1/customers/{lee}/duplicates")).json()
    assert len(dupes) == 1
    assert {"same email", "same full name"} <= set(dupes[0]["reasons"])
    dupe_id = dupes[0]["customer"]["id"]

    r = await ana.post(f"/api/v1/customers/{lee}/merge", other_id=dupe_id)
    assert r.status_code == 200, r.text
    assert len(r.json()["identities"]) == 2
    history = (await ana.http.get(f"/api/v1/customers/{lee}/conversations")).json()
    assert {c["id"] for c in history} == {first.conversation_id, second.conversation_id}  # both Sales
    timeline = (await ana.http.get(f"/api/v1/customers/{lee}/timeline")).json()
    assert [e["ref_id"] for e in timeline] == [second.conversation_id, first.conversation_id]
    transcript = await ana.http.get(
        f"/api/v1/customers/{lee}/conversations/{second.conversation_id}/messages"
    )
    assert [m["text"] for m in transcript.json()] == ["Refund?"]
    old = (await ana.http.get(f"/api/v1/customers/{dupe_id}")).json()
    assert (old["id"], old["merged_from"]) == (lee, dupe_id)


async def test_agents_see_only_history_from_their_queues(server: LiveServer, clients: Clients) -> None:
    ben = await clients["agent"]("ben")  # Support only
    sam = await clients["agent"]("sam")  # supervisor
    lee = await clients["customer"]().start(name="Lee García", visitor_id="b-1")  # Sales
    customer_id = (await sam.http.get(f"/api/v1/conversations/{lee.conversation_id}")).json()["customer_id"]
    assert (await ben.http.get(f"/api/v1/customers/{customer_id}/conversations")).json() == []
    denied = await ben.http.get(
        f"/api/v1/customers/{customer_id}/conversations/{lee.conversation_id}/messages"
    )
    assert denied.status_code == 404
    seen = (await sam.http.get(f"/api/v1/customers/{customer_id}/conversations")).json()
    assert [c["id"] for c in seen] == [lee.conversation_id]


async def test_profile_edits_and_search(server: LiveServer, clients: Clients) -> None:
    sam = await clients["agent"]("sam")
    lee = await clients["customer"]().start(name="Lee García", visitor_id="s-1")
    customer_id = (await sam.http.get(f"/api/v1/conversations/{lee.conversation_id}")).json()["customer_id"]
    bad = await sam.http.patch(
        f"/api/v1/customers/{customer_id}", json={"phone": "12"}, headers=sam.headers()
    )
    assert bad.status_code == 422
    assert "digits" in bad.json()["detail"]
    no_csrf = await sam.http.patch(f"/api/v1/customers/{customer_id}", json={"phone": "+34600111222"})
    assert no_csrf.status_code == 403
    ok = await sam.http.patch(
        f"/api/v1/customers/{customer_id}", json={"phone": "+34 600 111 222"}, headers=sam.headers()
    )
    assert ok.json()["phone"] == "+34600111222"
    found = (await sam.http.get("/api/v1/customers", params={"q": "garc"})).json()
    assert [c["id"] for c in found] == [customer_id]
    assert (await sam.http.get("/api/v1/customers", params={"q": "x"})).status_code == 422
    assert (await sam.http.get("/api/v1/customers/nobody")).status_code == 404


async def test_an_agent_creates_a_customer_by_hand(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    r = await ana.post("/api/v1/customers", display_name="Jane Caller", phone="+44 20 7946 0000")
    assert r.status_code == 201, r.text
    assert (r.json()["phone"], r.json()["phone_verified"]) == ("+442079460000", False)
    assert (await ana.post("/api/v1/customers", display_name=" ")).status_code == 422
    assert (await ana.post("/api/v1/customers", display_name="X", email="nope")).status_code == 422

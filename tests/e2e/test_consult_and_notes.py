"""Consults and internal notes: a colleague helps without capacity; notes never reach the customer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def holding(clients: Clients) -> tuple[Any, Any, Any, Any, Any]:
    """Ana holds Lee's Sales chat; Ben (Support only) is signed in and connected."""
    ana, ben = await clients["agent"]("ana"), await clients["agent"]("ben")
    ana_ws, _ = await ana.connect()
    ben_ws, _ = await ben.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    offer = await ana_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    return ana, ana_ws, ben, ben_ws, lee


async def test_a_consultant_follows_live_reads_history_and_cannot_reply(
    server: LiveServer, clients: Clients
) -> None:
    ana, ana_ws, ben, ben_ws, lee = await holding(clients)
    customer_ws, _ = await lee.connect()
    conv = lee.conversation_id
    await ben.presence("available")

    r = await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)
    assert r.status_code == 201, r.text
    assert [c["agent_id"] for c in r.json()] == [ben.user_id]
    started = await ben_ws.next("consult.started", conversation_id=conv)
    assert started["holder_id"] == ana.user_id
    await ana_ws.next("consult.started", conversation_id=conv)
    # Ben's socket replays the transcript so far, then follows live.
    history = await ben_ws.next("message.posted", conversation_id=conv)
    assert history["seq"] == 1
    assert (await lee.say("my card was charged twice")).status_code == 201
    live = await ben_ws.next("message.posted", text="my card was charged twice")
    assert live["conversation_id"] == conv
    # Read-only for the customer: he whispers to Ana in a note instead.
    r = await ben.post(f"/api/v1/conversations/{conv}/messages", text="hello customer")
    assert r.status_code == 403
    assert "notes" in r.json()["detail"]
    r = await ben.post(f"/api/v1/conversations/{conv}/notes", text="ask for the last 4 digits")
    assert r.status_code == 201, r.text
    note = await ana_ws.next("note.added", conversation_id=conv)
    assert note["text"] == "ask for the last 4 digits"
    assert note["author_id"] == ben.user_id
    listed = await ana.http.get(f"/api/v1/conversations/{conv}/notes")
    assert [n["text"] for n in listed.json()] == ["ask for the last 4 digits"]
    # The customer saw neither the consult nor the note.
    assert (
        await ana.post(f"/api/v1/conversations/{conv}/messages", text="Could you confirm?")
    ).status_code == 201
    reply = await customer_ws.next("message.posted", conversation_id=conv, seq=4)
    assert reply["message"]["text"] == "Could you confirm?"
    seen = [f for f in customer_ws.frames if f.get("type") in ("note.added", "consult.started")]
    assert seen == []


async def test_a_consult_takes_no_capacity_and_ends_when_the_consultant_leaves(
    server: LiveServer, clients: Clients
) -> None:
    ana, _ana_ws, ben, ben_ws, lee = await holding(clients)
    conv = lee.conversation_id
    await ben.presence("available")
    assert (await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)).status_code == 201
    await ben_ws.next("consult.started", conversation_id=conv)
    # Ben still takes his own Support work: the consult used none of his capacity.
    support = await clients["customer"]().start(queue="Support")
    offer = await ben_ws.next("offer.created", conversation_id=support.conversation_id)
    assert offer["queue_name"] == "Support"

    r = await ben.http.delete(f"/api/v1/conversations/{conv}/consults/{ben.user_id}", headers=ben.headers())
    assert r.status_code == 204, r.text
    ended = await ben_ws.next("consult.ended", conversation_id=conv)
    assert ended["reason"] == "consult_ended"
    assert (await ben.http.get(f"/api/v1/conversations/{conv}/messages")).status_code == 404
    again = await ben.http.delete(
        f"/api/v1/conversations/{conv}/consults/{ben.user_id}", headers=ben.headers()
    )
    assert again.status_code == 404


async def test_promoting_the_consultant_hands_the_conversation_over(
    server: LiveServer, clients: Clients
) -> None:
    ana, ana_ws, ben, ben_ws, lee = await holding(clients)
    conv = lee.conversation_id
    await ben.presence("available")
    assert (await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)).status_code == 201
    await ben_ws.next("consult.started", conversation_id=conv)

    r = await ana.post(f"/api/v1/conversations/{conv}/consults/{ben.user_id}/promote")
    assert r.status_code == 200, r.text
    assert r.json()["assigned"] is True
    assert r.json()["conversation"]["agent_id"] == ben.user_id
    assert (await ben_ws.next("consult.ended", conversation_id=conv))["reason"] == "promoted"
    closed = await ana_ws.next("session.closed", conversation_id=conv)
    assert closed["reason"] == "transferred"
    r = await ben.post(f"/api/v1/conversations/{conv}/messages", text="I'll take it from here")
    assert r.status_code == 201, r.text
    r = await ana.post(f"/api/v1/conversations/{conv}/messages", text="me again")
    assert r.status_code == 403  # still in her queue, so she may read it, but it is Ben's now


async def test_only_the_holder_or_a_supervisor_starts_a_consult(server: LiveServer, clients: Clients) -> None:
    ana, _ana_ws, ben, _ben_ws, lee = await holding(clients)
    conv = lee.conversation_id
    chloe = await clients["agent"]("chloe")
    r = await chloe.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)
    assert r.status_code == 403  # a Sales chat: she may read it, but she is not on it
    r = await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)
    assert r.status_code == 409  # an offline colleague cannot be brought in
    assert "offline" in r.json()["detail"]
    await ben.presence("available")
    sam = await clients["agent"]("sam")
    r = await sam.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)
    assert r.status_code == 201, r.text
    r = await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ben.user_id)
    assert r.status_code == 409  # already consulting
    r = await ana.post(f"/api/v1/conversations/{conv}/consults", agent_id=ana.user_id)
    assert r.status_code == 409  # she holds it


async def test_notes_are_idempotent_and_validated(server: LiveServer, clients: Clients) -> None:
    ana, ana_ws, _ben, _ben_ws, lee = await holding(clients)
    conv = lee.conversation_id
    first = await ana.post(f"/api/v1/conversations/{conv}/notes", text="VIP", client_note_id="n-1")
    retry = await ana.post(f"/api/v1/conversations/{conv}/notes", text="VIP", client_note_id="n-1")
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert (await ana.post(f"/api/v1/conversations/{conv}/notes", text="   ")).status_code == 422
    await ana_ws.next("note.added", conversation_id=conv)
    listed = (await ana.http.get(f"/api/v1/conversations/{conv}/notes")).json()
    assert len(listed) == 1

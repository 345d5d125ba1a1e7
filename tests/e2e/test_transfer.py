"""Agents hand conversations on: to another queue, or to one colleague, through routing."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, routing_settled

Clients = dict[str, Any]


async def accepted_by(agent: Any, ws: Any, lee: Any) -> None:
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await agent.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200


async def test_transfer_to_a_queue(server: LiveServer, clients: Clients) -> None:
    ana, ben = await clients["agent"]("ana"), await clients["agent"]("ben")
    ana_ws, snapshot = await ana.connect()
    ben_ws, _ = await ben.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()  # Sales: only Ana is in Sales and available
    customer_ws, _ = await lee.connect()
    await accepted_by(ana, ana_ws, lee)
    await ben.presence("available")
    support = next(q["id"] for q in snapshot["queues"] if q["name"] == "Support")

    r = await ana.post(
        f"/api/v1/conversations/{lee.conversation_id}/transfer", queue_id=support, note="billing question"
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    closed = await ana_ws.next("session.closed", conversation_id=lee.conversation_id)
    assert closed["reason"] == "transferred"
    offer = await ben_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["queue_name"] == "Support"
    await ben.post(f"/api/v1/offers/{offer['session_id']}/accept")
    said = [m["message"]["text"] for m in await customer_ws.messages_until(lee.conversation_id, 4)]
    assert "Ana García transferred the conversation to Support." in said
    assert said[-1] == "Ben Okafor joined the conversation."
    # Ana's note travels with it, for Ben only (an internal note, not a message to the customer).
    notes = (await ben.http.get(f"/api/v1/conversations/{lee.conversation_id}/notes")).json()
    assert [n["text"] for n in notes] == ["Transfer note: billing question"]
    assert not any("billing question" in text for text in said)
    # Ana no longer holds it: she cannot write into it.
    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/messages", text="still me?")
    assert r.status_code == 403  # Support is her queue too: she may read it, not write


async def test_transfer_to_a_colleague_who_declines_goes_back_to_the_queue(
    server: LiveServer, clients: Clients
) -> None:
    ana, chloe = await clients["agent"]("ana"), await clients["agent"]("chloe")
    ana_ws, _ = await ana.connect()
    chloe_ws, _ = await chloe.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    await accepted_by(ana, ana_ws, lee)
    await chloe.presence("available")
    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/transfer", agent_id=chloe.user_id)
    assert r.status_code == 200, r.text
    offer = await chloe_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await chloe.post(f"/api/v1/offers/{offer['session_id']}/reject")).status_code == 204
    await routing_settled(server)
    back = await ana_ws.next("offer.created", conversation_id=lee.conversation_id)  # the queue routes it
    assert back["queue_name"] == "Sales"


async def test_only_the_holder_transfers(server: LiveServer, clients: Clients) -> None:
    ana, chloe = await clients["agent"]("ana"), await clients["agent"]("chloe")
    ana_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    await accepted_by(ana, ana_ws, lee)
    r = await chloe.post(f"/api/v1/conversations/{lee.conversation_id}/transfer", agent_id=chloe.user_id)
    assert r.status_code == 403  # in her queue (Sales): she may read it, not transfer it
    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/transfer")
    assert r.status_code == 422

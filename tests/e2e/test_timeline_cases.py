"""The customer's timeline over HTTP: case changes (status, priority, owner, resolution, links) and
calls reported by the CCaaS appear beside conversations, newest first, for those who may see them."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Agent, Customer, LiveServer
from tests.e2e.voice_support import create_provider, eventually, post_generic
from tests.unit.voice.adapters.generic import golden as generic

Clients = dict[str, Any]
CALLER = "+15558675310"  # the caller of the generic adapter's full_call.json


async def chat_with(agent: Agent, customer: Customer, question: str) -> str:
    ws, _ = await agent.connect()
    await agent.presence("available")
    await customer.start(question=question)
    offer = await ws.next("offer.created", conversation_id=customer.conversation_id)
    r = await agent.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 200, r.text
    return customer.conversation_id


async def timeline(agent: Agent, customer_id: str) -> list[dict[str, Any]]:
    r = await agent.http.get(f"/api/v1/customers/{customer_id}/timeline", params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_case_changes_join_the_customer_timeline(server: LiveServer, clients: Clients) -> None:
    ana, ben, lee = await clients["agent"]("ana"), await clients["agent"]("ben"), clients["customer"]()
    conv_id = await chat_with(ana, lee, "My parcel never arrived")
    r = await ana.post(f"/api/v1/conversations/{conv_id}/cases")
    assert r.status_code == 201, r.text
    case = r.json()

    # Made from the chat: the link made with it is not repeated as a change.
    before = await timeline(ana, case["customer_id"])
    assert [e["kind"] for e in before if e["kind"].startswith("case")] == ["case"]

    await server.clock.advance(5)
    r = await ana.http.patch(
        f"/api/v1/cases/{case['id']}",
        json={"status": "active", "priority": "high", "owner_id": ben.user_id, "expected_version": 1},
        headers=ana.headers(),
    )
    assert r.status_code == 200, r.text
    await server.clock.advance(5)
    r = await ana.post(
        f"/api/v1/cases/{case['id']}/resolve",
        resolution="Sent a replacement",
        resolution_type="solved",
        expected_version=2,
    )
    assert r.status_code == 200, r.text
    await server.clock.advance(5)
    r = await ana.http.delete(f"/api/v1/cases/{case['id']}/conversations/{conv_id}", headers=ana.headers())
    assert r.status_code == 200, r.text

    entries = await timeline(ana, case["customer_id"])
    changes = [e for e in entries if e["kind"] == "case_change"]
    assert [c["details"]["type"] for c in changes] == ["case.unlinked", "case.resolved", "case.updated"]
    unlinked, resolved, edited = changes
    assert unlinked["title"] == f"{case['number']}: unlinked from a conversation"
    assert unlinked["details"]["conversation_id"] == conv_id
    assert unlinked["state"] is None
    assert resolved["title"] == f"{case['number']}: resolved (solved) — Sent a replacement"
    assert resolved["state"] == "resolved"
    assert edited["title"] == (
        f"{case['number']}: status new → active; priority normal → high; owner Ana García → Ben Okafor"
    )
    assert edited["state"] == "active"
    assert edited["details"]["changes"]["owner_id"] == {"from": ana.user_id, "to": ben.user_id}
    assert edited["details"]["actor_id"] == ana.user_id
    assert all(c["ref_id"] == case["id"] for c in changes)
    # Newest first, and the case entry itself keeps the case's current status.
    moments = [e["at"] for e in entries]
    assert moments == sorted(moments, reverse=True)
    assert unlinked["at"] > resolved["at"] > edited["at"]
    [case_entry] = [e for e in entries if e["kind"] == "case"]
    assert case_entry["state"] == "resolved"

    # The limit applies to the merged timeline.
    r = await ana.http.get(f"/api/v1/customers/{case['customer_id']}/timeline", params={"limit": 2})
    assert [e["details"].get("type") for e in r.json()] == ["case.unlinked", "case.resolved"]


async def test_calls_from_the_ccaas_join_the_timeline_for_those_who_see_them(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    provider = await create_provider(ada, features=["transcripts", "recordings"])
    assert (await post_generic(server, provider, generic.document("full_call.json"))).status_code == 200

    async def known() -> bool:
        r = await sam.http.get("/api/v1/customers", params={"q": CALLER})
        return any(c["phone"] == CALLER for c in r.json())

    await eventually(known)
    found = (await sam.http.get("/api/v1/customers", params={"q": CALLER})).json()
    [customer] = [c for c in found if c["phone"] == CALLER]

    entries = await timeline(sam, customer["id"])
    [call] = [e for e in entries if e["kind"] == "call"]
    [voice] = [e for e in entries if e["kind"] == "conversation" and e["channel"] == "voice"]
    assert call["title"] == f"Inbound call from {CALLER}"
    assert call["at"].startswith("2026-01-06T09:00:00")  # when the provider offered it
    assert call["details"]["call_id"] == "sim-call-0001"
    assert call["details"]["direction"] == "inbound"
    assert call["details"]["conversation_id"] == voice["ref_id"]
    assert call["details"]["ended_at"] is not None
    assert call["details"]["end_reason"] == "customer_hangup"
    stored = (await sam.http.get(f"/api/v1/voice/conversations/{voice['ref_id']}/call")).json()
    assert (call["details"]["outcome"], call["details"]["call_state"]) == (stored["outcome"], stored["state"])
    assert call["state"] == (stored["outcome"] or stored["state"])

    # An agent sees the call exactly when they may see its conversation.
    for name in ("ana", "ben", "chloe"):
        agent = await clients["agent"](name)
        theirs = await timeline(agent, customer["id"])
        sees_conversation = any(e["ref_id"] == voice["ref_id"] for e in theirs)
        sees_call = any(e["kind"] == "call" for e in theirs)
        assert sees_call == sees_conversation, name

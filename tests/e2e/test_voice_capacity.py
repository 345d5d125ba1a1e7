"""An agent on a call is busy for routing: the answered call is work that uses the agent's voice
capacity, chats wait until the call's wrap-up is over, and the agent's disposition closes it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer, routing_settled
from tests.e2e.voice_support import create_provider, link, post_generic
from tests.unit.voice.adapters.twilio_voice import golden as twilio

Clients = dict[str, Any]
CALL = "sim-call-cap"


def event(n: int, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{CALL}-{n}",
        "call_id": CALL,
        "kind": kind,
        "occurred_at": f"2026-01-05T{at}Z",
        **fields,
    }


async def test_a_call_holds_chats_back_until_its_wrap_up_is_done(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam, chloe = [await clients["agent"](n) for n in ("admin", "sam", "chloe")]
    config = {
        "capacity_profiles": [
            {
                "id": "one-thing",
                "name": "One thing at a time",
                "total_units": 1,
                "channel_units": {"voice": 1, "webchat": 1},
            }
        ]
    }
    r = await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    assert r.status_code == 200, r.text
    r = await sam.http.put(
        f"/api/v1/admin/agents/{chloe.user_id}/capacity-profile",
        json={"profile": "one-thing"},
        headers=sam.headers(),
    )
    assert r.status_code == 200, r.text
    provider = await create_provider(ada, features=["transcripts"])
    await link(ada, provider, chloe.user_id, "agent-chloe")
    ws, _ = await chloe.connect()
    await chloe.presence("available")

    answered = [
        event(1, "offered", "09:00:00", direction="inbound", **{"from": "+15558675310"}, queue="Sales"),
        event(2, "ringing", "09:00:20", agent_id="agent-chloe"),
        event(3, "answered", "09:00:25", agent_id="agent-chloe"),
    ]
    assert (await post_generic(server, provider, {"events": answered})).json()["new"] == 3
    await routing_settled(server)
    mine = (await chloe.http.get("/api/v1/conversations")).json()
    [call_conv] = [c for c in mine if c["channel"] == "voice"]
    assert (call_conv["state"], call_conv["agent_id"]) == ("active", chloe.user_id)
    call = (await chloe.http.get(f"/api/v1/voice/conversations/{call_conv['id']}/call")).json()
    assert (call["state"], call["agent_id"], call["provider_agent_id"]) == (
        "connected",
        chloe.user_id,
        "agent-chloe",
    )

    # While they talk, transcript turns are the customer's and Chloé's own messages.
    live_turns = event(
        4,
        "transcript_available",
        "09:01:00",
        transcript=[
            {"speaker": "customer", "text": "Is my parcel lost?", "start": 1.0, "end": 2.0},
            {"speaker": "agent", "text": "Let me look.", "start": 2.5, "end": 3.0},
        ],
    )
    await post_generic(server, provider, live_turns)
    messages = (await chloe.http.get(f"/api/v1/conversations/{call_conv['id']}/messages")).json()
    kinds = {m["text"]: (m["sender_kind"], m["sender_name"]) for m in messages}
    assert kinds["Is my parcel lost?"][0] == "customer"
    assert kinds["Let me look."] == ("agent", "Chloé Martin")

    lee = await clients["customer"]().start(name="Lee", queue="Sales")
    await routing_settled(server)
    assert (await chloe.http.get("/api/v1/offers")).json() == []  # on the phone: the chat waits

    await post_generic(server, provider, event(5, "ended", "09:04:00", end_reason="customer_hangup"))
    await routing_settled(server)
    conv = (await chloe.http.get(f"/api/v1/conversations/{call_conv['id']}")).json()
    assert conv["state"] == "wrap_up"
    assert (await chloe.http.get("/api/v1/offers")).json() == []  # wrap-up keeps the capacity

    done = await chloe.http.put(
        f"/api/v1/voice/calls/{call['id']}/disposition",
        json={"disposition": "resolved", "notes": "Parcel found.", "wrap_up_done": True},
        headers=chloe.headers(),
    )
    assert done.status_code == 200, done.text
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["agent_id"] == chloe.user_id
    closed = (await chloe.http.get(f"/api/v1/voice/calls/{call['id']}")).json()
    assert (closed["disposition"], closed["disposition_by"]) == ("resolved", chloe.user_id)


async def test_a_twilio_call_answered_in_alices_browser_is_anas_conversation(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana = await clients["agent"]("admin"), await clients["agent"]("ana")
    provider = await create_provider(
        ada, name="Twilio", kind="twilio_voice", webhook_secret=twilio.AUTH_TOKEN, features=["recordings"]
    )
    await link(ada, provider, ana.user_id, "alice")  # Twilio Client identity "alice" is Ana
    await ana.presence("available")

    async def callback(name: str) -> None:
        raw = twilio.body(name)
        async with httpx.AsyncClient() as http:
            r = await http.post(
                provider.webhook_url, content=raw, headers=twilio.headers(raw, provider.webhook_url)
            )
        assert r.status_code == 200, r.text

    for name in ("inbound_in_progress.txt", "dial_leg_ringing.txt", "dial_leg_answered.txt"):
        await callback(name)
    await routing_settled(server)
    [conv] = [c for c in (await ana.http.get("/api/v1/conversations")).json() if c["channel"] == "voice"]
    assert (conv["state"], conv["agent_id"], conv["subject"]) == (
        "active",
        ana.user_id,
        f"Call from {twilio.CUSTOMER}",
    )

    await callback("inbound_completed.txt")
    await callback("recording_completed.txt")
    call = (await ana.http.get(f"/api/v1/voice/conversations/{conv['id']}/call")).json()
    assert (call["state"], call["outcome"], call["provider_agent_id"]) == ("wrap_up", "answered", "alice")
    assert call["recording_url"] is not None
    assert (await ana.http.get(f"/api/v1/conversations/{conv['id']}")).json()["state"] == "wrap_up"

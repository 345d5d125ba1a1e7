"""Omniroute routes the calls (feature ``routes_calls``): the provider asks which agent should take a
queued call, the routing leader reserves one (an offer that holds the agent's capacity), and the
provider's answered / rejected / silent reservation moves routing on. Also: capacity follows the
folded call (a call answered and ended in one delivery, a warm transfer inside one call id)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa

from omniroute.conversations.store import conversations
from omniroute.voice.adapters.generic import signing
from tests.e2e.conftest import Agent, LiveServer, routing_settled
from tests.e2e.voice_support import (
    PresenceDouble,
    ProviderHandle,
    create_provider,
    eventually,
    link,
    post_generic,
)

Clients = dict[str, Any]
CALLER = "+15558675310"
ONE_THING = {
    "capacity_profiles": [
        {
            "id": "one-thing",
            "name": "One thing",
            "total_units": 1,
            "channel_units": {"voice": 1, "webchat": 1},
        }
    ]
}


def event(call: str, n: int, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"{call}-{n}",
        "call_id": call,
        "kind": kind,
        "occurred_at": f"2026-01-05T{at}Z",
        **fields,
    }


async def one_thing_at_a_time(ada: Agent, sam: Agent, *agents: Agent) -> None:
    r = await ada.http.put("/api/v1/admin/routing-config", json={"config": ONE_THING}, headers=ada.headers())
    assert r.status_code == 200, r.text
    for agent in agents:
        r = await sam.http.put(
            f"/api/v1/admin/agents/{agent.user_id}/capacity-profile",
            json={"profile": "one-thing"},
            headers=sam.headers(),
        )
        assert r.status_code == 200, r.text


async def routing_provider(ada: Agent, presence_url: str | None, *agents: Agent) -> ProviderHandle:
    fields: dict[str, Any] = {"features": ["routes_calls"]}
    if presence_url:
        fields["presence_url"] = presence_url
    provider = await create_provider(ada, **fields)
    for agent in agents:
        await link(ada, provider, agent.user_id, f"ext-{agent.user_id}")
    return provider


async def ask(
    server: LiveServer,
    provider: ProviderHandle,
    call: str,
    body: dict[str, Any] | None = None,
    token: str = "",
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            f"/api/v1/voice/providers/{provider.id}/calls/{call}/route",
            json=body if body is not None else {"queue": "Sales", "from": CALLER, "ivr_data": {"menu": "1"}},
            headers={"Authorization": f"Bearer {token or provider.api_token}"},
        )


async def status(server: LiveServer, provider: ProviderHandle, call: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.get(
            f"/api/v1/voice/providers/{provider.id}/calls/{call}/route",
            headers={"Authorization": f"Bearer {provider.api_token}"},
        )


async def reject(server: LiveServer, provider: ProviderHandle, call: str, reservation: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            f"/api/v1/voice/providers/{provider.id}/calls/{call}/reservation/reject",
            json={"reservation_id": reservation},
            headers={"Authorization": f"Bearer {provider.api_token}"},
        )


async def voice_conversations(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        found = await conn.execute(sa.select(sa.func.count()).where(conversations.c.channel == "voice"))
    return int(found.scalar_one())


async def test_a_reserved_agent_answers_and_the_reservation_becomes_the_call(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam, chloe = [await clients["agent"](n) for n in ("admin", "sam", "chloe")]
    await one_thing_at_a_time(ada, sam, chloe)
    async with PresenceDouble().running() as double:
        provider = await routing_provider(ada, double.url, chloe)
        ws, _ = await chloe.connect()
        await chloe.presence("available")

        first = await ask(server, provider, "call-1")
        assert first.status_code == 200, first.text
        reserved = first.json()
        assert reserved["status"] == "reserved"
        assert reserved["agent"] == {
            "user_id": chloe.user_id,
            "agent_id": f"ext-{chloe.user_id}",
            "name": "Chloé Martin",
        }
        assert reserved["reservation_expires_at"] is not None
        # A retry (the provider's HTTP client timed out) is the same reservation, not a new call.
        again = await ask(server, provider, "call-1")
        assert again.status_code == 200
        assert again.json()["reservation_id"] == reserved["reservation_id"]
        assert await voice_conversations(server) == 1

        # The reservation holds Chloé's only unit: a chat waits.
        lee = await clients["customer"]().start(name="Lee", queue="Sales")
        await routing_settled(server)
        offers = (await chloe.http.get("/api/v1/offers")).json()
        assert [o["conversation_id"] for o in offers] == [reserved["conversation_id"]]

        ext = f"ext-{chloe.user_id}"
        answered = [
            event("call-1", 1, "offered", "09:00:00", direction="inbound", **{"from": CALLER}, queue="Sales"),
            event("call-1", 2, "ringing", "09:00:05", agent_id=ext),
            event("call-1", 3, "answered", "09:00:09", agent_id=ext),
        ]
        assert (await post_generic(server, provider, {"events": answered})).status_code == 200
        await routing_settled(server)
        now = (await status(server, provider, "call-1")).json()
        assert (now["status"], now["agent"]["user_id"]) == ("connected", chloe.user_id)
        conv = (await chloe.http.get(f"/api/v1/conversations/{reserved['conversation_id']}")).json()
        assert (conv["state"], conv["agent_id"]) == ("active", chloe.user_id)
        assert (await chloe.http.get("/api/v1/offers")).json() == []  # on the call: the chat still waits

        # The call ends and its wrap-up is done: the chat reaches Chloé.
        done = [
            event("call-1", 4, "ended", "09:03:00", end_reason="completed"),
            event("call-1", 5, "wrapup_done", "09:03:30", disposition="resolved"),
        ]
        await post_generic(server, provider, {"events": done})
        offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
        assert offer["agent_id"] == chloe.user_id

        # The provider heard of the reservation and the assignment, signed like the generic adapter.
        async def heard() -> bool:
            return {"call.reserved", "call.assigned"} <= {
                json.loads(body)["type"] for _, body in double.received
            }

        await eventually(heard)
        headers, body = next((h, b) for h, b in double.received if json.loads(b)["type"] == "call.reserved")
        signing.verify(provider.secret, body, headers["x-omniroute-signature"], server.clock.now())
        notice = json.loads(body)
        assert (notice["call_id"], notice["reservation_id"], notice["agent_id"]) == (
            "call-1",
            reserved["reservation_id"],
            ext,
        )
        assert headers["x-omniroute-event"] == "call.reserved"


async def test_a_reservation_that_times_out_or_is_rejected_goes_to_the_next_agent(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana, chloe = [await clients["agent"](n) for n in ("admin", "ana", "chloe")]
    provider = await routing_provider(ada, None, ana, chloe)
    await ana.presence("available")
    await chloe.presence("available")
    names = {ana.user_id: ana, chloe.user_id: chloe}

    first = (await ask(server, provider, "call-2")).json()
    assert first["status"] == "reserved"
    held_by = first["agent"]["user_id"]
    other = next(a for a in names if a != held_by)

    r = await reject(server, provider, "call-2", first["reservation_id"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert (second["status"], second["agent"]["user_id"]) == ("reserved", other)
    # Rejecting the same reservation again changes nothing.
    repeat = await reject(server, provider, "call-2", first["reservation_id"])
    assert repeat.json()["reservation_id"] == second["reservation_id"]

    # Nobody answers the second reservation in time: that agent misses it and the call moves on.
    await server.clock.advance(61)
    await routing_settled(server)
    third = (await status(server, provider, "call-2")).json()
    assert third["status"] == "reserved"
    assert third["agent"]["user_id"] == held_by
    assert third["reservation_id"] not in (first["reservation_id"], second["reservation_id"])
    me = (await names[other].http.get("/api/v1/me")).json()
    assert me["presence"] == "inactive"


async def test_nobody_available_queues_the_call_and_a_notice_follows(
    server: LiveServer, clients: Clients
) -> None:
    ada, chloe = await clients["agent"]("admin"), await clients["agent"]("chloe")
    async with PresenceDouble().running() as double:
        provider = await routing_provider(ada, double.url, chloe)
        waiting = await ask(server, provider, "call-3")
        assert waiting.status_code == 202, waiting.text
        body = waiting.json()
        assert (body["status"], body["agent"], body["position"]) == ("queued", None, 1)
        assert body["reservation_id"] is None

        await chloe.presence("available")
        await routing_settled(server)

        async def reserved_notice() -> bool:
            return any(json.loads(b)["type"] == "call.reserved" for _, b in double.received)

        await eventually(reserved_notice)
        notice = next(json.loads(b) for _, b in double.received if json.loads(b)["type"] == "call.reserved")
        assert notice["agent_id"] == f"ext-{chloe.user_id}"
        now = (await status(server, provider, "call-3")).json()
        assert (now["status"], now["reservation_id"]) == ("reserved", notice["reservation_id"])

        # The caller hangs up before anyone answers: the reservation is released.
        gone = event("call-3", 1, "ended", "09:00:30", end_reason="customer_hangup")
        assert (await post_generic(server, provider, gone)).status_code == 200
        await routing_settled(server)
        assert (await status(server, provider, "call-3")).json()["status"] == "ended"
        assert (await chloe.http.get("/api/v1/offers")).json() == []

        async def released() -> bool:
            return any(json.loads(b)["type"] == "call.reservation_ended" for _, b in double.received)

        await eventually(released)


async def test_route_requests_are_checked(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    plain = await create_provider(ada, name="No routing")
    assert (await ask(server, plain, "call-4")).status_code == 403  # routes_calls is off
    provider = await routing_provider(ada, None)
    assert (await ask(server, provider, "call-4", token="omv_not-a-token")).status_code == 401
    other = (await ask(server, provider, "x", token=plain.api_token)).status_code
    assert other == 403  # another provider's token
    bad = await ask(server, provider, "call-4", {"from": "5558675310"})
    assert bad.status_code == 422
    assert "E.164" in bad.text
    assert (await ask(server, provider, "call-4", {"skills": {"french": 99}})).status_code == 422
    assert (await status(server, provider, "never-routed")).status_code == 404
    ended = [event("call-5", 1, "offered", "09:00:00"), event("call-5", 2, "ended", "09:00:10")]
    await post_generic(server, provider, {"events": ended})
    assert (await ask(server, provider, "call-5")).status_code == 409
    assert await voice_conversations(server) == 1  # the ended call's record only


async def test_a_call_answered_and_ended_in_one_delivery_still_takes_its_wrap_up(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam, chloe = [await clients["agent"](n) for n in ("admin", "sam", "chloe")]
    await one_thing_at_a_time(ada, sam, chloe)
    provider = await create_provider(ada)
    await link(ada, provider, chloe.user_id, "agent-chloe")
    ws, _ = await chloe.connect()
    await chloe.presence("available")
    whole = [
        event("call-6", 1, "offered", "09:00:00", **{"from": CALLER}),
        event("call-6", 2, "answered", "09:00:10", agent_id="agent-chloe"),
        event("call-6", 3, "ended", "09:01:00", end_reason="completed"),
    ]
    assert (await post_generic(server, provider, {"events": whole})).status_code == 200
    await routing_settled(server)
    [conv] = [c for c in (await chloe.http.get("/api/v1/conversations")).json() if c["channel"] == "voice"]
    assert (conv["state"], conv["agent_id"]) == ("wrap_up", chloe.user_id)

    lee = await clients["customer"]().start(name="Lee", queue="Sales")
    await routing_settled(server)
    assert (await chloe.http.get("/api/v1/offers")).json() == []  # the wrap-up holds her unit

    call = (await chloe.http.get(f"/api/v1/voice/conversations/{conv['id']}/call")).json()
    r = await chloe.http.put(
        f"/api/v1/voice/calls/{call['id']}/disposition",
        json={"disposition": "resolved", "wrap_up_done": True},
        headers=chloe.headers(),
    )
    assert r.status_code == 200, r.text
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["agent_id"] == chloe.user_id


async def test_a_warm_transfer_inside_one_call_moves_the_capacity(
    server: LiveServer, clients: Clients
) -> None:
    ada, sam, ana, chloe = [await clients["agent"](n) for n in ("admin", "sam", "ana", "chloe")]
    await one_thing_at_a_time(ada, sam, ana, chloe)
    provider = await create_provider(ada)
    await link(ada, provider, ana.user_id, "agent-ana")
    await link(ada, provider, chloe.user_id, "agent-chloe")
    ana_ws, _ = await ana.connect()
    await ana.presence("available")
    await chloe.presence("available")
    first = [
        event("call-7", 1, "offered", "09:00:00", **{"from": CALLER}, queue="Sales"),
        event("call-7", 2, "answered", "09:00:10", agent_id="agent-ana"),
    ]
    await post_generic(server, provider, {"events": first})
    await routing_settled(server)
    [conv] = [c for c in (await ana.http.get("/api/v1/conversations")).json() if c["channel"] == "voice"]

    # Chloé takes over inside the same call id: the call is hers now, and Ana is free again.
    await post_generic(server, provider, event("call-7", 3, "answered", "09:02:00", agent_id="agent-chloe"))
    await routing_settled(server)
    moved = (await chloe.http.get(f"/api/v1/conversations/{conv['id']}")).json()
    assert (moved["state"], moved["agent_id"]) == ("active", chloe.user_id)
    # Ana may still read it (a conversation of her queue) but it is no longer hers to act on.
    assert (await ana.http.get(f"/api/v1/conversations/{conv['id']}")).json()["agent_id"] == chloe.user_id
    assert (await ana.post(f"/api/v1/conversations/{conv['id']}/end")).status_code == 403

    lee = await clients["customer"]().start(name="Lee", queue="Sales")
    offer = await ana_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["agent_id"] == ana.user_id
    assert (await chloe.http.get("/api/v1/offers")).json() == []

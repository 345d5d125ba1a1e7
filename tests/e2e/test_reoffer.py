"""Reject and timeout re-offer to another agent, never back to one who declined this attempt."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, routing_settled

Clients = dict[str, Any]


async def _support_team(clients: Clients) -> tuple[Any, Any, Any, Any]:
    ana, ben = await clients["agent"]("ana"), await clients["agent"]("ben")
    ana_ws, _ = await ana.connect()
    ben_ws, _ = await ben.connect()
    await ana.presence("available")
    await ben.presence("available")
    return ana, ana_ws, ben, ben_ws


async def test_rejected_offer_goes_to_the_next_agent_and_not_back(
    server: LiveServer, clients: Clients
) -> None:
    ana, ana_ws, ben, ben_ws = await _support_team(clients)
    agents = {ana.user_id: (ana, ana_ws), ben.user_id: (ben, ben_ws)}
    lee = await clients["customer"]().start(queue="Support")
    sessions: list[str] = []
    declines = {ana.user_id: 0, ben.user_id: 0}
    # Each decline sends the chat to whoever declined it least; after three declines each
    # (the default decline limit) nobody is offered it any more.
    for _ in range(6):
        await routing_settled(server)
        holders = [a for a, (person, _) in agents.items() if (await person.http.get("/api/v1/offers")).json()]
        assert len(holders) == 1, "exactly one pending offer at a time"
        holder = holders[0]
        other = next(a for a in agents if a != holder)
        assert declines[holder] <= declines[other], "never back to whoever declined more"
        person, ws = agents[holder]
        offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
        sessions.append(offer["session_id"])
        r = await person.post(f"/api/v1/offers/{offer['session_id']}/reject")
        assert r.status_code == 204
        declines[holder] += 1
    await routing_settled(server)
    assert declines == {ana.user_id: 3, ben.user_id: 3}
    assert (await ana.http.get("/api/v1/offers")).json() == []
    assert (await ben.http.get("/api/v1/offers")).json() == []
    again = await ana.post(f"/api/v1/offers/{sessions[-1]}/reject")
    assert again.status_code in (403, 409)  # not pending any more (or not hers)


async def test_offer_times_out_and_moves_on(server: LiveServer, clients: Clients) -> None:
    ana, ana_ws, ben, ben_ws = await _support_team(clients)
    lee = await clients["customer"]().start(queue="Support")
    sockets = {ana.user_id: ana_ws, ben.user_id: ben_ws}
    first_ws, second_ws = sockets[min(sockets)], sockets[max(sockets)]
    offer = await first_ws.next("offer.created", conversation_id=lee.conversation_id)

    await server.clock.advance(59)
    assert (await ana.http.get("/api/v1/offers")).json() + (await ben.http.get("/api/v1/offers")).json() != []
    await server.clock.advance(2)
    timed_out = await first_ws.next("offer.closed", session_id=offer["session_id"])
    assert timed_out["reason"] == "timed_out"
    reoffer = await second_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert reoffer["session_id"] != offer["session_id"]


async def test_accepting_after_expiry_is_refused(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    await server.container.timers.stop()  # the timer is late; the deadline still holds
    await server.clock.advance(61)
    r = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 409
    assert r.json()["detail"] == "the offer has expired"


async def test_offline_agents_get_nothing_and_going_available_pulls_work(
    server: LiveServer, clients: Clients
) -> None:
    chloe = await clients["agent"]("chloe")
    ws, _ = await chloe.connect()
    lee = await clients["customer"]().start()  # Sales; nobody available yet
    await chloe.presence("available")
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    await chloe.presence("offline")
    withdrawn = await ws.next("offer.closed", session_id=offer["session_id"])
    assert withdrawn["reason"] == "withdrawn"


async def test_capacity_limits_concurrent_offers(server: LiveServer, clients: Clients) -> None:
    chloe = await clients["agent"]("chloe")
    ws, _ = await chloe.connect()
    await chloe.presence("available")
    customers = [await clients["customer"]().start(name=f"C{i}") for i in range(4)]
    offers = [await ws.next("offer.created") for _ in range(3)]  # default capacity is 3
    assert {o["conversation_id"] for o in offers} == {c.conversation_id for c in customers[:3]}
    await routing_settled(server)
    assert len((await chloe.http.get("/api/v1/offers")).json()) == 3  # the fourth waits
    # Accepting keeps the capacity taken; only closing the first chat frees room for the fourth.
    first = offers[0]["conversation_id"]
    assert (await chloe.post(f"/api/v1/offers/{offers[0]['session_id']}/accept")).status_code == 200
    await routing_settled(server)
    assert len((await chloe.http.get("/api/v1/offers")).json()) == 2
    assert (await chloe.post(f"/api/v1/conversations/{first}/end")).json()["state"] == "wrap_up"
    await routing_settled(server)
    assert len((await chloe.http.get("/api/v1/offers")).json()) == 2  # wrap-up still holds capacity
    assert (await chloe.post(f"/api/v1/conversations/{first}/close")).json()["state"] == "closed"
    fourth = await ws.next("offer.created")
    assert fourth["conversation_id"] == customers[3].conversation_id


async def test_routing_carries_on_after_a_refused_command(server: LiveServer, clients: Clients) -> None:
    """A refusal (someone else's offer, a stale accept) answers the caller and nothing else:
    the next commands are routed as usual, on the same node, without a restart."""
    ana, ana_ws, ben, ben_ws = await _support_team(clients)
    sockets = {ana.user_id: (ana, ana_ws), ben.user_id: (ben, ben_ws)}
    lee = await clients["customer"]().start(queue="Support")
    await routing_settled(server)
    holders = [a for a, (person, _) in sockets.items() if (await person.http.get("/api/v1/offers")).json()]
    assert len(holders) == 1
    holder = holders[0]
    other = next(a for a in sockets if a != holder)
    person, ws = sockets[holder]
    outsider, _ = sockets[other]
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)

    stolen = await outsider.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert stolen.status_code == 403
    unknown = await outsider.post("/api/v1/offers/no-such-offer/reject")
    assert unknown.status_code == 404

    taken = await person.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert taken.status_code == 200, taken.text
    again = await person.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert again.status_code == 409  # not pending any more

    # New work still reaches the other agent: routing did not stop after the refusals.
    kim = await clients["customer"]().start(queue="Support")
    _, other_ws = sockets[other]
    second = await other_ws.next("offer.created", conversation_id=kim.conversation_id)
    accepted = await outsider.post(f"/api/v1/offers/{second['session_id']}/accept")
    assert accepted.status_code == 200, accepted.text

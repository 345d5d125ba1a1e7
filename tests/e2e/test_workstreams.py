"""Workstreams shape how work is routed: pick mode, allowed presences, keeping the same agent;
customers see their place in the queue."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer, routing_settled

Clients = dict[str, Any]


async def configure(clients: Clients, workstream: dict[str, Any]) -> None:
    ada = await clients["agent"]("admin")
    r = await ada.http.put(
        "/api/v1/admin/routing-config", json={"config": {"workstreams": [workstream]}}, headers=ada.headers()
    )
    assert r.status_code == 200, r.text


async def test_pick_mode_waits_for_an_agent_to_take_the_work(server: LiveServer, clients: Clients) -> None:
    await configure(clients, {"id": "chat", "name": "Chat", "channels": ["webchat"], "mode": "pick"})
    ana = await clients["agent"]("ana")
    ws, snapshot = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    await routing_settled(server)
    assert (await ana.http.get("/api/v1/offers")).json() == []  # nothing is pushed in pick mode
    sales = next(q["id"] for q in snapshot["queues"] if q["name"] == "Sales")
    waiting = (await ana.http.get(f"/api/v1/queues/{sales}/waiting")).json()
    assert [c["id"] for c in waiting] == [lee.conversation_id]
    picked = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/pick")
    assert picked.status_code == 200, picked.text
    assert picked.json()["state"] == "active"
    assert picked.json()["agent_id"] == ana.user_id
    await ws.next("conversation.assigned", conversation_id=lee.conversation_id)
    again = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/pick")
    assert again.status_code == 409


async def test_workstream_can_allow_busy_agents(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("busy")
    first = await clients["customer"]().start(name="First")
    await routing_settled(server)
    assert (await ana.http.get("/api/v1/offers")).json() == []  # busy: no pushed work by default
    await configure(
        clients,
        {"id": "chat", "name": "Chat", "channels": ["webchat"], "allowed_presences": ["available", "busy"]},
    )
    second = await clients["customer"]().start(name="Second")
    offer = await ws.next("offer.created")
    assert offer["conversation_id"] == second.conversation_id  # planned under the new workstream
    assert first.conversation_id != second.conversation_id


async def test_returning_customer_goes_back_to_the_same_agent(server: LiveServer, clients: Clients) -> None:
    await configure(clients, {"id": "chat", "name": "Chat", "channels": ["webchat"], "keep_same_agent": True})
    ana, chloe = await clients["agent"]("ana"), await clients["agent"]("chloe")
    sockets = {
        ana.user_id: (ana, (await ana.connect())[0]),
        chloe.user_id: (chloe, (await chloe.connect())[0]),
    }
    await ana.presence("available")
    await chloe.presence("available")
    lee = await clients["customer"]().start(visitor_id="visitor-lee")
    await routing_settled(server)
    holders = [a for a, (p, _) in sockets.items() if (await p.http.get("/api/v1/offers")).json()]
    assert len(holders) == 1
    holder_id = holders[0]
    holder, holder_ws = sockets[holder_id]
    offer = await holder_ws.next("offer.created", conversation_id=lee.conversation_id)
    await holder.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await holder.post(f"/api/v1/conversations/{lee.conversation_id}/end")
    await holder.post(f"/api/v1/conversations/{lee.conversation_id}/close")

    back = await clients["customer"]().start(visitor_id="visitor-lee", question="Me again")
    offer = await holder_ws.next("offer.created", conversation_id=back.conversation_id)
    assert offer["agent_id"] == holder_id
    sam = await clients["agent"]("sam")
    trace = (await sam.http.get(f"/api/v1/admin/conversations/{back.conversation_id}/routing-trace")).json()
    assert any(f"keep same agent: {holder_id}" in step for step in trace["steps"])


async def test_customers_see_their_place_in_the_queue(server: LiveServer, clients: Clients) -> None:
    first = await clients["customer"]().start(name="First")
    second = await clients["customer"]().start(name="Second")
    await routing_settled(server)
    place = (await second.http.get(f"{second.prefix}/conversation/position", headers=second.headers())).json()
    assert place == {"waiting": True, "position": 2, "queue_length": 2, "estimated_wait_seconds": None}
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("available")
    offer = await ws.next("offer.created", conversation_id=first.conversation_id)
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await routing_settled(server)
    place = (await first.http.get(f"{first.prefix}/conversation/position", headers=first.headers())).json()
    assert place["waiting"] is False
    place = (await second.http.get(f"{second.prefix}/conversation/position", headers=second.headers())).json()
    assert place["position"] == 1
    assert place["estimated_wait_seconds"] is not None  # someone who could take it is signed in


async def test_preferred_agents_are_tried_first(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    chloe = await clients["agent"]("chloe")
    sam = await clients["agent"]("sam")
    sockets = {
        ana.user_id: (ana, (await ana.connect())[0]),
        chloe.user_id: (chloe, (await chloe.connect())[0]),
    }
    await ana.presence("available")
    await chloe.presence("available")
    first = await clients["customer"]().start(visitor_id="visitor-pref")
    await routing_settled(server)
    holders = [a for a, (p, _) in sockets.items() if (await p.http.get("/api/v1/offers")).json()]
    assert len(holders) == 1
    other = next(a for a in sockets if a != holders[0])  # whom the ranking did not pick
    customer_id = (await sam.http.get(f"/api/v1/conversations/{first.conversation_id}")).json()["customer_id"]
    await first.http.post(f"{first.prefix}/conversation/end", headers=first.headers())
    url = f"/api/v1/admin/customers/{customer_id}/preferred-agents"
    r = await sam.http.put(url, json={"agent_ids": [other]}, headers=sam.headers())
    assert r.json() == {"customer_id": customer_id, "agent_ids": [other]}
    too_many = await sam.http.put(url, json={"agent_ids": ["a", "b", "c", "d"]}, headers=sam.headers())
    assert too_many.status_code == 422
    unknown = await sam.http.put(
        "/api/v1/admin/customers/nobody/preferred-agents", json={"agent_ids": [other]}, headers=sam.headers()
    )
    assert unknown.status_code == 404

    again = await clients["customer"]().start(visitor_id="visitor-pref", question="It's me again")
    offer = await sockets[other][1].next("offer.created", conversation_id=again.conversation_id)
    assert offer["agent_id"] == other
    await routing_settled(server)
    trace = (await sam.http.get(f"/api/v1/admin/conversations/{again.conversation_id}/routing-trace")).json()
    assert any(f"offered {other}: preferred agent" in step for step in trace["steps"])


async def test_custom_presences_map_to_a_base_one(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    config = {
        "custom_presences": [
            {"id": "lunch", "name": "At lunch", "base": "away"},
            {"id": "chats-only", "name": "Chats only", "base": "available"},
        ]
    }
    assert (
        await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    ).status_code == 200
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    r = await ana.http.put("/api/v1/me/presence", json={"presence": "lunch"}, headers=ana.headers())
    assert r.json() == {"presence": "away", "custom_presence": "lunch"}
    lee = await clients["customer"]().start()
    await routing_settled(server)
    assert (await ana.http.get("/api/v1/offers")).json() == []  # away: no pushed work
    r = await ana.http.put("/api/v1/me/presence", json={"presence": "chats-only"}, headers=ana.headers())
    assert r.json() == {"presence": "available", "custom_presence": "chats-only"}
    await ws.next("offer.created", conversation_id=lee.conversation_id)
    me = (await ana.http.get("/api/v1/me")).json()
    assert (me["presence"], me["custom_presence"]) == ("available", "chats-only")
    bad = await ana.http.put("/api/v1/me/presence", json={"presence": "napping"}, headers=ana.headers())
    assert bad.status_code == 422
    assert "unknown presence 'napping'" in bad.json()["detail"]
    r = await ana.http.put("/api/v1/me/presence", json={"presence": "busy"}, headers=ana.headers())
    assert r.json() == {"presence": "busy", "custom_presence": None}


async def test_capacity_profiles_limit_concurrent_work(server: LiveServer, clients: Clients) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    config = {"capacity_profiles": [{"id": "one-chat", "name": "One chat", "channel_limits": {"webchat": 1}}]}
    assert (
        await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    ).status_code == 200
    chloe = await clients["agent"]("chloe")
    url = f"/api/v1/admin/agents/{chloe.user_id}/capacity-profile"
    r = await sam.http.put(url, json={"profile": "one-chat"}, headers=sam.headers())
    assert r.json() == {"user_id": chloe.user_id, "profile": "one-chat"}
    assert (await sam.http.put(url, json={"profile": "nine-chats"}, headers=sam.headers())).status_code == 422
    nobody = await sam.http.put(
        "/api/v1/admin/agents/nobody/capacity-profile", json={"profile": None}, headers=sam.headers()
    )
    assert nobody.status_code == 404
    ws, _ = await chloe.connect()
    await chloe.presence("available")
    first = await clients["customer"]().start(name="First")
    await clients["customer"]().start(name="Second")
    await ws.next("offer.created", conversation_id=first.conversation_id)
    await routing_settled(server)
    assert len((await chloe.http.get("/api/v1/offers")).json()) == 1  # one chat at a time


async def test_no_profile_gives_an_agent_more_than_ten_sessions(server: LiveServer, clients: Clients) -> None:
    ada, sam = await clients["agent"]("admin"), await clients["agent"]("sam")
    config = {"capacity_profiles": [{"id": "many", "name": "Many chats", "total_units": 100}]}
    saved = await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    assert saved.status_code == 200, saved.text
    chloe = await clients["agent"]("chloe")  # Sales only: every chat below is for her alone
    url = f"/api/v1/admin/agents/{chloe.user_id}/capacity-profile"
    assert (await sam.http.put(url, json={"profile": "many"}, headers=sam.headers())).status_code == 200
    ws, _ = await chloe.connect()
    await chloe.presence("available")
    chats = [await clients["customer"]().start(name=f"Chat {n}", queue="Sales") for n in range(11)]
    for chat in chats[:10]:
        offer = await ws.next("offer.created", conversation_id=chat.conversation_id)
        assert (await chloe.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    await routing_settled(server)
    # 100 units would take more, but the workspace shows ten sessions: the eleventh waits.
    assert (await chloe.http.get("/api/v1/offers")).json() == []
    waiting = (await chloe.http.get(f"/api/v1/conversations/{chats[10].conversation_id}")).json()
    assert waiting["state"] == "open"
    # One closed: the waiting chat is offered.
    first = f"/api/v1/conversations/{chats[0].conversation_id}"
    assert (await chloe.post(f"{first}/end")).status_code == 200
    assert (await chloe.post(f"{first}/close")).status_code == 200
    await ws.next("offer.created", conversation_id=chats[10].conversation_id)


async def test_inactive_conversations_auto_close_after_the_workstreams_limit(
    server: LiveServer, clients: Clients
) -> None:
    await configure(
        clients,
        {"id": "chat", "name": "Chat", "channels": ["webchat"], "auto_close_after_seconds": 300},
    )
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    customer_ws, _ = await lee.connect()
    offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    await server.clock.advance(240)
    await routing_settled(server)
    # Activity moves the deadline on: 240 s later nothing has closed yet.
    assert (await lee.say("still there?")).status_code == 201
    await server.clock.advance(240)
    await routing_settled(server)
    conv = (await ana.http.get(f"/api/v1/conversations/{lee.conversation_id}")).json()
    assert conv["state"] == "active"
    await server.clock.advance(61)
    ended = await customer_ws.next("conversation.state_changed", state="wrap_up")
    assert ended["conversation_id"] == lee.conversation_id
    said = [m["message"]["text"] for m in customer_ws.frames if m.get("type") == "message.posted"]
    assert said[-2:] == [
        "This conversation was closed after 5 minutes without activity.",
        "Omniroute ended the conversation.",
    ]

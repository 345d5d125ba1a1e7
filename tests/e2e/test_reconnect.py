"""A reconnect in the middle of a conversation loses nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def _assigned(clients: Clients) -> tuple[Any, Any, Any, Any]:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start(question="First question")
    offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
    await agent_ws.messages_until(lee.conversation_id, 2)
    return ana, agent_ws, lee, offer


async def test_agent_reconnect_receives_exactly_what_it_missed(server: LiveServer, clients: Clients) -> None:
    ana, agent_ws, lee, _ = await _assigned(clients)
    await agent_ws.close()

    for i in range(5):  # said while the agent's socket was down
        assert (await lee.say(f"missed {i}")).status_code == 201

    again, snapshot = await ana.connect(cursors={lee.conversation_id: 2})
    assert [c["id"] for c in snapshot["conversations"]] == [lee.conversation_id]
    # Live traffic racing the resume must neither jump the queue nor repeat.
    racing = [asyncio.create_task(lee.say(f"live {i}")) for i in range(5)]
    got = await again.messages_until(lee.conversation_id, 12)
    await asyncio.gather(*racing)
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(3, 13))
    texts = [m["message"]["text"] for m in got]
    assert texts[:5] == [f"missed {i}" for i in range(5)]
    assert sorted(texts[5:]) == [f"live {i}" for i in range(5)]


async def test_fresh_agent_socket_without_cursors_gets_the_whole_transcript(
    server: LiveServer, clients: Clients
) -> None:
    ana, _, lee, _ = await _assigned(clients)
    await lee.say("one more")
    second, _ = await ana.connect()  # e.g. a second browser tab
    got = await second.messages_until(lee.conversation_id, 3)
    assert [m["seq"] for m in got] == [1, 2, 3]


async def test_customer_reconnect_resumes_from_last_seq(server: LiveServer, clients: Clients) -> None:
    ana, _, lee, _ = await _assigned(clients)
    customer_ws, _ = await lee.connect(last_seq=0)
    seen = await customer_ws.messages_until(lee.conversation_id, 2)
    await customer_ws.close()
    convo = f"/api/v1/conversations/{lee.conversation_id}/messages"
    for i in range(3):
        r = await ana.post(convo, text=f"reply {i}", client_message_id=f"r{i}")
        assert r.status_code == 201
    resumed, snapshot = await lee.connect(last_seq=seen[-1]["seq"])
    assert snapshot["conversation"]["last_seq"] == 5
    got = await resumed.messages_until(lee.conversation_id, 5)
    assert [(m["seq"], m["message"]["text"]) for m in got] == [
        (3, "reply 0"),
        (4, "reply 1"),
        (5, "reply 2"),
    ]
    # And it carries on live afterwards, still without repeats.
    await ana.post(convo, text="still here", client_message_id="r3")
    nxt = await resumed.next("message.posted")
    assert (nxt["seq"], nxt["message"]["text"]) == (6, "still here")

"""A web chat reaches an agent and back, over real HTTP and WebSockets."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


async def test_chat_offer_accept_exchange_end_close(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    agent_ws, snapshot = await ana.connect()
    assert snapshot["presence"] == "offline"
    assert snapshot["offers"] == []
    await ana.presence("available")
    await agent_ws.next("presence.changed", presence="available")

    lee = await clients["customer"]().start(question="Do you ship to Spain?")
    customer_ws, customer_snapshot = await lee.connect()
    assert customer_snapshot["conversation"]["state"] == "open"

    offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["customer_name"] == "Lee"
    assert offer["queue_name"] == "Sales"
    assert offer["prechat"]["question"] == "Do you ship to Spain?"
    assert offer["expires_at"] > offer["occurred_at"]  # a countdown the workspace can show

    accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "active"
    await agent_ws.next("conversation.assigned", conversation_id=lee.conversation_id)
    transcript = await agent_ws.messages_until(lee.conversation_id, 2)
    assert [(m["seq"], m["message"]["sender_kind"]) for m in transcript] == [
        (1, "customer"),
        (2, "system"),
    ]
    assert transcript[0]["message"]["text"] == "Do you ship to Spain?"

    state = await customer_ws.next("conversation.state_changed")
    assert state["state"] == "active"
    joined = await customer_ws.messages_until(lee.conversation_id, 2)
    assert joined[-1]["message"]["text"] == "Ana García joined the conversation."

    # Typing both ways.
    await customer_ws.send({"type": "typing", "is_typing": True})
    typing = await agent_ws.next("typing.changed", conversation_id=lee.conversation_id)
    assert (typing["sender_kind"], typing["is_typing"]) == ("customer", True)
    await agent_ws.send({"type": "typing", "conversation_id": lee.conversation_id, "is_typing": True})
    typing = await customer_ws.next("typing.changed")
    assert typing == {
        "type": "typing.changed",
        "conversation_id": lee.conversation_id,
        "sender_kind": "agent",
        "is_typing": True,
    }

    # Messages both ways, live.
    r = await lee.say("Also to the Canary Islands?")
    assert r.status_code == 201
    got = await agent_ws.next("message.posted", conversation_id=lee.conversation_id)
    assert (got["seq"], got["message"]["text"]) == (3, "Also to the Canary Islands?")
    r = await ana.post(
        f"/api/v1/conversations/{lee.conversation_id}/messages",
        text="Yes, to both.",
        client_message_id="m-1",
    )
    assert r.status_code == 201
    echo = await customer_ws.next("message.posted", seq=3)  # the customer's other tabs see it too
    assert echo["message"]["text"] == "Also to the Canary Islands?"
    got = await customer_ws.next("message.posted")
    assert (got["seq"], got["message"]["sender_kind"], got["message"]["text"]) == (
        4,
        "agent",
        "Yes, to both.",
    )
    assert "agent_id" not in got  # customers never see internal ids

    # The agent ends (wrap-up) and closes; the customer sees that it ended.
    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/end")
    assert r.json()["state"] == "wrap_up"
    ended = await customer_ws.next("message.posted")
    assert ended["message"]["text"] == "Ana García ended the conversation."
    assert (await customer_ws.next("conversation.state_changed"))["state"] == "wrap_up"
    assert (await lee.say("hello?")).status_code == 409

    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/close")
    assert r.json()["state"] == "closed"
    closed = await agent_ws.next("session.closed", conversation_id=lee.conversation_id)
    assert closed["reason"] == "ended"
    assert (await ana.http.get("/api/v1/conversations")).json() == []


async def test_customer_leaving_the_queue_withdraws_the_offer(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start()
    offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
    r = await lee.http.post(f"{lee.prefix}/conversation/end", headers=lee.headers())
    assert r.json()["state"] == "closed"
    withdrawn = await agent_ws.next("offer.closed", session_id=offer["session_id"])
    assert withdrawn["reason"] == "customer_left"
    late = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert late.status_code == 409


async def test_retried_messages_are_stored_once(server: LiveServer, clients: Clients) -> None:
    lee = await clients["customer"]().start(question="")
    first = await lee.say("Is anyone there?", key="k-1")
    again = await lee.say("Is anyone there?", key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    history = await lee.http.get(f"{lee.prefix}/conversation", headers=lee.headers())
    assert [m["text"] for m in history.json()["messages"]] == ["Is anyone there?"]

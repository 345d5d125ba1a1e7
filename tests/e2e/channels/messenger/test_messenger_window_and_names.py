"""Messenger's messaging window and customers' names end to end, over HTTP against the Graph double
(time is the server's ManualClock): an agent's reply after a day goes out with the HUMAN_AGENT tag
when the account allows it and is delivered; without the setting, after 7 days, or from a bot it
fails with the reason before reaching Meta. A new customer gets their name from the User Profile
API; a failed lookup never holds the message back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.store import outbound_messages
from tests.e2e.channels.messenger.test_messenger_channel import (
    ACCESS_TOKEN,
    APP_SECRET,
    PAGE,
    PSID,
    VERIFY_TOKEN,
    delivery,
    fixture,
)
from tests.e2e.channels.support import put_demo_bot_on, served
from tests.e2e.conftest import Agent, LiveServer, Socket

Clients = dict[str, Any]
T = TypeVar("T")
HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture
async def graph(server: LiveServer) -> AsyncIterator[tuple[GraphDouble, str]]:
    double = GraphDouble(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, now=server.clock.now)
    async with served(double.app()) as base:
        yield double, base


def settings(graph_base: str, **more: Any) -> dict[str, Any]:
    return {"page_id": PAGE, "graph_base": graph_base, "api_version": "v23.0"} | more


async def create_account(admin: Agent, graph_base: str, **more: Any) -> str:
    r = await admin.post(
        "/api/v1/admin/channel-accounts",
        channel="messenger",
        name="Acme on Messenger",
        settings=settings(graph_base, **more),
        secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def customer_writes_and_ana_accepts(
    clients: Clients, double: GraphDouble, meta: httpx.AsyncClient, account_id: str
) -> tuple[dict[str, Any], str]:
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, f"/webhooks/{account_id}", fixture("text_message.json"))
    offer = await ws.next("offer.created")
    r = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 200, r.text
    return offer, str(offer["conversation_id"])


async def later(server: LiveServer, clients: Clients, seconds: float) -> tuple[Agent, Socket]:
    """Time passes (browser sessions last 12 hours, so Ana signs in again)."""
    await server.clock.advance(seconds)
    ana = await clients["agent"]("ana")
    ws, _ = await ana.connect()
    return ana, ws


async def reply(ana: Agent, ws: Socket, conversation_id: str, text: str, status: str) -> dict[str, Any]:
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text=text)
    assert r.status_code == 201, r.text
    changed: dict[str, Any] = await ws.next(
        "message.delivery_changed", message_id=r.json()["id"], status=status
    )
    return changed


async def test_an_agents_reply_after_a_day_goes_out_tagged_and_after_seven_days_fails(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base, human_agent_tag=True)
    _, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)

    ana, ws = await later(server, clients, 30 * HOUR)
    await reply(ana, ws, conversation_id, "Your refund went out today.", "sent")
    [call] = double.requests
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Your refund went out today."},
    }
    [mid] = double.accepted
    await double.deliver(meta, f"/webhooks/{account_id}", delivery(mid))
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    await ws.next("message.delivery_changed", message_id=history[-1]["id"], status="delivered")

    # Eight days after the customer's message nothing is accepted, tag or not: refused before Meta.
    ana, ws = await later(server, clients, 8 * DAY - 30 * HOUR)
    failed = await reply(ana, ws, conversation_id, "Any news on your side?", "failed")
    assert "more than 7 days since the customer last wrote" in failed["error"]
    assert len(double.requests) == 1


async def test_without_the_setting_a_late_reply_fails_before_reaching_meta(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    _, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)

    ana, ws = await later(server, clients, 30 * HOUR)
    failed = await reply(ana, ws, conversation_id, "Are you still there?", "failed")
    assert "outside Messenger's 24-hour messaging window" in failed["error"]
    assert "human_agent_tag" in failed["error"]
    assert double.requests == []

    # The administrator turns the setting on (a boolean, or 422 with the reason): the next reply
    # goes out tagged.
    path = f"/api/v1/admin/channel-accounts/{account_id}"
    ada = await clients["agent"]("admin")
    bad = await ada.http.patch(
        path, json={"settings": settings(base, human_agent_tag="yes")}, headers=ada.headers()
    )
    assert bad.status_code == 422, bad.text
    assert "human_agent_tag must be true or false" in bad.text
    ok = await ada.http.patch(
        path, json={"settings": settings(base, human_agent_tag=True)}, headers=ada.headers()
    )
    assert ok.status_code == 200, ok.text
    await reply(ana, ws, conversation_id, "Sorry for the wait: it shipped.", "sent")
    [call] = double.requests
    assert (call.body["messaging_type"], call.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def until(check: Callable[[], Awaitable[T | None]], guard: float = 60.0) -> T:
    """Poll ``check`` (with a generous hang guard) until it finds something: what the server's
    own tasks (receipt worker, outbox, bot timers) produce."""
    async with asyncio.timeout(guard):
        while True:
            found = await check()
            if found is not None:
                return found
            await asyncio.sleep(0.05)


async def outbox_rows(server: LiveServer) -> list[Any]:
    async with server.container.db.read() as conn:
        return list((await conn.execute(sa.select(outbound_messages))).mappings())


async def test_a_bots_message_after_a_day_fails_even_with_the_setting_on(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    """The demo bot answers; the customer goes quiet and the bot's idle goodbye comes 30 hours
    later (its timer fires when the clock moves on): an automated message never gets the tag."""
    double, base = graph
    await put_demo_bot_on(server.container, "messenger")
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base, human_agent_tag=True)
    hello = fixture("text_message.json")
    hello["entry"][0]["messaging"][0]["message"]["text"] = "I lost my card"
    assert (await double.deliver(meta, f"/webhooks/{account_id}", hello)).status_code == 200

    async def outbox_where(status: str) -> list[Any] | None:
        rows = [row for row in await outbox_rows(server) if row["status"] == status]
        return rows or None

    async def question_sent() -> list[Any] | None:
        rows = await outbox_where("sent")
        return rows if rows and any("credit card" in r["payload"]["text"] for r in rows) else None

    answered = await until(question_sent)
    assert len(double.accepted) == len(answered)
    await server.clock.advance(30 * HOUR)
    [goodbye] = await until(lambda: outbox_where("failed"))
    assert goodbye["payload"]["sender_kind"] == "bot"
    assert "an automated message cannot be sent" in goodbye["error"]
    assert {call.body["messaging_type"] for call in double.requests} == {"RESPONSE"}
    assert len(double.requests) == len(answered)  # the goodbye never reached Meta


async def test_a_new_customer_gets_their_profile_name(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    double.add_profile(PSID, "Peter", "Chang")
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    offer, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)
    assert offer["customer_name"] == "Peter Chang"
    await double.deliver(meta, f"/webhooks/{account_id}", fixture("postback.json"))
    ana = await clients["agent"]("ana")
    url = f"/api/v1/conversations/{conversation_id}/messages"

    async def both_messages() -> list[Any] | None:
        found: list[Any] = (await ana.http.get(url)).json()
        return found if len(found) >= 3 else None

    history = await until(both_messages)
    customer_lines = [m for m in history if m["sender_kind"] == "customer"]
    assert [m["sender_name"] for m in customer_lines] == ["Peter Chang", "Peter Chang"]
    customer_id = (await ana.http.get(f"/api/v1/conversations/{conversation_id}")).json()["customer_id"]
    record = (await ana.http.get(f"/api/v1/customers/{customer_id}")).json()
    assert record["display_name"] == "Peter Chang"
    [(psid, query)] = double.profile_requests  # one call per new customer
    assert (psid, query["fields"]) == (PSID, "first_name,last_name,profile_pic")


async def test_a_failed_profile_lookup_still_stores_the_message(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph  # no profile: Meta answers 2018218 "No profile available for this user"
    ada = await clients["agent"]("admin")
    account_id = await create_account(ada, base)
    offer, conversation_id = await customer_writes_and_ana_accepts(clients, double, meta, account_id)
    assert offer["customer_name"] == PSID
    ana = await clients["agent"]("ana")
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert history[0]["text"] == "Hello! Is my order #4417 on its way?"
    assert len(double.profile_requests) == 1

    # An hour later Meta has the profile: the customer's next message brings the name.
    double.add_profile(PSID, "Peter", "Chang")
    await server.clock.advance(HOUR)
    again = fixture("quick_reply.json")
    await double.deliver(meta, f"/webhooks/{account_id}", again)
    customer_id = (await ana.http.get(f"/api/v1/conversations/{conversation_id}")).json()["customer_id"]

    async def named() -> str | None:
        name = (await ana.http.get(f"/api/v1/customers/{customer_id}")).json()["display_name"]
        return name if name != PSID else None

    assert await until(named) == "Peter Chang"
    assert len(double.profile_requests) == 2

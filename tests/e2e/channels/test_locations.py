"""Locations end to end: a customer's WhatsApp location (golden webhook) is stored structured and
shown by the API and the sockets; an agent's location goes out as WhatsApp's ``type: location`` to
the Graph double, as a text link over SMS to the Twilio double, and to a web chat customer as the
place itself. Bad places are refused with 422 and store nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.sms_twilio.double import TwilioDouble
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID
from tests.e2e.channels.sms_twilio.test_sms_twilio import AUTH_TOKEN, conversation_with_ana
from tests.e2e.channels.sms_twilio.test_sms_twilio import create_account as create_sms_account
from tests.e2e.channels.support import served
from tests.e2e.channels.whatsapp.test_whatsapp_channel import (
    ACCESS_TOKEN,
    APP_SECRET,
    create_account,
    fixture,
)
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]
HQ = {
    "latitude": 37.483872693672,
    "longitude": -122.14843308439,
    "name": "Meta Headquarters",
    "address": "1 Hacker Way, Menlo Park, CA 94025",
    "map_url": "https://www.openstreetmap.org/?mlat=37.483873&mlon=-122.148433#map=16/37.483873/-122.148433",
}
STORE = {
    "latitude": 40.4169,
    "longitude": -3.7035,
    "name": "Acme Store Sol",
    "address": "Calle Mayor 1, Madrid",
}
STORE_LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"


@pytest.fixture
async def graph(server: LiveServer) -> AsyncIterator[tuple[GraphDouble, str]]:
    double = GraphDouble(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, now=server.clock.now)
    async with served(double.app()) as base:
        yield double, base


@pytest.fixture
async def twilio(server: LiveServer) -> AsyncIterator[tuple[TwilioDouble, str]]:
    double = TwilioDouble(ACCOUNT_SID, AUTH_TOKEN, server.clock)
    try:
        async with served(double.app()) as base:
            yield double, base
    finally:
        await double.aclose()


async def test_a_whatsapp_location_in_and_an_agents_location_out(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    await double.deliver(meta, webhook, fixture("location_message.json"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    [posted] = [f for f in await agent_ws.messages_until(conversation_id, 2) if f["seq"] == 1]
    assert posted["message"]["location"] == HQ
    # Old clients still read where: the text keeps its line.
    assert posted["message"]["text"] == (
        "Meta Headquarters — 1 Hacker Way, Menlo Park, CA 94025\n[location: 37.483873, -122.148433]"
    )
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert history[0]["location"] == HQ
    assert [m["location"] for m in history[1:]] == [None] * (len(history) - 1)

    # The agent shares the store: a location alone is WhatsApp's location message.
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", location=STORE)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == ""
    assert r.json()["location"] == {**STORE, "map_url": STORE_LINK}
    frame = await agent_ws.next("message.posted", message_id=r.json()["id"])
    assert frame["message"]["location"] == {**STORE, "map_url": STORE_LINK}
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    assert double.requests[-1].body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "location",
        "location": STORE,
    }

    # Bad places are refused with the reason, before anything is stored or sent.
    before = len(double.requests)
    for bad, where in (
        ({**STORE, "latitude": 90.5}, "latitude"),
        ({**STORE, "longitude": "-3.7"}, "longitude"),  # a number, not a string that converts
        ({**STORE, "latitude": True}, "latitude"),
        ({**STORE, "name": "x" * 201}, "name"),
        ({"latitude": 1}, "longitude"),
        ({**STORE, "zoom": 3}, "zoom"),
    ):
        refused = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", location=bad)
        assert refused.status_code == 422, refused.text
        assert where in refused.text
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["location"] is not None for m in history].count(True) == 2
    assert len(double.requests) == before


async def test_over_sms_an_agents_location_is_a_text_link(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_sms_account(clients, api_base)
    ana, agent_ws, conversation_id = await conversation_with_ana(server, clients, double, account)
    r = await ana.post(
        f"/api/v1/conversations/{conversation_id}/messages", text="Pick it up here:", location=STORE
    )
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    [sent] = double.sent
    assert sent.field("Body") == (
        f"Pick it up here:\nAcme Store Sol, Calle Mayor 1, Madrid (40.4169, -3.7035)\n{STORE_LINK}"
    )


async def test_a_web_chat_customer_sees_the_agents_place(server: LiveServer, clients: Clients) -> None:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    lee = await clients["customer"]().start(question="Where is your shop?")
    customer_ws, _ = await lee.connect()
    offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    r = await ana.post(f"/api/v1/conversations/{lee.conversation_id}/messages", location=STORE)
    assert r.status_code == 201, r.text
    frame = await customer_ws.next("message.posted", seq=r.json()["seq"])
    assert frame["message"]["location"] == {**STORE, "map_url": STORE_LINK}
    mine = await lee.http.get(f"{lee.prefix}/conversation", headers=lee.headers())
    assert mine.status_code == 200, mine.text
    assert mine.json()["messages"][-1]["location"] == {**STORE, "map_url": STORE_LINK}

"""The demo's SMS channel: ``omniroute demo`` serves the local Twilio double and a phone page under
/__doubles/twilio on its own server. A text from the page reaches an agent as a real signed
Twilio webhook; the agent's reply goes out through the double's Messages API and shows on the page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.bootstrap import create_app
from omniroute.channels import store as channels_store
from omniroute.channels.store import AccountRow
from omniroute.core.clock import ManualClock
from omniroute.core.migrations import upgrade
from omniroute.demo import load_demo
from omniroute.demo_sms import (
    DEMO_CUSTOMER_NUMBER,
    DEMO_SMS_ACCOUNT,
    DEMO_SMS_NUMBER,
    DOUBLE_PATH,
    DemoPhone,
    load_demo_sms,
    mount_demo_phone,
)
from omniroute.routing import store as routing_store
from tests.e2e.conftest import LiveServer, free_port, node_settings, routing_settled, serve

Clients = dict[str, Any]
PHONES: dict[str, DemoPhone] = {}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The demo as ``omniroute demo`` wires it: demo data, the SMS account, the phone mounted."""
    port = free_port()
    settings = node_settings(tmp_path, port)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    container = app.state.container
    base = f"http://127.0.0.1:{port}"
    await load_demo(container, [base])
    account = await load_demo_sms(container, base)
    phone = mount_demo_phone(app, account.id)
    widget = (await container.webchat.list_widgets())[0]
    async with serve(app, port):
        live = LiveServer(base, f"ws://127.0.0.1:{port}", clock, container, widget.public_key)
        PHONES[base] = phone
        try:
            yield live
        finally:
            PHONES.pop(base, None)
            await phone.double.aclose()


async def demo_accounts(server: LiveServer) -> list[AccountRow]:
    return [a for a in await server.container.channels.accounts() if a.name == DEMO_SMS_ACCOUNT]


async def delivery(server: LiveServer, message_id: str) -> str | None:
    async with server.container.db.read() as conn:
        row = await channels_store.outbox_for_message(conn, message_id)
    return row.status if row else None


async def test_loading_the_demo_sms_account_again_changes_nothing_but_a_moved_address(
    server: LiveServer,
) -> None:
    [first] = await demo_accounts(server)
    assert first.channel == "sms_twilio"
    assert first.settings["api_base"] == server.base_url + DOUBLE_PATH
    async with server.container.db.read() as conn:
        support = await routing_store.get_queue_by_name(conn, "Support")
    assert support is not None
    assert first.default_queue_id == support.id

    again = await load_demo_sms(server.container, server.base_url)
    assert again == first
    moved = await load_demo_sms(server.container, "http://127.0.0.1:9")
    assert moved.id == first.id
    assert moved.settings["api_base"] == "http://127.0.0.1:9" + DOUBLE_PATH
    assert moved.secrets == first.secrets
    assert len(await demo_accounts(server)) == 1


async def test_a_text_from_the_demo_phone_reaches_an_agent_and_the_reply_comes_back(
    server: LiveServer, clients: Clients
) -> None:
    phone = PHONES[server.base_url]
    ben = await clients["agent"]("ben")  # Support
    agent_ws, _ = await ben.connect()
    await ben.presence("available")
    page_url = f"{server.base_url}{DOUBLE_PATH}/"
    async with httpx.AsyncClient() as http:
        page = await http.get(page_url)
        assert page.status_code == 200
        assert DEMO_SMS_NUMBER in page.text
        assert f'value="{DEMO_CUSTOMER_NUMBER}"' in page.text

        empty = await http.post(f"{page_url}send", data={"from": DEMO_CUSTOMER_NUMBER, "body": "  "})
        assert empty.status_code == 400
        assert "Type a message" in empty.text

        sent = await http.post(
            f"{page_url}send", data={"from": DEMO_CUSTOMER_NUMBER, "body": "Is order <b>1042</b> shipped?"}
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == "./?from=%2B15555550123"

        offer = await agent_ws.next("offer.created")
        assert offer["channel"] == "sms_twilio"
        accepted = await ben.post(f"/api/v1/offers/{offer['session_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        conversation_id = offer["conversation_id"]
        [first] = await agent_ws.messages_until(conversation_id, 1)
        assert first["message"]["text"] == "Is order <b>1042</b> shipped?"

        r = await ben.post(f"/api/v1/conversations/{conversation_id}/messages", text="Yes, it left today.")
        assert r.status_code == 201, r.text
        reply_id = str(r.json()["id"])
        async with asyncio.timeout(10):  # a hang guard: the outbox sends through the double
            while not phone.double.sent:
                await server.container.channels.run_once()
                await asyncio.sleep(0.05)
        [out] = phone.double.sent
        assert out.field("To") == DEMO_CUSTOMER_NUMBER
        assert out.field("From") == DEMO_SMS_NUMBER
        assert out.field("Body") == "Yes, it left today."

        thread = await http.get(f"{page_url}?from=%2B15555550123")
        lines = re.findall(r'<li class="(in|out)" data-testid="sms-line"><span>([^<]*)</span>', thread.text)
        assert lines == [
            ("in", "Is order &lt;b&gt;1042&lt;/b&gt; shipped?"),  # escaped
            ("out", "Yes, it left today."),
        ]
        assert "delivered" in thread.text  # opening the page "received" it: the status callback
    async with asyncio.timeout(10):  # a hang guard: the status callback is a receipt to process
        while await delivery(server, reply_id) != "delivered":
            await server.container.channels.run_once()
            await asyncio.sleep(0.05)
    messages = await server.container.conversations.messages(conversation_id)
    assert [m.text for m in messages] == [
        "Is order <b>1042</b> shipped?",
        "Ben Okafor joined the conversation.",
        "Yes, it left today.",
    ]
    await routing_settled(server)

"""Every demo channel as ``omniroute demo`` serves it: its account on the local double, the double
and the customer page under /__doubles/<channel>. A message sent from the page reaches the agents of
the channel's queue as the provider's real signed webhook; the agent's reply goes out through the
adapter to the double and shows on the page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from omniroute.channels.store import AccountRow
from omniroute.demo_channels import (
    DEMO_CHANNELS,
    TELEGRAM,
    demo_double_url,
    load_demo_channels,
    mount_demo_channels,
)
from omniroute.demo_email import EMAIL, SUPPORT_ADDRESS, SUPPORT_NAME, EmailSide, free_smtp_port
from omniroute.demo_page import DemoChannel, DemoChannelPage
from omniroute.web.container import Container
from tests.e2e.conftest import LiveServer, demo_server

Clients = dict[str, Any]
PAGES: dict[str, dict[str, DemoChannelPage[Any]]] = {}
AGENT_OF_QUEUE = {"Support": "ben", "Sales": "chloe"}  # each is in that queue only
WITH_RECEIPTS = {"sms", "custom"}  # showing the replies sends the provider's "delivered"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The demo as ``omniroute demo`` wires it: demo data, every demo channel, their pages."""
    accounts: list[AccountRow] = []
    pages: dict[str, DemoChannelPage[Any]] = {}

    async def prepare(container: Container) -> None:
        base = container.settings.effective_public_url
        accounts.extend(await load_demo_channels(container, base, smtp_port=free_smtp_port()))

    def mount(app: FastAPI) -> None:
        pages.update(mount_demo_channels(app, accounts))

    async with demo_server(tmp_path, prepare, mount) as live:
        PAGES[live.base_url] = pages
        try:
            yield live
        finally:
            PAGES.pop(live.base_url, None)
            for page in pages.values():
                await page.side.aclose()


def thread_lines(key: str, page_html: str) -> list[tuple[str, str]]:
    return re.findall(rf'<li class="(in|out)" data-testid="{key}-line"><span>([^<]*)</span>', page_html)


@pytest.mark.parametrize("spec", DEMO_CHANNELS, ids=lambda spec: spec.key)
async def test_a_message_from_the_channel_page_reaches_its_queue_and_the_reply_comes_back(
    server: LiveServer, clients: Clients, spec: DemoChannel
) -> None:
    page = PAGES[server.base_url][spec.key]
    agent = await clients["agent"](AGENT_OF_QUEUE[spec.queue])
    agent_ws, _ = await agent.connect()
    await agent.presence("available")
    url = f"{server.base_url}{spec.path}/"
    address = spec.default_address
    text = f"Is order <b>1042</b> shipped? ({spec.title})"
    async with httpx.AsyncClient() as http:
        shown = await http.get(url)
        assert shown.status_code == 200
        assert f'value="{html.escape(address)}"' in shown.text
        sent = await http.post(f"{url}send", data={"from": address, "body": text})
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"./?from={quote(address, safe='')}"

        # The double posted the provider's signed webhook: a conversation in the channel's queue.
        offer = await agent_ws.next("offer.created")
        assert (offer["channel"], offer["queue_name"]) == (spec.channel, spec.queue)
        accepted = await agent.post(f"/api/v1/offers/{offer['session_id']}/accept")
        assert accepted.status_code == 200, accepted.text
        conversation_id = offer["conversation_id"]
        [first] = await agent_ws.messages_until(conversation_id, 1)
        assert first["message"]["text"] == text

        # The reply goes out through the adapter to the double (the account's API base).
        r = await agent.post(f"/api/v1/conversations/{conversation_id}/messages", text="Yes, it left today.")
        assert r.status_code == 201, r.text
        reply_id = r.json()["id"]
        await agent_ws.next("message.delivery_changed", message_id=reply_id, status="sent")
        assert [(m.to, m.text) for m in page.side.replies()] == [(address, "Yes, it left today.")]

        thread = await http.get(f"{url}?from={quote(address, safe='')}")
        assert thread_lines(spec.key, thread.text) == [
            ("in", html.escape(text, quote=False)),  # escaped
            ("out", "Yes, it left today."),
        ]
    if spec.key in WITH_RECEIPTS:
        await agent_ws.next("message.delivery_changed", message_id=reply_id, status="delivered")


async def test_the_pages_refuse_bad_input_with_the_reason(server: LiveServer) -> None:
    url = f"{server.base_url}{TELEGRAM.path}/"
    async with httpx.AsyncClient() as http:
        empty = await http.post(f"{url}send", data={"from": TELEGRAM.default_address, "body": "  "})
        assert empty.status_code == 400
        assert "Type a message of 1 to 4096 characters." in empty.text
        nobody = await http.post(f"{url}send", data={"from": "@lee<script>", "body": "hello"})
        assert nobody.status_code == 400
        assert TELEGRAM.address_hint in nobody.text
        assert 'value="@lee&lt;script&gt;"' in nobody.text  # what was typed comes back, escaped
    assert PAGES[server.base_url][TELEGRAM.key].side.replies() == []


async def test_loading_the_demo_channels_again_changes_nothing_but_a_moved_address(
    server: LiveServer,
) -> None:
    container = server.container
    [smtp_port] = {
        a.settings["smtp_port"] for a in await container.channels.accounts() if a.channel == "email"
    }
    first = await load_demo_channels(container, server.base_url, smtp_port=smtp_port)
    assert [(a.channel, a.name) for a in first] == [(s.channel, s.account_name) for s in DEMO_CHANNELS]
    assert await load_demo_channels(container, server.base_url, smtp_port=smtp_port) == first
    moved = await load_demo_channels(container, "http://127.0.0.1:9", smtp_port=10)
    assert [a.id for a in moved] == [a.id for a in first]
    assert [a.settings for a in moved] == [
        s.settings(demo_double_url(s, "http://127.0.0.1:9", 10)) for s in DEMO_CHANNELS
    ]
    assert next(a for a in moved if a.channel == "email").settings["smtp_port"] == 10
    assert [a.secrets for a in moved] == [a.secrets for a in first]
    assert len(await container.channels.accounts()) == len(DEMO_CHANNELS)


async def test_the_demo_home_page_links_every_channel_page(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        home = await http.get("/demo")
        assert home.status_code == 200
        assert "omniroute-widget.js" in home.text  # the web chat stays
        for spec in DEMO_CHANNELS:
            assert f'<a href="{spec.path}/">{spec.title}</a>' in home.text
            channel_page = await http.get(f"{spec.path}/")
            assert channel_page.status_code == 200
            assert '<a href="/demo">Demo home</a>' in channel_page.text


async def test_a_server_without_the_demo_command_serves_no_double(tmp_path: Path) -> None:
    """``create_app`` (``omniroute run``) mounts none of it: only the CLI's demo does."""
    async with demo_server(tmp_path) as live, httpx.AsyncClient(base_url=live.base_url) as http:
        for spec in DEMO_CHANNELS:
            assert (await http.get(f"{spec.path}/")).status_code == 404
        home = await http.get("/demo")
        assert home.status_code == 200
        assert "demo-channel-pages" not in home.text


def attribute(name: str, page_html: str, testid: str) -> str:
    found = re.search(rf'<[^>]*data-testid="{testid}"[^>]*>', page_html)
    assert found, testid
    value = re.search(rf'{name}="([^"]*)"', found.group(0))
    assert value, (name, found.group(0))
    return html.unescape(value.group(1))


async def test_an_email_from_the_page_gets_a_reply_by_smtp_and_the_answer_threads_into_it(
    server: LiveServer, clients: Clients
) -> None:
    page = PAGES[server.base_url][EMAIL.key]
    side = page.side
    assert isinstance(side, EmailSide)
    ben = await clients["agent"]("ben")
    agent_ws, _ = await ben.connect()
    await ben.presence("available")
    url = f"{server.base_url}{EMAIL.path}/"
    lee = EMAIL.default_address
    async with httpx.AsyncClient() as http:
        form = await http.get(url)
        assert attribute("value", form.text, "email-subject-field") == ""
        sent = await http.post(
            f"{url}send",
            data={"from": lee, "subject": "Order 1042 arrived damaged", "body": "The lamp is broken."},
        )
        assert sent.status_code == 303, sent.text

        # A real RFC 5322 message, signed and posted to the webhook: a conversation in Support.
        [first] = side.sent
        assert first["Message-ID"]
        assert first["In-Reply-To"] is None
        offer = await agent_ws.next("offer.created")
        assert (offer["channel"], offer["queue_name"]) == ("email", "Support")
        assert (await ben.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
        conversation_id = offer["conversation_id"]
        [message] = await agent_ws.messages_until(conversation_id, 1)
        assert message["message"]["text"] == "The lamp is broken."
        # The page stamps the demo receiving server's DMARC pass, which the account trusts.
        customer_id = (await ben.http.get(f"/api/v1/conversations/{conversation_id}")).json()["customer_id"]
        customer = (await ben.http.get(f"/api/v1/customers/{customer_id}")).json()
        assert (customer["email"], customer["email_verified"]) == (lee, True)

        # The reply leaves by SMTP to the double, threaded to Lee's mail.
        r = await ben.post(f"/api/v1/conversations/{conversation_id}/messages", text="Sorry! Refund or swap?")
        assert r.status_code == 201, r.text
        await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
        [received] = side.double.received
        assert (received.mail_from, received.rcpt_tos) == (SUPPORT_ADDRESS, (lee,))
        mail = received.message
        assert str(mail["From"]) == f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>"
        assert str(mail["To"]) == lee
        assert re.fullmatch(r"Re: Order 1042 arrived damaged \[#OR-[A-Z2-7]{10}\]", str(mail["Subject"]))
        assert str(mail["In-Reply-To"]) == str(first["Message-ID"])

        # The page shows it, with its subject and "Reply".
        thread = await http.get(url, params={"from": lee})
        assert thread_lines(EMAIL.key, thread.text) == [
            ("in", "The lamp is broken."),
            ("out", "Sorry! Refund or swap?"),
        ]
        subjects = re.findall(r'data-testid="email-subject">([^<]*)<', thread.text)
        assert subjects == ["Order 1042 arrived damaged", html.escape(str(mail["Subject"]), quote=False)]
        reply_link = attribute("href", thread.text, "email-reply")
        replying = await http.get(httpx.URL(url).join(reply_link))
        assert replying.status_code == 200
        assert attribute("value", replying.text, "email-reply-to") == str(mail["Message-ID"])
        subject = attribute("value", replying.text, "email-subject-field")
        assert subject == str(mail["Subject"])  # a client adds no second "Re:"

        answered = await http.post(
            f"{url}send",
            data={
                "from": lee,
                "subject": subject,
                "body": "A swap, please.",
                "reply_to": str(mail["Message-ID"]),
            },
        )
        assert answered.status_code == 303, answered.text

    # Lee's client named the reply and quoted it; the product keeps only the new words, in the
    # same conversation.
    answer = side.sent[-1]
    assert str(answer["In-Reply-To"]) == str(mail["Message-ID"])
    assert str(answer["References"]).split() == [str(first["Message-ID"]), str(mail["Message-ID"])]
    assert "> Sorry! Refund or swap?" in answer.get_content()
    posted = await agent_ws.next("message.posted", conversation_id=conversation_id)
    while posted["message"]["sender_kind"] != "customer":  # the reply itself, notices
        posted = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert posted["message"]["text"] == "A swap, please."
    assert [f for f in agent_ws.frames if f.get("type") == "offer.created"] == [offer]


async def test_the_email_page_refuses_bad_input_with_the_reason(server: LiveServer) -> None:
    url = f"{server.base_url}{EMAIL.path}/"
    lee = EMAIL.default_address
    async with httpx.AsyncClient() as http:
        own = await http.post(f"{url}send", data={"from": SUPPORT_ADDRESS.upper(), "body": "hi"})
        assert own.status_code == 400
        assert EMAIL.address_hint in own.text
        folded = await http.post(f"{url}send", data={"from": lee, "subject": "a\r\nBcc: x@y.z", "body": "hi"})
        assert folded.status_code == 400
        assert "A subject is one line of at most 200 characters." in folded.text
        unknown = {"from": lee, "subject": "Re: hi", "body": "hi", "reply_to": "<nope@demo.omniroute.dev>"}
        stranger = await http.post(f"{url}send", data=unknown)
        assert stranger.status_code == 400
        assert "You can only reply to a message this address received." in stranger.text
        missing = await http.get(url, params={"from": lee, "reply": "<nope@demo.omniroute.dev>"})
        assert missing.status_code == 404
    side = PAGES[server.base_url][EMAIL.key].side
    assert isinstance(side, EmailSide)
    assert side.sent == []

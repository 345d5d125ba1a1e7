"""Facebook Messenger end to end: Meta's handshake and signed Page webhooks (golden payloads),
dedupe, quick replies and postbacks, the agent's reply through a loopback double of the Send API,
delivery (mids) and read (watermark) receipts, retries through an outage and the messaging window."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.meta_common.signature import HEADER, sign
from omniroute.channels.store import inbound_receipts
from tests.e2e.channels.support import eventually, put_demo_bot_on, served
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]
FIXTURES = Path(__file__).parent / "fixtures"
APP_SECRET = "fb-app-secret-for-tests"
VERIFY_TOKEN = "meatyhamhock"
ACCESS_TOKEN = "EAAJtest-page-access-token"
PAGE = "682498302938465"
PSID = "6789012345678901"


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def delivery(mid: str) -> dict[str, Any]:
    document = fixture("delivery.json")
    document["entry"][0]["messaging"][0]["delivery"]["mids"] = [mid]
    return document


def read_up_to(at: datetime) -> dict[str, Any]:
    document = fixture("read.json")
    document["entry"][0]["messaging"][0]["read"]["watermark"] = millis(at)
    return document


@pytest.fixture
async def graph(server: LiveServer) -> AsyncIterator[tuple[GraphDouble, str]]:
    double = GraphDouble(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, now=server.clock.now)
    async with served(double.app()) as base:
        yield double, base


async def create_account(clients: Clients, graph_base: str) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="messenger",
        name="Acme on Messenger",
        settings={"page_id": PAGE, "graph_base": graph_base, "api_version": "v23.0"},
        secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN},
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert ACCESS_TOKEN not in r.text
    assert account["webhook_url"].endswith(f"/webhooks/{account['id']}")
    return f"/webhooks/{account['id']}"


async def stored_receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
    return int(count)


async def accepted_conversation(
    clients: Clients, double: GraphDouble, meta: httpx.AsyncClient, webhook: str
) -> tuple[Any, Any, str]:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, webhook, fixture("text_message.json"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    return ana, agent_ws, offer["conversation_id"]


async def test_the_verification_handshake_and_signatures(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    webhook = await create_account(clients, graph[1])
    query = (FIXTURES / "verification.txt").read_text().strip()
    ok = await meta.get(f"{webhook}?{query}")
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert (await meta.get(f"{webhook}?{query.replace(VERIFY_TOKEN, 'nope')}")).status_code == 403

    body = json.dumps(fixture("text_message.json")).encode()
    tampered = await meta.post(
        webhook, content=body.replace(b"on its way", b"lost"), headers={HEADER: sign(APP_SECRET, body)}
    )
    assert tampered.status_code == 403
    assert (await meta.post(webhook, content=body, headers={HEADER: sign("other", body)})).status_code == 403
    assert (await meta.post(webhook, content=body)).status_code == 401
    wrong_object = b'{"object":"whatsapp_business_account","entry":[]}'
    refused = await meta.post(webhook, content=wrong_object, headers={HEADER: sign(APP_SECRET, wrong_object)})
    assert refused.status_code == 400
    assert "expected object 'page'" in refused.json()["detail"]
    broken = fixture("text_message.json")
    del broken["entry"][0]["messaging"][0]["message"]["mid"]
    malformed = await graph[0].deliver(meta, webhook, broken)
    assert malformed.status_code == 400
    assert "message.mid" in malformed.json()["detail"]
    assert await stored_receipts(server) == 0


async def test_round_trip_with_quick_replies_postbacks_and_receipts(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    assert (await double.deliver(meta, webhook, fixture("text_message.json"))).status_code == 200
    assert (
        await double.deliver(meta, webhook, fixture("text_message.json"))
    ).status_code == 200  # redelivery
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "messenger"
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    texts = [m["message"]["text"] for m in await agent_ws.messages_until(conversation_id, 2)]
    for name in ("quick_reply.json", "postback.json"):
        await double.deliver(meta, webhook, fixture(name))
        texts.append(
            (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]["text"]
        )
    assert texts == [
        "Hello! Is my order #4417 on its way?",
        "Ana García joined the conversation.",
        "Track my order",
        "Talk to an agent",
    ]

    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="It ships today.")
    first_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=first_id, status="sent")
    [call] = double.requests
    assert (call.version, call.node) == ("v23.0", PAGE)
    assert call.authorization == f"Bearer {ACCESS_TOKEN}"
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "It ships today."},
    }
    [first_mid] = double.accepted

    # Delivery names the message; read is only a watermark, resolved against what was sent before it.
    await double.deliver(meta, webhook, delivery(first_mid))
    assert (await agent_ws.next("message.delivery_changed", message_id=first_id))["status"] == "delivered"
    await server.clock.advance(1)
    read_before_second = server.clock.now()
    await server.clock.advance(1)
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Anything else?")
    second_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=second_id, status="sent")
    await double.deliver(meta, webhook, read_up_to(read_before_second))
    assert (await agent_ws.next("message.delivery_changed", message_id=first_id))["status"] == "read"
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["delivery_status"] for m in history if m["sender_kind"] == "agent"] == ["read", "sent"]
    await server.clock.advance(5)
    await double.deliver(meta, webhook, read_up_to(server.clock.now()))
    assert (await agent_ws.next("message.delivery_changed", message_id=second_id))["status"] == "read"
    await double.deliver(meta, webhook, delivery(first_mid))  # late: never backwards
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in history].count("Hello! Is my order #4417 on its way?") == 1
    assert [m["delivery_status"] for m in history if m["sender_kind"] == "agent"] == ["read", "read"]


async def test_an_outage_is_retried_until_the_message_is_sent(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana, agent_ws, conversation_id = await accepted_conversation(clients, double, meta, webhook)
    double.outage = 1
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="One moment.")
    reply_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert retrying["status"] == "queued"
    assert "Graph error 2" in retrying["error"]
    await server.clock.advance(5)  # past the first backoff
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "sent"
    assert len(double.requests) == 2
    assert len(double.accepted) == 1


async def test_outside_the_messaging_window_the_reply_fails_with_the_reason(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana, agent_ws, conversation_id = await accepted_conversation(clients, double, meta, webhook)
    double.customer_wrote(PSID, server.clock.now() - timedelta(hours=25))
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Are you still there?")
    failed = await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="failed")
    assert "Graph error 10/2018278" in failed["error"]
    assert "24 hours" in failed["error"]
    assert len(double.requests) == 1  # permanent: not retried


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_customer_files_are_stored_and_agent_files_go_out_as_attachments(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    server.container.channels.media_retry_delays = (0.0, 0.0)
    webhook = await create_account(clients, base)
    ana, agent_ws, conversation_id = await accepted_conversation(clients, double, meta, webhook)
    await agent_ws.messages_until(conversation_id, 2)

    # Meta's webhook links each file on its CDN (here the double, at the configured graph_base);
    # a link to any other private address (the cloud metadata service) is refused, not fetched.
    document = fixture("attachments.json")
    image, file = document["entry"][0]["messaging"][0]["message"]["attachments"]
    image["payload"]["url"] = double.add_messenger_media(base, "471234567_box.jpg", "image/jpeg", PNG)
    file["payload"]["url"] = double.add_messenger_media(base, "invoice-4417.pdf", "application/pdf", PDF)
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    document["entry"][0]["messaging"][0]["message"]["attachments"].append(
        {"type": "video", "payload": {"url": metadata}}
    )
    assert (await double.deliver(meta, webhook, document)).status_code == 200
    posted = (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]
    box, invoice, video = posted["attachments"]
    names = (box["filename"], invoice["filename"], video["id"])
    assert names == ("471234567_box.jpg", "invoice-4417.pdf", None)
    for stored, expected in ((box, PNG), (invoice, PDF)):
        got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{stored['id']}")
        assert got.content == expected
    assert posted["text"].startswith("[attachment not stored: fetch failed")
    assert posted["text"].endswith(metadata)
    assert double.media_requests == [
        "/v/t1.15752-9/471234567_box.jpg",
        "/v/t1.15752-9/invoice-4417.pdf",
    ]

    # One file, no text: a Send API attachment message with the signed Omniroute link.
    async def upload(name: str, data: bytes, kind: str) -> str:
        up = await ana.http.post(
            f"/api/v1/conversations/{conversation_id}/attachments",
            files={"file": (name, data, kind)},
            headers=ana.headers(),
        )
        assert up.status_code == 201, up.text
        return str(up.json()["id"])

    label = await upload("label.png", PNG, "image/png")
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="", attachment_ids=[label])
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    attachment = double.requests[-1].body["message"]["attachment"]
    assert (attachment["type"], attachment["payload"]["is_reusable"]) == ("image", False)
    assert attachment["payload"]["url"].startswith(f"{server.base_url}/files/{label}?exp=")
    async with httpx.AsyncClient() as http:
        assert (await http.get(attachment["payload"]["url"])).content == PNG

    # Text with files: one message, the files as links (a Send API message is text or one file).
    guide = await upload("guide.pdf", PDF, "application/pdf")
    r = await ana.post(
        f"/api/v1/conversations/{conversation_id}/messages", text="Here you go", attachment_ids=[guide]
    )
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    text = double.requests[-1].body["message"]["text"]
    assert text.startswith(f"Here you go\nguide.pdf: {server.base_url}/files/{guide}?exp=")


async def test_a_bots_question_goes_out_with_quick_replies_and_a_tap_answers_it(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    await put_demo_bot_on(server.container, "messenger")
    webhook = await create_account(clients, base)
    hello = fixture("text_message.json")
    hello["entry"][0]["messaging"][0]["message"]["text"] = "I lost my card"
    assert (await double.deliver(meta, webhook, hello)).status_code == 200

    def sent(words: str) -> dict[str, Any] | None:
        found = [b for b in double.accepted.values() if words in b["message"].get("text", "")]
        return found[0] if found else None

    question = await eventually(lambda: sent("debit card or your credit card"))
    assert question["recipient"] == {"id": PSID}
    assert question["message"]["quick_replies"] == [
        {"content_type": "text", "title": "debit", "payload": "debit"},
        {"content_type": "text", "title": "credit", "payload": "credit"},
    ]
    assert [b for b in double.accepted.values() if "quick_replies" in b["message"]] == [question]

    tap = fixture("quick_reply.json")
    tap["entry"][0]["messaging"][0]["message"].update(
        {"mid": "m_tap-credit", "text": "credit", "quick_reply": {"payload": "credit"}}
    )
    assert (await double.deliver(meta, webhook, tap)).status_code == 200
    digits = await eventually(lambda: sent("last 4 digits of the credit card"))
    assert "quick_replies" not in digits["message"]

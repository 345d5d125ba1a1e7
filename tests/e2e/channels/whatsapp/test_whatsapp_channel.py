"""WhatsApp Cloud API end to end: Meta's handshake and signed webhooks (golden payloads), dedupe,
routing to an agent, the agent's reply through a loopback double of the Graph API, status receipts,
retries through an outage and the 24-hour customer-service window."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.meta_common.signature import HEADER, sign
from omniroute.channels.store import inbound_receipts
from tests.e2e.channels.support import eventually, put_demo_bot_on, send_agent_file, served
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]
FIXTURES = Path(__file__).parent / "fixtures"
APP_SECRET = "wa-app-secret-for-tests"
VERIFY_TOKEN = "meatyhamhock"
ACCESS_TOKEN = "EAAJtest-whatsapp-access-token"
NUMBER = "106540352242922"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 50 + b"%%EOF\n"
CUSTOMER = "16505551234"


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


def status(name: str, wamid: str) -> dict[str, Any]:
    document = fixture(name)
    document["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
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
        channel="whatsapp",
        name="Acme WhatsApp",
        settings={"phone_number_id": NUMBER, "graph_base": graph_base, "api_version": "v23.0"},
        secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN},
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert account["secrets_set"] == ["access_token", "app_secret", "verify_token"]
    assert ACCESS_TOKEN not in r.text
    assert account["webhook_url"].endswith(f"/webhooks/{account['id']}")
    return f"/webhooks/{account['id']}"


async def stored_receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
    return int(count)


async def test_the_verification_handshake_echoes_the_challenge(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    webhook = await create_account(clients, graph[1])
    query = (FIXTURES / "verification.txt").read_text().strip()
    ok = await meta.get(f"{webhook}?{query}")
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await meta.get(f"{webhook}?{query.replace(VERIFY_TOKEN, 'guessed')}")
    assert wrong.status_code == 403
    incomplete = await meta.get(f"{webhook}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}")
    assert incomplete.status_code == 400
    assert await stored_receipts(server) == 0


async def test_signatures_are_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    webhook = await create_account(clients, graph[1])
    body = json.dumps(fixture("text_message.json")).encode()
    tampered = await meta.post(
        webhook,
        content=body.replace(b"has not arrived", b"arrived"),
        headers={HEADER: sign(APP_SECRET, body)},
    )
    assert tampered.status_code == 403
    assert "does not match" in tampered.json()["detail"]
    wrong_secret = await meta.post(webhook, content=body, headers={HEADER: sign("another-app", body)})
    assert wrong_secret.status_code == 403
    missing = await meta.post(webhook, content=body)
    assert missing.status_code == 401
    assert missing.json()["detail"] == "missing X-Hub-Signature-256 header"
    # Well signed but not a WhatsApp webhook: 400 with the reason.
    for bad, reason in [(b"{not json", "not JSON"), (b'{"object":"page","entry":[]}', "expected object")]:
        refused = await meta.post(webhook, content=bad, headers={HEADER: sign(APP_SECRET, bad)})
        assert refused.status_code == 400
        assert reason in refused.json()["detail"]
    broken = fixture("text_message.json")
    del broken["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    refused = await graph[0].deliver(meta, webhook, broken)
    assert refused.status_code == 400
    assert "messages[0].from" in refused.json()["detail"]
    assert await stored_receipts(server) == 0


async def test_message_round_trip_with_receipts_and_dedupe(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    first = await double.deliver(meta, webhook, fixture("text_message.json"))
    assert (first.status_code, first.text) == (200, "EVENT_RECEIVED")
    again = await double.deliver(meta, webhook, fixture("text_message.json"))  # Meta redelivers
    assert again.status_code == 200
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "whatsapp"
    assert offer["customer_name"] == "Kerry Fisher"
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert transcript[0]["message"]["text"] == "Hi, my order #4417 has not arrived"

    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Let me check that for you.")
    assert r.status_code == 201
    reply_id = r.json()["id"]
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id, status="sent")
    assert sent["error"] is None
    [call] = double.requests
    assert (call.version, call.node) == ("v23.0", NUMBER)
    assert call.authorization == f"Bearer {ACCESS_TOKEN}"
    assert "access_token" not in call.query  # the token stays out of URLs
    assert call.query["appsecret_proof"]
    assert call.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Let me check that for you.", "preview_url": False},
    }
    [wamid] = double.accepted

    # Receipts move forward only: sent (already), delivered, read; a late "delivered" changes nothing.
    # Each is awaited before the next: receipts stored in the same millisecond have no defined order.
    assert (await double.deliver(meta, webhook, status("status_sent.json", wamid))).status_code == 200
    await double.deliver(meta, webhook, status("status_delivered.json", wamid))
    delivered = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert delivered["status"] == "delivered"
    await double.deliver(meta, webhook, status("status_read.json", wamid))
    read = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert read["status"] == "read"
    await double.deliver(meta, webhook, status("status_delivered.json", wamid))
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in history].count("Hi, my order #4417 has not arrived") == 1
    [reply] = [m for m in history if m["sender_kind"] == "agent"]
    assert reply["delivery_status"] == "read"


async def test_media_locations_and_button_replies_reach_the_agent(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    double.add_media("1003383421387256", "image/jpeg", JPEG)
    await double.deliver(meta, webhook, fixture("image_message.json"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    texts = [m["message"]["text"] for m in await agent_ws.messages_until(conversation_id, 2)]
    for name in ("location_message.json", "button_reply.json"):
        await double.deliver(meta, webhook, fixture(name))
        texts.append(
            (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]["text"]
        )
    assert texts[0] == "The box arrived like this"  # the photo itself is in the attachment store
    assert texts[2] == (
        "Meta Headquarters — 1 Hacker Way, Menlo Park, CA 94025\n[location: 37.483873, -122.148433]"
    )
    assert texts[3] == "Refund"


async def test_a_batched_delivery_stores_this_numbers_messages_once(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    for _ in range(2):  # delivered, then redelivered
        assert (await double.deliver(meta, webhook, fixture("batched.json"))).status_code == 200
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{offer['conversation_id']}/messages")).json()
    # Items of one delivery share a receipt time, so their order is not asserted here.
    assert sorted(m["text"] for m in history if m["sender_kind"] == "customer") == ["first", "second"]
    assert await stored_receipts(server) == 2  # the message for another number was never stored


async def test_an_outage_is_retried_until_the_message_is_sent(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, webhook, fixture("text_message.json"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")

    double.outage = 1
    r = await ana.post(f"/api/v1/conversations/{offer['conversation_id']}/messages", text="One moment.")
    reply_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert retrying["status"] == "queued"
    assert "Graph error 2" in retrying["error"]
    assert double.accepted == {}
    await server.clock.advance(5)  # past the first backoff
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert sent["status"] == "sent"
    assert [call.body["text"]["body"] for call in double.requests] == ["One moment.", "One moment."]
    assert len(double.accepted) == 1


async def test_outside_the_24_hour_window_the_reply_fails_asking_for_a_template(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, webhook, fixture("text_message.json"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    # The customer's last message is now 25 hours old as far as WhatsApp is concerned.
    double.customer_wrote(CUSTOMER, server.clock.now() - timedelta(hours=25))

    r = await ana.post(
        f"/api/v1/conversations/{offer['conversation_id']}/messages", text="Are you still there?"
    )
    reply_id = r.json()["id"]
    failed = await agent_ws.next("message.delivery_changed", message_id=reply_id, status="failed")
    assert "131047" in failed["error"]
    assert "template" in failed["error"]
    assert len(double.requests) == 1  # permanent: not retried


async def test_a_failed_status_tells_the_agent_why(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(meta, webhook, fixture("text_message.json"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    r = await ana.post(f"/api/v1/conversations/{offer['conversation_id']}/messages", text="Hello?")
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id, status="sent")
    [wamid] = double.accepted
    # The Cloud API often accepts a message, then reports the failure by webhook.
    await double.deliver(meta, webhook, status("status_failed.json", wamid))
    failed = await agent_ws.next("message.delivery_changed", message_id=reply_id, status="failed")
    assert failed["error"].startswith("WhatsApp error 131047 (Re-engagement message)")
    assert "template" in failed["error"]


async def test_customer_media_are_fetched_through_the_graph_media_node(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    server.container.channels.media_retry_delays = (0.0, 0.0)
    webhook = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    double.add_media("2114580732301234", "application/pdf", PDF)
    double.media_outage = 1  # the first lookup meets a Graph outage, the retry works
    await double.deliver(meta, webhook, fixture("document_message.json"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    first = (await agent_ws.messages_until(conversation_id, 2))[0]["message"]
    [pdf] = first["attachments"]
    assert (pdf["filename"], pdf["content_type"], pdf["size"]) == (
        "invoice-4417.pdf",
        "application/pdf",
        len(PDF),
    )
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{pdf['id']}")
    assert got.content == PDF
    # Lookup (503), lookup, download: the token went to the media node and the download URL.
    assert double.media_requests == [
        "/v23.0/2114580732301234",
        "/v23.0/2114580732301234",
        "/whatsapp_business/attachments/",
    ]

    # A media id Graph does not know (expired, say): the caption still arrives, with a note.
    await double.deliver(meta, webhook, fixture("image_message.json"))
    lost = (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]
    assert lost["text"] == (
        "The box arrived like this\n"
        f"[attachment not stored: fetch failed: image/jpeg] {base}/v23.0/1003383421387256"
    )
    assert lost["attachments"][0]["id"] is None

    # An agent's file goes back as a document message with a link WhatsApp can fetch.
    file_id = await send_agent_file(
        ana, agent_ws, conversation_id, "Fill this in", ("refund form.pdf", PDF, "application/pdf")
    )
    body = double.requests[-1].body
    assert body["type"] == "document"
    assert body["document"]["caption"] == "Fill this in"
    assert body["document"]["filename"] == "refund form.pdf"
    assert body["document"]["link"].startswith(f"{server.base_url}/files/{file_id}?exp=")
    async with httpx.AsyncClient() as http:
        assert (await http.get(body["document"]["link"])).content == PDF


async def test_a_bots_question_goes_out_as_reply_buttons_and_a_tap_answers_it(
    server: LiveServer, clients: Clients, graph: tuple[GraphDouble, str], meta: httpx.AsyncClient
) -> None:
    double, base = graph
    await put_demo_bot_on(server.container, "whatsapp")
    webhook = await create_account(clients, base)
    hello = fixture("text_message.json")
    hello["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "I lost my card"
    assert (await double.deliver(meta, webhook, hello)).status_code == 200

    def sent(kind: str, words: str) -> dict[str, Any] | None:
        for body in double.accepted.values():
            if body.get("type") != kind:
                continue
            text = body["text"]["body"] if kind == "text" else body[kind]["body"]["text"]
            if words in text:
                return body
        return None

    question = await eventually(lambda: sent("interactive", "debit card or your credit card"))
    assert question["to"] == CUSTOMER
    assert question["interactive"]["type"] == "button"
    assert question["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "debit", "title": "debit"}},
        {"type": "reply", "reply": {"id": "credit", "title": "credit"}},
    ]
    assert [b for b in double.accepted.values() if b.get("type") == "interactive"] == [question]

    tap = fixture("button_reply.json")
    tapped = tap["entry"][0]["changes"][0]["value"]["messages"][0]
    tapped["id"] = "wamid.tap-credit"
    tapped["interactive"]["button_reply"] = {"id": "credit", "title": "credit"}
    assert (await double.deliver(meta, webhook, tap)).status_code == 200
    digits = await eventually(lambda: sent("text", "last 4 digits of the credit card"))
    assert digits["to"] == CUSTOMER

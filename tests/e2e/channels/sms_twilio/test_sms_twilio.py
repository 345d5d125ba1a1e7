"""SMS through Twilio end to end: Twilio's signed form webhooks into a live Omniroute, an agent's
reply out through the local Twilio double's Messages API, status callbacks back, outages retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import sqlalchemy as sa

from omniroute.channels import store
from omniroute.channels.sms_twilio.double import TwilioDouble
from omniroute.channels.store import inbound_receipts
from tests.e2e.channels.sms_twilio.golden import ACCOUNT_SID, CUSTOMER, TWILIO_NUMBER, body
from tests.e2e.channels.support import eventually, put_demo_bot_on, send_agent_file
from tests.e2e.conftest import Agent, LiveServer, Socket, free_port, serve

Clients = dict[str, Any]
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
#: The media sids of MediaUrl0 and MediaUrl1 in fixtures/inbound_mms.txt, and bytes to serve there.
JPEG_SID = "ME0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1a"
PNG_SID = "ME1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f2c"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(255, -1, -1)) * 4


@pytest.fixture
async def twilio(server: LiveServer) -> AsyncIterator[tuple[TwilioDouble, str]]:
    double = TwilioDouble(ACCOUNT_SID, AUTH_TOKEN, server.clock)
    port = free_port()
    try:
        async with serve(double.app(), port):
            yield double, f"http://127.0.0.1:{port}"
    finally:
        await double.aclose()


@dataclass
class Account:
    id: str
    webhook_url: str


async def create_account(clients: Clients, api_base: str) -> Account:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="sms_twilio",
        name="Support SMS",
        settings={"account_sid": ACCOUNT_SID, "from_number": TWILIO_NUMBER, "api_base": api_base},
        secrets={"auth_token": AUTH_TOKEN},
    )
    assert r.status_code == 201, r.text
    assert r.json()["secrets_set"] == ["auth_token"]
    assert AUTH_TOKEN not in r.text
    return Account(r.json()["id"], r.json()["webhook_url"])


async def stored_receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
        )


async def delivery(server: LiveServer, message_id: str) -> str | None:
    async with server.container.db.read() as conn:
        row = await store.outbox_for_message(conn, message_id)
    return row.status if row else None


async def conversation_with_ana(
    server: LiveServer, clients: Clients, double: TwilioDouble, account: Account
) -> tuple[Agent, Socket, str]:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    assert (await double.post_webhook(account.webhook_url, body("inbound_sms.txt"))).status_code == 200
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await agent_ws.messages_until(offer["conversation_id"], 2)
    return ana, agent_ws, offer["conversation_id"]


async def reply(ana: Agent, conversation_id: str, text: str) -> str:
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text=text)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_signatures_are_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_account(clients, api_base)
    sms = body("inbound_sms.txt")
    genuine = double.sign(account.webhook_url, parse_qsl(sms))

    tampered = await double.post_webhook(
        account.webhook_url, sms.replace("arrived", "ARRIVED"), signature=genuine
    )
    assert tampered.status_code == 403
    assert tampered.json()["detail"] == "X-Twilio-Signature does not match"
    impostor = TwilioDouble(ACCOUNT_SID, "a-guessed-auth-token", server.clock)
    try:
        assert (await impostor.post_webhook(account.webhook_url, sms)).status_code == 403
    finally:
        await impostor.aclose()
    elsewhere = double.sign(account.webhook_url.replace("/webhooks/", "/hooks/"), parse_qsl(sms))
    assert (await double.post_webhook(account.webhook_url, sms, signature=elsewhere)).status_code == 403
    async with httpx.AsyncClient() as http:
        missing = await http.post(
            account.webhook_url, content=sms, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert missing.status_code == 401
    assert missing.json()["detail"] == "missing X-Twilio-Signature header"

    # Signed correctly but not a message Twilio would send: 400 with the reason.
    no_sid = urlencode(
        [(k, v) for k, v in parse_qsl(sms) if k not in ("MessageSid", "SmsMessageSid", "SmsSid")]
    )
    malformed = await double.post_webhook(account.webhook_url, no_sid)
    assert malformed.status_code == 400
    assert "no MessageSid" in malformed.json()["detail"]
    short = urlencode([(k, v) for k, v in parse_qsl(body("inbound_mms.txt")) if k != "MediaUrl1"])
    assert (await double.post_webhook(account.webhook_url, short)).status_code == 400
    assert await stored_receipts(server) == 0

    accepted = await double.post_webhook(account.webhook_url, sms)
    assert accepted.status_code == 200
    assert accepted.headers["content-type"].startswith("text/xml")
    assert accepted.text.endswith("<Response/>")
    assert await stored_receipts(server) == 1


async def test_sms_and_mms_to_an_agent_and_the_reply_back_with_receipts(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    sms = body("inbound_sms.txt")
    assert (await double.post_webhook(account.webhook_url, sms)).status_code == 200
    assert (await double.post_webhook(account.webhook_url, sms)).status_code == 200  # Twilio retried
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "sms_twilio"
    assert offer["customer_name"] == CUSTOMER  # SMS carries a number, not a name
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert [m["message"]["text"] for m in transcript] == [
        "Hi, my order #4521 has not arrived",
        "Ana García joined the conversation.",
    ]

    # An MMS from the same number joins the conversation; its media are fetched from Twilio (with
    # the account's Basic auth) into the attachment store, and the agent downloads them from us.
    double.media[JPEG_SID] = ("image/jpeg", JPEG)
    double.media[PNG_SID] = ("image/png", PNG)
    assert (await double.post_webhook(account.webhook_url, body("inbound_mms.txt"))).status_code == 200
    mms = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert mms["message"]["text"] == "Here is the damaged box"
    files = mms["message"]["attachments"]
    assert [(f["filename"], f["content_type"], f["url"]) for f in files] == [
        ("image-1.jpg", "image/jpeg", None),
        ("image-2.png", "image/png", None),
    ]
    for f, served in zip(files, (JPEG, PNG), strict=True):
        got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{f['id']}")
        assert got.status_code == 200
        assert got.content == served

    reply_id = await reply(ana, conversation_id, "Sorry about that! A new box ships today.")
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id, status="sent")
    assert sent["error"] is None
    [message] = double.sent
    assert message.field("To") == CUSTOMER
    assert message.field("From") == TWILIO_NUMBER
    assert message.field("Body") == "Sorry about that! A new box ships today."
    assert message.field("StatusCallback") == account.webhook_url

    # Twilio's status callbacks move the message forward, never back.
    assert (await double.report_status(message.sid, "sent")).status_code == 200
    assert (await double.report_status(message.sid, "delivered")).status_code == 200
    await agent_ws.next("message.delivery_changed", message_id=reply_id, status="delivered")
    assert (await double.report_status(message.sid, "read")).status_code == 200
    await agent_ws.next("message.delivery_changed", message_id=reply_id, status="read")
    assert (await double.report_status(message.sid, "delivered")).status_code == 200  # late, out of order
    assert (await double.report_status(message.sid, "read")).status_code == 200  # repeated
    await server.container.channels.run_once()
    assert await delivery(server, reply_id) == "read"

    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in history].count("Hi, my order #4521 has not arrived") == 1


async def test_an_outage_is_retried_and_rate_limits_wait_for_retry_after(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_account(clients, api_base)
    ana, agent_ws, conversation_id = await conversation_with_ana(server, clients, double, account)

    double.failures = [503]
    first = await reply(ana, conversation_id, "Checking with the warehouse…")
    retrying = await agent_ws.next("message.delivery_changed", message_id=first, status="queued", error=None)
    retrying = await agent_ws.next("message.delivery_changed", message_id=first, status="queued")
    assert "HTTP 503" in retrying["error"]
    assert "Twilio error 20503" in retrying["error"]
    assert double.sent == []
    await server.clock.advance(5)  # past the first backoff
    await agent_ws.next("message.delivery_changed", message_id=first, status="sent")
    assert [m.field("Body") for m in double.sent] == ["Checking with the warehouse…"]

    double.failures, double.retry_after = [429], "30"
    second = await reply(ana, conversation_id, "Found it.")
    limited = await agent_ws.next("message.delivery_changed", message_id=second, status="queued", error=None)
    limited = await agent_ws.next("message.delivery_changed", message_id=second, status="queued")
    assert "HTTP 429" in limited["error"]
    await server.clock.advance(5)  # the backoff alone would retry now; Retry-After says not yet
    await server.container.channels.run_once()
    assert len(double.sent) == 1
    await server.clock.advance(30)
    await agent_ws.next("message.delivery_changed", message_id=second, status="sent")
    assert [m.field("Body") for m in double.sent] == ["Checking with the warehouse…", "Found it."]


async def test_permanent_failures_reach_the_agent_with_the_reason(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_account(clients, api_base)
    ana, agent_ws, conversation_id = await conversation_with_ana(server, clients, double, account)

    double.unsubscribed.add(CUSTOMER)
    refused = await reply(ana, conversation_id, "Are you still there?")
    failed = await agent_ws.next("message.delivery_changed", message_id=refused, status="failed")
    assert "Twilio error 21610: the customer has unsubscribed" in failed["error"]
    assert double.sent == []

    double.unsubscribed.clear()
    accepted = await reply(ana, conversation_id, "One more try.")
    await agent_ws.next("message.delivery_changed", message_id=accepted, status="sent")
    assert (
        await double.report_status(double.sent[0].sid, "undelivered", error_code=30003)
    ).status_code == 200
    undelivered = await agent_ws.next("message.delivery_changed", message_id=accepted, status="failed")
    assert undelivered["error"] == "Twilio error 30003: the customer's handset is unreachable"


async def test_mms_media_over_the_limit_or_unfetchable_keep_the_text_with_a_note(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    server.container.channels.media_retry_delays = (0.0, 0.0)
    account = await create_account(clients, api_base)
    ana, agent_ws, conversation_id = await conversation_with_ana(server, clients, double, account)
    limit = server.container.attachments.limits.max_bytes

    # The first download meets an outage (503, retried: it works the second time); the second
    # file is bigger than the attachment limit.
    double.media[JPEG_SID] = ("image/jpeg", JPEG)
    double.media[PNG_SID] = ("image/png", PNG[:16] + bytes(limit))
    double.media_failures = [503]
    assert (await double.post_webhook(account.webhook_url, body("inbound_mms.txt"))).status_code == 200
    mms = await agent_ws.next("message.posted", conversation_id=conversation_id)
    lines = mms["message"]["text"].split("\n")
    assert lines[0] == "Here is the damaged box"
    assert lines[1].startswith("[attachment not stored: too large: image/png] https://api.twilio.com/")
    stored, link = mms["message"]["attachments"]
    assert (stored["filename"], stored["size"]) == ("image-1.jpg", len(JPEG))
    assert link["id"] is None
    assert link["url"].endswith(f"/Media/{PNG_SID}")
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{stored['id']}")
    assert got.content == JPEG

    # Twilio keeps failing: after the retries the message still arrives, with the note.
    double.media.clear()
    double.media_failures = [500, 503, 502]
    before = double.media_requests
    again = body("inbound_mms.txt").replace("MM2e4a6c8b0d1f3a5c7e9b2d4f6a8c0e1d", "MM" + "7" * 32)
    assert (await double.post_webhook(account.webhook_url, again)).status_code == 200
    failed = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert failed["message"]["text"].split("\n")[0] == "Here is the damaged box"
    assert (
        failed["message"]["text"]
        .split("\n")[1]
        .startswith("[attachment not stored: fetch failed: image/jpeg] https://api.twilio.com/")
    )
    assert (
        failed["message"]["text"]
        .split("\n")[2]
        .startswith("[attachment not stored: fetch failed: image/png] https://api.twilio.com/")
    )
    # Three tries for the first media (all 5xx), one for the second (404: no retry).
    assert double.media_requests - before == 4
    assert [a["id"] for a in failed["message"]["attachments"]] == [None, None]


async def test_an_agent_file_goes_out_as_media_url_twilio_can_fetch(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    account = await create_account(clients, api_base)
    ana, agent_ws, conversation_id = await conversation_with_ana(server, clients, double, account)
    file_id = await send_agent_file(
        ana, agent_ws, conversation_id, "Print this label, please", ("label.png", PNG, "image/png")
    )
    [message] = double.sent
    assert message.field("Body") == "Print this label, please"
    [media_url] = message.fields("MediaUrl")
    assert media_url.startswith(f"{server.base_url}/files/{file_id}?exp=")
    async with httpx.AsyncClient() as http:  # Twilio fetches it without our credentials
        fetched = await http.get(media_url)
    assert fetched.status_code == 200
    assert fetched.content == PNG


async def test_a_bots_question_goes_out_with_numbered_options_and_a_number_answers_it(
    server: LiveServer, clients: Clients, twilio: tuple[TwilioDouble, str]
) -> None:
    double, api_base = twilio
    await put_demo_bot_on(server.container, "sms_twilio")
    account = await create_account(clients, api_base)
    hello = double.incoming(
        message_sid="SM" + "1" * 32, sender=CUSTOMER, to=TWILIO_NUMBER, body="I lost my card"
    )
    assert (await double.post_webhook(account.webhook_url, hello)).status_code == 200

    def sent(words: str) -> str | None:
        bodies = [m.field("Body") or "" for m in double.sent]
        return next((b for b in bodies if words in b), None)

    question = await eventually(lambda: sent("debit card or your credit card"))
    assert question.endswith("Was it your debit card or your credit card?\n\n1. debit\n2. credit")
    assert [m.field("To") for m in double.sent if "1. debit" in (m.field("Body") or "")] == [CUSTOMER]
    assert sum("1. debit" in (m.field("Body") or "") for m in double.sent) == 1  # the question only

    # Texting back the option's number picks it.
    two = double.incoming(message_sid="SM" + "2" * 32, sender=CUSTOMER, to=TWILIO_NUMBER, body="2")
    assert (await double.post_webhook(account.webhook_url, two)).status_code == 200
    digits = await eventually(lambda: sent("last 4 digits of the credit card"))
    assert "1. debit" not in digits

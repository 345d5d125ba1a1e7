"""Teams end to end: activities in Teams' real format, posted with a Bot Connector JWT signed by the
local Bot Framework double's keys, a live Omniroute, an agent over her WebSocket, and replies that
reach the double's Bot Connector with a client-credentials token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa

from omniroute.channels.store import inbound_receipts
from omniroute.channels.teams.activities import scoped_id
from omniroute.channels.teams.double import (
    APP_ID,
    APP_PASSWORD,
    BotFrameworkDouble,
    SharePointDouble,
    new_key,
)
from tests.e2e.channels.support import eventually, put_demo_bot_on
from tests.e2e.conftest import LiveServer, free_port, serve

Clients = dict[str, Any]
FIXTURES = Path(__file__).parent / "fixtures"
PERSONAL = "a:1kxB6lB0yP8Ez2m0f5QwX4rT9cVnHj3uLs7AdGqWe1ZoY8KpMiN2bRtUv5SxCyDh6FgJ0aEwIlOq"


@pytest.fixture
async def bot_framework(server: LiveServer) -> AsyncIterator[tuple[BotFrameworkDouble, str]]:
    double = BotFrameworkDouble(now=server.clock.now)
    port = free_port()
    async with serve(double.app, port):
        yield double, f"http://127.0.0.1:{port}"


def activity(name: str, service_url: str) -> dict[str, Any]:
    """A fixture as Teams sends it, its serviceUrl pointing at the local Bot Connector."""
    loaded = dict(json.loads((FIXTURES / f"{name}.json").read_text()))
    loaded["serviceUrl"] = f"{service_url}/emea/"
    return loaded


def account_settings(base: str, **extra: Any) -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "openid_metadata_url": f"{base}/v1/.well-known/openidconfiguration",
        "token_url": f"{base}/botframework.com/oauth2/v2.0/token",
        **extra,
    }


async def create_account(clients: Clients, base: str, password: str = APP_PASSWORD) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="teams",
        name="IT help desk",
        settings=account_settings(base),
        secrets={"app_password": password},
    )
    assert r.status_code == 201, r.text
    assert password not in r.text
    return str(r.json()["id"])


async def post(
    server: LiveServer, account_id: str, body: dict[str, Any] | bytes, token: str | None
) -> httpx.Response:
    """What the Bot Connector does: POST the activity with its bearer token."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(f"/webhooks/{account_id}", content=content, headers=headers)


async def deliver(
    server: LiveServer, account_id: str, double: BotFrameworkDouble, body: dict[str, Any]
) -> None:
    r = await post(server, account_id, body, double.channel_token(body["serviceUrl"]))
    assert r.status_code == 200, r.text


async def stored_receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        query = sa.select(sa.func.count()).select_from(inbound_receipts)
        return int((await conn.execute(query)).scalar_one())


async def test_the_bot_connector_token_is_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    double, base = bot_framework
    account_id = await create_account(clients, base)
    message = activity("activity_message_personal", base)
    service_url = message["serviceUrl"]

    async def refused(token: str | None, body: dict[str, Any] | bytes = message) -> tuple[int, str]:
        r = await post(server, account_id, body, token)
        return r.status_code, str(r.json()["detail"])

    assert await refused(None) == (401, "missing 'Authorization: Bearer <token>' header")
    assert (await refused("not-a-jwt"))[0] == 401
    # Someone else's key under Microsoft's kid: the signature does not verify.
    forged = double.channel_token(service_url, signing_key=new_key())
    assert await refused(forged) == (401, "the token signature does not verify")
    assert (await refused(double.channel_token(service_url, kid="unknown-kid")))[1] == (
        "signing key 'unknown-kid' is not in the Bot Framework key set"
    )
    assert await refused(double.channel_token(service_url, audience="another-bot")) == (
        401,
        "the token is not for this bot's app id",
    )
    assert (await refused(double.channel_token(service_url, issuer="https://sts.windows.net/x/")))[1] == (
        "the token issuer is not https://api.botframework.com"
    )
    # Issued for another serviceUrl: a token captured elsewhere cannot vouch for this activity.
    elsewhere = double.channel_token("https://smba.trafficmanager.net/amer/")
    assert (await refused(elsewhere))[
        1
    ] == "the token's serviceurl claim does not match the activity's serviceUrl"
    # The public key used as an HMAC secret (algorithm confusion) is refused before any key is used.
    assert (await refused(jwt.encode({"aud": APP_ID}, "k" * 64, algorithm="HS256")))[0] == 401
    # Beyond the five-minute skew the token has expired.
    stale = double.channel_token(service_url, lifetime=3600)
    await server.clock.advance(3600 + 301)
    assert await refused(stale) == (401, "the token has expired")
    # A key Microsoft endorses only for other channels cannot vouch for an msteams activity: 403.
    double.endorsements = ["webchat"]
    double.kid = "bf-key-webchat-only"
    r = await post(server, account_id, message, double.channel_token(service_url))
    assert r.status_code == 403
    assert "not endorsed for channel 'msteams'" in r.json()["detail"]
    # A genuine token with a body that is not an Activity: 400 with the reason.
    double.endorsements = None
    double.kid = "bf-key-any-channel"
    await server.clock.advance(301)  # past the refetch interval, so the new kid is looked up
    token = double.channel_token(service_url)
    assert await refused(token, b"<activity/>") == (
        400,
        "body is not JSON: Expecting value: line 1 column 1 (char 0)",
    )
    no_id = {k: v for k, v in message.items() if k != "id"}
    assert await refused(token, no_id) == (400, "a message activity needs an 'id'")
    assert await stored_receipts(server) == 0
    # The key set was fetched on demand, never once per request.
    assert double.key_fetches <= 4


async def test_round_trip_with_dedupe_retry_buttons_and_read_receipt(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    double, base = bot_framework
    account_id = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    first = activity("activity_message_personal", base)
    await deliver(server, account_id, double, first)
    await deliver(server, account_id, double, first)  # the Bot Connector retried
    assert await stored_receipts(server) == 1
    offer = await agent_ws.next("offer.created")
    assert (offer["channel"], offer["customer_name"]) == ("teams", "Megan Bowen")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert transcript[0]["message"]["text"] == "My laptop will not connect to the VPN"

    # (Files and inline images: test_inline_images_and_files_are_stored_and_agent_files_go_out.)

    # The agent replies while the Bot Connector is down: the reply waits, then goes out.
    double.refusals = 1
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Which VPN client version?")
    reply_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert retrying["status"] == "queued"
    assert "503: ServiceUnavailable" in retrying["error"]
    await server.clock.advance(5)
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "sent"
    [delivered] = double.received
    assert delivered["conversation_id"] == PERSONAL
    assert delivered["reply_to_id"] == "1767603600123"  # the customer's latest activity
    assert delivered["activity"] == {
        "type": "message",
        "conversation": {"id": PERSONAL},
        "textFormat": "plain",
        "text": "Which VPN client version?",
        "replyToId": "1767603600123",
    }
    assert delivered["authorization"] == f"Bearer {double.issued[0].token}"

    # A second reply reuses the cached token; Teams reports the user read it.
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="And your OS?")
    second_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=second_id))["status"] == "queued"
    assert (await agent_ws.next("message.delivery_changed", message_id=second_id))["status"] == "sent"
    assert len(double.received) == 2
    assert len(double.issued) == 1
    receipt = activity("activity_read_receipt", base)
    receipt["value"]["lastReadMessageId"] = "1767603900001"  # the second reply's id at the double
    await deliver(server, account_id, double, receipt)
    read = await agent_ws.next("message.delivery_changed", message_id=second_id)
    assert read["status"] == "read"
    await deliver(server, account_id, double, receipt)  # repeated: stored once, no change

    # The customer answers with a button from a hero card (imBack posts the label as text).
    answer = activity("activity_message_personal", base)
    answer.update({"id": "1767603960000", "text": "Windows 11", "timestamp": "2026-01-05T09:06:00.000Z"})
    await deliver(server, account_id, double, answer)
    button = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert button["message"]["text"] == "Windows 11"

    # Once the token expires, a new one is fetched.
    await server.clock.advance(3600)
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Thanks, fixing it now")
    third_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=third_id)
    assert (await agent_ws.next("message.delivery_changed", message_id=third_id))["status"] == "sent"
    assert len(double.issued) == 2
    assert double.received[-1]["reply_to_id"] == "1767603960000"
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in history].count("My laptop will not connect to the VPN") == 1
    statuses = {m["text"]: m["delivery_status"] for m in history if m["sender_kind"] == "agent"}
    assert statuses == {
        "Which VPN client version?": "sent",
        "And your OS?": "read",
        "Thanks, fixing it now": "sent",
    }


async def test_channel_mentions_typing_and_removal(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    double, base = bot_framework
    account_id = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    # Adding the bot to a chat is acknowledged and stores nothing.
    await deliver(server, account_id, double, activity("activity_conversation_update_members_added", base))
    assert await stored_receipts(server) == 0
    await deliver(server, account_id, double, activity("activity_message_channel_mention", base))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert transcript[0]["message"]["text"] == "the printer on floor 3 is jammed again"

    typing = activity("activity_typing", base)
    typing["conversation"]["id"] = "19:8a3c2e1f4b5d6a7c8e9f0a1b2c3d4e5f@thread.tacv2;messageid=1767603730517"
    await deliver(server, account_id, double, typing)
    assert (await agent_ws.next("typing.changed", conversation_id=conversation_id))[
        "sender_kind"
    ] == "customer"

    # The reply goes into the channel thread; the Bot Connector refuses when the bot was blocked.
    double.blocked_conversations.add(typing["conversation"]["id"])
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="On my way")
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id)
    failed = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "Bot Connector HTTP 403: ConversationBlockedByUser: User blocked the conversation with the bot."
    )

    removed = activity("activity_conversation_update_bot_removed", base)
    removed["conversation"]["id"] = typing["conversation"]["id"]
    await deliver(server, account_id, double, removed)
    state = await agent_ws.next("conversation.state_changed", conversation_id=conversation_id)
    assert state["to_state"] == "wrap_up"


async def test_a_wrong_app_password_fails_the_reply_with_the_reason(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    double, base = bot_framework
    account_id = await create_account(clients, base, password="not-the-secret")
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await deliver(server, account_id, double, activity("activity_message_personal", base))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    r = await ana.post(f"/api/v1/conversations/{offer['conversation_id']}/messages", text="Hello")
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id)
    failed = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "the app id or password was refused: invalid_client AADSTS7000215: Invalid client secret provided."
    )
    assert double.received == []
    assert scoped_id("1", PERSONAL) != scoped_id("1", "a:another-chat")  # ids are per conversation


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
async def sharepoint() -> AsyncIterator[tuple[SharePointDouble, str]]:
    double = SharePointDouble()
    port = free_port()
    async with serve(double.app, port):
        yield double, f"http://127.0.0.1:{port}"


async def test_inline_images_and_files_are_stored_and_agent_files_go_out(
    server: LiveServer,
    clients: Clients,
    bot_framework: tuple[BotFrameworkDouble, str],
    sharepoint: tuple[SharePointDouble, str],
) -> None:
    double, base = bot_framework
    files, files_base = sharepoint
    server.container.channels.media_retry_delays = (0.0, 0.0)
    account_id = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    # A pasted screenshot: its contentUrl is on the Bot Connector and needs the bot's token.
    double.attachments["0-weu-d3-4f1a2b3c"] = ("image/png", PNG)
    image = activity("activity_message_inline_image", base)
    image["attachments"][0]["contentUrl"] = f"{base}/emea/v3/attachments/0-weu-d3-4f1a2b3c/views/original"
    await deliver(server, account_id, double, image)
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    first = (await agent_ws.messages_until(conversation_id, 2))[0]["message"]
    assert first["text"] == "this is what I see"
    [stored] = first["attachments"]
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{stored['id']}")
    assert got.content == PNG
    assert double.attachment_requests == [f"Bearer {double.issued[0].token}"]

    # A file's downloadUrl is on SharePoint, here 127.0.0.1: refused until the account opts in.
    file_activity = activity("activity_message_file", base)
    download_url = files.add(files_base, "8f1c2d3e", "application/pdf", PDF)
    file_activity["attachments"][0]["content"]["downloadUrl"] = download_url
    file_activity["attachments"][0]["name"] = "vpn-log.pdf"
    await deliver(server, account_id, double, file_activity)
    refused = (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]
    assert refused["text"] == f"[attachment not stored: fetch failed: vpn-log.pdf] {download_url}"
    assert files.requests == []  # refused before connecting

    ada = await clients["agent"]("admin")
    r = await ada.http.patch(
        f"/api/v1/admin/channel-accounts/{account_id}",
        json={"settings": account_settings(base, allow_private_media_hosts=True)},
        headers=ada.headers(),
    )
    assert r.status_code == 200, r.text
    file_activity.update({"id": "1767603790000", "timestamp": "2026-01-05T09:03:10.000Z"})
    await deliver(server, account_id, double, file_activity)
    shared = (await agent_ws.next("message.posted", conversation_id=conversation_id))["message"]
    [pdf] = shared["attachments"]
    assert (pdf["filename"], shared["text"]) == ("vpn-log.pdf", "")
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{pdf['id']}")
    assert got.content == PDF
    assert files.requests == [None]  # the bot's token never went to SharePoint

    # The agent answers with an image (inline in Teams) and a PDF (a link in the text).
    ids = []
    for name, data, kind in (("steps.png", PNG, "image/png"), ("guide.pdf", PDF, "application/pdf")):
        up = await ana.http.post(
            f"/api/v1/conversations/{conversation_id}/attachments",
            files={"file": (name, data, kind)},
            headers=ana.headers(),
        )
        assert up.status_code == 201, up.text
        ids.append(up.json()["id"])
    r = await ana.post(
        f"/api/v1/conversations/{conversation_id}/messages", text="Try these steps", attachment_ids=ids
    )
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    sent = double.received[-1]["activity"]
    [inline] = sent["attachments"]
    assert (inline["contentType"], inline["name"]) == ("image/png", "steps.png")
    assert inline["contentUrl"].startswith(f"{server.base_url}/files/{ids[0]}?exp=")
    text, link = sent["text"].split("\n\n")
    assert text == "Try these steps"
    assert link.startswith(f"guide.pdf: {server.base_url}/files/{ids[1]}?exp=")
    async with httpx.AsyncClient() as http:
        assert (await http.get(inline["contentUrl"])).content == PNG


async def test_a_message_over_the_transcript_limit_is_kept_shortened_with_a_note(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    """Teams accepts messages of about 28 KB of text plus markup; ours must never be lost."""
    double, base = bot_framework
    account_id = await create_account(clients, base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    limit = server.container.conversations.max_message_bytes
    long_text = "Fehlerprotokoll: Verbindung überprüft. " * 1000  # umlauts: cut on a character
    body = activity("activity_message_personal", base)
    body["text"], body["attachments"] = long_text, []
    await deliver(server, account_id, double, body)
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    text = (await agent_ws.messages_until(offer["conversation_id"], 2))[0]["message"]["text"]
    assert text.startswith("Fehlerprotokoll: Verbindung überprüft. Fehlerprotokoll:")
    assert text.endswith(
        f"[… message shortened: {len(long_text.strip().encode())} bytes received, "
        f"the transcript keeps {limit}]"
    )
    assert len(text.encode()) <= limit


async def test_a_bots_question_goes_out_with_a_hero_card_and_imback_answers_it(
    server: LiveServer, clients: Clients, bot_framework: tuple[BotFrameworkDouble, str]
) -> None:
    double, base = bot_framework
    await put_demo_bot_on(server.container, "teams")
    account_id = await create_account(clients, base)
    hello = activity("activity_message_personal", base)
    hello["text"], hello["attachments"] = "I lost my card", []
    await deliver(server, account_id, double, hello)

    def sent(words: str) -> dict[str, Any] | None:
        return next((r["activity"] for r in double.received if words in r["activity"]["text"]), None)

    question = await eventually(lambda: sent("debit card or your credit card"))
    assert question["attachments"] == [
        {
            "contentType": "application/vnd.microsoft.card.hero",
            "content": {
                "buttons": [
                    {"type": "imBack", "title": "debit", "value": "debit"},
                    {"type": "imBack", "title": "credit", "value": "credit"},
                ]
            },
        }
    ]
    assert [r for r in double.received if "attachments" in r["activity"]] == [
        r for r in double.received if r["activity"] is question
    ]
    tap = activity("activity_message_personal", base)
    tap.update({"id": "1767603999000", "text": "credit", "attachments": []})
    await deliver(server, account_id, double, tap)
    digits = await eventually(lambda: sent("last 4 digits of the credit card"))
    assert "attachments" not in digits

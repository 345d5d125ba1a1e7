"""Telegram end to end: updates in Telegram's real format posted the way Telegram posts them (with
the secret token header), a live Omniroute, an agent over her WebSocket, and the local Bot API double
receiving the replies."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omniroute.attachments.model import Limits
from omniroute.channels.store import inbound_receipts, outbound_messages
from omniroute.channels.telegram.bot_api import split_text
from omniroute.channels.telegram.double import BOT_TOKEN, TelegramDouble
from tests.e2e.channels.support import eventually, put_demo_bot_on, send_agent_file
from tests.e2e.conftest import LiveServer, free_port, serve

Clients = dict[str, Any]
FIXTURES = Path(__file__).parent / "fixtures"
SECRET_TOKEN = "acme-webhook-secret_0123456789"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 50 + b"%%EOF\n"
CHAT_ID = 5120843977


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture
async def telegram(server: LiveServer) -> AsyncIterator[tuple[TelegramDouble, str]]:
    double = TelegramDouble(now=server.clock.now)
    port = free_port()
    async with serve(double.app, port):
        yield double, f"http://127.0.0.1:{port}"


async def create_account(clients: Clients, api_base: str) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="telegram",
        name="Acme on Telegram",
        settings={"api_base": api_base},
        secrets={"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN},
    )
    assert r.status_code == 201, r.text
    assert r.json()["secrets_set"] == ["bot_token", "secret_token"]
    assert BOT_TOKEN not in r.text
    return str(r.json()["id"])


async def deliver(
    server: LiveServer, account_id: str, update: dict[str, Any] | bytes, secret: str | None = SECRET_TOKEN
) -> httpx.Response:
    """What Telegram does: POST the Update as JSON with the secret given to setWebhook."""
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(f"/webhooks/{account_id}", content=body, headers=headers)


async def stored_receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
        )


async def test_the_secret_token_is_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    account_id = await create_account(clients, telegram[1])
    missing = await deliver(server, account_id, fixture("update_text"), secret=None)
    assert missing.status_code == 401
    assert "missing" in missing.json()["detail"]
    wrong = await deliver(server, account_id, fixture("update_text"), secret=SECRET_TOKEN + "x")
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "X-Telegram-Bot-Api-Secret-Token does not match"
    # The right secret with a body that is not an Update: 400 with the reason.
    not_json = await deliver(server, account_id, b"update_id=1")
    assert not_json.status_code == 400
    assert "not JSON" in not_json.json()["detail"]
    no_id = await deliver(server, account_id, {"message": fixture("update_text")["message"]})
    assert no_id.status_code == 400
    assert "update_id" in no_id.json()["detail"]
    broken = fixture("update_text")
    del broken["message"]["chat"]
    no_chat = await deliver(server, account_id, broken)
    assert no_chat.status_code == 400
    assert "message.chat" in no_chat.json()["detail"]
    assert await stored_receipts(server) == 0


async def test_round_trip_with_media_dedupe_retry_and_a_button(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    double, api_base = telegram
    account_id = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    first = await deliver(server, account_id, fixture("update_text"))
    assert first.status_code == 200
    assert first.content == b""  # nothing for Telegram to run
    assert (await deliver(server, account_id, fixture("update_text"))).status_code == 200  # redelivered
    assert await stored_receipts(server) == 1
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "telegram"
    assert offer["customer_name"] == "Lee Okafor"
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert transcript[0]["message"]["text"] == "hello, my parcel has not arrived"

    # A photo with a caption and a location join the same conversation; the photo is fetched
    # (getFile, then the file URL) into the attachment store.
    double.files["AgACAgQAAxkBAAM1aXlargeAAQ"] = ("photos/file_7.jpg", JPEG)
    await deliver(server, account_id, fixture("update_photo"))
    photo = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert photo["message"]["text"] == "the box was damaged"
    [stored] = photo["message"]["attachments"]
    assert (stored["filename"], stored["content_type"], stored["url"]) == ("photo.jpg", "image/jpeg", None)
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{stored['id']}")
    assert got.content == JPEG
    assert BOT_TOKEN not in json.dumps(photo)
    await deliver(server, account_id, fixture("update_location"))
    where = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert where["message"]["text"] == "[location: 40.416775, -3.703790]"

    # The agent answers while the Bot API is down: the reply waits, the agent sees why.
    double.refusals = 1
    r = await ana.post(
        f"/api/v1/conversations/{conversation_id}/messages", text="Shall I send a replacement?"
    )
    assert r.status_code == 201
    reply_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert (retrying["status"], "503" in retrying["error"]) == ("queued", True)
    assert double.messages == []
    await server.clock.advance(5)  # past the first backoff
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert sent["status"] == "sent"
    assert double.messages == [
        {"method": "sendMessage", "chat_id": CHAT_ID, "text": "Shall I send a replacement?"}
    ]
    async with server.container.db.read() as conn:
        provider_id = (
            await conn.execute(
                sa.select(outbound_messages.c.provider_message_id).where(
                    outbound_messages.c.message_id == reply_id
                )
            )
        ).scalar_one()
    assert provider_id == f"{CHAT_ID}:57"

    # The customer taps a button under that message: it arrives as the button's label, in the same
    # conversation, and our 2xx carries answerCallbackQuery for Telegram to run.
    tap = await deliver(server, account_id, fixture("update_callback_query"))
    assert tap.status_code == 200
    assert tap.headers["content-type"].startswith("application/json")
    assert tap.json() == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}
    pressed = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert pressed["message"]["text"] == "Yes, please"
    again = await deliver(server, account_id, fixture("update_callback_query"))  # redelivered: stored once
    assert again.json()["method"] == "answerCallbackQuery"

    # Telegram reports no delivery or read receipts to bots: "sent" is the last state we learn.
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    texts = [m["text"] for m in history]
    assert texts.count("Yes, please") == 1
    assert texts.count("hello, my parcel has not arrived") == 1
    agent_messages = [m for m in history if m["sender_kind"] == "agent"]
    assert [m["delivery_status"] for m in agent_messages] == ["sent"]


async def test_rate_limits_wait_for_retry_after(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    double, api_base = telegram
    account_id = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await deliver(server, account_id, fixture("update_text"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")

    double.rate_limited, double.retry_after = 1, 7
    r = await ana.post(f"/api/v1/conversations/{offer['conversation_id']}/messages", text="One moment")
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id)
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert "429 Too Many Requests: retry after 7" in retrying["error"]
    await server.clock.advance(5)  # the ordinary backoff would have retried by now; Telegram said 7
    await server.container.channels.run_once()
    assert double.messages == []
    await server.clock.advance(3)
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "sent"
    assert [m["text"] for m in double.messages] == ["One moment"]


async def test_a_long_reply_that_fails_half_way_is_resumed_not_repeated(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    """A reply Telegram takes as three messages fails on the second: the retry (after the
    backoff, from the outbox) sends the second and third only, so the customer reads each once."""
    double, api_base = telegram
    account_id = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await deliver(server, account_id, fixture("update_text"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")

    text = "\n".join(f"Step {i:03d}: check the parcel's label and the order number." for i in range(150))
    parts = split_text(text)
    assert len(parts) == 3
    double.fail_requests = {double.requests + 2}  # Telegram takes part 1, then has an outage
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text=text)
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id, status="queued")
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert retrying["status"] == "queued"
    assert "part 2 of 3; 1 sent" in retrying["error"]
    assert [m["text"] for m in double.messages] == parts[:1]
    async with server.container.db.read() as conn:
        query = sa.select(outbound_messages.c.payload).where(outbound_messages.c.message_id == reply_id)
        payload = (await conn.execute(query)).scalar_one()
    assert payload["progress"] == {"telegram_sent_parts": [f"{CHAT_ID}:57"]}  # kept with the row

    await server.clock.advance(5)  # past the first backoff
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id, status="sent")
    assert sent["error"] is None
    assert [m["text"] for m in double.messages] == parts  # each part once, in order
    async with server.container.db.read() as conn:
        query = sa.select(outbound_messages.c.provider_message_id).where(
            outbound_messages.c.message_id == reply_id
        )
        assert (await conn.execute(query)).scalar_one() == f"{CHAT_ID}:59"  # the last part


async def test_a_blocked_bot_fails_the_reply_and_ends_the_conversation(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    double, api_base = telegram
    account_id = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await deliver(server, account_id, fixture("update_text"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")

    double.blocked_chats.add(CHAT_ID)
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Are you still there?")
    reply_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=reply_id)
    failed = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert failed["status"] == "failed"
    assert failed["error"] == "sendMessage: 403 Forbidden: bot was blocked by the user"

    # Telegram tells the bot it was blocked (my_chat_member → kicked): the conversation ends.
    await deliver(server, account_id, fixture("update_my_chat_member_kicked"))
    state = await agent_ws.next("conversation.state_changed", conversation_id=conversation_id)
    assert state["to_state"] == "wrap_up"


async def test_an_edited_message_and_group_service_messages(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    account_id = await create_account(clients, telegram[1])
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await deliver(server, account_id, fixture("update_text"))
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await agent_ws.messages_until(conversation_id, 2)
    edited = await deliver(server, account_id, fixture("update_edited_message"))
    assert edited.status_code == 200
    shown = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert shown["message"]["text"] == "(edited) hello, my parcel 2291 has not arrived"
    # "Sam joined the group" is acknowledged (so Telegram stops retrying) and stores nothing.
    before = await stored_receipts(server)
    joined = await deliver(server, account_id, copy.deepcopy(fixture("update_group_member_joined")))
    assert joined.status_code == 200
    assert await stored_receipts(server) == before


async def test_oversize_or_missing_files_keep_the_text_and_agent_files_go_by_url(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    double, api_base = telegram
    server.container.channels.media_retry_delays = (0.0, 0.0)
    server.container.attachments.limits = Limits(max_bytes=200_000)
    account_id = await create_account(clients, api_base)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    # The document's file_size is over the limit: no download is even tried.
    big = fixture("update_document")
    big["message"]["document"]["file_size"] = 350_000
    await deliver(server, account_id, big)
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    [first, _joined] = await agent_ws.messages_until(conversation_id, 2)
    assert first["message"]["text"] == "[attachment not stored: too large: invoice-2291.pdf]"
    assert first["message"]["attachments"] == []
    assert [c["method"] for c in double.calls] == []

    # A photo Telegram no longer has (getFile answers 400): the caption arrives with a note.
    await deliver(server, account_id, fixture("update_photo"))
    photo = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert photo["message"]["text"] == "the box was damaged\n[attachment not stored: fetch failed: photo.jpg]"

    # An agent's PDF goes out with sendDocument and a signed link Telegram downloads itself.
    file_id = await send_agent_file(
        ana, agent_ws, conversation_id, "Here it is", ("label.pdf", PDF, "application/pdf")
    )
    sent_document, sent_text = double.calls[-2:]
    assert sent_document["method"] == "sendDocument"
    assert sent_document["chat_id"] == CHAT_ID
    assert sent_document["caption"] == "label.pdf"
    assert sent_document["document"].startswith(f"{server.base_url}/files/{file_id}?exp=")
    async with httpx.AsyncClient() as http:
        assert (await http.get(sent_document["document"])).content == PDF
    assert (sent_text["method"], sent_text["text"]) == ("sendMessage", "Here it is")


async def test_a_bots_question_goes_out_with_an_inline_keyboard_and_a_tap_answers_it(
    server: LiveServer, clients: Clients, telegram: tuple[TelegramDouble, str]
) -> None:
    double, base = telegram
    await put_demo_bot_on(server.container, "telegram")
    account_id = await create_account(clients, base)
    update = fixture("update_text")
    update["message"]["text"] = "I lost my card"
    assert (await deliver(server, account_id, update)).status_code == 200

    def asked() -> dict[str, Any] | None:
        found = [m for m in double.messages if "debit card or your credit card" in m["text"]]
        return found[0] if found else None

    question = await eventually(asked)
    assert question["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "debit", "callback_data": "debit"}],
            [{"text": "credit", "callback_data": "credit"}],
        ]
    }
    # Only the question carries the buttons: the bot's earlier message of that turn does not.
    assert [m for m in double.messages if "reply_markup" in m] == [question]

    # The customer taps "credit" under that message: the bot reads it and asks for free text.
    tap = fixture("update_callback_query")
    tap["update_id"] += 100
    tap["callback_query"]["message"]["text"] = question["text"]
    tap["callback_query"]["message"]["reply_markup"] = question["reply_markup"]
    tap["callback_query"]["data"] = "credit"
    assert (await deliver(server, account_id, tap)).status_code == 200
    digits = await eventually(
        lambda: next((m for m in double.messages if "last 4 digits of the credit card" in m["text"]), None)
    )
    assert "reply_markup" not in digits

"""The custom channel API end to end: signed inbound webhooks, dedupe, routing to an agent, the
agent's reply delivered to the integrator's signed webhook, delivery receipts and retries."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from omniroute.channels import store
from omniroute.channels.custom.double import WEBHOOK_PATH, CustomChannelDouble
from omniroute.channels.custom.signing import signature_header
from omniroute.channels.service import RECEIPT_MAX_ATTEMPTS
from omniroute.channels.store import channel_accounts, inbound_receipts
from omniroute.conversations.store import conversations
from omniroute.core.ids import new_id
from omniroute.core.secretbox import SecretBox
from tests.e2e.channels.support import eventually, put_demo_bot_on, send_agent_file
from tests.e2e.conftest import LiveServer, free_port, serve

Clients = dict[str, Any]
INBOUND_SECRET = "in-secret-for-tests"
OUTBOUND_SECRET = "out-secret-for-tests"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
CSV = b"order,status\n4521,damaged\n"


@pytest.fixture
async def integrator(server: LiveServer) -> AsyncIterator[tuple[CustomChannelDouble, str]]:
    """The messaging service on the other side (the product's double): it checks our signature
    on every reply and signs what it sends; yields it and its ``outbound_url``."""
    double = CustomChannelDouble(INBOUND_SECRET, OUTBOUND_SECRET, server.clock.now)
    port = free_port()
    async with serve(double.app(), port):
        try:
            yield double, f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        finally:
            await double.aclose()


def webhook(server: LiveServer, account_id: str) -> str:
    return f"{server.base_url}/webhooks/{account_id}"


async def signed_post(
    server: LiveServer,
    account_id: str,
    event: dict[str, Any],
    secret: str = INBOUND_SECRET,
    *,
    tamper: bool = False,
) -> httpx.Response:
    body = json.dumps(event).encode()
    header = signature_header(secret, body, int(server.clock.now().timestamp()))
    if tamper:
        body = body.replace(b"hello", b"HELLO")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(
            f"/webhooks/{account_id}",
            content=body,
            headers={"omniroute-signature": header, "content-type": "application/json"},
        )


async def create_account(clients: Clients, outbound_url: str, **settings: Any) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="custom",
        name="Acme chat",
        settings={"outbound_url": outbound_url, **settings},
        secrets={"inbound_secret": INBOUND_SECRET, "outbound_secret": OUTBOUND_SECRET},
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert account["secrets_set"] == ["inbound_secret", "outbound_secret"]
    assert INBOUND_SECRET not in r.text
    assert account["webhook_url"].endswith(f"/webhooks/{account['id']}")
    return str(account["id"])


def message(event_id: str, text: str = "hello from acme", user: str = "user-42") -> dict[str, Any]:
    return CustomChannelDouble.message(event_id, user, text, name="Lee Acme")


async def test_signatures_are_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    account_id = await create_account(clients, integrator[1])
    tampered = await signed_post(server, account_id, message("m-1"), tamper=True)
    assert tampered.status_code == 401
    assert tampered.json()["detail"] == "signature does not match"
    wrong = await signed_post(server, account_id, message("m-1"), secret="guess")
    assert wrong.status_code == 401
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        missing = await http.post(f"/webhooks/{account_id}", json=message("m-1"))
        assert missing.status_code == 401
        assert (await http.post("/webhooks/no-such-account", json={})).status_code == 404
    malformed = await signed_post(server, account_id, {"type": "message", "from": {"id": "u"}})
    assert malformed.status_code == 400
    assert "needs 'id'" in malformed.json()["detail"]
    # A captured request replayed later is refused: the signed timestamp is too old.
    body = json.dumps(message("m-9")).encode()
    header = signature_header(INBOUND_SECRET, body, int(server.clock.now().timestamp()))
    await server.clock.advance(400)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        replay = await http.post(
            f"/webhooks/{account_id}", content=body, headers={"omniroute-signature": header}
        )
    assert replay.status_code == 401
    assert "tolerance" in replay.json()["detail"]
    async with server.container.db.read() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
    assert stored == 0


async def test_message_round_trip_with_receipts_dedupe_and_retry(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    first = await double.deliver(webhook(server, account_id), message("m-1"))
    assert first.status_code == 200
    again = await double.deliver(webhook(server, account_id), message("m-1"))  # the provider retries
    assert again.status_code == 200
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "custom"
    assert offer["customer_name"] == "Lee Acme"
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(conversation_id, 2)
    assert [m["message"]["text"] for m in transcript] == [
        "hello from acme",
        "Ana García joined the conversation.",
    ]

    # A second message from the same user joins the same conversation.
    await double.deliver(webhook(server, account_id), message("m-2", "are you there?"))
    follow_up = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert (follow_up["seq"], follow_up["message"]["text"]) == (3, "are you there?")

    # The agent replies while the integrator is down: the message waits, the agent sees why.
    double.refusals = 1
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Yes, how can I help?")
    assert r.status_code == 201
    reply_id = r.json()["id"]
    queued = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert queued["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert retrying["status"] == "queued"
    assert "HTTP 503" in retrying["error"]
    assert double.received == []
    await server.clock.advance(5)  # past the first backoff
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert sent["status"] == "sent"
    assert double.received[0]["text"] == "Yes, how can I help?"
    assert double.received[0]["to"] == "user-42"
    assert double.received[0]["in_reply_to"] == "m-2"

    # Receipts move the state forward, never back.
    await double.deliver(
        webhook(server, account_id), {"type": "status", "message_id": "ext-1", "status": "read"}
    )
    read = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert read["status"] == "read"
    await double.deliver(
        webhook(server, account_id), {"type": "status", "message_id": "ext-1", "status": "delivered"}
    )
    await server.container.channels.run_once()
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert [m["text"] for m in history].count("hello from acme") == 1  # the retried webhook: once
    assert [m["text"] for m in history if m["sender_kind"] == "agent"] == ["Yes, how can I help?"]


async def test_typing_and_end_from_the_service(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    await double.deliver(webhook(server, account_id), message("m-1"))
    offer = await agent_ws.next("offer.created")
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await double.deliver(webhook(server, account_id), {"type": "typing", "from": {"id": "user-42"}})
    typing = await agent_ws.next("typing.changed", conversation_id=offer["conversation_id"])
    assert typing["sender_kind"] == "customer"
    await double.deliver(
        webhook(server, account_id), {"events": [{"type": "end", "from": {"id": "user-42"}}]}
    )
    state = await agent_ws.next("conversation.state_changed", conversation_id=offer["conversation_id"])
    assert state["to_state"] == "wrap_up"


async def test_rotating_a_secret_takes_effect_at_once_and_disabling_stops_intake(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    account_id = await create_account(clients, integrator[1])
    assert (await signed_post(server, account_id, message("r-1"))).status_code == 200  # adapter cached
    ada = await clients["agent"]("admin")
    path = f"/api/v1/admin/channel-accounts/{account_id}"
    r = await ada.http.patch(path, json={"secrets": {"inbound_secret": "rotated"}}, headers=ada.headers())
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["inbound_secret", "outbound_secret"]  # the other one is kept
    assert (await signed_post(server, account_id, message("r-2"))).status_code == 401  # old secret
    assert (await signed_post(server, account_id, message("r-3"), secret="rotated")).status_code == 200
    missing = await ada.http.patch(path, json={"secrets": {"outbound_secret": ""}}, headers=ada.headers())
    assert missing.status_code == 422
    assert "outbound_secret" in missing.json()["detail"]
    off = await ada.http.patch(path, json={"enabled": False, "name": "Acme (old)"}, headers=ada.headers())
    assert (off.json()["enabled"], off.json()["name"]) == (False, "Acme (old)")
    assert (await signed_post(server, account_id, message("r-4"), secret="rotated")).status_code == 404
    agent = await clients["agent"]("ana")
    denied = await agent.http.patch(path, json={"enabled": True}, headers=agent.headers())
    assert denied.status_code == 403
    unknown = await ada.http.patch(
        "/api/v1/admin/channel-accounts/nope", json={"enabled": True}, headers=ada.headers()
    )
    assert unknown.status_code == 404


async def test_files_by_url_or_inline_are_stored_and_agent_files_go_out_as_links(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    server.container.channels.media_retry_delays = (0.0, 0.0)
    files_base = url.removesuffix("/omniroute") + "/files"
    # The integrator's files are on 127.0.0.1: fetched only because the account opts in.
    account_id = await create_account(clients, url, allow_private_media_hosts=True)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    double.files["box.png"] = ("image/png", PNG)
    event = message("m-files", text="see attached")
    event["attachments"] = [
        {"url": f"{files_base}/box.png", "content_type": "image/png", "filename": "box.png"},
        {"data": base64.b64encode(CSV).decode(), "content_type": "text/csv", "filename": "orders.csv"},
        {"url": f"{files_base}/gone.pdf", "content_type": "application/pdf", "filename": "gone.pdf"},
    ]
    assert (await double.deliver(webhook(server, account_id), event)).status_code == 200
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    first = (await agent_ws.messages_until(conversation_id, 2))[0]["message"]
    assert first["text"] == (
        f"see attached\n[attachment not stored: fetch failed: gone.pdf] {files_base}/gone.pdf"
    )
    png, csv, gone = first["attachments"]
    assert (png["filename"], csv["filename"], gone["id"]) == ("box.png", "orders.csv", None)
    for stored, expected in ((png, PNG), (csv, CSV)):
        got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{stored['id']}")
        assert got.content == expected
    assert double.file_requests == 2  # box.png once, gone.pdf once (404 is not retried)

    # Inline data that is not base64 is refused with the reason; nothing is stored.
    bad = message("m-bad")
    bad["attachments"] = [{"data": "not base64!", "filename": "x.bin"}]
    refused = await double.deliver(webhook(server, account_id), bad)
    assert refused.status_code == 400
    assert "base64" in refused.json()["detail"]

    file_id = await send_agent_file(
        ana, agent_ws, conversation_id, "Your label", ("label.png", PNG, "image/png")
    )
    [sent] = double.received
    [attachment] = sent["attachments"]
    assert {k: attachment[k] for k in ("content_type", "filename", "size")} == {
        "content_type": "image/png",
        "filename": "label.png",
        "size": len(PNG),
    }
    assert attachment["url"].startswith(f"{server.base_url}/files/{file_id}?exp=")
    async with httpx.AsyncClient() as http:
        assert (await http.get(attachment["url"])).content == PNG


async def test_media_urls_on_private_addresses_are_refused_without_the_opt_in(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    """An integrator's URL is fetched by our server: 127.0.0.1 (or the cloud metadata address)
    would let a webhook sender read what only Omniroute can reach."""
    double, url = integrator
    server.container.channels.media_retry_delays = (0.0, 0.0)
    files_base = url.removesuffix("/omniroute") + "/files"
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    double.files["box.png"] = ("image/png", PNG)
    event = message("m-private", text="see attached")
    event["attachments"] = [
        {"url": f"{files_base}/box.png", "content_type": "image/png", "filename": "box.png"},
        {"url": "http://169.254.169.254/latest/meta-data/", "filename": "meta.txt"},
    ]
    assert (await double.deliver(webhook(server, account_id), event)).status_code == 200
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    first = (await agent_ws.messages_until(conversation_id, 2))[0]["message"]
    assert "[attachment not stored: fetch failed: box.png]" in first["text"]
    assert "[attachment not stored: fetch failed: meta.txt]" in first["text"]
    assert [a["id"] for a in first["attachments"]] == [None, None]
    assert double.file_requests == 0  # refused before any connection


async def test_a_message_over_the_transcript_limit_is_kept_shortened_with_a_note(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    """Acknowledged with 200 means kept: a 40 KB message arrives shortened, saying so."""
    double, url = integrator
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    limit = server.container.conversations.max_message_bytes
    long_text = "".join(f"line {i:05d}: the order history you asked for\n" for i in range(1000))
    assert len(long_text.encode()) > limit
    assert (
        await double.deliver(webhook(server, account_id), message("m-long", long_text))
    ).status_code == 200
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    text = (await agent_ws.messages_until(conversation_id, 2))[0]["message"]["text"]
    assert text.startswith("line 00000: the order history you asked for\nline 00001:")
    assert text.endswith(
        f"[… message shortened: {len(long_text.encode())} bytes received, the transcript keeps {limit}]"
    )
    assert len(text.encode()) <= limit
    async with server.container.db.read() as conn:
        failed = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(inbound_receipts)
                .where(inbound_receipts.c.processed_at.is_(None))
            )
        ).scalar_one()
    assert failed == 0


async def stored_secrets(server: LiveServer, account_id: str) -> dict[str, str]:
    async with server.container.db.read() as conn:
        query = sa.select(channel_accounts.c.secrets).where(channel_accounts.c.id == account_id)
        return dict((await conn.execute(query)).scalar_one())


async def test_credentials_are_stored_encrypted_and_env_references_resolve(
    server: LiveServer,
    clients: Clients,
    integrator: tuple[CustomChannelDouble, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("H10_ACME_INBOUND", "inbound-from-the-environment")
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="custom",
        name="Acme env",
        settings={"outbound_url": integrator[1]},
        secrets={"inbound_secret": "env:H10_ACME_INBOUND", "outbound_secret": OUTBOUND_SECRET},
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["id"]
    stored = await stored_secrets(server, account_id)
    # The database holds ciphertext, never the secret; the environment reference stays a reference.
    assert stored["inbound_secret"] == "env:H10_ACME_INBOUND"
    assert OUTBOUND_SECRET not in json.dumps(stored)
    assert SecretBox(server.container.settings.secret_key).open(stored["outbound_secret"]) == OUTBOUND_SECRET
    listed = (await ada.http.get("/api/v1/admin/channel-accounts")).text
    assert OUTBOUND_SECRET not in listed
    assert "inbound-from-the-environment" not in listed
    # Webhooks are verified with the environment's value.
    ok = await signed_post(server, account_id, message("e-1"), secret="inbound-from-the-environment")
    assert ok.status_code == 200
    assert (
        await signed_post(server, account_id, message("e-2"), secret="env:H10_ACME_INBOUND")
    ).status_code == 401


async def test_unreadable_credentials_give_the_documented_errors(
    server: LiveServer,
    clients: Clients,
    integrator: tuple[CustomChannelDouble, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After OMNIROUTE_SECRET_KEY changed (here: the service's box holds another key), webhooks
    get 503 without internals, the agent's reply waits with the reason; sending the secrets again
    heals the account and the waiting reply goes out."""
    double, url = integrator
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    assert (await signed_post(server, account_id, message("k-1"))).status_code == 200
    offer = await agent_ws.next("offer.created")
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    await agent_ws.messages_until(conversation_id, 2)

    channels = server.container.channels
    monkeypatch.setattr(channels, "secrets", SecretBox("a-different-secret-key-of-32-characters"))
    channels.invalidate(account_id)
    refused = await signed_post(server, account_id, message("k-2"))
    assert refused.status_code == 503
    assert refused.json()["detail"] == "the channel account's credentials cannot be read; try again later"
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Still there?")
    reply_id = r.json()["id"]
    assert (await agent_ws.next("message.delivery_changed", message_id=reply_id))["status"] == "queued"
    waiting = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert waiting["status"] == "queued"
    assert "credentials cannot be read" in waiting["error"]
    assert "was OMNIROUTE_SECRET_KEY changed?" in waiting["error"]
    assert double.received == []

    ada = await clients["agent"]("admin")
    path = f"/api/v1/admin/channel-accounts/{account_id}"
    healed = await ada.http.patch(
        path,
        json={"secrets": {"inbound_secret": INBOUND_SECRET, "outbound_secret": OUTBOUND_SECRET}},
        headers=ada.headers(),
    )
    assert healed.status_code == 200, healed.text
    await server.clock.advance(5)  # the reply's retry is due: it goes out with the new seal
    sent = await agent_ws.next("message.delivery_changed", message_id=reply_id)
    assert sent["status"] == "sent"
    assert double.received[0]["text"] == "Still there?"


async def test_admins_read_dead_lettered_receipts_and_requeue_them(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    account_id = await create_account(clients, integrator[1])
    # An item the worker cannot apply (stored by an older version, say) on its last try.
    receipt_id = new_id()
    async with server.container.db.write() as conn:
        await store.insert_receipt(
            conn,
            store.Receipt(
                id=receipt_id,
                account_id=account_id,
                dedupe_key="msg:broken-1",
                kind="message",
                payload={"text": "<b>no sender</b>"},
                received_at=server.clock.now(),
                attempts=RECEIPT_MAX_ATTEMPTS - 1,
            ),
        )
        await conn.execute(
            inbound_receipts.update()
            .where(inbound_receipts.c.id == receipt_id)
            .values(attempts=RECEIPT_MAX_ATTEMPTS - 1)
        )
    await server.container.channels.run_once()
    ada = await clients["agent"]("admin")
    path = f"/api/v1/admin/channel-accounts/{account_id}/dead-receipts"
    listed = await ada.http.get(path)
    assert listed.status_code == 200, listed.text
    [dead] = listed.json()
    assert (dead["id"], dead["kind"], dead["dedupe_key"], dead["attempts"]) == (
        receipt_id,
        "message",
        "msg:broken-1",
        RECEIPT_MAX_ATTEMPTS,
    )
    assert dead["payload"] == {"text": "<b>no sender</b>"}
    assert "provider_message_id" in dead["error"]
    assert listed.headers["content-type"].startswith("application/json")

    ana = await clients["agent"]("ana")
    assert (await ana.http.get(path)).status_code == 403
    assert (await ada.http.post(f"{path}/{receipt_id}/retry")).status_code == 403  # no CSRF header
    unknown = await ada.http.post(f"{path}/nope/retry", headers=ada.headers())
    assert unknown.status_code == 404
    missing = await ada.http.get("/api/v1/admin/channel-accounts/nope/dead-receipts")
    assert missing.status_code == 404
    again = await ada.http.post(f"{path}/{receipt_id}/retry", headers=ada.headers())
    assert again.status_code == 204
    assert (await ada.http.get(path)).json() == []

    async def tried_again() -> tuple[int, bool]:
        async with server.container.db.read() as conn:
            row = (
                await conn.execute(sa.select(inbound_receipts).where(inbound_receipts.c.id == receipt_id))
            ).one()
        return row.attempts, row.dead_at is None

    # The worker takes it up again at once: a fresh set of tries, the first one spent.
    async with asyncio.timeout(60):
        while True:
            if await tried_again() == (1, True):
                break
            await asyncio.sleep(0.05)


async def test_a_bots_question_carries_its_quick_replies_to_the_service(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    await put_demo_bot_on(server.container, "custom")
    account_id = await create_account(clients, url)
    assert (
        await double.deliver(webhook(server, account_id), message("q-1", "I lost my card"))
    ).status_code == 200

    def sent(words: str) -> dict[str, Any] | None:
        return next((m for m in double.received if words in m["text"]), None)

    question = await eventually(lambda: sent("debit card or your credit card"))
    assert question["quick_replies"] == [
        {"id": "debit", "title": "debit"},
        {"id": "credit", "title": "credit"},
    ]
    assert [m for m in double.received if m["quick_replies"]] == [question]
    assert (await double.deliver(webhook(server, account_id), message("q-2", "credit"))).status_code == 200
    digits = await eventually(lambda: sent("last 4 digits of the credit card"))
    assert digits["quick_replies"] == []


async def conversations_of(server: LiveServer, account_id: str) -> list[dict[str, Any]]:
    """The account's conversations, oldest first, as stored."""
    async with server.container.db.read() as conn:
        rows = await conn.execute(
            sa.select(conversations.c.id, conversations.c.state, conversations.c.prechat)
            .where(conversations.c.channel_account_id == account_id)
            .order_by(conversations.c.created_at, conversations.c.id)
        )
        return [dict(r._mapping) for r in rows]


async def receipts_done(server: LiveServer, account_id: str, count: int) -> None:
    """Wait until the worker applied ``count`` receipts of the account (each exactly once)."""

    async def processed() -> int:
        async with server.container.db.read() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(inbound_receipts)
                .where(
                    inbound_receipts.c.account_id == account_id,
                    inbound_receipts.c.processed_at.is_not(None),
                )
            )
            return int((await conn.execute(query)).scalar_one())

    async with asyncio.timeout(60):
        while True:
            done = await processed()
            if done >= count:
                break
            await asyncio.sleep(0.05)
    assert done == count


async def test_a_start_opens_a_conversation_with_context_before_any_message(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    """The service starts a conversation (say, a "Chat with us" button): routing starts at once,
    the agent reads the service's context like pre-chat answers, the user's first message joins
    it, and our reply names the conversation. Repeats and restarts never open a second one."""
    double, url = integrator
    account_id = await create_account(clients, url)
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    start = CustomChannelDouble.start(
        "start-1",
        "user-7",
        name="Kim Lee",
        email="kim@example.com",
        phone="+34 600 000 000",
        context={"subject": "Where is my order?", "order": "A-4521", "vip": True, "cart_total": 129.5},
        queue="Support",
    )
    answered = await double.deliver(webhook(server, account_id), start)
    assert (answered.status_code, answered.json()) == (200, {"ok": True})
    assert (await double.deliver(webhook(server, account_id), start)).status_code == 200  # a retry

    offer = await agent_ws.next("offer.created")
    assert (offer["channel"], offer["customer_name"], offer["queue_name"]) == ("custom", "Kim Lee", "Support")
    assert offer["preview"] == "Where is my order?"
    assert offer["prechat"] == {
        "name": "Kim Lee",
        "address": "user-7",
        "email": "kim@example.com",
        "phone": "+34 600 000 000",
        "queue": "Support",
        "subject": "Where is my order?",
        "order": "A-4521",
        "vip": True,
        "cart_total": 129.5,
    }
    conversation_id = offer["conversation_id"]
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    joined = await agent_ws.messages_until(conversation_id, 1)
    assert [m["message"]["text"] for m in joined] == ["Ana García joined the conversation."]

    # Another start while it is in progress (the user pressed the button again) keeps it.
    again = CustomChannelDouble.start("start-2", "user-7", context={"order": "B-1"})
    assert (await double.deliver(webhook(server, account_id), again)).status_code == 200
    await double.deliver(webhook(server, account_id), message("m-1", "It never arrived", user="user-7"))
    first = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert (first["seq"], first["message"]["text"]) == (2, "It never arrived")
    await receipts_done(server, account_id, 3)  # start-1 once, start-2, m-1
    [stored] = await conversations_of(server, account_id)
    assert stored["id"] == conversation_id
    assert stored["prechat"]["order"] == "A-4521"  # the second start changed nothing

    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Let me check, Kim.")
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    [reply] = double.sent_to("user-7")
    assert (reply["conversation_id"], reply["in_reply_to"]) == (conversation_id, "m-1")

    # Once it ended, the next start opens a new conversation.
    await double.deliver(webhook(server, account_id), {"type": "end", "from": {"id": "user-7"}})
    await agent_ws.next("conversation.state_changed", conversation_id=conversation_id, to_state="wrap_up")
    later = CustomChannelDouble.start("start-3", "user-7", name="Kim Lee")
    assert (await double.deliver(webhook(server, account_id), later)).status_code == 200
    await receipts_done(server, account_id, 5)
    old, new = await conversations_of(server, account_id)
    assert (old["id"], old["state"]) == (conversation_id, "wrap_up")
    assert new["state"] == "open"
    assert new["prechat"] == {"name": "Kim Lee", "address": "user-7", "queue": "Sales"}


async def test_a_start_taken_by_a_bot_sends_its_greeting_with_the_conversation_id(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    await put_demo_bot_on(server.container, "custom")
    account_id = await create_account(clients, url)
    start = CustomChannelDouble.start("start-bot", "user-9", name="Noor", context={"plan": "gold"})
    assert (await double.deliver(webhook(server, account_id), start)).status_code == 200
    greeting = await eventually(lambda: next(iter(double.sent_to("user-9")), None))
    [conversation] = await conversations_of(server, account_id)
    assert greeting["conversation_id"] == conversation["id"]
    assert conversation["state"] == "active"  # with the bot, no agent
    assert conversation["prechat"]["plan"] == "gold"


async def test_a_malformed_start_is_refused_with_the_reason(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    account_id = await create_account(clients, url)
    for event, reason in (
        ({"type": "conversation.start", "id": "s-1", "user": {}}, "needs 'id' and 'user.id'"),
        (CustomChannelDouble.start("s-2", "u", context={"name": "x"}), "context key 'name' is reserved"),
        (CustomChannelDouble.start("s-3", "u", context={"cart": {"items": 2}}), "must be text, a number"),
    ):
        refused = await double.deliver(webhook(server, account_id), {"events": [message("m-ok"), event]})
        assert refused.status_code == 400
        assert reason in refused.json()["detail"]
    async with server.container.db.read() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
    assert stored == 0  # a batch with one bad event stores nothing


async def test_routing_rules_read_the_start_context_as_prechat_answers(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    await server.container.routing_configs.save(
        {
            "route_to_queue": [
                {
                    "name": "vip",
                    "when": {"field": "prechat.vip", "op": "eq", "value": True},
                    "queue": "Support",
                }
            ]
        },
        comment="VIP users of the app go to Support",
        user_id=None,
    )
    account_id = await create_account(clients, url)
    for event_id, user, vip in (("s-vip", "user-1", True), ("s-std", "user-2", False)):
        start = CustomChannelDouble.start(event_id, user, context={"vip": vip})
        assert (await double.deliver(webhook(server, account_id), start)).status_code == 200
    await receipts_done(server, account_id, 2)
    queues = {
        c["prechat"]["address"]: c["prechat"]["queue"] for c in await conversations_of(server, account_id)
    }
    assert queues == {"user-1": "Support", "user-2": "Sales"}


async def test_out_of_hours_the_service_hears_why_and_the_conversation_ends(
    server: LiveServer, clients: Clients, integrator: tuple[CustomChannelDouble, str]
) -> None:
    double, url = integrator
    await server.container.routing_configs.save(
        {
            "queues": [
                {
                    "queue": "Sales",  # where the account's conversations go; the test clock is 09:00 UTC
                    "operating_hours": {
                        "timezone": "UTC",
                        "weekly": {"mon": [{"start": "10:00", "end": "17:00"}]},
                    },
                    "overflow": [
                        {"when": "out_of_hours", "action": "end_with_message", "message": "We open at 10:00."}
                    ],
                }
            ]
        },
        comment="Sales opens at ten",
        user_id=None,
    )
    account_id = await create_account(clients, url)
    assert (await signed_post(server, account_id, message("ooh-1", "Anyone there?"))).status_code == 200
    await receipts_done(server, account_id, 1)
    [conversation] = await conversations_of(server, account_id)
    assert conversation["state"] == "closed"
    # The reason goes out through the channel, as the account, to the person who wrote.
    sent = await eventually(lambda: double.sent_to("user-42") or None)
    assert [m["text"] for m in sent] == ["We open at 10:00."]

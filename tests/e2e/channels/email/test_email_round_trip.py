"""The email channel end to end over its webhook and a real SMTP server: signatures, dedupe, threading
(headers, then the subject token), quoted history and HTML stripped, the agent's reply delivered by
SMTP with the right threading headers, retries through an SMTP outage, and delivery reports."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import httpx
import sqlalchemy as sa

from omniroute.channels.email import threads
from omniroute.channels.email.signing import signature_header
from omniroute.channels.store import inbound_receipts
from tests.e2e.channels.email.conftest import (
    ADDRESS,
    WEBHOOK_SECRET,
    SmtpPeer,
    account_settings,
    create_account,
    fixture,
    post_mail,
)
from tests.e2e.channels.support import send_agent_file
from tests.e2e.conftest import Agent, LiveServer, Socket, free_port

Clients = dict[str, Any]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
FIRST_ID = "<CAKx7Lq3pV+9f2wQZ1h8k2bYw=Lr0dF9sT1u@mail.gmail.com>"


def mime_part(raw: bytes, filename: str) -> bytes:
    """The decoded bytes of the part named ``filename`` in a raw mail."""
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    for part in mail.iter_attachments():
        if part.get_filename() == filename:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(filename)


async def receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
        )


async def first_conversation(
    server: LiveServer, clients: Clients, account_id: str
) -> tuple[Agent, Socket, str]:
    """Lee's first mail arrives; Ana is offered it and accepts."""
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    assert (await post_mail(server, account_id, fixture("gmail_first_message.eml"))).status_code == 200
    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "email"
    assert offer["customer_name"] == "Lee García"
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    return ana, agent_ws, str(offer["conversation_id"])


async def reply(ana: Agent, agent_ws: Socket, conversation_id: str, text: str) -> dict[str, Any]:
    """The agent answers; returns the delivery frame that settles it (sent or failed)."""
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text=text)
    assert r.status_code == 201, r.text
    message_id = r.json()["id"]
    while True:
        frame = await agent_ws.next("message.delivery_changed", message_id=message_id)
        if frame["status"] != "queued":
            return frame


async def test_signatures_are_checked_before_anything_is_stored(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    raw = fixture("gmail_first_message.eml")
    tampered = await post_mail(server, account_id, raw, tamper=True)
    assert tampered.status_code == 401
    assert tampered.json()["detail"] == "signature does not match"
    wrong = await post_mail(server, account_id, raw, secret="a guess")
    assert wrong.status_code == 401
    missing = await post_mail(server, account_id, raw, signed=False)
    assert missing.status_code == 401
    assert "missing" in missing.json()["detail"]
    # A captured delivery replayed later is refused: its signed timestamp is too old.
    header = signature_header(WEBHOOK_SECRET, raw, int(server.clock.now().timestamp()))
    await server.clock.advance(400)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        replay = await http.post(
            f"/webhooks/{account_id}", content=raw, headers={"omniroute-signature": header}
        )
        assert replay.status_code == 401
        assert "tolerance" in replay.json()["detail"]
        assert (await http.post("/webhooks/no-such-account", content=raw)).status_code == 404
    assert await receipts(server) == 0


async def test_malformed_messages_get_400_with_the_reason(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    not_mail = await post_mail(server, account_id, fixture("not_an_email.txt"))
    assert not_mail.status_code == 400
    assert "not an RFC 5322 message" in not_mail.json()["detail"]
    as_json = await post_mail(
        server, account_id, fixture("not_an_email.txt"), content_type="application/json"
    )
    assert as_json.status_code == 400
    assert "message/rfc822" in as_json.json()["detail"]
    no_sender = await post_mail(server, account_id, b"Message-ID: <x@y>\r\nSubject: hi\r\n\r\nbody\r\n")
    assert no_sender.status_code == 400
    assert "From" in no_sender.json()["detail"]
    assert await receipts(server) == 0


async def test_mail_round_trip_threads_by_headers_then_by_token(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    ana, agent_ws, conversation_id = await first_conversation(server, clients, account_id)
    # The provider delivers the same mail again: stored once.
    assert (await post_mail(server, account_id, fixture("gmail_first_message.eml"))).status_code == 200
    transcript = await agent_ws.messages_until(conversation_id, 2)
    first_text = transcript[0]["message"]["text"]
    assert first_text.startswith("Hello,\n\nMy order 1042 arrived today and the lamp is broken.")
    assert "[attachment" not in first_text  # the PDF part is stored, not linked
    [invoice] = transcript[0]["message"]["attachments"]
    assert invoice["filename"] == "invoice-1042.pdf"
    got = await ana.http.get(f"/api/v1/conversations/{conversation_id}/attachments/{invoice['id']}")
    assert got.content == mime_part(fixture("gmail_first_message.eml"), "invoice-1042.pdf")

    await server.clock.advance(60)
    sent = await reply(ana, agent_ws, conversation_id, "Sorry to hear that, Lee.\n\nReplacement or refund?")
    assert sent["status"] == "sent"
    mail = smtp.sink.parsed()
    assert smtp.sink.messages[-1].mail_from == ADDRESS
    assert smtp.sink.messages[-1].rcpt_tos == ["lee.customer@gmail.com"]
    assert str(mail["From"]) == "Acme Support <support@acme.test>"
    assert str(mail["To"]) == "lee.customer@gmail.com"
    token = threads.subject_tokens(str(mail["Subject"]))[0]
    assert str(mail["Subject"]) == f"Re: Order 1042 arrived damaged [#{token}]"
    assert str(mail["In-Reply-To"]) == FIRST_ID
    assert str(mail["References"]) == FIRST_ID
    our_id = str(mail["Message-ID"])
    assert our_id.endswith("@acme.test>")
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == "Sorry to hear that, Lee.\n\nReplacement or refund?\n"
    assert "<p>Sorry to hear that, Lee.</p>" in html.get_content()

    # Lee answers from Gmail: In-Reply-To names our message; the quoted history is dropped.
    await server.clock.advance(60)
    lee_reply = fixture("gmail_reply.eml", IN_REPLY_TO=our_id, TOKEN=token)
    assert (await post_mail(server, account_id, lee_reply)).status_code == 200
    answer = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert answer["message"]["text"] == "A replacement would be great, thank you!"

    # Our next reply threads on Lee's latest message and keeps the same token.
    await server.clock.advance(60)
    assert (await reply(ana, agent_ws, conversation_id, "Replacement on its way."))["status"] == "sent"
    second = smtp.sink.parsed()
    assert str(second["In-Reply-To"]) == "<CAKx7Lq0Zr4N+reply2Q@mail.gmail.com>"
    assert str(second["References"]).split() == [FIRST_ID, our_id, "<CAKx7Lq0Zr4N+reply2Q@mail.gmail.com>"]
    assert threads.subject_tokens(str(second["Subject"])) == [token]

    # A colleague answers from Outlook with headers that name nothing we know — only the subject
    # token threads it. Scripts, styles and the quoted Outlook header block are gone.
    outlook = fixture("outlook_html_reply.eml", TOKEN=token)
    assert (await post_mail(server, account_id, outlook)).status_code == 200
    colleague = await agent_ws.next("message.posted", conversation_id=conversation_id)
    assert colleague["message"]["text"] == (
        "Please deliver to 12 Harbour Road instead.\n\nTracking: see here (https://track.example/abc)"
    )
    history = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    texts = [m["text"] for m in history]
    assert sum(t.startswith("Hello,") for t in texts) == 1
    assert not any("alert" in t or "MsoNormal" in t for t in texts)


async def test_sendgrid_style_form_post_and_mail_without_message_id(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    # SendGrid Inbound Parse with "POST the raw, full MIME message": the mail is the `email` field.
    raw = fixture("no_message_id.eml")
    form = httpx.Request(
        "POST",
        "http://relay.invalid/",
        data={"to": ADDRESS, "from": "webform@shop.example", "subject": "Contact form"},
        files={"email": (None, raw, "text/plain")},
    )
    body = form.read()
    for _ in range(2):  # delivered twice: no Message-ID, so the bytes' hash is the dedupe key
        r = await post_mail(server, account_id, body, content_type=form.headers["content-type"])
        assert r.status_code == 200, r.text
    offer = await agent_ws.next("offer.created")
    assert offer["customer_name"] == "webform@shop.example"
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    first = await agent_ws.next("message.posted", conversation_id=offer["conversation_id"])
    assert first["message"]["text"] == "Name: Chloé\nMessage: Do you ship to the Canary Islands?"
    assert await receipts(server) == 1


async def test_auto_replies_are_acknowledged_and_dropped(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    r = await post_mail(server, account_id, fixture("out_of_office.eml"))
    assert r.status_code == 200
    assert await receipts(server) == 0  # no conversation, so nothing answers the robot back


async def test_smtp_outage_is_retried_and_a_final_refusal_fails(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    ana, agent_ws, conversation_id = await first_conversation(server, clients, account_id)
    await agent_ws.messages_until(conversation_id, 2)

    smtp.sink.data_replies.append("451 4.3.0 Mail server temporarily rejected message")
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Checking now.")
    message_id = r.json()["id"]
    queued = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert queued["status"] == "queued"
    retrying = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert retrying["status"] == "queued"
    assert "SMTP 451" in retrying["error"]
    assert smtp.sink.messages == []
    await server.clock.advance(5)  # past the first backoff
    sent = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert sent["status"] == "sent"
    assert smtp.sink.parsed().get_body(preferencelist=("plain",)).get_content() == "Checking now.\n"  # type: ignore[union-attr]

    smtp.sink.rejected_recipients["lee.customer@gmail.com"] = (
        "550 5.1.1 <lee.customer@gmail.com>: user unknown"
    )
    failed = await reply(ana, agent_ws, conversation_id, "Are you there?")
    assert failed["status"] == "failed"
    assert "SMTP 550" in failed["error"]
    assert "user unknown" in failed["error"]


async def test_unreachable_smtp_server_is_retried(server: LiveServer, clients: Clients) -> None:
    account_id = await create_account(clients, account_settings(free_port()))  # nothing listens there
    ana, agent_ws, conversation_id = await first_conversation(server, clients, account_id)
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Hello?")
    message_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=message_id, status="queued")
    retrying = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert retrying["status"] == "queued"
    assert "cannot reach 127.0.0.1" in retrying["error"]


async def test_delivery_reports_move_status_forward_only(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    ana, agent_ws, conversation_id = await first_conversation(server, clients, account_id)
    await agent_ws.messages_until(conversation_id, 2)
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="Refund issued.")
    message_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=message_id, status="sent")
    our_id = str(smtp.sink.parsed()["Message-ID"])

    # A delivery report (DSN, action "delivered"), then a read receipt (MDN, "displayed").
    delivered = fixture("delivered_dsn.eml", MESSAGE_ID=our_id)
    assert (await post_mail(server, account_id, delivered)).status_code == 200
    frame = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert frame["status"] == "delivered"
    read = fixture("read_receipt_mdn.eml", MESSAGE_ID=our_id)
    assert (await post_mail(server, account_id, read)).status_code == 200
    frame = await agent_ws.next("message.delivery_changed", message_id=message_id)
    assert frame["status"] == "read"
    # A late "delivered" report (another relay's copy) does not move it back.
    late = delivered.replace(b"20260105181005.5Ab2Cd3EfGh", b"20260105181009.9Zz9Yy8XxWw")
    assert (await post_mail(server, account_id, late)).status_code == 200
    await server.container.channels.run_once()
    messages = (await ana.http.get(f"/api/v1/conversations/{conversation_id}/messages")).json()
    assert next(m for m in messages if m["id"] == message_id)["delivery_status"] == "read"

    # A bounce for another reply fails it, with the remote server's reason.
    r = await ana.post(f"/api/v1/conversations/{conversation_id}/messages", text="One more thing.")
    second_id = r.json()["id"]
    await agent_ws.next("message.delivery_changed", message_id=second_id, status="sent")
    bounce = fixture("bounce_dsn.eml", MESSAGE_ID=str(smtp.sink.parsed()["Message-ID"]))
    assert (await post_mail(server, account_id, bounce)).status_code == 200
    frame = await agent_ws.next("message.delivery_changed", message_id=second_id)
    assert frame["status"] == "failed"
    assert "550 5.1.1" in frame["error"]


async def test_an_agent_file_goes_out_as_a_real_mime_attachment(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port))
    ana, agent_ws, conversation_id = await first_conversation(server, clients, account_id)
    await agent_ws.messages_until(conversation_id, 2)
    label = ("return label.png", PNG, "image/png")
    await send_agent_file(ana, agent_ws, conversation_id, "The return label is attached.", label)
    mail = smtp.sink.parsed()
    assert mail.get_content_type() == "multipart/mixed"
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "return label.png"
    assert part.get_content_type() == "image/png"
    assert part.get_payload(decode=True) == PNG
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content() == "The return label is attached.\n"  # no link: the bytes are in the mail

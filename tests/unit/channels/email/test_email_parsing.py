"""Raw messages (the golden fixtures, in the formats real clients and MTAs produce) to inbound items."""

from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from string import Template

import httpx
import pytest

from omniroute.channels.email import threads
from omniroute.channels.email.parsing import ParseOptions, parse_message, read_webhook_body
from omniroute.channels.port import Attachment, DeliveryStatus, InboundMessage, MalformedPayload, StatusUpdate

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "email" / "fixtures"
OPTIONS = ParseOptions(account_address="support@acme.test", token_secret="secret", max_text_bytes=2048)
OURS = "<or.0190f1e2@acme.test>"


def fixture(name: str, **values: str) -> bytes:
    text = (FIXTURES / name).read_bytes().decode("latin-1")
    return Template(text).safe_substitute(values).encode("latin-1")


def one_message(raw: bytes, options: ParseOptions = OPTIONS) -> InboundMessage:
    items = parse_message(raw, options)
    assert len(items) == 1
    assert isinstance(items[0], InboundMessage)
    return items[0]


def test_gmail_first_message() -> None:
    msg = one_message(fixture("gmail_first_message.eml"))
    first_id = "<CAKx7Lq3pV+9f2wQZ1h8k2bYw=Lr0dF9sT1u@mail.gmail.com>"
    assert msg.provider_message_id == first_id
    assert (msg.sender_name, msg.sender_address) == ("Lee García", "lee.customer@gmail.com")
    assert msg.subject == "Order 1042 arrived damaged"
    assert msg.text == (
        "Hello,\n\nMy order 1042 arrived today and the lamp is broken. Photo of the invoice attached."
        "\n\nThanks,\nLee"
    )
    assert msg.attachments == (Attachment("cid:f_m2x1y9z80", "application/pdf", "invoice-1042.pdf", 48),)
    assert msg.reply_to is None
    assert msg.thread_keys == (threads.token_key(threads.token_for("secret", first_id)),)
    assert msg.sent_at == datetime(2026, 1, 5, 16, 58, 1, tzinfo=UTC)
    assert msg.extra == {"to": ["support@acme.test"], "cc": []}


def test_gmail_reply_threads_and_drops_the_quote() -> None:
    msg = one_message(fixture("gmail_reply.eml", IN_REPLY_TO=OURS, TOKEN="OR-ABCDEFGHIJ"))
    assert msg.text == "A replacement would be great, thank you!"
    assert msg.reply_to == OURS
    own = threads.token_key(threads.token_for("secret", msg.provider_message_id))
    assert msg.thread_keys == (
        "<CAKx7Lq3pV+9f2wQZ1h8k2bYw=Lr0dF9sT1u@mail.gmail.com>",
        OURS,
        "token:OR-ABCDEFGHIJ",
        own,
    )


def test_outlook_html_only_reply_is_sanitised() -> None:
    msg = one_message(fixture("outlook_html_reply.eml", TOKEN="OR-ABCDEFGHIJ"))
    assert msg.text == (
        "Please deliver to 12 Harbour Road instead.\n\nTracking: see here (https://track.example/abc)"
    )
    assert "token:OR-ABCDEFGHIJ" in msg.thread_keys
    assert msg.sent_at is not None
    assert msg.sent_at.utcoffset() == timedelta(0)


def test_delivery_reports_become_status_updates() -> None:
    bounce = parse_message(fixture("bounce_dsn.eml", MESSAGE_ID=OURS), OPTIONS)
    assert len(bounce) == 1
    assert isinstance(bounce[0], StatusUpdate)
    assert (bounce[0].provider_message_id, bounce[0].status) == (OURS, DeliveryStatus.FAILED)
    assert bounce[0].error is not None
    assert "550 5.1.1" in bounce[0].error
    assert "Recipient address rejected" in bounce[0].error
    delivered = parse_message(fixture("delivered_dsn.eml", MESSAGE_ID=OURS), OPTIONS)
    assert delivered == [StatusUpdate(OURS, DeliveryStatus.DELIVERED)]
    read = parse_message(fixture("read_receipt_mdn.eml", MESSAGE_ID=OURS), OPTIONS)
    assert read == [StatusUpdate(OURS, DeliveryStatus.READ)]


def test_reports_that_name_no_message_of_ours_are_dropped() -> None:
    no_id = fixture("bounce_dsn.eml", MESSAGE_ID="").replace(b"Message-ID: \n", b"")
    assert parse_message(no_id, OPTIONS) == []
    delayed = fixture("bounce_dsn.eml", MESSAGE_ID=OURS).replace(b"Action: failed", b"Action: delayed")
    assert parse_message(delayed, OPTIONS) == []
    deleted = fixture("read_receipt_mdn.eml", MESSAGE_ID=OURS).replace(b"; displayed", b"; deleted")
    assert parse_message(deleted, OPTIONS) == []


def test_auto_replies_bounces_without_report_and_our_own_mail_are_dropped() -> None:
    assert parse_message(fixture("out_of_office.eml"), OPTIONS) == []
    base = b"From: Lee <lee@example.com>\r\nMessage-ID: <m@x>\r\nSubject: s\r\n"
    for extra in (b"Precedence: bulk\r\n", b"Return-Path: <>\r\n", b"X-Autorespond: yes\r\n"):
        assert parse_message(base + extra + b"\r\nhi\r\n", OPTIONS) == []
    assert parse_message(base + b"Auto-Submitted: no\r\n\r\nhi\r\n", OPTIONS) != []
    daemon = b"From: MAILER-DAEMON@mx.example\r\nMessage-ID: <d@x>\r\n\r\nundeliverable\r\n"
    assert parse_message(daemon, OPTIONS) == []
    own = b"From: Acme <SUPPORT@acme.test>\r\nMessage-ID: <o@x>\r\n\r\ncopy of our reply\r\n"
    assert parse_message(own, OPTIONS) == []


def test_mail_without_message_id_is_keyed_by_its_bytes() -> None:
    raw = fixture("no_message_id.eml")
    msg = one_message(raw)
    assert msg.provider_message_id.startswith("sha256:")
    assert one_message(raw).provider_message_id == msg.provider_message_id
    assert one_message(raw + b"\n").provider_message_id != msg.provider_message_id
    assert msg.text == "Name: Chloé\nMessage: Do you ship to the Canary Islands?"  # ISO-8859-1 decoded


def test_long_text_is_shortened_to_the_budget() -> None:
    raw = b"From: lee@example.com\r\nMessage-ID: <long@x>\r\n\r\n" + "é".encode() * 5000
    msg = one_message(raw)
    assert len(msg.text.encode()) <= OPTIONS.max_text_bytes
    assert msg.text.endswith("more bytes in the original mail]")


def test_nested_attachments_inline_images_and_forwarded_mail() -> None:
    outer = EmailMessage()
    outer["From"] = "Lee <lee@example.com>"
    outer["To"] = "support+OR-ABCDEFGHIJ@acme.test"
    outer["Message-ID"] = "<nested@x>"
    outer.set_content("See the photo and the forwarded mail.")
    outer.add_alternative("<p>See the <img src='cid:photo1'> photo</p>", subtype="html")
    html_part = outer.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<photo1>")
    forwarded = EmailMessage()
    forwarded["From"] = "courier@x.example"
    forwarded["Subject"] = "Delay"
    forwarded.set_content("Your parcel is late.")
    outer.add_attachment(forwarded)
    outer.add_attachment(b"a,b\n", maintype="text", subtype="csv", filename="../../etc/items.csv")
    msg = one_message(outer.as_bytes())
    assert msg.text == "See the photo and the forwarded mail."
    kinds = [(a.content_type, a.filename, a.url.split(":")[0]) for a in msg.attachments]
    assert kinds == [
        ("image/png", None, "cid"),
        ("message/rfc822", None, "email-attachment"),
        ("text/csv", "items.csv", "email-attachment"),
    ]
    assert "token:OR-ABCDEFGHIJ" in msg.thread_keys  # the plus address


def test_broken_input_is_malformed() -> None:
    for raw, reason in (
        (b"", "empty"),
        (fixture("not_an_email.txt"), "not an RFC 5322 message"),
        (b"Message-ID: <x@y>\r\n\r\nbody", "From"),
        (b"From: nobody\r\nMessage-ID: <x@y>\r\n\r\nbody", "From"),
    ):
        with pytest.raises(MalformedPayload, match=reason):
            parse_message(raw, OPTIONS)


def test_unknown_charset_and_bad_dates_degrade() -> None:
    raw = (
        b"From: lee@example.com\r\nMessage-ID: <cs@x>\r\nDate: someday\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\nplain words\r\n"
    )
    msg = one_message(raw)
    assert msg.text == "plain words"
    assert msg.sent_at is None
    naive = one_message(b"From: a@b.c\r\nMessage-ID: <n@x>\r\nDate: 5 Jan 2026 10:00:00 -0000\r\n\r\nx")
    assert naive.sent_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    offset = one_message(b"From: a@b.c\r\nMessage-ID: <o@x>\r\nDate: 5 Jan 2026 10:00:00 +0200\r\n\r\nx")
    assert offset.sent_at == datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=2)))


def test_webhook_bodies_raw_sendgrid_and_mailgun() -> None:
    raw = fixture("gmail_first_message.eml")
    assert read_webhook_body(raw, "message/rfc822") == raw
    assert read_webhook_body(raw, None) == raw
    for field in ("email", "body-mime"):
        form = httpx.Request(
            "POST", "http://x.invalid/", data={"to": "support@acme.test"}, files={field: (None, raw)}
        )
        assert read_webhook_body(form.read(), form.headers["content-type"]) == raw
    other = httpx.Request(
        "POST", "http://x.invalid/", data={"text": "hi"}, files={"attachment1": (None, b"x")}
    )
    with pytest.raises(MalformedPayload, match="'email' or 'body-mime'"):
        read_webhook_body(other.read(), other.headers["content-type"])
    with pytest.raises(MalformedPayload, match="message/rfc822"):
        read_webhook_body(b"{}", "application/json")

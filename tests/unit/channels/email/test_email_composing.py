"""Our replies as MIME: threading headers, the token in the subject, plain text with an HTML twin."""

from datetime import UTC, datetime

import pytest

from omniroute.channels.email.composing import compose, html_body
from omniroute.channels.email.settings import EmailSettings
from omniroute.channels.port import Outbound, PermanentSendError
from omniroute.channels.registry import AccountConfig

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def settings(**extra: object) -> EmailSettings:
    values = {"address": "support@acme.test", "smtp_host": "h", **extra}
    return EmailSettings.from_config(
        AccountConfig("a", "email", "Acme", values, {"webhook_secret": "s"}, "u")
    )


def outbound(**changes: object) -> Outbound:
    values: dict[str, object] = {
        "outbound_id": "o-1",
        "conversation_id": "c-1",
        "to_address": "lee@example.com",
        "text": "Line one\nline two\n\n<b>not bold</b>",
        "subject": "Order 1042",
        "thread_keys": (
            "<first@gmail.com>",
            "token:OR-AAAAAAAAAA",
            "<or.o-0@acme.test>",
            "<second@gmail.com>",
            "token:OR-BBBBBBBBBB",
        ),
        "in_reply_to": "token:OR-BBBBBBBBBB",
    }
    values.update(changes)
    return Outbound(**values)  # type: ignore[arg-type]


def test_reply_headers_thread_on_the_customers_latest_message() -> None:
    mail = compose(outbound(), settings(), now=NOW)
    assert str(mail["From"]) == "Acme <support@acme.test>"
    assert str(mail["Subject"]) == "Re: Order 1042 [#OR-AAAAAAAAAA]"
    assert str(mail["Message-ID"]) == "<or.o-1@acme.test>"
    assert str(mail["In-Reply-To"]) == "<second@gmail.com>"
    assert str(mail["References"]).split() == [
        "<first@gmail.com>",
        "<or.o-0@acme.test>",
        "<second@gmail.com>",
    ]
    assert mail["Reply-To"] is None
    # Our own id recorded after the customer's (a race the thread order cannot see) changes nothing.
    late = outbound(thread_keys=("<first@gmail.com>", "<second@gmail.com>", "<or.o-0@acme.test>"))
    assert str(compose(late, settings(), now=NOW)["In-Reply-To"]) == "<second@gmail.com>"


def test_first_contact_and_plus_addressed_reply_to() -> None:
    mail = compose(
        outbound(thread_keys=(), in_reply_to=None, subject=None), settings(plus_address_replies=True), now=NOW
    )
    assert str(mail["Subject"]) == "Re: (no subject)"
    assert mail["In-Reply-To"] is None
    assert mail["References"] is None
    assert mail["Reply-To"] is None  # no token yet, so nothing to sub-address
    tokened = compose(outbound(), settings(plus_address_replies=True), now=NOW)
    assert str(tokened["Reply-To"]) == "Acme <support+OR-AAAAAAAAAA@acme.test>"


def test_html_twin_escapes_the_text() -> None:
    html = html_body(outbound())
    assert "<p>Line one<br>line two</p>" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "<b>" not in html


def test_bad_recipients_and_header_injection_are_refused() -> None:
    for address in ("user-42", "lee@example.com\r\nBcc: victim@example.com"):
        with pytest.raises(PermanentSendError):
            compose(outbound(to_address=address), settings(), now=NOW)
    mail = compose(outbound(subject="Hi\r\nBcc: victim@example.com"), settings(), now=NOW)
    assert mail["Bcc"] is None
    assert "\n" not in str(mail["Subject"])

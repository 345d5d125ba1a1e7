"""The SMTP sender against real SMTP servers on loopback: submission with STARTTLS and AUTH, implicit
TLS, a private CA, and how refusals map to retry-or-fail."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from omniroute.channels.email.adapter import EmailAdapter
from omniroute.channels.port import (
    Attachment,
    Outbound,
    PermanentSendError,
    QuickReply,
    TransientSendError,
)
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.core.clock import ManualClock
from tests.e2e.channels.email.conftest import (
    ADDRESS,
    SMTP_PASSWORD,
    SmtpPeer,
    SmtpSink,
    account_settings,
    smtp_controller,
)

OUTBOUND = Outbound(
    outbound_id="0190f1e2-0000-7000-8000-000000000001",
    conversation_id="c-1",
    to_address="lee.customer@gmail.com",
    text="Your replacement ships today.",
    subject="Order 1042 arrived damaged",
    thread_keys=("<first@mail.gmail.com>", "token:OR-ABCDEFGHIJ"),
)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def smtp_implicit_tls(server_tls: ssl.SSLContext) -> Iterator[SmtpPeer]:
    # aiosmtpd does not count implicit TLS as TLS for AUTH, so this relay takes mail without it.
    yield from smtp_controller(SmtpSink(), ssl_context=server_tls)


def adapter(
    http: httpx.AsyncClient, settings: dict[str, Any], password: str | None = SMTP_PASSWORD
) -> EmailAdapter:
    secrets = {"webhook_secret": "s"} | ({"smtp_password": password} if password else {})
    config = AccountConfig(
        "acct-1", "email", "Acme Support", settings, secrets, "http://127.0.0.1/webhooks/acct-1"
    )
    return EmailAdapter(AdapterContext(config=config, http=http, clock=ManualClock()))


async def test_submission_with_starttls_and_login(
    http: httpx.AsyncClient, smtp_starttls: SmtpPeer, ca_file: str
) -> None:
    sender = adapter(http, account_settings(smtp_starttls.port, smtp_starttls=True, tls_ca_file=ca_file))
    sent = await sender.send(OUTBOUND)
    assert sent.provider_message_id == "<or.0190f1e2-0000-7000-8000-000000000001@acme.test>"
    assert smtp_starttls.sink.logins == [ADDRESS]
    mail = smtp_starttls.sink.parsed()
    assert str(mail["Message-ID"]) == sent.provider_message_id
    assert str(mail["Subject"]) == "Re: Order 1042 arrived damaged [#OR-ABCDEFGHIJ]"
    assert str(mail["In-Reply-To"]) == "<first@mail.gmail.com>"
    assert str(mail["Date"]) == "Mon, 05 Jan 2026 09:00:00 +0000"


async def test_implicit_tls(http: httpx.AsyncClient, smtp_implicit_tls: SmtpPeer, ca_file: str) -> None:
    settings = account_settings(smtp_implicit_tls.port, smtp_ssl=True, tls_ca_file=ca_file)
    sender = adapter(http, settings, password=None)
    message = Outbound(
        **{
            **OUTBOUND.__dict__,
            "quick_replies": (QuickReply("r", "Replacement"), QuickReply("f", "Refund")),
            "attachments": (Attachment("https://files.example/label.pdf", "application/pdf", "label.pdf"),),
        }
    )
    await sender.send(message)
    plain = smtp_implicit_tls.sink.parsed().get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content() == (
        "Your replacement ships today.\n\n"
        "Reply with one of:\n1. Replacement\n2. Refund\n\n"
        "Attachments:\n- label.pdf: https://files.example/label.pdf\n"
    )


async def test_refusals_map_to_retry_or_fail(
    http: httpx.AsyncClient, smtp_starttls: SmtpPeer, smtp: SmtpPeer, ca_file: str
) -> None:
    starttls = account_settings(smtp_starttls.port, smtp_starttls=True, tls_ca_file=ca_file)
    with pytest.raises(PermanentSendError, match="SMTP 535 at login"):
        await adapter(http, starttls, password="wrong").send(OUTBOUND)
    # The server's certificate is not from a CA we trust: retried (it may be fixed), never sent.
    untrusted = account_settings(smtp_starttls.port, smtp_starttls=True)
    with pytest.raises(TransientSendError, match="CERTIFICATE_VERIFY_FAILED"):
        await adapter(http, untrusted).send(OUTBOUND)
    # STARTTLS configured, but this relay does not offer it: retrying the same server is pointless.
    with pytest.raises(PermanentSendError, match="STARTTLS"):
        await adapter(http, account_settings(smtp.port, smtp_starttls=True)).send(OUTBOUND)
    smtp.sink.data_replies.append("452 4.3.1 Insufficient system storage")
    plain = adapter(http, account_settings(smtp.port), password=None)
    with pytest.raises(TransientSendError, match="SMTP 452 at data"):
        await plain.send(OUTBOUND)
    smtp.sink.data_replies.append("554 5.7.1 Message rejected as spam")
    with pytest.raises(PermanentSendError, match="SMTP 554 at data"):
        await plain.send(OUTBOUND)
    with pytest.raises(PermanentSendError, match="not an email address"):
        await plain.send(Outbound(**{**OUTBOUND.__dict__, "to_address": "user-42"}))
    assert smtp.sink.messages == []
    assert smtp_starttls.sink.messages == []

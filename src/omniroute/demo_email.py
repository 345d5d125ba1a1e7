"""The demo's email channel (``omniroute demo`` only): an email account whose "mail provider" is a
real SMTP server on loopback (:class:`MailDouble`, aiosmtpd), with the shared customer page
(``demo_page.py``) as the customer's mail client.

The round trip is the real one, without the internet: the page builds an RFC 5322 message (a
``Message-ID``; ``In-Reply-To``/``References`` and the quoted history when the customer replies) and
posts it to the account's webhook signed with ``Omniroute-Signature``, as a relay in front of a mail
server would (docs/channels/email.md, "Intake 1"); the agent's reply leaves through the adapter's
SMTP submission to the double, and the page shows what the double received for the customer. The
SMTP server listens on its own port (chosen when the demo data loads and kept in the account's
settings) for as long as the demo app runs. Never mount this in production: the page is public.

The page also plays the receiving mail server: it puts an ``Authentication-Results`` header with a
DMARC pass from :data:`DEMO_AUTHSERV_ID` on top of every mail, and the account trusts that
authserv-id, so demo senders count as verified (docs/channels/email.md, "Who is the sender?").
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.routing import BaseRoute

from omniroute.channels.email import threads
from omniroute.channels.email.signing import HEADER, signature_header
from omniroute.channels.webhook_poster import WebhookPoster
from omniroute.core.clock import Clock
from omniroute.demo_page import DemoChannel, Reply

SUPPORT_ADDRESS = "support@demo.omniroute.dev"
SUPPORT_NAME = "Omniroute Demo Support"
DEMO_CUSTOMER_EMAIL = "lee.okafor@customer.example"
CUSTOMER_NAME = "Lee Okafor"
EMAIL_WEBHOOK_SECRET = "omniroute-demo-email-webhook-secret"  # noqa: S105 - the local double's
LOOPBACK = "127.0.0.1"
#: The demo's "receiving server", whose Authentication-Results the demo account trusts.
DEMO_AUTHSERV_ID = "mx.demo.omniroute.dev"
MAX_MAIL_BYTES = 25 * 1024 * 1024  # what the email channel's webhook takes


def free_smtp_port() -> int:
    """A port free on loopback now, for the demo's SMTP server (bound when the demo app starts)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def smtp_url(port: int) -> str:
    return f"smtp://{LOOPBACK}:{port}"


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted: the envelope and the parsed message."""

    queue_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class MailDouble:
    """The demo's mail provider: a real SMTP server (aiosmtpd's protocol on an asyncio server in the
    running loop) on loopback, without TLS or AUTH like a local relay, that accepts every message
    and keeps it, as a mailbox the customer's page reads."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        # A fixed host name: aiosmtpd would otherwise ask the resolver for this machine's FQDN.
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="mail.demo.omniroute.dev", data_size_limit=MAX_MAIL_BYTES, loop=loop),
            self.host,
            self.port,
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        content = envelope.original_content or b""
        # On the wire lines end in CRLF; the parsed view uses Python's newlines.
        message = message_from_bytes(content.replace(b"\r\n", b"\n"), policy=policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
            return "554 5.6.0 unreadable message"
        queue_id = f"OMNIDEMO{next(self._ids):06d}"
        self.received.append(
            ReceivedMail(queue_id, str(envelope.mail_from), tuple(envelope.rcpt_tos), message)
        )
        return f"250 2.0.0 Ok: queued as {queue_id}"

    async def aclose(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()


@dataclass
class EmailSide(WebhookPoster):
    """The customer's mail client: mail they write becomes a raw message posted to the account's
    webhook, signed as a relay would; what they receive is what the SMTP double accepted for them."""

    double: MailDouble
    clock: Clock
    sent: list[EmailMessage] = field(default_factory=list)  # the customer's "Sent" folder

    def routes(self) -> Sequence[BaseRoute]:
        return ()  # the adapter talks SMTP to the double, not HTTP

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        return await self.send_mail(webhook_url, address, text, subject="", reply_to="")

    async def send_mail(
        self, webhook_url: str, address: str, text: str, *, subject: str, reply_to: str
    ) -> int:
        mail = self.compose(address, text, subject=subject, reply_to=reply_to)
        # Prepended as a receiving server does after checking the sender; here nothing is checked:
        # the page is the customer's own mail client, so the address is theirs by definition.
        raw = received_results(address) + mail.as_bytes(policy=policy.SMTP)  # CRLF line ends
        header = signature_header(EMAIL_WEBHOOK_SECRET, raw, int(self.clock.now().timestamp()))
        response = await self.http.post(
            webhook_url, content=raw, headers={"content-type": "message/rfc822", HEADER: header}
        )
        if response.is_success:
            self.sent.append(mail)
        return response.status_code

    def compose(self, address: str, text: str, *, subject: str, reply_to: str) -> EmailMessage:
        """The customer's message as a mail client sends it: a reply names the message it answers
        (``In-Reply-To``, ``References``) and quotes it below an "On … wrote:" line."""
        mail = EmailMessage()
        mail["From"] = Address(CUSTOMER_NAME, addr_spec=address)
        mail["To"] = Address(SUPPORT_NAME, addr_spec=SUPPORT_ADDRESS)
        if subject:
            mail["Subject"] = subject
        mail["Date"] = format_datetime(self.clock.now())
        mail["Message-ID"] = make_msgid("demo", domain=address.rpartition("@")[2])
        body = text
        parent = self._mail(reply_to)
        if parent is not None:
            parent_id = str(parent["Message-ID"])
            mail["In-Reply-To"] = parent_id
            mail["References"] = " ".join([*threads.message_ids(parent["References"]), parent_id])
            quoted = "\n".join(f"> {line}".rstrip() for line in _plain_text(parent).splitlines())
            body = f"{text}\n\nOn {parent['Date']}, {parent['From']} wrote:\n{quoted}"
        mail.set_content(body + "\n")
        return mail

    def replies(self) -> list[Reply]:
        found = []
        for mail in self.double.received:
            message = mail.message
            files = [f"[file] {part.get_filename()}" for part in message.iter_attachments()]
            text = "\n".join([_plain_text(message), *files]).strip()
            at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
            found.append(
                Reply(
                    str(message["Message-ID"] or mail.queue_id),
                    _addr(message["To"]) or next(iter(mail.rcpt_tos), ""),
                    text,
                    at=at,
                    subject=str(message["Subject"] or ""),
                )
            )
        return found

    async def received(self, webhook_url: str) -> None:
        return None  # replies ask for no read receipts (docs/channels/email.md): they stay "sent"

    async def start(self) -> None:
        await self.double.start()

    async def aclose(self) -> None:
        await self.double.aclose()
        await super().aclose()

    def _mail(self, message_id: str) -> EmailMessage | None:
        if not message_id:
            return None
        return next(
            (m.message for m in self.double.received if str(m.message["Message-ID"]) == message_id), None
        )


def received_results(address: str) -> bytes:
    """The demo receiving server's verdict on mail from ``address``: DMARC passed for its domain."""
    domain = address.rpartition("@")[2].lower()
    return f"Authentication-Results: {DEMO_AUTHSERV_ID}; dmarc=pass header.from={domain}\r\n".encode()


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()).strip() if isinstance(body, EmailMessage) else ""


def _addr(header: Any) -> str:
    addresses = getattr(header, "addresses", ())
    return str(addresses[0].addr_spec) if addresses else ""


def demo_email_settings(url: str) -> dict[str, Any]:
    """The account's settings, given its SMTP server's URL (``smtp://127.0.0.1:<port>``): plain SMTP
    on loopback (no STARTTLS, no AUTH), so nothing about TLS is switched off for a real server."""
    parts = urlsplit(url)
    if parts.scheme != "smtp" or not parts.hostname or not parts.port:
        msg = f"the demo's mail server is an smtp://host:port URL, not {url!r}"
        raise ValueError(msg)
    return {
        "address": SUPPORT_ADDRESS,
        "display_name": SUPPORT_NAME,
        "smtp_host": parts.hostname,
        "smtp_port": parts.port,
        "smtp_starttls": False,
        "timeout_seconds": 10,
        "authserv_id": DEMO_AUTHSERV_ID,
    }


def email_side(clock: Clock, settings: Mapping[str, Any]) -> EmailSide:
    return EmailSide(MailDouble(str(settings["smtp_host"]), int(settings["smtp_port"])), clock)


EMAIL = DemoChannel(
    key="email",
    slug="email",
    channel="email",
    title="Email",
    account_name="Demo email (local SMTP double)",
    queue="Support",
    secrets={"webhook_secret": EMAIL_WEBHOOK_SECRET},
    settings=demo_email_settings,
    side=email_side,
    heading="Demo mailbox",
    intro=(
        f"Email the demo's support address {SUPPORT_ADDRESS} as a customer. This page plays your mail "
        "client and the mail provider locally: your email reaches Omniroute as a raw message posted "
        "to its webhook (signed with Omniroute-Signature), agents answer it in the workspace (Support "
        "queue), and their replies reach the demo's SMTP server, whose mail for you lands here. "
        "Use Reply on one to answer in the same conversation. The page also stamps your mail with "
        f"the demo receiving server's Authentication-Results ({DEMO_AUTHSERV_ID}, DMARC pass), so "
        "your address counts as verified, as genuine mail from a domain with DMARC would."
    ),
    address_label="Your email address",
    default_address=DEMO_CUSTOMER_EMAIL,
    # Mail from the support address itself is ignored by design (loop protection): not offered here.
    address_pattern=(
        rf"(?!(?i:{SUPPORT_ADDRESS.replace('.', '[.]')})$)"
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
    ),
    address_hint="Use an email address (not the demo support address), such as lee.okafor@customer.example.",
    send_label="Send email",
    max_text=10000,
    subject_label="Subject",
)

"""Local peers for the email channel: a real SMTP server (aiosmtpd) that keeps what it receives and
can be told to refuse, a real IMAP server (``imap_server.py``), TLS certificates from a private CA
(trustme), and helpers to create the account and post signed raw messages to its webhook."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from string import Template
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from omniroute.channels.email.signing import signature_header
from tests.e2e.channels.email.imap_server import ImapServer, running_imap_server
from tests.e2e.conftest import LiveServer, free_port

FIXTURES = Path(__file__).parent / "fixtures"
ADDRESS = "support@acme.test"
WEBHOOK_SECRET = "email-webhook-secret-for-tests"
SMTP_PASSWORD = "smtp-password-for-tests"
IMAP_PASSWORD = "imap-password-for-tests"


def fixture(name: str, **values: str) -> bytes:
    """A golden message, with ``$NAME`` placeholders (ids only known at run time) filled in."""
    text = (FIXTURES / name).read_bytes().decode("latin-1")
    return Template(text).safe_substitute(values).encode("latin-1")


@dataclass
class SmtpSink:
    """The handler behind aiosmtpd: keeps accepted mail, refuses on request (SMTP reply lines)."""

    messages: list[Envelope] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)  # e.g. "451 4.3.0 try again later"
    rejected_recipients: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.rejected_recipients:
            return self.rejected_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(envelope)
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_PASSWORD.encode():
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def parsed(self, index: int = -1) -> EmailMessage:
        content = self.messages[index].original_content
        assert content is not None
        # On the wire lines end in CRLF; the parsed view uses Python's newlines.
        message = message_from_bytes(content.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SmtpPeer:
    sink: SmtpSink
    port: int


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(tls_ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "private-ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server_tls(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def smtp_controller(sink: SmtpSink, **options: Any) -> Iterator[SmtpPeer]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpPeer(sink, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    """Plain SMTP without authentication (a local relay)."""
    yield from smtp_controller(SmtpSink())


@pytest.fixture
def smtp_starttls(server_tls: ssl.SSLContext) -> Iterator[SmtpPeer]:
    """Submission as providers run it: STARTTLS required, then AUTH required."""
    sink = SmtpSink()
    yield from smtp_controller(
        sink,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=sink.authenticate,
        auth_required=True,
    )


@pytest.fixture
async def imap() -> AsyncIterator[ImapServer]:
    async with running_imap_server(ADDRESS, IMAP_PASSWORD) as server:
        yield server


def account_settings(smtp_port: int, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "address": ADDRESS,
        "display_name": "Acme Support",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
    }
    settings.update(overrides)
    return settings


async def create_account(
    clients: dict[str, Any], settings: dict[str, Any], secrets: dict[str, str] | None = None
) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="email",
        name="Acme support mailbox",
        settings=settings,
        secrets=secrets or {"webhook_secret": WEBHOOK_SECRET},
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert account["webhook_url"].endswith(f"/webhooks/{account['id']}")
    assert WEBHOOK_SECRET not in r.text
    return str(account["id"])


async def post_mail(
    server: LiveServer,
    account_id: str,
    raw: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    content_type: str = "message/rfc822",
    signed: bool = True,
    tamper: bool = False,
) -> httpx.Response:
    headers = {"content-type": content_type}
    if signed:
        headers["omniroute-signature"] = signature_header(secret, raw, int(server.clock.now().timestamp()))
    body = raw.replace(b"broken", b"fine") if tamper else raw
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post(f"/webhooks/{account_id}", content=body, headers=headers)

"""IMAP intake against a real IMAP4rev1 server on loopback: unseen mail is fetched without marking it
read, stored through the same signed path as the webhook, then flagged \\Seen; duplicates are stored
once; unparseable mail is flagged and skipped; TLS with a private CA; polling on the service clock."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import pytest
import sqlalchemy as sa

from omniroute.channels.email.mailbox import ImapError
from omniroute.channels.email.poller import ImapPoller, PollReport, run_imap_pollers
from omniroute.channels.store import inbound_receipts
from tests.e2e.channels.email.conftest import (
    ADDRESS,
    IMAP_PASSWORD,
    SmtpPeer,
    account_settings,
    create_account,
    fixture,
)
from tests.e2e.channels.email.imap_server import ImapServer, running_imap_server
from tests.e2e.conftest import LiveServer

Clients = dict[str, Any]


def imap_settings(smtp: SmtpPeer, imap: ImapServer, **overrides: Any) -> dict[str, Any]:
    return account_settings(
        smtp.port, **{"imap_host": "127.0.0.1", "imap_port": imap.port, "imap_ssl": False, **overrides}
    )


async def receipts(server: LiveServer) -> int:
    async with server.container.db.read() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(inbound_receipts))).scalar_one()
        )


async def test_poller_fetches_unseen_mail_once_and_flags_it_seen(
    server: LiveServer, clients: Clients, smtp: SmtpPeer, imap: ImapServer
) -> None:
    account_id = await create_account(
        clients,
        imap_settings(smtp, imap),
        {"webhook_secret": "s", "imap_password": IMAP_PASSWORD},
    )
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")

    old = imap.deliver(fixture("no_message_id.eml"), seen=True)  # read by a person already: left alone
    first = imap.deliver(fixture("gmail_first_message.eml"))
    copy = imap.deliver(fixture("gmail_first_message.eml"))  # the same mail delivered twice
    junk = imap.deliver(fixture("not_an_email.txt"))

    poller = ImapPoller(server.container.channels, account_id)
    assert await poller.poll_once() == PollReport(fetched=3, stored=2, refused=1)
    assert imap.unseen() == []
    assert [m.uid for m in imap.messages] == [old, first, copy, junk]
    fetches = [c for c in imap.commands if " UID FETCH " in c]
    assert fetches
    assert all("BODY.PEEK[]" in c for c in fetches)  # \Seen only once stored, never by reading
    assert any('SELECT "INBOX"' in c for c in imap.commands)

    offer = await agent_ws.next("offer.created")
    assert offer["channel"] == "email"
    assert offer["customer_name"] == "Lee García"
    await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
    transcript = await agent_ws.messages_until(offer["conversation_id"], 2)
    assert transcript[0]["message"]["text"].startswith("Hello,\n\nMy order 1042")
    assert await receipts(server) == 1

    assert await poller.poll_once() == PollReport()  # nothing new
    assert imap.logins == imap.logouts == 2


async def test_wrong_password_fetches_nothing(
    server: LiveServer, clients: Clients, smtp: SmtpPeer, imap: ImapServer
) -> None:
    account_id = await create_account(
        clients, imap_settings(smtp, imap), {"webhook_secret": "s", "imap_password": "wrong"}
    )
    imap.deliver(fixture("gmail_first_message.eml"))
    with pytest.raises(ImapError, match="AUTHENTICATIONFAILED"):
        await ImapPoller(server.container.channels, account_id).poll_once()
    assert len(imap.unseen()) == 1
    assert await receipts(server) == 0


async def test_imap_over_tls_with_a_private_ca(
    server: LiveServer, clients: Clients, smtp: SmtpPeer, server_tls: ssl.SSLContext, ca_file: str
) -> None:
    async with running_imap_server(ADDRESS, IMAP_PASSWORD, ssl_context=server_tls) as imap:
        account_id = await create_account(
            clients,
            imap_settings(smtp, imap, imap_ssl=True, tls_ca_file=ca_file),
            {"webhook_secret": "s", "imap_password": IMAP_PASSWORD},
        )
        imap.deliver(fixture("gmail_first_message.eml"))
        report = await ImapPoller(server.container.channels, account_id).poll_once()
        assert report == PollReport(fetched=1, stored=1)
        untrusted = await create_account_named(clients, imap_settings(smtp, imap, imap_ssl=True))
        imap.deliver(fixture("no_message_id.eml"))
        with pytest.raises(ImapError, match="CERTIFICATE_VERIFY_FAILED"):
            await ImapPoller(server.container.channels, untrusted).poll_once()
        assert len(imap.unseen()) == 1


async def create_account_named(clients: Clients, settings: dict[str, Any]) -> str:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="email",
        name="Mailbox without the CA",
        settings=settings,
        secrets={"webhook_secret": "s", "imap_password": IMAP_PASSWORD},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_pollers_run_on_the_service_clock(
    server: LiveServer, clients: Clients, smtp: SmtpPeer, imap: ImapServer
) -> None:
    await create_account(
        clients,
        imap_settings(smtp, imap, poll_seconds=30),
        {"webhook_secret": "s", "imap_password": IMAP_PASSWORD},
    )
    task = asyncio.create_task(run_imap_pollers(server.container.channels))
    try:
        await asyncio.wait_for(imap.wait_for_logout(1), 10)  # the first poll, right away
        imap.deliver(fixture("gmail_first_message.eml"))
        assert await receipts(server) == 0
        await server.clock.advance(30)
        await asyncio.wait_for(imap.wait_for_logout(2), 10)
        assert imap.unseen() == []
        assert await receipts(server) == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

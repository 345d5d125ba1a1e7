"""Who sent the mail, end to end: only the trusted receiving server's Authentication-Results make a
From address verified. A forged From with a verified customer's address gets its own unverified
record that agents see as a likely duplicate; an authenticated one joins the customer as before.
The webhook and IMAP intakes follow the same rule."""

from __future__ import annotations

from typing import Any

from omniroute.channels.email.poller import ImapPoller
from omniroute.customers import service as customers
from tests.e2e.channels.email.conftest import (
    IMAP_PASSWORD,
    SmtpPeer,
    account_settings,
    create_account,
    fixture,
    post_mail,
)
from tests.e2e.channels.email.imap_server import ImapServer
from tests.e2e.conftest import Agent, LiveServer, Socket

Clients = dict[str, Any]
LEE = "lee.customer@gmail.com"
RECEIVER = "mx.acme.test"
#: What the receiving server writes on top of Lee's genuine mail from Gmail.
PASSED = (
    "Authentication-Results: mx.acme.test;\n"
    "       dkim=pass header.i=@gmail.com header.s=20230601 header.b=Qm9vVx1a;\n"
    "       spf=pass (mx.acme.test: domain of lee.customer@gmail.com designates 209.85.221.41 as"
    " permitted sender) smtp.mailfrom=lee.customer@gmail.com;\n"
    "       dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com\n"
)


def genuine() -> bytes:
    """Lee's first mail as the receiving server hands it on: its results prepended."""
    return PASSED.encode() + fixture("gmail_first_message.eml")


def spoofed(message_id: str, *, receiver_results: bool = True) -> bytes:
    """A mail claiming to be from Lee, with forged results further down; optionally without the
    receiving server's own (a relay that adds none)."""
    raw = fixture("spoofed_from.eml", ID=message_id)
    if not receiver_results:
        raw = raw[raw.index(b"Return-Path:") :]
    return raw


async def on_duty(clients: Clients) -> tuple[Agent, Socket, Agent]:
    ana = await clients["agent"]("ana")
    agent_ws, _ = await ana.connect()
    await ana.presence("available")
    return ana, agent_ws, await clients["agent"]("admin")


async def customer_of(admin: Agent, offer: dict[str, Any]) -> str:
    r = await admin.http.get(f"/api/v1/conversations/{offer['conversation_id']}")
    assert r.status_code == 200, r.text
    return str(r.json()["customer_id"])


async def profile(admin: Agent, customer_id: str) -> dict[str, Any]:
    r = await admin.http.get(f"/api/v1/customers/{customer_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def identities(p: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["channel"], i["address"]) for i in p["identities"]]


async def test_a_forged_from_is_a_separate_unverified_customer_suggested_as_a_duplicate(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    account_id = await create_account(clients, account_settings(smtp.port, authserv_id=RECEIVER))
    ana, agent_ws, admin = await on_duty(clients)

    assert (await post_mail(server, account_id, genuine())).status_code == 200
    lee = await customer_of(admin, await agent_ws.next("offer.created"))
    lee_profile = await profile(admin, lee)
    assert (lee_profile["email"], lee_profile["email_verified"]) == (LEE, True)
    assert identities(lee_profile) == [("email", LEE)]

    # Someone else writes "From: Lee": the receiving server says DMARC failed; the sender's own
    # "pass" headers further down (one naming our receiving server) are not believed.
    assert (await post_mail(server, account_id, spoofed("spoof-1"))).status_code == 200
    offer = await agent_ws.next("offer.created")
    forged = await customer_of(admin, offer)
    assert forged != lee
    assert offer["customer_name"] == "Lee García"  # what they claim, on a record of its own
    forged_profile = await profile(admin, forged)
    assert (forged_profile["email"], forged_profile["email_verified"]) == (LEE, False)
    assert identities(forged_profile) == [("email-unverified", LEE)]

    # Lee's record and history are untouched; agents get the forged one as a likely duplicate.
    assert identities(await profile(admin, lee)) == [("email", LEE)]
    history = (await admin.http.get(f"/api/v1/customers/{lee}/conversations")).json()
    assert len(history) == 1
    dupes = (await ana.http.get(f"/api/v1/customers/{lee}/duplicates")).json()
    assert [d["customer"]["id"] for d in dupes] == [forged]
    assert "same email" in dupes[0]["reasons"]
    assert dupes[0]["customer"]["email_verified"] is False

    # Forged results alone (a path where the receiving server added none) prove nothing either:
    # the mail joins the unverified record's conversation, never Lee's.
    assert (
        await post_mail(server, account_id, spoofed("spoof-2", receiver_results=False))
    ).status_code == 200
    transcript = await admin.http.get(f"/api/v1/customers/{forged}/conversations")
    assert [c["id"] for c in transcript.json()] == [offer["conversation_id"]]
    assert identities(await profile(admin, lee)) == [("email", LEE)]
    assert len((await admin.http.get(f"/api/v1/customers/{lee}/conversations")).json()) == 1


async def test_an_authenticated_mail_joins_the_customer_who_proved_the_address(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    # Lee proved the address before (a signed widget identity token): a verified customer.
    async with server.container.publisher.unit_of_work() as uow:
        known = await customers.resolve_customer(
            uow, "webchat", "widget:user:lee", "Lee García", LEE, email_verified=True
        )
    account_id = await create_account(clients, account_settings(smtp.port, authserv_id=RECEIVER))
    _, agent_ws, admin = await on_duty(clients)
    assert (await post_mail(server, account_id, genuine())).status_code == 200
    assert await customer_of(admin, await agent_ws.next("offer.created")) == known.id
    p = await profile(admin, known.id)
    assert sorted(identities(p)) == [("email", LEE), ("webchat", "widget:user:lee")]
    assert p["email_verified"] is True


async def test_without_an_authserv_id_no_sender_is_verified(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    async with server.container.publisher.unit_of_work() as uow:
        known = await customers.resolve_customer(
            uow, "webchat", "widget:user:lee", "Lee García", LEE, email_verified=True
        )
    account_id = await create_account(clients, account_settings(smtp.port))  # authserv_id not set
    _, agent_ws, admin = await on_duty(clients)
    assert (await post_mail(server, account_id, genuine())).status_code == 200
    mailer = await customer_of(admin, await agent_ws.next("offer.created"))
    assert mailer != known.id  # results are there, but nobody said whose to trust
    p = await profile(admin, mailer)
    assert p["email_verified"] is False
    assert identities(p) == [("email-unverified", LEE)]


async def test_imap_mail_follows_the_same_rule(
    server: LiveServer, clients: Clients, smtp: SmtpPeer, imap: ImapServer
) -> None:
    settings = account_settings(
        smtp.port, imap_host="127.0.0.1", imap_port=imap.port, imap_ssl=False, authserv_id=[RECEIVER]
    )
    account_id = await create_account(
        clients, settings, {"webhook_secret": "s", "imap_password": IMAP_PASSWORD}
    )
    _, agent_ws, admin = await on_duty(clients)
    imap.deliver(genuine())
    imap.deliver(spoofed("spoof-imap"))
    report = await ImapPoller(server.container.channels, account_id).poll_once()
    assert (report.fetched, report.stored) == (2, 2)
    found = {}
    for _ in range(2):
        offer = await agent_ws.next("offer.created")
        customer = await profile(admin, await customer_of(admin, offer))
        found[customer["email_verified"]] = customer
    assert identities(found[True]) == [("email", LEE)]
    assert identities(found[False]) == [("email-unverified", LEE)]


async def test_saving_an_account_with_a_bad_authserv_id_is_refused_with_the_reason(
    server: LiveServer, clients: Clients, smtp: SmtpPeer
) -> None:
    ada = await clients["agent"]("admin")
    r = await ada.post(
        "/api/v1/admin/channel-accounts",
        channel="email",
        name="Acme support mailbox",
        settings=account_settings(smtp.port, authserv_id="mx.acme.test; dmarc=pass"),
        secrets={"webhook_secret": "s"},
    )
    assert r.status_code == 422, r.text
    assert "authserv_id" in r.text

"""Customer identity across channels on every store: exact proofs merge, the rest is suggested."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omniroute.bootstrap import build_container
from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.core.eventlog import read_events
from omniroute.customers import service as customers
from omniroute.customers.model import Customer
from omniroute.settings import Settings
from omniroute.web.container import Container


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(database_url=database_url, redis_url="", environment="test", data_dir=tmp_path)
    container = build_container(settings, clock=ManualClock(datetime(2026, 11, 25, 9, tzinfo=UTC)))
    try:
        yield container
    finally:
        await container.db.dispose()


async def resolve(
    app: Container,
    channel: str,
    address: str,
    name: str,
    email: str | None = None,
    *,
    verified: bool = False,
    authenticated: bool = False,
) -> Customer:
    async with app.publisher.unit_of_work() as uow:
        return await customers.resolve_customer(
            uow, channel, address, name, email, email_verified=verified, sender_authenticated=authenticated
        )


async def test_the_same_phone_on_sms_and_whatsapp_is_one_customer(app: Container) -> None:
    sms = await resolve(app, "sms_twilio", "+34600111222", "+34600111222")
    whatsapp = await resolve(app, "whatsapp", "34600111222", "Lee García")
    assert whatsapp.id == sms.id
    profile = await app.customers.profile(sms.id)
    assert {(i.channel, i.address) for i in profile.identities} == {
        ("sms_twilio", "+34600111222"),
        ("whatsapp", "34600111222"),
    }
    assert profile.customer.phone == "+34600111222"
    assert profile.customer.phone_verified
    assert profile.customer.display_name == "Lee García"  # a real name replaces the number
    async with app.db.read() as conn:
        kinds = [e["type"] for e in await read_events(conn)]
    assert "customer.identity_linked" in kinds


async def test_an_unverified_email_does_not_merge_but_is_suggested(app: Container) -> None:
    mailer = await resolve(app, "email", "lee@example.com", "Lee García", authenticated=True)
    visitor = await resolve(app, "webchat", "widget:visitor-1", "Lee Garcia", "LEE@example.com")
    assert visitor.id != mailer.id  # anyone can type an email into a pre-chat form
    suggested = await app.customers.duplicates(visitor.id)
    assert [s.customer_id for s in suggested] == [mailer.id]
    assert "same email" in suggested[0].reasons
    # A signed identity token proves the email: that visitor joins the customer.
    signed = await resolve(app, "webchat", "widget:user:42", "Lee", "lee@example.com", verified=True)
    assert signed.id == mailer.id


async def test_a_forged_email_sender_is_filed_apart_and_suggested_never_merged(app: Container) -> None:
    # Lee's mail passed DMARC at the receiving server: the address is Lee's, verified.
    lee = await resolve(app, "email", "lee@example.com", "Lee García", "lee@example.com", authenticated=True)
    assert lee.email_verified
    # Someone else writes "From: lee@example.com" without passing: not Lee's record, and not verified.
    forged = await resolve(app, "email", "lee@example.com", "Lee García", "lee@example.com")
    assert forged.id != lee.id
    assert (forged.email, forged.email_verified) == ("lee@example.com", False)
    profile = await app.customers.profile(forged.id)
    assert [(i.channel, i.address) for i in profile.identities] == [("email-unverified", "lee@example.com")]
    # Agents see it as a likely duplicate of Lee, from either side, and decide.
    [suggested] = await app.customers.duplicates(lee.id)
    assert suggested.customer_id == forged.id
    assert "same email" in suggested.reasons
    assert [d.customer_id for d in await app.customers.duplicates(forged.id)] == [lee.id]
    # More unauthenticated mail from that address joins the unverified record, not Lee's.
    again = await resolve(app, "email", "lee@example.com", "Lee", "lee@example.com")
    assert again.id == forged.id
    assert not again.email_verified
    # Authenticated mail still reaches Lee, as before.
    back = await resolve(app, "email", "lee@example.com", "Lee", "lee@example.com", authenticated=True)
    assert back.id == lee.id
    assert (await app.customers.profile(lee.id)).identities[0].channel == "email"


async def test_a_record_built_from_unauthenticated_mail_never_becomes_verified(app: Container) -> None:
    first = await resolve(app, "email", "sam@example.com", "Sam", "sam@example.com")
    assert not first.email_verified
    # The real Sam's authenticated mail starts the verified record; the earlier one is only suggested.
    real = await resolve(app, "email", "sam@example.com", "Sam Rivera", "sam@example.com", authenticated=True)
    assert real.id != first.id
    assert real.email_verified
    assert not (await app.customers.profile(first.id)).customer.email_verified
    assert [d.customer_id for d in await app.customers.duplicates(real.id)] == [first.id]
    # A signed widget identity for Sam joins the verified record, not the unverified one.
    signed = await resolve(app, "webchat", "widget:user:sam", "Sam", "sam@example.com", verified=True)
    assert signed.id == real.id


async def test_merge_moves_identities_and_conversations_and_is_idempotent(app: Container) -> None:
    first = await resolve(app, "webchat", "w:1", "Lee García", "lee@example.com")
    second = await resolve(app, "telegram", "777", "Lee G")
    merged = await app.customers.merge(first.id, second.id, actor_id=None)
    assert merged.id == first.id
    profile = await app.customers.profile(second.id)  # the old id still answers, with the survivor
    assert profile.customer.id == first.id
    assert {i.channel for i in profile.identities} == {"webchat", "telegram"}
    again = await app.customers.merge(first.id, second.id, actor_id=None)
    assert again.id == first.id
    with pytest.raises(Conflict):
        await app.customers.merge(second.id, first.id, actor_id=None)
    with pytest.raises(InvalidInput):
        await app.customers.merge(first.id, first.id, actor_id=None)
    with pytest.raises(NotFound):
        await app.customers.merge(first.id, "nobody", actor_id=None)
    # New messages from the merged record's address land on the survivor.
    back = await resolve(app, "telegram", "777", "Lee G")
    assert back.id == first.id


async def test_agents_edits_are_validated_and_unverify_the_contact(app: Container) -> None:
    sms = await resolve(app, "sms_twilio", "+34600111222", "Lee")
    with pytest.raises(InvalidInput):
        await app.customers.update(sms.id, "agent", phone="12")
    with pytest.raises(InvalidInput):
        await app.customers.update(sms.id, "agent", email="nope")
    edited = await app.customers.update(sms.id, "agent", phone="+34 600 999 888", email="lee@example.com")
    assert (edited.phone, edited.phone_verified) == ("+34600999888", False)
    assert (edited.email, edited.email_verified) == ("lee@example.com", False)
    found = await app.customers.search("600999")
    assert [c.id for c in found] == [sms.id]
    assert await app.customers.search("100%_") == []  # wildcards in the search text are literal

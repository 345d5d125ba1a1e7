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
    app: Container, channel: str, address: str, name: str, email: str | None = None, *, verified: bool = False
) -> Customer:
    async with app.publisher.unit_of_work() as uow:
        return await customers.resolve_customer(uow, channel, address, name, email, email_verified=verified)


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
    mailer = await resolve(app, "email", "lee@example.com", "Lee García")
    visitor = await resolve(app, "webchat", "widget:visitor-1", "Lee Garcia", "LEE@example.com")
    assert visitor.id != mailer.id  # anyone can type an email into a pre-chat form
    suggested = await app.customers.duplicates(visitor.id)
    assert [s.customer_id for s in suggested] == [mailer.id]
    assert "same email" in suggested[0].reasons
    # A signed identity token proves the email: that visitor joins the customer.
    signed = await resolve(app, "webchat", "widget:user:42", "Lee", "lee@example.com", verified=True)
    assert signed.id == mailer.id


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

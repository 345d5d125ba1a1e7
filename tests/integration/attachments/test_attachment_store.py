"""The attachment store through its real service on every store (SQLite and PostgreSQL): migration
0016 matches the tables, bytes round-trip exactly, uploads are deduplicated, messages carry files
(linked in the message's transaction), and who may send or see which file."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from omniroute.attachments.model import Limits, UploaderKind
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.store import Message
from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from omniroute.core.eventlog import events_table
from omniroute.core.ids import new_id
from omniroute.customers.service import resolve_customer
from omniroute.identity.model import Role
from omniroute.web.container import Container
from tests.integration.support import add_default_queue, schema_diff, store_container

T0 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
#: Every byte value, so a driver that mangles binary (text decoding, NUL truncation) is caught.
PAYLOAD = b"%PDF-1.4\n" + bytes(range(256)) * 40


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if table is None:
        return True
    if str(table.name) == "messages":
        return type_ == "table" or name == "attachments"
    return str(table.name) == "attachments"


async def test_the_migrated_attachment_tables_match_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, _ours) == []


@dataclass
class World:
    c: Container
    clock: ManualClock
    conv: Conversation
    other: Conversation
    agent_id: str


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(T0)
    async with store_container(database_url, tmp_path, clock) as c:
        queue = await add_default_queue(c, clock.now())
        ana = await c.identity.create_user("ana@example.com", "Ana", Role.AGENT, "correct horse battery")
        convs = []
        for visitor in ("lee", "kim"):
            async with c.publisher.unit_of_work() as uow:
                who = await resolve_customer(uow, "webchat", f"visitor-{visitor}-{new_id()}", visitor)
                conv = await c.conversations.start(
                    uow,
                    channel="webchat",
                    customer_id=who.id,
                    queue_id=queue.id,
                    subject="",
                    prechat={"name": visitor},
                    customer_token_hash=None,
                )
                convs.append(await c.conversations.assign(uow, conv, ana.id))
        yield World(c, clock, convs[0], convs[1], ana.id)


async def ana_posts(
    world: World, text: str, attachment_ids: list[str], key: str | None = None
) -> tuple[Message, bool]:
    """Ana (the conversation's agent) posts ``text`` with those files; (message, created)."""
    return await world.c.conversations.post(
        world.conv.id,
        sender_kind=SenderKind.AGENT,
        sender_id=world.agent_id,
        sender_name="Ana",
        text=text,
        idempotency_key=key,
        attachment_ids=attachment_ids,
    )


async def test_bytes_round_trip_exactly_with_sniffed_metadata(world: World) -> None:
    up = await world.c.attachments.upload(
        world.conv, PAYLOAD, "../Invoice 7.PDF", UploaderKind.CUSTOMER, world.conv.customer_id
    )
    att = up.attachment
    assert up.created
    assert (att.filename, att.content_type, att.size) == ("Invoice 7.PDF", "application/pdf", len(PAYLOAD))
    assert att.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert att.created_at == T0
    assert await world.c.attachments.content(att.id) == PAYLOAD
    assert await world.c.attachments.get(att.id) == att
    assert [a.id for a in await world.c.attachments.list(world.conv.id)] == [att.id]
    async with world.c.db.read() as conn:
        logged = (
            await conn.execute(
                sa.select(events_table.c.type).where(events_table.c.type == "attachment.uploaded")
            )
        ).all()
    assert len(logged) == 1


async def test_the_same_file_again_reuses_the_stored_one(world: World) -> None:
    att = world.c.attachments
    first = await att.upload(world.conv, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)
    again = await att.upload(world.conv, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)
    assert (again.attachment.id, again.created) == (first.attachment.id, False)
    renamed = await att.upload(world.conv, PAYLOAD, "b.pdf", UploaderKind.AGENT, world.agent_id)
    elsewhere = await att.upload(world.other, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)
    assert len({first.attachment.id, renamed.attachment.id, elsewhere.attachment.id}) == 3


async def test_limits_are_checked_before_anything_is_stored(world: World) -> None:
    with pytest.raises(PayloadTooLarge):
        await world.c.attachments.upload(
            world.conv, b"x" * 2048, "big.txt", UploaderKind.CUSTOMER, None, Limits(max_bytes=1024)
        )
    assert await world.c.attachments.list(world.conv.id) == []


async def test_a_message_carries_files_and_links_them_once(world: World) -> None:
    att = (
        await world.c.attachments.upload(world.conv, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)
    ).attachment
    msg, created = await ana_posts(world, "", [att.id], key="k1")
    assert created
    assert msg.text == ""
    assert [(a.id, a.filename, a.content_type, a.size) for a in msg.attachments] == [
        (att.id, "a.pdf", "application/pdf", len(PAYLOAD))
    ]
    stored = await world.c.conversations.messages(world.conv.id)
    assert stored[-1].attachments == msg.attachments
    assert (await world.c.attachments.get(att.id)).message_id == msg.id
    # A retry returns the first message, it does not add another.
    retry, created = await ana_posts(world, "", [att.id], key="k1")
    assert (retry.id, created) == (msg.id, False)
    assert len(await world.c.conversations.messages(world.conv.id)) == len(stored)


async def test_files_of_another_conversation_or_side_cannot_be_sent(world: World) -> None:
    att = world.c.attachments
    theirs = (await att.upload(world.other, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)).attachment
    customers = (
        await att.upload(world.conv, PAYLOAD, "c.pdf", UploaderKind.CUSTOMER, world.conv.customer_id)
    ).attachment
    before = world.conv.last_seq
    for ids in ([theirs.id], [customers.id], ["no-such-id"]):
        with pytest.raises(InvalidInput, match="unknown attachment"):
            await ana_posts(world, "here", ids)
    # Nothing was half-written: no message, no sequence number used, no link.
    assert (await world.c.conversations.get(world.conv.id)).last_seq == before
    assert (await att.get(theirs.id)).message_id is None


async def test_customers_see_their_uploads_and_sent_files_not_agents_drafts(world: World) -> None:
    att = world.c.attachments
    draft = (await att.upload(world.conv, PAYLOAD, "d.pdf", UploaderKind.AGENT, world.agent_id)).attachment
    mine = (await att.upload(world.conv, PNG, "me.png", UploaderKind.CUSTOMER, None)).attachment
    assert (await att.for_customer(world.conv.id, mine.id)).id == mine.id
    with pytest.raises(NotFound):
        await att.for_customer(world.conv.id, draft.id)
    with pytest.raises(NotFound):
        await att.for_customer(world.other.id, mine.id)
    with pytest.raises(NotFound):
        await att.in_conversation(world.other.id, mine.id)
    await ana_posts(world, "for you", [draft.id])
    assert (await att.for_customer(world.conv.id, draft.id)).id == draft.id


async def test_signed_links_open_the_file_until_they_expire(world: World) -> None:
    att = (
        await world.c.attachments.upload(world.conv, PAYLOAD, "a.pdf", UploaderKind.AGENT, world.agent_id)
    ).attachment
    url = world.c.attachments.signed_url(att.id, timedelta(minutes=10))
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    found = await world.c.attachments.by_signed_link(att.id, int(query["exp"]), query["sig"])
    assert found.id == att.id
    await world.clock.advance(11 * 60)
    with pytest.raises(Forbidden):
        await world.c.attachments.by_signed_link(att.id, int(query["exp"]), query["sig"])


async def test_no_uploads_once_the_conversation_has_ended(world: World) -> None:
    await world.c.conversations.end(world.conv.id, SenderKind.AGENT, world.agent_id, "Ana")
    ended = await world.c.conversations.get(world.conv.id)
    with pytest.raises(Conflict):
        await world.c.attachments.upload(ended, PAYLOAD, "late.pdf", UploaderKind.CUSTOMER, None)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40

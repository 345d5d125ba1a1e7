"""The desk through its real service on every store (SQLite and PostgreSQL): migration 0014 matches
the tables, quick replies are found and filled in, dispositions are chosen and enforced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from omniroute.conversations.model import Conversation, SenderKind
from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.eventlog import events_table
from omniroute.core.ids import new_id
from omniroute.customers.service import resolve_customer
from omniroute.desk.model import Author, DispositionCode, ReplyContent
from omniroute.identity.model import Role
from omniroute.routing.store import Queue
from omniroute.web.container import Container
from tests.integration.support import add_default_queue, only_tables, schema_diff, store_container

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)


async def test_the_migrated_desk_tables_match_the_store(database_url: str) -> None:
    assert await schema_diff(database_url, only_tables(lambda name: name.startswith("desk_"))) == []


@dataclass
class World:
    c: Container
    queue: Queue
    ana: Author
    ben: Author
    sam: Author
    customer_id: str


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(T0)
    async with store_container(database_url, tmp_path, clock) as c:
        queue = await add_default_queue(c, clock.now())
        people = []
        for name, role in (("ana", Role.AGENT), ("ben", Role.AGENT), ("sam", Role.SUPERVISOR)):
            user = await c.identity.create_user(f"{name}@example.com", name.title(), role, PASSWORD)
            people.append(Author(user.id, supervisor=role is Role.SUPERVISOR))
        async with c.publisher.unit_of_work() as uow:
            lee = await resolve_customer(uow, "webchat", f"visitor-{new_id()}", "Lee Profile")
        yield World(c, queue, *people, lee.id)


async def conversation(w: World, prechat: dict[str, Any], *, wrap_up: bool = False) -> Conversation:
    async with w.c.publisher.unit_of_work() as uow:
        conv = await w.c.conversations.start(
            uow,
            channel="webchat",
            customer_id=w.customer_id,
            queue_id=w.queue.id,
            subject="",
            prechat=prechat,
            customer_token_hash=None,
        )
        conv = await w.c.conversations.assign(uow, conv, w.ana.user_id)
    if wrap_up:
        conv = await w.c.conversations.end(conv.id, SenderKind.AGENT, w.ana.user_id, "Ana")
    return conv


async def logged(w: World) -> list[tuple[str, str | None]]:
    async with w.c.db.read() as conn:
        query = sa.select(events_table.c.type, events_table.c.agent_id).where(
            events_table.c.type.like("desk.%")
        )
        return [(r[0], r[1]) for r in await conn.execute(query.order_by(events_table.c.position))]


async def test_quick_replies_shared_and_personal_are_found_by_whoever_may_see_them(world: World) -> None:
    desk = world.c.desk
    shared = await desk.create_quick_reply(
        ReplyContent("Refund policy", "Refunds take 5 days, {customerName}.", "en", ("billing",)),
        shared=True,
        author=world.sam,
    )
    mine = await desk.create_quick_reply(ReplyContent("My refund line", "x"), shared=False, author=world.ana)
    with pytest.raises(Forbidden):
        await desk.create_quick_reply(ReplyContent("t", "x"), shared=True, author=world.ana)

    assert [r.id for r in await desk.quick_replies(world.ana.user_id, text="refund")] == [shared.id, mine.id]
    assert [r.id for r in await desk.quick_replies(world.ben.user_id, text="refund")] == [shared.id]
    assert await desk.quick_replies(world.ana.user_id, text="refund", language="es") == [mine]
    with pytest.raises(NotFound):
        await desk.quick_reply(mine.id, world.ben.user_id)

    edited = await desk.update_quick_reply(shared.id, author=world.sam, expected_version=1, language="")
    assert (edited.version, edited.content.language) == (2, None)
    with pytest.raises(Conflict):
        await desk.update_quick_reply(shared.id, author=world.sam, expected_version=1, title="Stale")
    with pytest.raises(Forbidden):
        await desk.update_quick_reply(shared.id, author=world.ana, title="Mine now")
    await desk.delete_quick_reply(mine.id, author=world.ana)
    await desk.delete_quick_reply(mine.id, author=world.ana)  # again: nothing left, no error
    assert [r.id for r in await desk.quick_replies(world.ana.user_id)] == [shared.id]
    assert [t for t, _ in await logged(world)] == [
        "desk.quick_reply_created",
        "desk.quick_reply_created",
        "desk.quick_reply_updated",
        "desk.quick_reply_deleted",
    ]


async def test_a_reply_is_filled_in_from_the_conversation(world: World) -> None:
    reply = await world.c.desk.create_quick_reply(
        ReplyContent("Hello", "Hi {customerName}, {agentName} from {queue}. Order {order_ref}? {email}"),
        shared=True,
        author=world.sam,
    )
    conv = await conversation(world, {"name": "Jane", "email": "jane@example.com", "order_ref": "A-17"})
    done = await world.c.desk.render_quick_reply(
        reply.id, conversation=conv, user_id=world.ana.user_id, agent_name="Ana García"
    )
    assert done.text == "Hi Jane, Ana García from Support. Order A-17? jane@example.com"
    assert done.missing == ()
    # Without a pre-chat name, the customer record names them; what is unknown stays as typed.
    bare = await conversation(world, {})
    done = await world.c.desk.render_quick_reply(
        reply.id, conversation=bare, user_id=world.ana.user_id, agent_name="Ana"
    )
    assert done.text == "Hi Lee Profile, Ana from Support. Order {order_ref}? {email}"
    assert done.missing == ("order_ref", "email")


async def test_dispositions_are_configured_chosen_and_enforced(world: World) -> None:
    desk, queue = world.c.desk, world.queue.id
    assert (await desk.disposition_codes(queue)).version == 0
    with pytest.raises(NotFound):
        await desk.disposition_codes("no-such-queue")
    codes = [DispositionCode("resolved", "Resolved"), DispositionCode("callback", "Callback promised")]
    saved = await desk.set_disposition_codes(
        queue, required=True, codes=codes, expected_version=0, actor_id=world.sam.user_id
    )
    assert (saved.version, saved.required, [c.code for c in saved.codes]) == (
        1,
        True,
        ["resolved", "callback"],
    )
    again = await desk.set_disposition_codes(
        queue, required=True, codes=codes, expected_version=None, actor_id=world.sam.user_id
    )
    assert again.version == 1  # nothing changed, no new version
    with pytest.raises(Conflict):
        await desk.set_disposition_codes(queue, required=False, codes=[], expected_version=0, actor_id=None)

    conv = await conversation(world, {"name": "Jane"}, wrap_up=True)
    with pytest.raises(Conflict, match="requires a disposition code"):
        await desk.check_can_close(conv)
    with pytest.raises(InvalidInput):
        await desk.record_disposition(conv.id, code="nope", agent_id=world.ana.user_id)
    first = await desk.record_disposition(
        conv.id, code="callback", notes="Tomorrow", agent_id=world.ana.user_id
    )
    same = await desk.record_disposition(
        conv.id, code="callback", notes="Tomorrow", agent_id=world.ana.user_id
    )
    assert same == first  # a retry records nothing new
    chosen = await desk.record_disposition(conv.id, code="resolved", agent_id=world.ana.user_id)
    state = await desk.disposition_of(conv)
    assert state.chosen == chosen
    assert (chosen.code, chosen.label) == ("resolved", "Resolved")
    await desk.check_can_close(conv)
    closed = await world.c.conversations.close(conv.id, world.ana.user_id)
    with pytest.raises(Conflict, match="before the conversation closes"):
        await desk.record_disposition(closed.id, code="resolved", agent_id=world.ana.user_id)
    assert await logged(world) == [
        ("desk.disposition_codes_changed", None),
        ("desk.disposition_recorded", world.ana.user_id),
        ("desk.disposition_recorded", world.ana.user_id),
    ]


async def test_concurrent_choices_leave_one_row(world: World) -> None:
    await world.c.desk.set_disposition_codes(
        world.queue.id,
        required=False,
        codes=[DispositionCode("a", "A"), DispositionCode("b", "B")],
        expected_version=None,
        actor_id=None,
    )
    conv = await conversation(world, {}, wrap_up=True)
    made = await asyncio.gather(
        *(world.c.desk.record_disposition(conv.id, code=code, agent_id=None) for code in "abab")
    )
    state = await world.c.desk.disposition_of(conv)
    assert state.chosen is not None
    assert state.chosen.code in {m.code for m in made}

"""Cases through the real service on every store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from omniroute.cases import store as case_store
from omniroute.cases.model import (
    Actor,
    CaseEdit,
    CasePriority,
    CaseQuery,
    CaseSort,
    CaseStatus,
    Cursor,
    FromConversation,
    NewCase,
    ResolutionType,
)
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.eventlog import events_table, read_events
from omniroute.core.ids import new_id
from omniroute.customers.model import Customer
from omniroute.customers.service import resolve_customer
from omniroute.identity.model import Role
from omniroute.routing.store import Queue
from omniroute.web.container import Container
from tests.integration.support import add_default_queue, store_container

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 29, 0, 59, 58, 123456, tzinfo=UTC)


@dataclass
class World:
    c: Container
    clock: ManualClock
    queue: Queue
    ana: Actor
    ben: Actor
    sam: Actor
    lee: Customer


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(T0)
    async with store_container(database_url, tmp_path, clock) as c:
        queue = await add_default_queue(c, clock.now())
        people = []
        for name, role in (("ana", Role.AGENT), ("ben", Role.AGENT), ("sam", Role.SUPERVISOR)):
            user = await c.identity.create_user(f"{name}@example.com", name.title(), role, PASSWORD)
            people.append(Actor(user.id, user.display_name, supervisor=role is Role.SUPERVISOR))
        async with c.publisher.unit_of_work() as uow:
            lee = await resolve_customer(uow, "webchat", f"visitor-{new_id()}", "Lee")
        yield World(c, clock, queue, *people, lee)


async def conversation(w: World, agent: Actor | None, *customer_says: str) -> Conversation:
    async with w.c.publisher.unit_of_work() as uow:
        conv = await w.c.conversations.start(
            uow,
            channel="webchat",
            customer_id=w.lee.id,
            queue_id=w.queue.id,
            subject="",
            prechat={"name": "Lee"},
            customer_token_hash=None,
        )
        if agent is not None:
            conv = await w.c.conversations.assign(uow, conv, agent.user_id)
    for text in customer_says:
        await w.c.conversations.post(
            conv.id, sender_kind=SenderKind.CUSTOMER, text=text, idempotency_key=None
        )
    return await w.c.conversations.get(conv.id)


def draft(w: World, title: str = "Parcel lost", **fields: object) -> NewCase:
    return NewCase(title=title, customer_id=w.lee.id, **fields)  # type: ignore[arg-type]


async def logged_types(w: World) -> list[str]:
    async with w.c.db.read() as conn:
        query = sa.select(events_table.c.type).where(events_table.c.type.like("case.%"))
        return [r[0] for r in await conn.execute(query.order_by(events_table.c.position))]


# -- numbers ---------------------------------------------------------------------------------------


async def test_cases_get_human_numbers_and_can_be_found_by_them(world: World) -> None:
    first, created = await world.c.cases.create(draft(world), world.ana)
    second, _ = await world.c.cases.create(draft(world, "Wrong size"), world.ana)

    assert created
    assert (first.reference, second.reference) == ("CAS-000001", "CAS-000002")
    assert await world.c.cases.get("CAS-000002") == second
    assert await world.c.cases.get(first.id) == first
    with pytest.raises(NotFound):
        await world.c.cases.get("CAS-000003")


async def test_concurrent_creates_get_unique_gapless_numbers(world: World) -> None:
    made = await asyncio.gather(
        *(world.c.cases.create(draft(world, f"case {i}"), world.ana) for i in range(25))
    )

    assert sorted(case.number for case, _ in made) == list(range(1, 26))


async def test_a_failed_create_gives_its_number_back(world: World) -> None:
    # The title is checked after the number is taken, so the rollback must return the number.
    with pytest.raises(InvalidInput, match="needs a title"):
        await world.c.cases.create(draft(world, "   "), world.ana)

    case, _ = await world.c.cases.create(draft(world), world.ana)
    assert case.number == 1


async def test_a_retried_create_returns_the_first_case(world: World) -> None:
    results = await asyncio.gather(
        *(world.c.cases.create(draft(world), world.ana, idempotency_key="req-1") for _ in range(5))
    )

    assert len({case.id for case, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    # The key is per user: Ben's "req-1" is another request.
    other, created = await world.c.cases.create(draft(world), world.ben, idempotency_key="req-1")
    assert created
    assert other.id != results[0][0].id


async def test_references_are_checked(world: World) -> None:
    with pytest.raises(InvalidInput, match="no customer"):
        await world.c.cases.create(NewCase(title="x", customer_id=new_id()), world.ana)
    with pytest.raises(InvalidInput, match="no active user"):
        await world.c.cases.create(draft(world, owner_id=new_id()), world.ana)
    with pytest.raises(InvalidInput, match="no queue"):
        await world.c.cases.create(draft(world, queue_id=new_id()), world.ana)
    case, _ = await world.c.cases.create(
        draft(world, owner_id=world.ben.user_id, queue_id=world.queue.id), world.sam
    )
    assert (case.owner_id, case.queue_id, case.created_by) == (
        world.ben.user_id,
        world.queue.id,
        world.sam.user_id,
    )


# -- from a conversation, links ------------------------------------------------------------------


async def test_create_from_a_conversation_is_prefilled_and_linked(world: World) -> None:
    conv = await conversation(
        world, world.ana, " My parcel never\narrived ", "Order 42", "Tracking says delivered", "?"
    )

    case, created = await world.c.cases.create_from_conversation(conv.id, world.ana)

    assert created
    assert case.title == "My parcel never arrived"
    assert case.description == "Order 42\n\nTracking says delivered\n\n?"
    assert (case.customer_id, case.queue_id, case.owner_id) == (
        world.lee.id,
        world.queue.id,
        world.ana.user_id,
    )
    assert [link.conversation_id for link in await world.c.cases.links(case.id)] == [conv.id]
    assert await world.c.cases.for_conversation(conv.id) == [case]
    async with world.c.db.read() as conn:
        on_conversation = [e["type"] for e in await read_events(conn, conversation_id=conv.id)]
    assert on_conversation[-2:] == ["case.created", "case.linked"]


async def test_prefill_reads_the_last_customer_messages_of_a_long_conversation(world: World) -> None:
    conv = await conversation(world, world.ana, *(f"message {i}" for i in range(1, 261)))

    case, _ = await world.c.cases.create_from_conversation(
        conv.id, world.ana, FromConversation(title="Long one")
    )

    assert case.title == "Long one"
    assert case.description == "message 258\n\nmessage 259\n\nmessage 260"


async def test_only_the_conversations_agent_or_a_supervisor_links_it(world: World) -> None:
    anas = await conversation(world, world.ana, "hi")
    with pytest.raises(NotFound, match="no conversation"):
        await world.c.cases.create_from_conversation(anas.id, world.ben)
    case, _ = await world.c.cases.create(draft(world), world.ben)
    with pytest.raises(NotFound, match="no conversation"):
        await world.c.cases.link(case.id, anas.id, world.ben)
    _, changed = await world.c.cases.link(case.id, anas.id, world.sam)
    assert changed


async def test_link_and_unlink_are_idempotent(world: World) -> None:
    conv = await conversation(world, world.ana, "hi")
    case, _ = await world.c.cases.create(draft(world), world.ana)

    assert (await world.c.cases.link(case.id, conv.id, world.ana))[1]
    assert not (await world.c.cases.link(case.reference, conv.id, world.ana))[1]
    assert len(await world.c.cases.links(case.id)) == 1
    assert (await world.c.cases.unlink(case.id, conv.id, world.ana))[1]
    assert not (await world.c.cases.unlink(case.id, conv.id, world.ana))[1]
    assert await world.c.cases.links(case.id) == []
    assert (await logged_types(world)).count("case.linked") == 1
    assert (await logged_types(world)).count("case.unlinked") == 1
    # Links do not touch the editable fields, so nobody's open edit form goes stale.
    assert (await world.c.cases.get(case.id)).version == case.version


async def test_concurrent_identical_links_make_one_link(world: World) -> None:
    conv = await conversation(world, world.ana, "hi")
    case, _ = await world.c.cases.create(draft(world), world.ana)

    results = await asyncio.gather(*(world.c.cases.link(case.id, conv.id, world.ana) for _ in range(5)))

    assert sum(changed for _, changed in results) == 1
    assert len(await world.c.cases.links(case.id)) == 1


# -- editing, versions, rights ---------------------------------------------------------------------


async def test_edit_resolve_reopen_cancel_with_history(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)
    await world.clock.advance(60)
    case = await world.c.cases.update(
        case.id, CaseEdit(status=CaseStatus.ACTIVE, priority=CasePriority.HIGH), world.ana, expected_version=1
    )
    assert (case.status, case.priority, case.version) == (CaseStatus.ACTIVE, CasePriority.HIGH, 2)
    assert case.sla_due_at == T0 + timedelta(hours=8)
    case = await world.c.cases.resolve(
        case.id, "Refunded", ResolutionType.SOLVED, world.ana, expected_version=2
    )
    assert (case.status, case.resolution, case.resolved_at) == (
        CaseStatus.RESOLVED,
        "Refunded",
        world.clock.now(),
    )
    case = await world.c.cases.reopen(case.reference, world.ana)
    case = await world.c.cases.cancel(case.id, world.ana, reason="customer withdrew")
    assert await world.c.cases.get(case.id) == case

    history = await world.c.cases.history(case.id)
    assert [a.type for a in history] == [
        "case.created",
        "case.updated",
        "case.resolved",
        "case.reopened",
        "case.cancelled",
    ]
    assert history[1].payload["changes"]["priority"] == {"from": "normal", "to": "high"}
    assert history[2].payload["sla_met"] is True
    assert history[4].payload["reason"] == "customer withdrew"
    assert await logged_types(world) == [a.type for a in history]  # the event log has the same story


async def test_a_stale_version_is_refused_and_concurrent_edits_cannot_both_win(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)

    results = await asyncio.gather(
        world.c.cases.update(case.id, CaseEdit(title="Mine"), world.ana, expected_version=1),
        world.c.cases.update(case.id, CaseEdit(title="Yours"), world.sam, expected_version=1),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Conflict) for r in results) == 1
    winner = next(r for r in results if not isinstance(r, BaseException))
    assert await world.c.cases.get(case.id) == winner
    assert winner.version == 2


async def test_an_illegal_transition_conflicts_with_a_reason(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)
    await world.c.cases.cancel(case.id, world.ana)
    with pytest.raises(Conflict, match="cancelled case cannot change"):
        await world.c.cases.reopen(case.id, world.ana)
    with pytest.raises(Conflict, match="cancelled"):
        await world.c.cases.update(case.id, CaseEdit(status=CaseStatus.ACTIVE), world.ana)


async def test_agents_edit_own_unowned_and_linked_cases_supervisors_any(world: World) -> None:
    bens, _ = await world.c.cases.create(draft(world), world.ben)
    with pytest.raises(Forbidden, match="belongs to someone else"):
        await world.c.cases.update(bens.id, CaseEdit(title="hijack"), world.ana)
    with pytest.raises(Forbidden):
        await world.c.cases.add_note(bens.id, "me too", world.ana)
    # Linked to Ana's conversation, Ben's case is hers to work on too.
    anas = await conversation(world, world.ana, "hello")
    await world.c.cases.link(bens.id, anas.id, world.ana)
    assert (
        await world.c.cases.update(bens.id, CaseEdit(category="Billing"), world.ana)
    ).category == "Billing"
    assert await world.c.cases.update(bens.id, CaseEdit(owner_id=None), world.sam)
    unowned = await world.c.cases.get(bens.id)
    assert unowned.owner_id is None
    carla = await world.c.identity.create_user("carla@example.com", "Carla", Role.AGENT, PASSWORD)
    assert await world.c.cases.update(unowned.id, CaseEdit(title="anyone"), Actor(carla.id, "Carla"))


async def test_notes_are_idempotent_and_allowed_on_closed_cases(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)
    await world.c.cases.resolve(case.id, "done", ResolutionType.SOLVED, world.ana)

    first, created = await world.c.cases.add_note(
        case.reference, " called back ", world.ana, idempotency_key="n1"
    )
    again, created_again = await world.c.cases.add_note(
        case.id, "called back", world.ana, idempotency_key="n1"
    )

    assert created
    assert not created_again
    assert first == again
    assert first.text == "called back"
    assert first.author_name == "Ana"
    assert await world.c.cases.notes(case.id) == [first]


async def test_moving_cases_to_another_customer(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)
    async with world.c.publisher.unit_of_work() as uow:
        other = await resolve_customer(uow, "sms", "+34600000000", "Lee on SMS")
    async with world.c.publisher.unit_of_work() as uow:
        moved = await world.c.cases.move_customer(uow, world.lee.id, other.id)

    assert [m.id for m in moved] == [case.id]
    assert await world.c.cases.for_customer(other.id) == [await world.c.cases.get(case.id)]
    assert await world.c.cases.for_customer(world.lee.id) == []
    timeline = await world.c.cases.customer_activity(other.id)
    assert [a.type for a in timeline] == ["case.updated", "case.created"]  # newest first


# -- queries -------------------------------------------------------------------------------------


async def test_filters(world: World) -> None:
    c, w = world.c, world
    a, _ = await c.cases.create(draft(w, "Refund 100% please", priority=CasePriority.URGENT), w.ana)
    await w.clock.advance(3600)
    b, _ = await c.cases.create(draft(w, "Refund_later", owner_id=None, queue_id=w.queue.id), w.ben)
    await w.clock.advance(3600)
    d, _ = await c.cases.create(draft(w, "Address change", owner_id=w.ben.user_id), w.ana)
    await c.cases.update(d.id, CaseEdit(status=CaseStatus.ON_HOLD), w.ben)

    async def ids(**query: object) -> list[str]:
        page = await c.cases.search(CaseQuery(**query))  # type: ignore[arg-type]
        return [x.id for x in page.items]

    assert await ids() == [d.id, b.id, a.id]
    assert await ids(statuses=frozenset({CaseStatus.ON_HOLD})) == [d.id]
    assert await ids(priorities=frozenset({CasePriority.URGENT, CasePriority.HIGH})) == [a.id]
    assert await ids(owner_id=w.ben.user_id) == [d.id]
    assert await ids(unowned=True) == [b.id]
    assert await ids(queue_id=w.queue.id) == [b.id]
    assert await ids(customer_id=w.lee.id, descending=False) == [a.id, b.id, d.id]
    assert await ids(text="refund") == [b.id, a.id]
    assert await ids(text="100%") == [a.id]  # LIKE wildcards are literal
    assert await ids(text="d_1") == []  # "_" would match the space in "Refund 100%"
    assert await ids(text="cas-000003") == [d.id]
    assert await ids(created_from=T0 + timedelta(minutes=30), created_to=T0 + timedelta(hours=2)) == [b.id]
    assert await ids(sort=CaseSort.SLA_DUE_AT, descending=False) == [a.id, b.id, d.id]


async def test_cursor_pages_cover_every_case_once_in_every_order(world: World) -> None:
    priorities = list(CasePriority)
    made = []
    for i in range(23):
        case, _ = await world.c.cases.create(draft(world, f"case {i}", priority=priorities[i % 4]), world.ana)
        made.append(case)
        if i % 5 == 0:
            await world.clock.advance(1)  # ties in created_at, broken by id
    for sort in CaseSort:
        for descending in (True, False):
            seen: list[str] = []
            after: Cursor | None = None
            while True:
                page = await world.c.cases.search(
                    CaseQuery(sort=sort, descending=descending, limit=4, after=after)
                )
                seen += [x.id for x in page.items]
                if page.next_cursor is None:
                    break
                after = Cursor.decode(page.next_cursor)
            assert sorted(seen) == sorted(x.id for x in made), (sort, descending)
            assert len(seen) == len(made)


async def test_a_cursor_from_another_order_is_refused(world: World) -> None:
    for i in range(3):
        await world.c.cases.create(draft(world, f"case {i}"), world.ana)
    page = await world.c.cases.search(CaseQuery(limit=1))
    assert page.next_cursor is not None
    with pytest.raises(InvalidInput, match="another sort order"):
        await world.c.cases.search(
            CaseQuery(limit=1, sort=CaseSort.NUMBER, after=Cursor.decode(page.next_cursor))
        )


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        (CaseSort.CREATED_AT, "yesterday"),
        (CaseSort.CREATED_AT, "2026-01-01T00:00:00"),
        (CaseSort.PRIORITY, "high"),
    ],
)
async def test_a_forged_cursor_value_is_bad_input(world: World, sort: CaseSort, value: str) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        await world.c.cases.search(CaseQuery(sort=sort, after=Cursor(sort, True, value, "x")))


async def test_cases_of_a_customer(world: World) -> None:
    case, _ = await world.c.cases.create(draft(world), world.ana)
    done, _ = await world.c.cases.create(draft(world, "done"), world.ana)
    await world.c.cases.cancel(done.id, world.ana)

    assert [x.id for x in await world.c.cases.for_customer(world.lee.id)] == [done.id, case.id]
    assert [x.id for x in await world.c.cases.for_customer(world.lee.id, open_only=True)] == [case.id]
    with pytest.raises(NotFound):
        await world.c.cases.for_customer(new_id())


async def test_the_counter_row_is_created_on_first_use(world: World) -> None:
    async with world.c.db.read() as conn:
        assert (await conn.execute(sa.select(case_store.case_counters))).first() is None
    await world.c.cases.create(draft(world), world.ana)
    async with world.c.db.read() as conn:
        assert (await conn.execute(sa.select(case_store.case_counters.c.last_number))).scalar_one() == 1

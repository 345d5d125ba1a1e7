"""Tables and queries for cases, their numbers, conversation links, notes and activity history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.cases.events import CaseEvent
from omniroute.cases.model import (
    PRIORITY_RANK,
    Case,
    CasePriority,
    CaseQuery,
    CaseSort,
    CaseStatus,
    Cursor,
    Page,
    ResolutionType,
    parse_number,
    sort_value,
)
from omniroute.core.db import metadata
from omniroute.core.errors import InvalidInput
from omniroute.core.types import AnyRow, UTCDateTime

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("number", sa.Integer(), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("priority", sa.String(10), nullable=False),
    sa.Column("owner_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=True),
    sa.Column("category", sa.String(100), nullable=False, server_default=""),
    sa.Column("resolution", sa.Text(), nullable=True),
    sa.Column("resolution_type", sa.String(40), nullable=True),
    sa.Column("sla_due_at", UTCDateTime(), nullable=False),
    sa.Column("sla_paused_seconds", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("held_since", UTCDateTime(), nullable=True),
    sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("idempotency_key", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    sa.UniqueConstraint("created_by", "idempotency_key"),
    sa.Index("ix_cases_status_created", "status", "created_at"),
    sa.Index("ix_cases_owner_status", "owner_id", "status"),
    sa.Index("ix_cases_customer_status", "customer_id", "status"),
    sa.Index("ix_cases_queue_status", "queue_id", "status"),
    sa.Index("ix_cases_created_at", "created_at"),
    sa.Index("ix_cases_updated_at", "updated_at"),
    sa.Index("ix_cases_sla_due_at", "sla_due_at"),
)

#: One row per numbered thing; the row lock taken by the increment orders concurrent creators.
case_counters = sa.Table(
    "case_counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("last_number", sa.Integer(), nullable=False),
)

case_conversations = sa.Table(
    "case_conversations",
    metadata,
    sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("linked_by", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("linked_at", UTCDateTime(), nullable=False),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("author_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("author_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("idempotency_key", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("case_id", "idempotency_key"),
)

#: The case's history, written with each case event (the event log stays the source of truth;
#: this is the per-case, per-customer index of it).
case_activity = sa.Table(
    "case_activity",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    sa.Column("customer_id", sa.String(36), nullable=False),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Index("ix_case_activity_case", "case_id", "position"),
    sa.Index("ix_case_activity_customer", "customer_id", "occurred_at"),
)

CASE_COUNTER = "cases"


@dataclass(frozen=True)
class Link:
    case_id: str
    conversation_id: str
    linked_by: str | None
    linked_at: datetime


@dataclass(frozen=True)
class Note:
    id: str
    case_id: str
    author_id: str | None
    author_name: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Activity:
    event_id: str
    case_id: str
    type: str
    actor_id: str | None
    occurred_at: datetime
    payload: dict[str, Any]


def _case(row: AnyRow) -> Case:
    m = row._mapping
    return Case(
        id=m["id"],
        number=m["number"],
        title=m["title"],
        description=m["description"],
        customer_id=m["customer_id"],
        status=CaseStatus(m["status"]),
        priority=CasePriority(m["priority"]),
        sla_due_at=m["sla_due_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        owner_id=m["owner_id"],
        queue_id=m["queue_id"],
        category=m["category"],
        resolution=m["resolution"],
        resolution_type=ResolutionType(m["resolution_type"]) if m["resolution_type"] else None,
        resolved_at=m["resolved_at"],
        created_by=m["created_by"],
        sla_paused_seconds=m["sla_paused_seconds"],
        held_since=m["held_since"],
        version=m["version"],
    )


def _values(case: Case) -> dict[str, Any]:
    """The mutable columns."""
    return {
        "title": case.title,
        "description": case.description,
        "status": case.status.value,
        "priority": case.priority.value,
        "owner_id": case.owner_id,
        "queue_id": case.queue_id,
        "category": case.category,
        "resolution": case.resolution,
        "resolution_type": case.resolution_type.value if case.resolution_type else None,
        "sla_due_at": case.sla_due_at,
        "sla_paused_seconds": case.sla_paused_seconds,
        "held_since": case.held_since,
        "updated_at": case.updated_at,
        "resolved_at": case.resolved_at,
        "version": case.version,
    }


async def next_number(conn: AsyncConnection) -> int:
    """Take the next case number in the caller's transaction.

    The increment locks the counter row until commit, so concurrent creators queue behind it and a
    rolled-back creation gives its number back: numbers are unique and gapless on both engines.
    """
    increment = (
        case_counters.update()
        .where(case_counters.c.name == CASE_COUNTER)
        .values(last_number=case_counters.c.last_number + 1)
        .returning(case_counters.c.last_number)
    )
    number = (await conn.execute(increment)).scalar_one_or_none()
    if number is not None:
        return int(number)
    try:
        async with conn.begin_nested():
            await conn.execute(case_counters.insert().values(name=CASE_COUNTER, last_number=1))
    except IntegrityError:
        # Another first case created the row meanwhile; count on from it.
        return int((await conn.execute(increment)).scalar_one())
    return 1


async def insert_case(conn: AsyncConnection, case: Case, idempotency_key: str | None) -> None:
    await conn.execute(
        cases.insert().values(
            id=case.id,
            number=case.number,
            customer_id=case.customer_id,
            created_by=case.created_by,
            created_at=case.created_at,
            idempotency_key=idempotency_key,
            **_values(case),
        )
    )


async def save_case(conn: AsyncConnection, before: Case, after: Case) -> bool:
    """Write ``after`` if the row is still at ``before``'s version. False: someone else won."""
    result = await conn.execute(
        cases.update()
        .where(cases.c.id == before.id, cases.c.version == before.version)
        .values(**_values(after))
    )
    return result.rowcount == 1


async def touch(conn: AsyncConnection, case_id: str, now: datetime) -> None:
    """Links and notes change the case's activity, not its fields: updated_at moves, version stays."""
    await conn.execute(cases.update().where(cases.c.id == case_id).values(updated_at=now))


async def move_customer(conn: AsyncConnection, from_customer: str, to_customer: str) -> list[Case]:
    moved = await cases_of_customer(conn, from_customer, for_update=True)
    await conn.execute(
        cases.update().where(cases.c.customer_id == from_customer).values(customer_id=to_customer)
    )
    # The activity is an index of the history by customer: it follows the cases.
    await conn.execute(
        case_activity.update()
        .where(case_activity.c.customer_id == from_customer)
        .values(customer_id=to_customer)
    )
    return moved


async def get_case(conn: AsyncConnection, case_id: str, *, for_update: bool = False) -> Case | None:
    query = sa.select(cases).where(cases.c.id == case_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _case(row) if row else None


async def get_case_by_number(conn: AsyncConnection, number: int, *, for_update: bool = False) -> Case | None:
    query = sa.select(cases).where(cases.c.number == number)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _case(row) if row else None


async def find_by_key(conn: AsyncConnection, created_by: str, key: str) -> Case | None:
    query = sa.select(cases).where(cases.c.created_by == created_by, cases.c.idempotency_key == key)
    row = (await conn.execute(query)).first()
    return _case(row) if row else None


async def cases_of_customer(
    conn: AsyncConnection, customer_id: str, *, for_update: bool = False
) -> list[Case]:
    query = sa.select(cases).where(cases.c.customer_id == customer_id).order_by(cases.c.number)
    if for_update:
        query = query.with_for_update()
    return [_case(r) for r in await conn.execute(query)]


_PRIORITY_RANK = sa.case(
    {p.value: rank for p, rank in PRIORITY_RANK.items()}, value=cases.c.priority, else_=-1
)


def _sort_column(sort: CaseSort) -> sa.ColumnElement[Any]:
    if sort is CaseSort.PRIORITY:
        return _PRIORITY_RANK
    column: sa.ColumnElement[Any] = cases.c[sort.value]
    return column


def _cursor_value(sort: CaseSort, value: int | str) -> Any:
    try:
        if sort in (CaseSort.PRIORITY, CaseSort.NUMBER):
            return int(value)
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput("the cursor is not one this API gave out") from exc
    if moment.tzinfo is None:
        raise InvalidInput("the cursor is not one this API gave out")
    return moment


def _filtered(q: CaseQuery) -> sa.Select[Any]:
    query = sa.select(cases)
    if q.statuses:
        query = query.where(cases.c.status.in_(sorted(s.value for s in q.statuses)))
    if q.priorities:
        query = query.where(cases.c.priority.in_(sorted(p.value for p in q.priorities)))
    if q.unowned:
        query = query.where(cases.c.owner_id.is_(None))
    elif q.owner_id is not None:
        query = query.where(cases.c.owner_id == q.owner_id)
    if q.customer_id is not None:
        query = query.where(cases.c.customer_id == q.customer_id)
    if q.queue_id is not None:
        query = query.where(cases.c.queue_id == q.queue_id)
    if q.conversation_id is not None:
        linked = sa.select(case_conversations.c.case_id).where(
            case_conversations.c.conversation_id == q.conversation_id
        )
        query = query.where(cases.c.id.in_(linked))
    if q.text:
        match = cases.c.title.icontains(q.text, autoescape=True)
        number = parse_number(q.text)
        query = query.where(sa.or_(match, cases.c.number == number) if number is not None else match)
    if q.created_from is not None:
        query = query.where(cases.c.created_at >= q.created_from)
    if q.created_to is not None:
        query = query.where(cases.c.created_at < q.created_to)
    return query


async def list_cases(conn: AsyncConnection, q: CaseQuery) -> Page:
    """One page of matching cases in the requested order, continuing after ``q.after``."""
    query = _filtered(q)
    key = _sort_column(q.sort)
    if q.after is not None:
        q.after.check_matches(q.sort, q.descending)
        value = _cursor_value(q.sort, q.after.value)
        if q.descending:
            query = query.where(sa.or_(key < value, sa.and_(key == value, cases.c.id < q.after.case_id)))
        else:
            query = query.where(sa.or_(key > value, sa.and_(key == value, cases.c.id > q.after.case_id)))
    order = (key.desc(), cases.c.id.desc()) if q.descending else (key.asc(), cases.c.id.asc())
    rows = list(await conn.execute(query.order_by(*order).limit(q.limit + 1)))
    items = [_case(r) for r in rows[: q.limit]]
    next_cursor = None
    if len(rows) > q.limit:
        last = items[-1]
        next_cursor = Cursor(q.sort, q.descending, sort_value(last, q.sort), last.id).encode()
    return Page(items, next_cursor)


# -- links ---------------------------------------------------------------------------------------


async def link(
    conn: AsyncConnection, case_id: str, conversation_id: str, by: str | None, now: datetime
) -> bool:
    """Link once. True when this call made the link (False: it was already there)."""
    if await _linked(conn, case_id, conversation_id):
        return False
    try:
        async with conn.begin_nested():
            await conn.execute(
                case_conversations.insert().values(
                    case_id=case_id, conversation_id=conversation_id, linked_by=by, linked_at=now
                )
            )
    except IntegrityError:
        return False  # a concurrent identical link won; the outcome is the same
    return True


async def _linked(conn: AsyncConnection, case_id: str, conversation_id: str) -> bool:
    query = sa.select(case_conversations.c.case_id).where(
        case_conversations.c.case_id == case_id, case_conversations.c.conversation_id == conversation_id
    )
    return (await conn.execute(query)).first() is not None


async def unlink(conn: AsyncConnection, case_id: str, conversation_id: str) -> bool:
    result = await conn.execute(
        case_conversations.delete().where(
            case_conversations.c.case_id == case_id, case_conversations.c.conversation_id == conversation_id
        )
    )
    return result.rowcount == 1


async def links_of_case(conn: AsyncConnection, case_id: str) -> list[Link]:
    query = (
        sa.select(case_conversations)
        .where(case_conversations.c.case_id == case_id)
        .order_by(case_conversations.c.linked_at, case_conversations.c.conversation_id)
    )
    return [
        Link(
            case_id=r._mapping["case_id"],
            conversation_id=r._mapping["conversation_id"],
            linked_by=r._mapping["linked_by"],
            linked_at=r._mapping["linked_at"],
        )
        for r in await conn.execute(query)
    ]


# -- notes ---------------------------------------------------------------------------------------


def _note(row: AnyRow) -> Note:
    m = row._mapping
    return Note(
        id=m["id"],
        case_id=m["case_id"],
        author_id=m["author_id"],
        author_name=m["author_name"],
        text=m["text"],
        created_at=m["created_at"],
    )


async def insert_note(conn: AsyncConnection, note: Note, idempotency_key: str | None) -> None:
    await conn.execute(
        case_notes.insert().values(
            id=note.id,
            case_id=note.case_id,
            author_id=note.author_id,
            author_name=note.author_name,
            text=note.text,
            idempotency_key=idempotency_key,
            created_at=note.created_at,
        )
    )


async def find_note_by_key(conn: AsyncConnection, case_id: str, key: str) -> Note | None:
    query = sa.select(case_notes).where(case_notes.c.case_id == case_id, case_notes.c.idempotency_key == key)
    row = (await conn.execute(query)).first()
    return _note(row) if row else None


async def notes_of_case(conn: AsyncConnection, case_id: str) -> list[Note]:
    query = (
        sa.select(case_notes)
        .where(case_notes.c.case_id == case_id)
        .order_by(case_notes.c.created_at, case_notes.c.id)
    )
    return [_note(r) for r in await conn.execute(query)]


# -- activity ------------------------------------------------------------------------------------


async def insert_activity(conn: AsyncConnection, event: CaseEvent) -> None:
    await conn.execute(
        case_activity.insert().values(
            event_id=event.event_id,
            case_id=event.case_id,
            customer_id=event.customer_id,
            type=event.type,
            actor_id=event.actor_id,
            occurred_at=event.occurred_at,
            payload=event.to_envelope(),
        )
    )


def _activity(row: AnyRow) -> Activity:
    m = row._mapping
    return Activity(
        event_id=m["event_id"],
        case_id=m["case_id"],
        type=m["type"],
        actor_id=m["actor_id"],
        occurred_at=m["occurred_at"],
        payload=dict(m["payload"]),
    )


async def activity_of_case(conn: AsyncConnection, case_id: str, limit: int = 1000) -> list[Activity]:
    query = (
        sa.select(case_activity)
        .where(case_activity.c.case_id == case_id)
        .order_by(case_activity.c.position)
        .limit(limit)
    )
    return [_activity(r) for r in await conn.execute(query)]


async def activity_of_customer(
    conn: AsyncConnection, customer_id: str, since: datetime | None, limit: int
) -> list[Activity]:
    """Newest first: the customer timeline pages back in time."""
    query = sa.select(case_activity).where(case_activity.c.customer_id == customer_id)
    if since is not None:
        query = query.where(case_activity.c.occurred_at >= since)
    query = query.order_by(case_activity.c.occurred_at.desc(), case_activity.c.position.desc()).limit(limit)
    return [_activity(r) for r in await conn.execute(query)]

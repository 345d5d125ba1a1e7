"""Tables and queries for queues, membership, presence, capacity and sessions (assignment attempts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.core.db import metadata
from omniroute.core.types import AnyRow, UTCDateTime
from omniroute.routing.model import ClosureReason, Presence, SessionStatus

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

queue_members = sa.Table(
    "queue_members",
    metadata,
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

agent_status = sa.Table(
    "agent_status",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("presence", sa.String(20), nullable=False),
    sa.Column("presence_since", UTCDateTime(), nullable=False),
    sa.Column("idle_since", UTCDateTime(), nullable=True),
)

presence_history = sa.Table(
    "presence_history",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "user_id",
        sa.String(36),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("presence", sa.String(20), nullable=False),
    sa.Column("previous", sa.String(20), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("queue_id", sa.String(36), sa.ForeignKey("queues.id"), nullable=False),
    sa.Column("agent_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("offered_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=True),
    sa.Column("accepted_at", UTCDateTime(), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("closure_reason", sa.String(30), nullable=True),
    sa.Index("ix_sessions_agent_status", "agent_id", "status"),
    sa.Index("ix_sessions_status_expires", "status", "expires_at"),
)


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    description: str
    is_default: bool


@dataclass(frozen=True)
class Session:
    id: str
    conversation_id: str
    queue_id: str
    agent_id: str
    channel: str
    status: SessionStatus
    offered_at: datetime
    expires_at: datetime | None
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    closure_reason: ClosureReason | None = None


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    presence: Presence
    idle_since: datetime | None


def _queue(row: AnyRow) -> Queue:
    m = row._mapping
    return Queue(id=m["id"], name=m["name"], description=m["description"], is_default=bool(m["is_default"]))


def _session(row: AnyRow) -> Session:
    m = row._mapping
    return Session(
        id=m["id"],
        conversation_id=m["conversation_id"],
        queue_id=m["queue_id"],
        agent_id=m["agent_id"],
        channel=m["channel"],
        status=SessionStatus(m["status"]),
        offered_at=m["offered_at"],
        expires_at=m["expires_at"],
        accepted_at=m["accepted_at"],
        closed_at=m["closed_at"],
        closure_reason=ClosureReason(m["closure_reason"]) if m["closure_reason"] else None,
    )


async def insert_queue(conn: AsyncConnection, queue: Queue, created_at: datetime) -> None:
    await conn.execute(
        queues.insert().values(
            id=queue.id,
            name=queue.name,
            description=queue.description,
            is_default=queue.is_default,
            created_at=created_at,
        )
    )


async def list_queues(conn: AsyncConnection) -> list[Queue]:
    return [_queue(r) for r in await conn.execute(sa.select(queues).order_by(queues.c.name))]


async def get_queue(conn: AsyncConnection, queue_id: str) -> Queue | None:
    row = (await conn.execute(sa.select(queues).where(queues.c.id == queue_id))).first()
    return _queue(row) if row else None


async def get_queue_by_name(conn: AsyncConnection, name: str) -> Queue | None:
    row = (await conn.execute(sa.select(queues).where(queues.c.name == name))).first()
    return _queue(row) if row else None


async def get_default_queue(conn: AsyncConnection) -> Queue | None:
    query = sa.select(queues).order_by(queues.c.is_default.desc(), queues.c.created_at).limit(1)
    row = (await conn.execute(query)).first()
    return _queue(row) if row else None


async def add_member(conn: AsyncConnection, queue_id: str, user_id: str) -> None:
    """Idempotent: adding a member twice, even concurrently, leaves one row."""
    exists = (
        await conn.execute(
            sa.select(queue_members.c.user_id).where(
                queue_members.c.queue_id == queue_id, queue_members.c.user_id == user_id
            )
        )
    ).first()
    if exists is None:
        try:
            async with conn.begin_nested():
                await conn.execute(queue_members.insert().values(queue_id=queue_id, user_id=user_id))
        except IntegrityError:
            return


async def replace_members(conn: AsyncConnection, queue_id: str, user_ids: list[str]) -> None:
    await conn.execute(queue_members.delete().where(queue_members.c.queue_id == queue_id))
    if user_ids:
        await conn.execute(queue_members.insert(), [{"queue_id": queue_id, "user_id": u} for u in user_ids])


async def member_ids(conn: AsyncConnection, queue_ids: Iterable[str]) -> dict[str, set[str]]:
    result = await conn.execute(
        sa.select(queue_members.c.queue_id, queue_members.c.user_id).where(
            queue_members.c.queue_id.in_(list(queue_ids))
        )
    )
    members: dict[str, set[str]] = {}
    for queue_id, user_id in result:
        members.setdefault(queue_id, set()).add(user_id)
    return members


async def queues_of(conn: AsyncConnection, user_id: str) -> list[Queue]:
    query = (
        sa.select(queues)
        .join(queue_members, queue_members.c.queue_id == queues.c.id)
        .where(queue_members.c.user_id == user_id)
        .order_by(queues.c.name)
    )
    return [_queue(r) for r in await conn.execute(query)]


async def get_agent(conn: AsyncConnection, user_id: str, *, for_update: bool = False) -> AgentRow | None:
    query = sa.select(agent_status).where(agent_status.c.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    m = row._mapping
    return AgentRow(m["user_id"], Presence(m["presence"]), m["idle_since"])


async def upsert_presence(
    conn: AsyncConnection, user_id: str, presence: Presence, now: datetime, *, existed: bool
) -> None:
    if existed:
        await conn.execute(
            agent_status.update()
            .where(agent_status.c.user_id == user_id)
            .values(presence=presence.value, presence_since=now)
        )
    else:
        await conn.execute(
            agent_status.insert().values(
                user_id=user_id, presence=presence.value, presence_since=now, idle_since=None
            )
        )


async def set_idle_since(conn: AsyncConnection, user_id: str, now: datetime) -> None:
    await conn.execute(agent_status.update().where(agent_status.c.user_id == user_id).values(idle_since=now))


async def insert_presence_history(
    conn: AsyncConnection,
    row_id: str,
    user_id: str,
    presence: Presence,
    previous: Presence,
    now: datetime,
) -> None:
    await conn.execute(
        presence_history.insert().values(
            id=row_id,
            user_id=user_id,
            presence=presence.value,
            previous=previous.value,
            changed_at=now,
        )
    )


async def insert_session(conn: AsyncConnection, s: Session) -> None:
    await conn.execute(
        sessions.insert().values(
            id=s.id,
            conversation_id=s.conversation_id,
            queue_id=s.queue_id,
            agent_id=s.agent_id,
            channel=s.channel,
            status=s.status.value,
            offered_at=s.offered_at,
            expires_at=s.expires_at,
        )
    )


async def get_session(conn: AsyncConnection, session_id: str) -> Session | None:
    row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
    return _session(row) if row else None


async def update_session(
    conn: AsyncConnection,
    session_id: str,
    *,
    status: SessionStatus,
    accepted_at: datetime | None = None,
    closed_at: datetime | None = None,
    closure_reason: ClosureReason | None = None,
) -> None:
    values: dict[str, object] = {"status": status.value}
    if accepted_at is not None:
        values["accepted_at"] = accepted_at
    if closed_at is not None:
        values["closed_at"] = closed_at
        values["closure_reason"] = closure_reason.value if closure_reason else None
    await conn.execute(sessions.update().where(sessions.c.id == session_id).values(**values))


async def sessions_for_conversation(conn: AsyncConnection, conversation_id: str) -> list[Session]:
    query = (
        sa.select(sessions)
        .where(sessions.c.conversation_id == conversation_id)
        .order_by(sessions.c.offered_at, sessions.c.id)
    )
    return [_session(r) for r in await conn.execute(query)]


async def pending_offers(conn: AsyncConnection, agent_id: str | None = None) -> list[Session]:
    query = sa.select(sessions).where(sessions.c.status == SessionStatus.OFFERED.value)
    if agent_id is not None:
        query = query.where(sessions.c.agent_id == agent_id)
    return [_session(r) for r in await conn.execute(query.order_by(sessions.c.offered_at))]


routing_config_versions = sa.Table(
    "routing_config_versions",
    metadata,
    sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("document", sa.JSON(), nullable=False),
    sa.Column("comment", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

agent_skills = sa.Table(
    "agent_skills",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill_id", sa.String(63), primary_key=True),
    sa.Column("proficiency", sa.Integer(), nullable=False),
    sa.CheckConstraint("proficiency BETWEEN 1 AND 10", name="proficiency_range"),
)

agent_profiles = sa.Table(
    "agent_profiles",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("capacity_profile", sa.String(63), nullable=True),
    sa.Column("custom_presence", sa.String(63), nullable=True),
)

customer_preferred_agents = sa.Table(
    "customer_preferred_agents",
    metadata,
    sa.Column(
        "customer_id", sa.String(36), sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("agent_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
)

#: Where a work item's attributes keep what its workstream asks of routing (presences, push or
#: pick, the agent to keep).
ROUTING_KEY = "_routing"

work_items = sa.Table(
    "work_items",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(36),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("required_skills", sa.JSON(), nullable=False),
    sa.Column("capacity_units", sa.Integer(), nullable=True),
    sa.Column("attributes", sa.JSON(), nullable=False),
    sa.Column("trace", sa.JSON(), nullable=False),
    sa.Column("config_version", sa.Integer(), nullable=True),
)


@dataclass(frozen=True)
class ConfigVersion:
    version: int
    document: dict[str, object]
    comment: str
    created_by: str | None
    created_at: datetime


def _config_version(row: AnyRow) -> ConfigVersion:
    m = row._mapping
    return ConfigVersion(
        version=m["version"],
        document=dict(m["document"]),
        comment=m["comment"],
        created_by=m["created_by"],
        created_at=m["created_at"],
    )


async def latest_config(conn: AsyncConnection) -> ConfigVersion | None:
    query = sa.select(routing_config_versions).order_by(routing_config_versions.c.version.desc()).limit(1)
    row = (await conn.execute(query)).first()
    return _config_version(row) if row else None


async def get_config_version(conn: AsyncConnection, version: int) -> ConfigVersion | None:
    query = sa.select(routing_config_versions).where(routing_config_versions.c.version == version)
    row = (await conn.execute(query)).first()
    return _config_version(row) if row else None


async def list_config_versions(conn: AsyncConnection, limit: int = 100) -> list[ConfigVersion]:
    query = sa.select(routing_config_versions).order_by(routing_config_versions.c.version.desc()).limit(limit)
    return [_config_version(r) for r in await conn.execute(query)]


async def insert_config_version(conn: AsyncConnection, v: ConfigVersion) -> None:
    """The primary key makes two concurrent saves of the same next version impossible."""
    await conn.execute(
        routing_config_versions.insert().values(
            version=v.version,
            document=v.document,
            comment=v.comment,
            created_by=v.created_by,
            created_at=v.created_at,
        )
    )


async def agent_skill_map(conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    result = await conn.execute(sa.select(agent_skills).where(agent_skills.c.user_id.in_(list(user_ids))))
    skills: dict[str, dict[str, int]] = {}
    for row in result:
        m = row._mapping
        skills.setdefault(m["user_id"], {})[m["skill_id"]] = int(m["proficiency"])
    return skills


async def replace_agent_skills(conn: AsyncConnection, user_id: str, skills: dict[str, int]) -> None:
    await conn.execute(agent_skills.delete().where(agent_skills.c.user_id == user_id))
    if skills:
        await conn.execute(
            agent_skills.insert(),
            [{"user_id": user_id, "skill_id": k, "proficiency": v} for k, v in sorted(skills.items())],
        )


async def set_agent_profile(conn: AsyncConnection, user_id: str, capacity_profile: str | None) -> None:
    exists = (
        await conn.execute(sa.select(agent_profiles.c.user_id).where(agent_profiles.c.user_id == user_id))
    ).first()
    if exists is None:
        await conn.execute(agent_profiles.insert().values(user_id=user_id, capacity_profile=capacity_profile))
    else:
        await conn.execute(
            agent_profiles.update()
            .where(agent_profiles.c.user_id == user_id)
            .values(capacity_profile=capacity_profile)
        )


async def agent_profile_map(conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, str | None]:
    result = await conn.execute(
        sa.select(agent_profiles.c.user_id, agent_profiles.c.capacity_profile).where(
            agent_profiles.c.user_id.in_(list(user_ids))
        )
    )
    return {row[0]: row[1] for row in result}


@dataclass(frozen=True)
class WorkItemRow:
    conversation_id: str
    priority: int
    required_skills: dict[str, int]
    capacity_units: int | None
    attributes: dict[str, object]
    trace: list[str]
    config_version: int | None


async def upsert_work_item(conn: AsyncConnection, item: WorkItemRow) -> None:
    await conn.execute(work_items.delete().where(work_items.c.conversation_id == item.conversation_id))
    await conn.execute(
        work_items.insert().values(
            conversation_id=item.conversation_id,
            priority=item.priority,
            required_skills=item.required_skills,
            capacity_units=item.capacity_units,
            attributes=item.attributes,
            trace=item.trace,
            config_version=item.config_version,
        )
    )


async def get_work_item(conn: AsyncConnection, conversation_id: str) -> WorkItemRow | None:
    row = (
        await conn.execute(sa.select(work_items).where(work_items.c.conversation_id == conversation_id))
    ).first()
    if row is None:
        return None
    m = row._mapping
    return WorkItemRow(
        conversation_id=m["conversation_id"],
        priority=m["priority"],
        required_skills=dict(m["required_skills"]),
        capacity_units=m["capacity_units"],
        attributes=dict(m["attributes"]),
        trace=list(m["trace"]),
        config_version=m["config_version"],
    )


async def append_trace(conn: AsyncConnection, conversation_id: str, steps: list[str]) -> None:
    item = await get_work_item(conn, conversation_id)
    if item is None:
        return
    await conn.execute(
        work_items.update()
        .where(work_items.c.conversation_id == conversation_id)
        .values(trace=[*item.trace, *steps])
    )


@dataclass(frozen=True)
class QueueStats:
    waiting: int
    staffed: int  # members whose presence can take work (available or busy)
    mean_handle_seconds: float | None  # over recent closed sessions; None without history


async def queue_stats(conn: AsyncConnection, queue_id: str, waiting: int, history: int = 50) -> QueueStats:
    """Staffing and recent handle time of a queue (``waiting`` comes from the conversation slice)."""
    staffed = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(queue_members)
            .join(agent_status, agent_status.c.user_id == queue_members.c.user_id)
            .where(
                queue_members.c.queue_id == queue_id,
                agent_status.c.presence.in_([Presence.AVAILABLE.value, Presence.BUSY.value]),
            )
        )
    ).scalar_one()
    recent = (
        await conn.execute(
            sa.select(sessions.c.accepted_at, sessions.c.closed_at)
            .where(
                sessions.c.queue_id == queue_id,
                sessions.c.closure_reason == ClosureReason.ENDED.value,
                sessions.c.accepted_at.is_not(None),
            )
            .order_by(sessions.c.closed_at.desc())
            .limit(history)
        )
    ).all()
    durations = [(closed - accepted).total_seconds() for accepted, closed in recent if closed and accepted]
    mean = sum(durations) / len(durations) if durations else None
    return QueueStats(waiting=int(waiting), staffed=int(staffed), mean_handle_seconds=mean)


async def open_session_for(
    conn: AsyncConnection, conversation_id: str, agent_id: str, status: SessionStatus
) -> Session | None:
    query = (
        sa.select(sessions)
        .where(
            sessions.c.conversation_id == conversation_id,
            sessions.c.agent_id == agent_id,
            sessions.c.status == status.value,
        )
        .order_by(sessions.c.offered_at.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return _session(row) if row else None


async def consult_sessions(
    conn: AsyncConnection, *, conversation_id: str | None = None, agent_id: str | None = None
) -> list[Session]:
    """Consults in progress, for one conversation, one consultant, or all (at rebuild)."""
    query = sa.select(sessions).where(sessions.c.status == SessionStatus.CONSULTING.value)
    if conversation_id is not None:
        query = query.where(sessions.c.conversation_id == conversation_id)
    if agent_id is not None:
        query = query.where(sessions.c.agent_id == agent_id)
    return [_session(r) for r in await conn.execute(query.order_by(sessions.c.offered_at))]


async def open_sessions(conn: AsyncConnection) -> list[Session]:
    query = sa.select(sessions).where(
        sessions.c.status.in_([SessionStatus.OFFERED.value, SessionStatus.ACTIVE.value])
    )
    return [_session(r) for r in await conn.execute(query)]


async def all_agents(conn: AsyncConnection) -> dict[str, AgentRow]:
    rows = {}
    for row in await conn.execute(sa.select(agent_status)):
        m = row._mapping
        rows[m["user_id"]] = AgentRow(m["user_id"], Presence(m["presence"]), m["idle_since"])
    return rows


async def all_memberships(conn: AsyncConnection) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for queue_id, user_id in await conn.execute(sa.select(queue_members.c.queue_id, queue_members.c.user_id)):
        members.setdefault(user_id, set()).add(queue_id)
    return members


async def work_items_for(conn: AsyncConnection, conversation_ids: Iterable[str]) -> dict[str, WorkItemRow]:
    ids = list(conversation_ids)
    found: dict[str, WorkItemRow] = {}
    for start in range(0, len(ids), 500):
        query = sa.select(work_items).where(work_items.c.conversation_id.in_(ids[start : start + 500]))
        for row in await conn.execute(query):
            m = row._mapping
            found[m["conversation_id"]] = WorkItemRow(
                conversation_id=m["conversation_id"],
                priority=m["priority"],
                required_skills=dict(m["required_skills"]),
                capacity_units=m["capacity_units"],
                attributes=dict(m["attributes"]),
                trace=list(m["trace"]),
                config_version=m["config_version"],
            )
    return found


async def decline_counts(conn: AsyncConnection, since: dict[str, datetime]) -> dict[str, dict[str, int]]:
    """Per conversation, how often each agent declined or missed it in its current queue attempt."""
    counts: dict[str, dict[str, int]] = {}
    ids = list(since)
    for start in range(0, len(ids), 500):
        query = sa.select(sessions.c.conversation_id, sessions.c.agent_id, sessions.c.offered_at).where(
            sessions.c.conversation_id.in_(ids[start : start + 500]),
            sessions.c.closure_reason.in_([ClosureReason.REJECTED.value, ClosureReason.TIMED_OUT.value]),
        )
        for conversation_id, agent_id, offered_at in await conn.execute(query):
            if offered_at >= since[conversation_id]:
                per = counts.setdefault(conversation_id, {})
                per[agent_id] = per.get(agent_id, 0) + 1
    return counts


async def replace_trace(conn: AsyncConnection, conversation_id: str, lines: list[str]) -> None:
    await conn.execute(
        work_items.update().where(work_items.c.conversation_id == conversation_id).values(trace=lines)
    )


async def mark_callback(conn: AsyncConnection, conversation_id: str) -> None:
    """Record that the customer was offered a callback (the voice provider places it)."""
    item = await get_work_item(conn, conversation_id)
    if item is not None:
        await conn.execute(
            work_items.update()
            .where(work_items.c.conversation_id == conversation_id)
            .values(attributes={**item.attributes, "callback_offered": True})
        )


async def preferred_agents(conn: AsyncConnection, customer_id: str) -> list[str]:
    query = (
        sa.select(customer_preferred_agents.c.agent_id)
        .where(customer_preferred_agents.c.customer_id == customer_id)
        .order_by(customer_preferred_agents.c.position)
    )
    return [str(r[0]) for r in await conn.execute(query)]


async def replace_preferred_agents(conn: AsyncConnection, customer_id: str, agent_ids: list[str]) -> None:
    await conn.execute(
        customer_preferred_agents.delete().where(customer_preferred_agents.c.customer_id == customer_id)
    )
    if agent_ids:
        await conn.execute(
            customer_preferred_agents.insert(),
            [{"customer_id": customer_id, "position": i, "agent_id": a} for i, a in enumerate(agent_ids)],
        )


async def set_custom_presence(conn: AsyncConnection, user_id: str, custom: str | None) -> None:
    exists = (
        await conn.execute(sa.select(agent_profiles.c.user_id).where(agent_profiles.c.user_id == user_id))
    ).first()
    if exists is None:
        await conn.execute(
            agent_profiles.insert().values(user_id=user_id, capacity_profile=None, custom_presence=custom)
        )
    else:
        await conn.execute(
            agent_profiles.update().where(agent_profiles.c.user_id == user_id).values(custom_presence=custom)
        )


async def custom_presence_of(conn: AsyncConnection, user_id: str) -> str | None:
    row = (
        await conn.execute(
            sa.select(agent_profiles.c.custom_presence).where(agent_profiles.c.user_id == user_id)
        )
    ).first()
    return str(row[0]) if row and row[0] else None


async def custom_presences(conn: AsyncConnection, user_ids: Iterable[str]) -> dict[str, str]:
    result = await conn.execute(
        sa.select(agent_profiles.c.user_id, agent_profiles.c.custom_presence).where(
            agent_profiles.c.user_id.in_(list(user_ids)), agent_profiles.c.custom_presence.is_not(None)
        )
    )
    return {row[0]: row[1] for row in result}


async def move_preferred_agents(conn: AsyncConnection, from_id: str, to_id: str) -> None:
    """A merged customer's preferred agents carry over only if the survivor has none of its own."""
    has_own = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(customer_preferred_agents)
            .where(customer_preferred_agents.c.customer_id == to_id)
        )
    ).scalar_one()
    if has_own:
        await conn.execute(
            customer_preferred_agents.delete().where(customer_preferred_agents.c.customer_id == from_id)
        )
        return
    await conn.execute(
        customer_preferred_agents.update()
        .where(customer_preferred_agents.c.customer_id == from_id)
        .values(customer_id=to_id)
    )


async def active_by_channel(conn: AsyncConnection, agent_id: str) -> dict[str, int]:
    """How many conversations the agent holds now, per channel (its current load)."""
    rows = await conn.execute(
        sa.select(sessions.c.channel, sa.func.count())
        .where(sessions.c.agent_id == agent_id, sessions.c.status == SessionStatus.ACTIVE.value)
        .group_by(sessions.c.channel)
    )
    return {channel: int(count) for channel, count in rows}

"""One suite for every store (SQLite and PostgreSQL), through the real services.

The bus is an in-memory bus that, at the moment an event is published, looks into the store
through a separate connection: that is how "published only after commit" is checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from omniroute.channels.webchat.service import StartedChat
from omniroute.conversations import store as conversation_store
from omniroute.conversations.model import SenderKind
from omniroute.conversations.store import Message as StoredMessage
from omniroute.core.bus import Message
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Unauthorized
from omniroute.core.eventlog import events_table, read_events
from omniroute.core.ids import new_id
from omniroute.identity import store as identity_store
from omniroute.identity.model import Role, Scope, User
from omniroute.identity.passwords import Passwords
from omniroute.routing.store import Queue, insert_queue, queues
from omniroute.web.container import Container
from tests.integration.support import store_container

PASSWORD = "correct horse battery"
HANG_GUARD = 30.0  # seconds; only against hangs


@dataclass(frozen=True)
class Published:
    topic: str
    message: Message
    committed: bool
    """Whether a separate connection already saw the event in the log when it was published."""


class ProbeBus(MemoryBus):
    """Records each publication and whether its event was already committed at that moment."""

    def __init__(self) -> None:
        super().__init__()
        self.db: Database | None = None
        self.published: list[Published] = []
        self.broken = False

    async def publish(self, topic: str, message: Message) -> None:
        if self.broken:
            raise ConnectionError("the bus is down")
        assert self.db is not None
        async with self.db.read() as conn:
            query = sa.select(events_table.c.event_id).where(events_table.c.event_id == message["event_id"])
            committed = (await conn.execute(query)).first() is not None
        self.published.append(Published(topic, message, committed))
        await super().publish(topic, message)

    def types(self) -> list[str]:
        return [p.message["type"] for p in self.published]


@dataclass
class App:
    container: Container
    bus: ProbeBus
    clock: ManualClock


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    # An instant with microseconds, so a lossy datetime round-trip would show.
    clock = ManualClock(datetime(2026, 3, 29, 0, 59, 58, 123456, tzinfo=UTC))
    bus = ProbeBus()
    async with store_container(database_url, tmp_path, clock, bus, session_ttl_hours=12) as container:
        bus.db = container.db
        yield App(container, bus, clock)


async def start_chat(app: App, question: str = "Where is my order?") -> StartedChat:
    c = app.container
    async with c.db.write() as conn:
        queue = Queue(id=new_id(), name=f"Support {new_id()}", description="", is_default=True)
        await insert_queue(conn, queue, app.clock.now())
    widget = await c.webchat.create_widget("Site", ["*"], queue.id)
    return await c.webchat.start(
        widget, visitor_id=None, name="Ana García", email="ana@example.com", question=question, queue=None
    )


async def post(app: App, chat: StartedChat, text: str, key: str | None = None) -> tuple[StoredMessage, bool]:
    return await app.container.conversations.post(
        chat.conversation.id,
        sender_kind=SenderKind.CUSTOMER,
        sender_id=chat.conversation.customer_id,
        sender_name=chat.customer_name,
        text=text,
        idempotency_key=key,
    )


async def count(app: App, table: sa.Table) -> int:
    async with app.container.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def until_a_writer_waits(app: App) -> None:
    """Return once another transaction is blocked on a lock we hold (PostgreSQL).

    On SQLite writers queue on the in-process write lock, so a racing writer cannot start before
    the holder commits whatever the timing. Polling here is a sync point, never an assertion.
    """
    if app.container.db.is_sqlite:
        return
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    async def poll() -> None:
        while True:
            async with app.container.db.read() as conn:
                if (await conn.execute(query)).scalar_one():
                    return
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), HANG_GUARD)


# -- identity ------------------------------------------------------------------------------------


async def test_user_email_is_unique(app: App) -> None:
    identity = app.container.identity
    await identity.create_user("Ana@Example.com", "Ana", Role.AGENT, PASSWORD)

    with pytest.raises(Conflict):
        await identity.create_user("ana@example.com", "Another Ana", Role.ADMIN, PASSWORD)

    user = await identity.get_user_by_email("ANA@example.com")
    assert user is not None
    assert user.display_name == "Ana"
    assert user.role is Role.AGENT


async def test_user_email_is_unique_against_a_racing_create(app: App) -> None:
    """Two sign-ups for one email at once: one user, and the other caller gets Conflict."""
    identity = app.container.identity
    passwords = Passwords(1, 8)
    winner = User(
        id=new_id(),
        email="dee@example.com",
        display_name="Dee",
        role=Role.AGENT,
        is_active=True,
        created_at=app.clock.now(),
    )

    async with app.container.db.write() as conn:
        await identity_store.insert_user(conn, winner, await passwords.hash(PASSWORD))
        loser = asyncio.create_task(
            identity.create_user("dee@example.com", "Other Dee", Role.AGENT, PASSWORD)
        )
        await until_a_writer_waits(app)

    with pytest.raises(Conflict):
        await asyncio.wait_for(loser, HANG_GUARD)
    assert await identity.get_user_by_email("dee@example.com") == winner


async def test_sign_in_and_session_lookup(app: App) -> None:
    identity = app.container.identity
    user = await identity.create_user("bo@example.com", "Bo", Role.SUPERVISOR, PASSWORD)

    with pytest.raises(Unauthorized):
        await identity.sign_in("bo@example.com", "wrong password")
    with pytest.raises(Unauthorized):
        await identity.sign_in("nobody@example.com", PASSWORD)
    signed_in = await identity.sign_in(" BO@example.com ", PASSWORD)

    principal = await identity.principal_for_session(signed_in.session_token)
    assert principal is not None
    assert principal.user == user
    assert principal.csrf_token == signed_in.csrf_token
    assert not principal.via_token
    assert await identity.principal_for_session("not-a-session") is None

    await app.clock.advance(timedelta(hours=13).total_seconds())  # past the 12-hour default TTL
    assert await identity.principal_for_session(signed_in.session_token) is None

    again = await identity.sign_in("bo@example.com", PASSWORD)
    await identity.sign_out(again.session_token)
    assert await identity.principal_for_session(again.session_token) is None


async def test_api_token_carries_its_scopes(app: App) -> None:
    identity = app.container.identity
    user = await identity.create_user("cy@example.com", "Cy", Role.AGENT, PASSWORD)
    scopes = frozenset({Scope.CONVERSATIONS_READ, Scope.PRESENCE_WRITE})

    token = await identity.create_api_token(user.id, "ci", scopes)

    principal = await identity.principal_for_api_token(token)
    assert principal is not None
    assert principal.user.id == user.id
    assert principal.via_token
    assert principal.scopes == scopes
    assert principal.allows(Scope.CONVERSATIONS_READ)
    assert not principal.allows(Scope.CONVERSATIONS_WRITE)
    assert await identity.principal_for_api_token("omr_not-a-token") is None


# -- conversations and messages --------------------------------------------------------------------


async def test_start_chat_stores_conversation_first_message_and_events(app: App) -> None:
    chat = await start_chat(app)

    assert chat.first_message is not None
    assert chat.first_message.seq == 1
    conv = await app.container.conversations.get(chat.conversation.id)
    assert conv.last_seq == 1
    assert conv.prechat["email"] == "ana@example.com"
    async with app.container.db.read() as conn:
        logged = await read_events(conn, conversation_id=conv.id)
    assert [e["type"] for e in logged] == [
        "conversation.created",
        "conversation.queued",
        "message.posted",
    ]
    assert app.bus.types() == [e["type"] for e in logged]
    assert [p.message for p in app.bus.published] == logged


async def test_concurrent_posts_get_gapless_sequence_numbers(app: App) -> None:
    chat = await start_chat(app)  # the question is message 1

    results = await asyncio.gather(*(post(app, chat, f"message {i}") for i in range(30)))

    assert all(created for _, created in results)
    assert sorted(m.seq for m, _ in results) == list(range(2, 32))
    stored = await app.container.conversations.messages(chat.conversation.id)
    assert [m.seq for m in stored] == list(range(1, 32))
    assert sorted(m.text for m in stored[1:]) == sorted(f"message {i}" for i in range(30))
    assert (await app.container.conversations.get(chat.conversation.id)).last_seq == 31
    # Each message's event carries the same sequence number as its row.
    posted = [p.message for p in app.bus.published if p.message["type"] == "message.posted"]
    assert sorted((e["seq"], e["message_id"]) for e in posted) == [(m.seq, m.id) for m in stored]


async def test_idempotency_key_returns_the_same_message(app: App) -> None:
    chat = await start_chat(app)

    first, created = await post(app, chat, "hello", key="client-1")
    again, created_again = await post(app, chat, "hello (retried)", key="client-1")
    racing = await asyncio.gather(*(post(app, chat, "hello", key="client-2") for _ in range(5)))

    assert created
    assert not created_again
    assert again == first
    assert sum(created for _, created in racing) == 1
    assert len({m.id for m, _ in racing}) == 1
    stored = await app.container.conversations.messages(chat.conversation.id)
    assert [(m.seq, m.idempotency_key) for m in stored] == [
        (1, "prechat-question"),
        (2, "client-1"),
        (3, "client-2"),
    ]
    assert app.bus.types().count("message.posted") == 3


async def test_idempotency_holds_against_a_racing_retry(app: App) -> None:
    """A retry arriving while the first attempt is still uncommitted gets the same message."""
    chat = await start_chat(app)
    c = app.container

    async with c.publisher.unit_of_work() as uow:
        conv = await c.conversations.load(uow, chat.conversation.id)
        first, _ = await c.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.CUSTOMER,
            sender_id=conv.customer_id,
            sender_name="Ana",
            text="hello",
            idempotency_key="retried",
        )
        retry = asyncio.create_task(post(app, chat, "hello", key="retried"))
        await until_a_writer_waits(app)

    again, created = await asyncio.wait_for(retry, HANG_GUARD)
    assert not created
    assert again == first
    stored = await c.conversations.messages(chat.conversation.id)
    assert [(m.seq, m.idempotency_key) for m in stored] == [(1, "prechat-question"), (2, "retried")]


async def test_a_failed_transaction_leaves_nothing_behind(app: App) -> None:
    chat = await start_chat(app)
    c = app.container
    events_before, messages_before = (
        await count(app, events_table),
        await count(app, conversation_store.messages),
    )
    published_before = len(app.bus.published)

    async def write_then_fail() -> None:
        async with c.publisher.unit_of_work() as uow:
            conv = await c.conversations.load(uow, chat.conversation.id)
            # Takes a sequence number (a conversation row write), stores a message, emits an event.
            await c.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.CUSTOMER,
                sender_id=conv.customer_id,
                sender_name="Ana",
                text="this never happened",
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await write_then_fail()

    assert await count(app, events_table) == events_before
    assert await count(app, conversation_store.messages) == messages_before
    assert (await c.conversations.get(chat.conversation.id)).last_seq == 1
    assert len(app.bus.published) == published_before
    # The sequence number was not used up either.
    message, _ = await post(app, chat, "this did happen")
    assert message.seq == 2


async def test_a_rejected_command_writes_nothing(app: App) -> None:
    chat = await start_chat(app)
    published_before = len(app.bus.published)

    # An agent cannot post into a conversation nobody has accepted yet.
    with pytest.raises(Conflict):
        await app.container.conversations.post(
            chat.conversation.id,
            sender_kind=SenderKind.AGENT,
            sender_id=new_id(),
            sender_name="Intruder",
            text="hi",
            idempotency_key=None,
        )

    assert [m.seq for m in await app.container.conversations.messages(chat.conversation.id)] == [1]
    assert len(app.bus.published) == published_before


async def test_events_are_logged_with_the_change_and_published_after_commit(app: App) -> None:
    chat = await start_chat(app)
    message, _ = await post(app, chat, "logged and published")

    async with app.container.db.read() as conn:
        logged = await read_events(conn, conversation_id=chat.conversation.id)
    posted = [e for e in logged if e["type"] == "message.posted" and e["seq"] == message.seq]
    assert len(posted) == 1
    assert posted[0]["message_id"] == message.id
    assert posted[0]["text"] == "logged and published"
    # Every durable event was already committed (visible to another connection) when published.
    assert app.bus.published
    assert all(p.committed for p in app.bus.published), [
        p.message["type"] for p in app.bus.published if not p.committed
    ]
    assert [p.message for p in app.bus.published] == logged


async def test_a_bus_failure_after_commit_keeps_the_state(app: App) -> None:
    """The bus is fire-and-forget: once committed, a change stays even if nobody hears of it."""
    chat = await start_chat(app)
    app.bus.broken = True

    message, created = await post(app, chat, "stored even if unheard")

    assert created
    assert (await app.container.conversations.messages(chat.conversation.id))[-1] == message
    async with app.container.db.read() as conn:
        logged = await read_events(conn, conversation_id=chat.conversation.id)
    assert logged[-1]["type"] == "message.posted"
    assert logged[-1]["message_id"] == message.id


async def test_ephemeral_events_are_published_but_not_logged(app: App) -> None:
    chat = await start_chat(app)
    events_before = await count(app, events_table)

    await app.container.conversations.typing(chat.conversation.id, SenderKind.CUSTOMER, True)

    assert app.bus.published[-1].message["type"] == "typing.changed"
    assert not app.bus.published[-1].committed
    assert await count(app, events_table) == events_before


async def test_datetimes_round_trip_timezone_aware(app: App) -> None:
    chat = await start_chat(app)
    await app.clock.advance(3.5)
    message, _ = await post(app, chat, "what time is it?")

    stored = (await app.container.conversations.messages(chat.conversation.id))[-1]
    assert stored.id == message.id
    assert stored.created_at == datetime(2026, 3, 29, 1, 0, 1, 623456, tzinfo=UTC)
    assert stored.created_at.utcoffset() == timedelta(0)
    conv = await app.container.conversations.get(chat.conversation.id)
    assert conv.created_at == datetime(2026, 3, 29, 0, 59, 58, 123456, tzinfo=UTC)
    assert conv.created_at.utcoffset() == timedelta(0)

    # Another offset in, the same instant out (in UTC); comparisons see instants, not wall time.
    paris = timezone(timedelta(hours=2))
    async with app.container.db.write() as conn:
        queue = Queue(id=new_id(), name="Paris", description="", is_default=False)
        await insert_queue(conn, queue, datetime(2026, 3, 29, 3, 0, 1, 654321, tzinfo=paris))
    async with app.container.db.read() as conn:
        created_at = (
            await conn.execute(sa.select(queues.c.created_at).where(queues.c.id == queue.id))
        ).scalar_one()
        logged = await read_events(conn, since=datetime(2026, 3, 29, 3, 0, 1, tzinfo=paris))
    assert created_at == datetime(2026, 3, 29, 1, 0, 1, 654321, tzinfo=UTC)
    assert created_at.utcoffset() == timedelta(0)
    assert [(e["type"], e["message_id"]) for e in logged] == [("message.posted", message.id)]


async def test_naive_datetimes_are_refused(app: App) -> None:
    queue = Queue(id=new_id(), name="Naive", description="", is_default=False)

    with pytest.raises(sa.exc.StatementError, match="naive datetimes"):
        async with app.container.db.write() as conn:
            await insert_queue(conn, queue, datetime(2026, 1, 1, 12, 0))

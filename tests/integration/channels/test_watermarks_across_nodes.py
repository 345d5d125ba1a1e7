"""Watermark receipts (Messenger's ``read``: "everything up to T") resolve against the stored outbox,
so a receipt that reaches node B moves messages node A sent; a send node A claimed and never
finished is sent by node B once its lease lapses. Two containers share one database
(SQLite and PostgreSQL); the Graph double speaks the real Send API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from omniroute.bootstrap import build_container
from omniroute.channels import store as channel_store
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import DeliveryStatus, InboundMessage, ReceiptWatermark, SentTimestamp
from omniroute.channels.service import SEND_LEASE
from omniroute.conversations.model import SenderKind
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.core.ids import new_id
from omniroute.customers.service import resolve_customer
from omniroute.identity.model import Role
from omniroute.routing.store import Queue, insert_queue
from omniroute.settings import Settings
from omniroute.web.container import Container
from tests.e2e.conftest import free_port, serve

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PAGE = "682498302938465"
PSID = "6789012345678901"
SECRETS = {"app_secret": "app-secret", "verify_token": "verify", "access_token": "page-token"}


@dataclass
class Nodes:
    a: Container
    b: Container
    clock: ManualClock
    account_id: str
    conversation_id: str
    agent_id: str


def _settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url="",
        environment="test",
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        data_dir=data_dir,
    )


@pytest.fixture
async def nodes(database_url: str, tmp_path: Path) -> AsyncIterator[Nodes]:
    clock = ManualClock(T0)
    double = GraphDouble(access_token="page-token", app_secret="app-secret", now=clock.now)
    double.customer_wrote(PSID)
    port = free_port()
    a = build_container(_settings(database_url, tmp_path / "a"), clock=clock, bus=MemoryBus())
    b = build_container(_settings(database_url, tmp_path / "b"), clock=clock, bus=MemoryBus())
    try:
        async with serve(double.app(), port):
            queue = Queue(id=new_id(), name="Support", description="", is_default=True)
            async with a.db.write() as conn:
                await insert_queue(conn, queue, clock.now())
            agent = await a.identity.create_user(
                "ana@example.com", "Ana", Role.AGENT, "correct horse battery"
            )
            account = await a.channels.create_account(
                channel="messenger",
                name="Acme",
                settings={"page_id": PAGE, "graph_base": f"http://127.0.0.1:{port}"},
                secrets=SECRETS,
                default_queue_id=queue.id,
            )
            async with a.publisher.unit_of_work() as uow:
                customer = await resolve_customer(uow, "messenger", PSID, "Lee")
                conv = await a.conversations.start(
                    uow,
                    channel="messenger",
                    customer_id=customer.id,
                    queue_id=queue.id,
                    subject="",
                    prechat={},
                    customer_token_hash=None,
                    channel_account_id=account.id,
                    customer_address=PSID,
                )
                await a.conversations.assign(uow, conv, agent.id)
            yield Nodes(a, b, clock, account.id, conv.id, agent.id)
    finally:
        await a.channels.stop()
        await b.channels.stop()
        await a.db.dispose()
        await b.db.dispose()


async def reply(n: Nodes, text: str) -> str:
    """Node A stores and sends an agent message; returns the message id."""
    message, _ = await n.a.conversations.post(
        n.conversation_id,
        sender_kind=SenderKind.AGENT,
        text=text,
        idempotency_key=None,
        sender_id=n.agent_id,
        sender_name="Ana",
    )
    assert await n.a.channels.send_due() == 1
    return message.id


async def statuses(n: Nodes) -> dict[str, str | None]:
    return {m.id: m.delivery_status for m in await n.b.conversations.messages(n.conversation_id, 0, 100)}


async def watermark_at_b(n: Nodes, status: DeliveryStatus, up_to: datetime) -> None:
    await n.b.channels.ingest(n.account_id, [ReceiptWatermark(PSID, status, up_to)])
    await n.b.channels.process_receipts()


async def test_a_watermark_at_node_b_moves_what_node_a_sent(nodes: Nodes) -> None:
    n = nodes
    first = await reply(n, "It ships today.")
    await n.clock.advance(10)
    second = await reply(n, "Anything else?")
    assert {k: v for k, v in (await statuses(n)).items() if k in (first, second)} == {
        first: "sent",
        second: "sent",
    }

    await watermark_at_b(n, DeliveryStatus.DELIVERED, T0 + timedelta(seconds=5))
    after_delivery = await statuses(n)
    assert (after_delivery[first], after_delivery[second]) == ("delivered", "sent")

    await watermark_at_b(n, DeliveryStatus.READ, n.clock.now())
    after_read = await statuses(n)
    assert (after_read[first], after_read[second]) == ("read", "read")

    # A late delivery watermark never moves a read message back.
    await watermark_at_b(n, DeliveryStatus.DELIVERED, n.clock.now() + timedelta(seconds=1))
    assert (await statuses(n))[first] == "read"


async def test_a_watermark_for_another_person_or_before_the_send_moves_nothing(nodes: Nodes) -> None:
    n = nodes
    await n.clock.advance(60)
    sent = await reply(n, "Hello")
    await n.b.channels.ingest(
        n.account_id, [ReceiptWatermark("someone-else", DeliveryStatus.READ, n.clock.now())]
    )
    await watermark_at_b(n, DeliveryStatus.READ, n.clock.now() - timedelta(seconds=1))
    assert (await statuses(n))[sent] == "sent"


async def test_the_providers_own_send_time_is_what_watermarks_compare_with(nodes: Nodes) -> None:
    n = nodes
    await n.clock.advance(60)
    sent = await reply(n, "Hello")  # our clock: T0 + 60 s
    async with n.a.db.read() as conn:
        [mid] = (
            await conn.execute(
                sa.select(channel_store.outbound_messages.c.provider_message_id).where(
                    channel_store.outbound_messages.c.message_id == sent
                )
            )
        ).scalars()
    metas_time = n.clock.now() - timedelta(seconds=2)
    await n.b.channels.ingest(n.account_id, [SentTimestamp(mid, metas_time)])  # Meta's echo
    await watermark_at_b(n, DeliveryStatus.READ, metas_time)
    assert (await statuses(n))[sent] == "read"


async def test_an_echo_that_overtakes_the_send_answer_still_sets_the_time(nodes: Nodes) -> None:
    """Meta can deliver the echo before its answer to the send call reaches us."""
    n = nodes
    await n.b.channels.ingest(n.account_id, [SentTimestamp("m_early", T0 - timedelta(seconds=3))])
    async with n.a.db.read() as conn:
        found = await channel_store.reported_sent_at(conn, n.account_id, "m_early")
        missing = await channel_store.reported_sent_at(conn, n.account_id, "m_other")
    assert (found, missing) == (T0 - timedelta(seconds=3), None)


async def test_customer_messages_keep_working_beside_watermarks(nodes: Nodes) -> None:
    n = nodes
    await n.b.channels.ingest(
        n.account_id,
        [
            InboundMessage(provider_message_id="m_in_1", sender_address=PSID, text="Thanks!"),
            ReceiptWatermark(PSID, DeliveryStatus.READ, n.clock.now()),
        ],
    )
    assert await n.b.channels.process_receipts() == 2
    texts = [m.text for m in await n.a.conversations.messages(n.conversation_id, 0, 100)]
    assert "Thanks!" in texts


async def test_the_latest_inbound_reply_context_is_kept_for_the_conversation(nodes: Nodes) -> None:
    """Teams' serviceUrl travels this way: each inbound message may replace it; none leaves it."""
    n = nodes

    async def inbound(mid: str, context: dict[str, str] | None) -> None:
        await n.b.channels.ingest(
            n.account_id,
            [InboundMessage(provider_message_id=mid, sender_address=PSID, text=mid, reply_context=context)],
        )
        await n.b.channels.process_receipts()

    await inbound("m_ctx_1", {"service_url": "https://one.test/"})
    await inbound("m_ctx_2", {"service_url": "https://two.test/"})
    await inbound("m_ctx_3", None)
    async with n.a.db.read() as conn:
        assert await channel_store.reply_context(conn, n.conversation_id) == {
            "service_url": "https://two.test/"
        }


async def test_a_send_claimed_by_a_node_that_died_is_sent_once_its_lease_lapses(nodes: Nodes) -> None:
    n = nodes
    message, _ = await n.a.conversations.post(
        n.conversation_id,
        sender_kind=SenderKind.AGENT,
        text="Sent by a node that then crashed",
        idempotency_key=None,
        sender_id=n.agent_id,
        sender_name="Ana",
    )
    # Node A claims the row (as send_due does) and dies before it could call Meta.
    now = n.clock.now()
    async with n.a.db.write() as conn:
        [row] = await channel_store.due_outbox(conn, now, 10, skip_locked=False)
        await channel_store.update_outbox(conn, row.id, now, status="sending", due_at=now + SEND_LEASE)
    assert await n.b.channels.send_due() == 0  # the lease holds: nobody else sends it yet
    await n.clock.advance(SEND_LEASE.total_seconds() + 1)
    assert await n.b.channels.send_due() == 1  # lapsed: node B sends it
    assert (await statuses(n))[message.id] == DeliveryStatus.SENT.value
    assert await n.b.channels.send_due() == 0

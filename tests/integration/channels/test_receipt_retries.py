"""Failing inbound receipts back off and end in the dead letter; they never hold back the good
ones behind them (on both stores)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from omniroute.channels import store
from omniroute.channels.port import InboundMessage
from omniroute.channels.service import BATCH, RECEIPT_MAX_ATTEMPTS, receipt_retry_delay
from omniroute.conversations.store import messages
from omniroute.core.clock import ManualClock
from omniroute.core.ids import new_id
from omniroute.web.container import Container
from tests.integration.support import add_default_queue, store_container

POISONED = BATCH + 10


async def _account(c: Container) -> str:
    account = await c.channels.create_account(
        channel="custom",
        name="poison",
        settings={"outbound_url": "http://127.0.0.1:9/x"},
        secrets={"inbound_secret": "a", "outbound_secret": "b"},
        default_queue_id=None,
    )
    return account.id


async def _poison(c: Container, account_id: str, clock: ManualClock, count: int) -> list[str]:
    """Receipts whose payload cannot be turned into a message (a message without its fields)."""
    ids = []
    async with c.db.write() as conn:
        for i in range(count):
            receipt = store.Receipt(
                id=new_id(),
                account_id=account_id,
                dedupe_key=f"msg:poison-{i}",
                kind="message",
                payload={"text": f"broken {i}"},
                received_at=clock.now(),
                attempts=0,
            )
            assert await store.insert_receipt(conn, receipt)
            ids.append(receipt.id)
    return ids


async def _attempts(c: Container, ids: list[str]) -> set[tuple[int, bool]]:
    t = store.inbound_receipts
    async with c.db.read() as conn:
        rows = await conn.execute(sa.select(t.c.attempts, t.c.dead_at).where(t.c.id.in_(ids)))
        return {(r.attempts, r.dead_at is not None) for r in rows}


async def _texts(c: Container) -> list[str]:
    async with c.db.read() as conn:
        return list((await conn.execute(sa.select(messages.c.text))).scalars())


async def test_poisoned_receipts_back_off_then_dead_letter_and_never_block(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with store_container(database_url, tmp_path, clock) as c:
        await add_default_queue(c, clock.now())
        account_id = await _account(c)
        poisoned = await _poison(c, account_id, clock, POISONED)
        await clock.advance(1)  # the good one arrives after every poisoned one
        good = InboundMessage(provider_message_id="good-1", sender_address="user-1", text="I am fine")
        assert await c.channels.ingest(account_id, [good]) == 1

        # Pass one fills the whole batch with poisoned receipts; pass two reaches the good one,
        # because the failed ones now wait for their backoff instead of being picked up again.
        assert await c.channels.process_receipts() == 0
        assert await c.channels.process_receipts() == 1
        assert "I am fine" in await _texts(c)
        assert await _attempts(c, poisoned) == {(1, False)}

        # Nothing is retried before it is due.
        assert await c.channels.process_receipts() == 0
        assert await _attempts(c, poisoned) == {(1, False)}
        async with c.db.read() as conn:
            due = await store.next_receipt_due(conn)
        assert due is not None
        assert due - clock.now() == timedelta(seconds=receipt_retry_delay(1))

        # Each later try waits longer; the last failure dead-letters every one of them.
        for attempt in range(1, RECEIPT_MAX_ATTEMPTS):
            await clock.advance(receipt_retry_delay(attempt) - 1)
            await c.channels.process_receipts()
            assert await _attempts(c, poisoned) == {(attempt, False)}  # not yet due
            await clock.advance(1)
            assert await c.channels.process_receipts() == 0  # the first BATCH of them
            assert await c.channels.process_receipts() == 0  # the rest
        assert await _attempts(c, poisoned) == {(RECEIPT_MAX_ATTEMPTS, True)}
        async with c.db.read() as conn:
            assert await store.next_receipt_due(conn) is None
            assert await store.pending_receipts(conn, clock.now(), BATCH, skip_locked=False) == []

        # Kept for the administrator, with the reason, newest first; and they can be requeued.
        dead = await c.channels.dead_receipts(account_id)
        assert len(dead) == POISONED
        assert {d.id for d in dead} == set(poisoned)
        assert all(d.error and "provider_message_id" in d.error for d in dead)
        assert dead[0].payload["text"].startswith("broken ")
        await c.channels.requeue_receipt(account_id, poisoned[0])
        async with c.db.read() as conn:
            again = await store.pending_receipts(conn, clock.now(), BATCH, skip_locked=False)
        assert [r.id for r in again] == [poisoned[0]]
        assert again[0].attempts == 0


async def test_a_message_that_later_succeeds_is_processed_on_its_retry(
    database_url: str, tmp_path: Path
) -> None:
    """A receipt that fails because something is missing (no queue to route to yet) is applied
    once the cause is gone, on its scheduled retry."""
    clock = ManualClock()
    async with store_container(database_url, tmp_path, clock) as c:
        account_id = await _account(c)
        msg = InboundMessage(provider_message_id="later-1", sender_address="user-2", text="hello later")
        await c.channels.ingest(account_id, [msg])
        assert await c.channels.process_receipts() == 0  # no queue exists: routing fails
        await add_default_queue(c, clock.now())
        assert await c.channels.process_receipts() == 0  # not due yet
        await clock.advance(receipt_retry_delay(1))
        assert await c.channels.process_receipts() == 1
        assert "hello later" in await _texts(c)
        assert await c.channels.dead_receipts(account_id) == []

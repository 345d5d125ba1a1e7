"""The receipt log decides duplicates with its unique index, on both stores, under concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from omniroute.bootstrap import build_container
from omniroute.channels.port import InboundMessage
from omniroute.channels.store import inbound_receipts
from omniroute.core.bus.memory import MemoryBus
from omniroute.settings import Settings


async def test_each_provider_id_is_stored_once(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    container = build_container(settings, bus=MemoryBus())
    try:
        account = await container.channels.create_account(
            channel="custom",
            name="dedupe",
            settings={"outbound_url": "http://127.0.0.1:9/x"},
            secrets={"inbound_secret": "a", "outbound_secret": "b"},
            default_queue_id=None,
        )
        items = [
            InboundMessage(provider_message_id=f"m-{i % 5}", sender_address="u", text="hi") for i in range(20)
        ]
        # Four deliveries of overlapping batches at once, as a provider retrying would send them.
        counts = await asyncio.gather(*(container.channels.ingest(account.id, items[k::4]) for k in range(4)))
        assert sum(counts) == 5
        async with container.db.read() as conn:
            keys = (await conn.execute(sa.select(inbound_receipts.c.dedupe_key))).scalars().all()
        assert sorted(keys) == [f"msg:m-{i}" for i in range(5)]
    finally:
        await container.db.dispose()

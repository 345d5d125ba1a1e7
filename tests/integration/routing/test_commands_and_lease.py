"""The durable path to the routing leader, and the lease that picks the leader."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from omniroute.bootstrap import build_container
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.errors import Conflict
from omniroute.core.lease import PostgresLease
from omniroute.core.uow import UnitOfWork
from omniroute.routing.commands import Command, CommandQueue, enqueue
from omniroute.settings import Settings

GUARD = 10.0  # hang guard only


def settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        environment="test", data_dir=tmp_path, database_url=url, argon2_time_cost=1, argon2_memory_cost_kib=8
    )


async def test_commands_are_applied_once_in_order_with_results_and_errors(
    database_url: str, tmp_path: Path
) -> None:
    container = build_container(settings(tmp_path, database_url), bus=MemoryBus())
    bus = container.bus
    await bus.start()
    queue = CommandQueue(container.db, container.publisher, bus)
    await queue.start()
    seen: list[str] = []

    async def handler(uow: UnitOfWork, command: Command) -> dict[str, Any]:
        if command.kind == "refuse":
            raise Conflict("not now")
        seen.append(command.payload["n"])
        return {"echo": command.payload["n"]}

    try:
        # Commands written before the leader starts wait for it; none is lost.
        async with container.db.write() as conn:
            for n in ("a", "b"):
                await enqueue(conn, "note", {"n": n}, container.clock.now())
        queue.serve(handler)
        result = await asyncio.wait_for(queue.submit("note", {"n": "c"}), GUARD)
        assert result == {"echo": "c"}
        assert seen == ["a", "b", "c"]
        with pytest.raises(Conflict, match="not now"):
            await asyncio.wait_for(queue.submit("refuse", {}), GUARD)
        assert await queue.apply_pending() == 0  # everything was applied exactly once
        assert seen == ["a", "b", "c"]
    finally:
        await queue.stop()
        await bus.close()
        await container.db.dispose()


@pytest.mark.postgres
async def test_a_command_from_another_node_reaches_the_leader(postgres_url: str, tmp_path: Path) -> None:
    database_url = postgres_url  # several nodes share PostgreSQL, not an SQLite file
    bus = MemoryBus()  # stands in for Redis between two nodes in one process
    await bus.start()
    leader = build_container(settings(tmp_path / "a", database_url), bus=bus)
    follower = build_container(settings(tmp_path / "b", database_url), bus=bus)
    leader_queue = CommandQueue(leader.db, leader.publisher, bus)
    follower_queue = CommandQueue(follower.db, follower.publisher, bus)
    await leader_queue.start()
    await follower_queue.start()

    async def handler(uow: UnitOfWork, command: Command) -> dict[str, Any]:
        return {"handled_by": "leader", "n": command.payload["n"]}

    leader_queue.serve(handler)
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(follower_queue.submit("note", {"n": i}) for i in range(10))), GUARD
        )
        assert [r["n"] for r in results] == list(range(10))
    finally:
        await follower_queue.stop()
        await leader_queue.stop()
        await bus.close()
        await leader.db.dispose()
        await follower.db.dispose()


@pytest.mark.postgres
async def test_one_leader_at_a_time_and_failover(postgres_url: str, tmp_path: Path) -> None:
    container = build_container(settings(tmp_path, postgres_url), bus=MemoryBus())
    events: list[str] = []
    leases = [PostgresLease(container.db.engine, key=4242, interval=0.05) for _ in range(2)]

    second_leads = asyncio.Event()

    def recorder(name: str, what: str) -> Any:
        async def record() -> None:
            events.append(f"{name} {what}")
            if (name, what) == ("second", "gained"):
                second_leads.set()

        return record

    try:
        await leases[0].start(recorder("first", "gained"), recorder("first", "lost"))
        await leases[1].start(recorder("second", "gained"), recorder("second", "lost"))
        assert leases[0].is_leader
        assert not leases[1].is_leader
        await leases[0].stop()  # the leader goes away: its session ends, the lock is free
        await asyncio.wait_for(second_leads.wait(), GUARD)
        assert leases[1].is_leader
        assert events == ["first gained", "first lost", "second gained"]
    finally:
        for lease in leases:
            await lease.stop()
        await container.db.dispose()

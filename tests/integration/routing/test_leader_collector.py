"""The routing leader settles the garbage collector once its engine is built and as it grows."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from omniroute.bootstrap import build_container
from omniroute.core.bus.memory import MemoryBus
from omniroute.routing.commands import Command
from omniroute.routing.leader import CollectorTuning
from omniroute.settings import Settings


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def test_the_leader_settles_after_building_and_once_the_engine_grew(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    container = build_container(settings, bus=MemoryBus())
    leader = container.routing.leader
    assert isinstance(leader.collector, CollectorTuning)  # on by default
    leader.collector = CollectorTuning(min_objects=1, young_threshold=1_000)
    gc.unfreeze()
    try:
        await leader.start()  # an empty store: too small to settle
        assert leader.collector.settles == 0
        assert gc.get_freeze_count() == 0
        async with container.publisher.unit_of_work() as uow:
            await leader.handle(uow, Command("c1", "agent_changed", {"agent_ids": ["agent-1"]}))
        assert leader.engine is not None
        assert "agent-1" in leader.engine.world.agents
        assert leader.collector.settles == 1  # the engine reached the minimum: settled
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= 1_000
        async with container.publisher.unit_of_work() as uow:
            await leader.handle(uow, Command("c2", "agent_changed", {"agent_ids": ["agent-1"]}))
        assert leader.collector.settles == 1  # not grown: nothing to do
        # The store holds no agent, so the rebuilt engine is empty: settle whatever the size.
        leader.collector.min_objects = 0
        await leader.rebuild()  # a rebuilt engine is settled again
        assert leader.collector.settles == 2
    finally:
        await leader.stop()
        await container.db.dispose()

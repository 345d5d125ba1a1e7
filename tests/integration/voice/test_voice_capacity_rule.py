"""``omniroute demo`` and ``ccaas-sim --configure`` save the "calls fill capacity" rule through the
routing configuration service: a new version, once, which the routing engine then applies."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from omniroute.bootstrap import build_container
from omniroute.demo import load_demo_voice
from omniroute.routing.commands import routing_commands
from omniroute.routing.config import RoutingConfig
from omniroute.settings import Settings
from omniroute.voice.ccaas_sim.command import _configure
from tests.integration.voice.conftest import Voice


async def test_the_demo_saves_the_rule_as_a_new_version_once(voice: Voice) -> None:
    configs = voice.app.routing_configs
    before = await configs.active()
    saved = await load_demo_voice(voice.app)
    assert saved == (before.version or 0) + 1
    active = await configs.active()
    config: RoutingConfig = active.config
    profile = next(p for p in config.capacity_profiles if p.id == config.default_capacity_profile)
    assert profile.total_units is not None
    assert profile.channel_units["voice"] == profile.total_units
    versions = await configs.versions()
    assert any(v.comment.startswith("Calls fill the agent's capacity") for v in versions)
    assert await load_demo_voice(voice.app) is None  # already there: no new version
    assert len(await configs.versions()) == len(versions)


async def test_ccaas_sim_configure_saves_the_rule_and_asks_routing_to_reload(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sim.db'}",
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    registered = await _configure(settings, "http://127.0.0.1:8090")
    assert registered.created
    again = await _configure(settings, "http://127.0.0.1:8090")
    assert not again.created
    container = build_container(settings)
    try:
        config = (await container.routing_configs.active()).config
        profile = next(p for p in config.capacity_profiles if p.id == config.default_capacity_profile)
        assert profile.channel_units["voice"] == profile.total_units
        assert len(await container.routing_configs.versions()) == 1  # the second run saved nothing
        async with container.db.read() as conn:
            kinds = (await conn.execute(sa.select(routing_commands.c.kind))).scalars().all()
        assert list(kinds) == ["config_changed"]  # one reload for the running leader, not waited for
    finally:
        await container.db.dispose()

"""A voice-ready Omniroute on each store (no server): demo people and one generic provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from omniroute.bootstrap import build_container
from omniroute.core.bus.memory import MemoryBus
from omniroute.core.clock import ManualClock
from omniroute.demo import load_demo
from omniroute.settings import Settings
from omniroute.voice.adapters.generic import signing
from omniroute.voice.calls import Ingested
from omniroute.voice.providers import Provider
from omniroute.web.container import Container
from tests.unit.voice.adapters.generic import golden

#: A little after the golden call's events, so their signatures are fresh.
NOW = datetime(2026, 1, 6, 9, 10, tzinfo=UTC)


@dataclass
class Voice:
    app: Container
    clock: ManualClock
    provider: Provider
    secret: str

    async def deliver(self, events: list[dict[str, Any]] | dict[str, Any]) -> Ingested:
        """One signed webhook, as the provider would post it."""
        document = {"events": events} if isinstance(events, list) else events
        body = json.dumps(document).encode()
        stamp = int(self.clock.now().timestamp())
        headers = [
            ("content-type", "application/json"),
            ("x-omniroute-signature", signing.signature_header(self.secret, body, stamp)),
        ]
        return await self.app.voice.receive(self.provider.id, golden.URL, headers, body)

    async def count(self, table: sa.Table) -> int:
        async with self.app.db.read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


def full_call(call_id: str = "sim-call-0001") -> list[dict[str, Any]]:
    """The generic adapter's golden call (offered … wrap-up done), for any call id."""
    events: list[dict[str, Any]] = golden.document("full_call.json")["events"]
    return [{**e, "call_id": call_id, "event_id": f"{call_id}/{e['event_id']}"} for e in events]


@pytest.fixture
async def voice(database_url: str, tmp_path: Path) -> AsyncIterator[Voice]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    clock = ManualClock(NOW)
    app = build_container(settings, clock=clock, bus=MemoryBus())
    try:
        await load_demo(app, ["http://127.0.0.1"])
        made = await app.voice.create_provider(
            name="Simulator",
            kind="generic",
            softphone_url="https://softphone.example.com/panel",
            features=["transcripts", "recordings", "screen_pop"],
        )
        assert made.webhook_secret is not None
        yield Voice(app, clock, made.provider, made.webhook_secret)
    finally:
        await app.voice.stop()
        await app.db.dispose()

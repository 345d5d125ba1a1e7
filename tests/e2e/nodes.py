"""Two Omniroute nodes on one PostgreSQL and one Redis, for the end-to-end tests of the scale path
(cross-node events, the routing leader and its failover)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omniroute.bootstrap import create_app
from omniroute.core.bus.redis import RedisBus
from omniroute.core.clock import ManualClock
from omniroute.demo import load_demo
from tests.e2e.conftest import LiveServer, free_port, node_settings, serve

LEAD_TIMEOUT = 15.0  # a hang guard only: a follower retries the lease every 2 seconds


@dataclass
class Node:
    app: Any
    port: int
    server: LiveServer


async def two_nodes(postgres_url: str, redis_url: str, tmp_path: Path) -> tuple[Node, Node]:
    """Two apps (not serving yet) on one database and one Redis (a channel prefix of their own),
    sharing a manual clock and the demo data, whose widget allows both origins."""
    clock = ManualClock()
    prefix = f"omniroute-test-{secrets.token_hex(6)}:"
    ports = [free_port(), free_port()]
    apps = [
        create_app(
            node_settings(tmp_path / f"n{i}", port, database_url=postgres_url),
            clock=clock,
            bus=RedisBus(redis_url, channel_prefix=prefix),
        )
        for i, port in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    await load_demo(apps[0].state.container, urls)
    key = (await apps[0].state.container.webchat.list_widgets())[0].public_key
    a, b = (
        Node(app, port, LiveServer(url, f"ws://127.0.0.1:{port}", clock, app.state.container, key))
        for app, port, url in zip(apps, ports, urls, strict=True)
    )
    return a, b


@contextlib.asynccontextmanager
async def leader_and_follower(leader: Node, follower: Node) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Serve ``leader`` first, so it takes the routing lease, then ``follower``; yields
    ``fail_over``, which stops the leader and returns once the follower leads."""
    stack = contextlib.AsyncExitStack()
    await stack.enter_async_context(serve(leader.app, leader.port))
    try:
        async with serve(follower.app, follower.port):
            assert leader.server.container.routing.lease.is_leader
            assert not follower.server.container.routing.lease.is_leader

            async def fail_over() -> None:
                await stack.aclose()  # the leader stops; its session ends and frees the lease
                await asyncio.wait_for(follower.server.container.routing.leading.wait(), LEAD_TIMEOUT)

            yield fail_over
    finally:
        await stack.aclose()

"""Two Omniroute nodes on one PostgreSQL and one Redis: the scale path, end to end.

A customer talks to node A while the agent is connected to node B; routing decisions from both
nodes stay single-writer (advisory lock), and live events cross nodes over Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from omniroute.routing.store import sessions
from tests.e2e.conftest import Agent, Customer, LiveServer, routing_settled, serve
from tests.e2e.nodes import leader_and_follower, two_nodes

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def nodes(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    a, b = await two_nodes(postgres_url, redis_url, tmp_path)
    async with serve(a.app, a.port), serve(b.app, b.port):
        yield a.server, b.server


@contextlib.asynccontextmanager
async def people(a: LiveServer, b: LiveServer) -> AsyncIterator[tuple[Agent, Agent, Customer]]:
    async with (
        httpx.AsyncClient(base_url=b.base_url) as h1,
        httpx.AsyncClient(base_url=b.base_url) as h2,
        httpx.AsyncClient(base_url=a.base_url) as h3,
    ):
        ana = await Agent(b, "ana@demo.omniroute.dev", h1).sign_in()
        ben = await Agent(b, "ben@demo.omniroute.dev", h2).sign_in()
        lee = Customer(a, h3)
        try:
            yield ana, ben, lee
        finally:
            for person in (ana, ben, lee):
                for sock in person.sockets:
                    await sock.close()


async def test_customer_on_one_node_reaches_agent_on_the_other(
    nodes: tuple[LiveServer, LiveServer],
) -> None:
    a, b = nodes
    async with people(a, b) as (ana, _, lee):
        agent_ws, _ = await ana.connect()
        await ana.presence("available")
        await lee.start(question="Hello from node A")
        customer_ws, _ = await lee.connect()
        offer = await agent_ws.next("offer.created", conversation_id=lee.conversation_id)
        assert (await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")).status_code == 200
        await agent_ws.messages_until(lee.conversation_id, 2)
        assert (await customer_ws.next("conversation.state_changed"))["state"] == "active"

        await lee.say("via node A")
        got = await agent_ws.next("message.posted", conversation_id=lee.conversation_id)
        assert (got["seq"], got["message"]["text"]) == (3, "via node A")
        await ana.post(f"/api/v1/conversations/{lee.conversation_id}/messages", text="via node B")
        reply = await customer_ws.next("message.posted", seq=4)
        assert reply["message"]["text"] == "via node B"


async def test_concurrent_work_on_two_nodes_never_overloads_or_double_offers(
    nodes: tuple[LiveServer, LiveServer],
) -> None:
    a, b = nodes
    async with people(a, b) as (ana, ben, _):
        ana_ws, _ = await ana.connect()
        ben_ws, _ = await ben.connect()
        await ana.presence("available")
        await ben.presence("available")
        customers = [Customer(node, httpx.AsyncClient(base_url=node.base_url)) for node in (a, b) * 6]
        try:
            # Twelve chats start at once on both nodes for two agents of capacity 3.
            await asyncio.gather(*(c.start(name=f"C{i}", queue="Support") for i, c in enumerate(customers)))
            for ws in (ana_ws, ben_ws):
                for _ in range(3):
                    await ws.next("offer.created")
            await routing_settled(a)
            async with a.container.db.read() as conn:
                rows = (
                    await conn.execute(
                        sa.select(sessions.c.agent_id, sessions.c.conversation_id).where(
                            sessions.c.status == "offered"
                        )
                    )
                ).all()
            per_agent: dict[str, int] = {}
            for agent_id, _ in rows:
                per_agent[agent_id] = per_agent.get(agent_id, 0) + 1
            assert per_agent == {ana.user_id: 3, ben.user_id: 3}
            offered = [conversation_id for _, conversation_id in rows]
            assert len(offered) == len(set(offered))  # nothing offered twice
            waiting = {c.conversation_id for c in customers} - set(offered)
            assert len(waiting) == 6  # and nothing lost: the rest wait in the queue
        finally:
            for c in customers:
                await c.http.aclose()


async def test_when_the_leader_goes_away_another_node_takes_over(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    first, second = await two_nodes(postgres_url, redis_url, tmp_path)
    b = second.server
    async with leader_and_follower(first, second) as fail_over:
        await fail_over()
        async with (
            httpx.AsyncClient(base_url=b.base_url) as h1,
            httpx.AsyncClient(base_url=b.base_url) as h2,
        ):
            ana = await Agent(b, "ana@demo.omniroute.dev", h1).sign_in()
            ws, _ = await ana.connect()
            try:
                await ana.presence("available")
                lee = await Customer(b, h2).start()
                offer = await ws.next("offer.created", conversation_id=lee.conversation_id)
                accepted = await ana.post(f"/api/v1/offers/{offer['session_id']}/accept")
                assert accepted.status_code == 200
            finally:
                await ws.close()

"""A call Omniroute routes survives the routing leader going away: the reservation is an offer row
in PostgreSQL, so the node that takes the lease over restores it, and the provider's answer on that
node turns it into the call's assignment."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Agent, routing_settled
from tests.e2e.nodes import leader_and_follower, two_nodes
from tests.e2e.test_voice_routing import CALLER, ask, event, status
from tests.e2e.voice_support import create_provider, link, post_generic

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_a_reservation_survives_the_leader_going_away(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    leader, follower = await two_nodes(postgres_url, redis_url, tmp_path)
    b = follower.server
    async with (
        leader_and_follower(leader, follower) as fail_over,
        httpx.AsyncClient(base_url=b.base_url) as h1,
        httpx.AsyncClient(base_url=b.base_url) as h2,
    ):
        ada = await Agent(b, "admin@demo.omniroute.dev", h1).sign_in()
        chloe = await Agent(b, "chloe@demo.omniroute.dev", h2).sign_in()
        provider = await create_provider(ada, features=["routes_calls"])
        await link(ada, provider, chloe.user_id, "agent-chloe")
        await chloe.presence("available")

        # Asked on the follower: the leader decides through the durable command queue.
        first = await ask(b, provider, "call-f")
        assert first.status_code == 200, first.text
        reserved = first.json()
        assert (reserved["status"], reserved["agent"]["agent_id"]) == ("reserved", "agent-chloe")

        await fail_over()
        again = (await ask(b, provider, "call-f")).json()
        assert (again["status"], again["reservation_id"]) == ("reserved", reserved["reservation_id"])

        answered = [
            event("call-f", 1, "offered", "09:00:00", **{"from": CALLER}, queue="Sales"),
            event("call-f", 2, "answered", "09:00:08", agent_id="agent-chloe"),
        ]
        assert (await post_generic(b, provider, {"events": answered})).status_code == 200
        await routing_settled(b)
        now = (await status(b, provider, "call-f")).json()
        assert (now["status"], now["agent"]["user_id"]) == ("connected", chloe.user_id)
        assert (await chloe.http.get("/api/v1/offers")).json() == []

"""The reference CCaaS with ``routes_calls``: its switchboard chooses nobody, it asks Omniroute
which agent takes each queued call, rings the reserved agent, and gives a declined ring back so
Omniroute reserves the next agent. Omniroute's notices reach it at its presence endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from omniroute.voice.ccaas_sim.app import SimConfig, create_sim_app
from tests.e2e.conftest import Agent, LiveServer, free_port, serve
from tests.e2e.voice_support import ProviderHandle, create_provider, eventually

Clients = dict[str, Any]
CALLER = "+15558675310"


@asynccontextmanager
async def routed_sim(
    server: LiveServer, ada: Agent
) -> AsyncIterator[tuple[httpx.AsyncClient, ProviderHandle]]:
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    provider = await create_provider(
        ada,
        name="Reference CCaaS",
        softphone_url=f"{sim_url}/softphone",
        features=["routes_calls", "presence_sync"],
        presence_url=f"{sim_url}/omniroute/presence",
        agents_by_user_id=True,
    )
    config = SimConfig(
        omniroute_url=server.base_url,
        provider_id=provider.id,
        secret=provider.secret,
        api_token=provider.api_token,
        ring_seconds=600,
    )
    async with (
        serve(create_sim_app(config, clock=server.clock), port),
        httpx.AsyncClient(base_url=sim_url) as sim,
    ):
        yield sim, provider


async def ready_in_both(sim: httpx.AsyncClient, agent: Agent, name: str) -> None:
    r = await sim.put(f"/api/agents/{agent.user_id}", json={"name": name})
    assert r.status_code == 200, r.text
    await agent.presence("available")  # the presence webhook makes the softphone ready

    async def ready() -> bool:
        return bool((await sim.get(f"/api/agents/{agent.user_id}")).json()["agent"]["ready"])

    await eventually(ready)


async def ringing(sim: httpx.AsyncClient, call_id: str, previous: str | None = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def rings() -> bool:
        calls = (await sim.get("/api/state")).json()["calls"]
        call = next(c for c in calls if c["id"] == call_id)
        seen.update(call)
        return call["status"] == "ringing" and call["reservation_id"] not in (None, previous)

    await eventually(rings)
    return seen


async def route_status(server: LiveServer, provider: ProviderHandle, call_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        r = await http.get(
            f"/api/v1/voice/providers/{provider.id}/calls/{call_id}/route",
            headers={"Authorization": f"Bearer {provider.api_token}"},
        )
    body: dict[str, Any] = r.json()
    return body


async def test_the_reference_ccaas_rings_the_agent_omniroute_reserved(
    server: LiveServer, clients: Clients
) -> None:
    ada, chloe = await clients["agent"]("admin"), await clients["agent"]("chloe")
    async with routed_sim(server, ada) as (sim, provider):
        await ready_in_both(sim, chloe, "Chloé")
        placed = await sim.post("/api/calls", json={"from": CALLER, "keys": "1 1234#"})
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["id"]
        call = await ringing(sim, call_id)
        assert call["agent_id"] == chloe.user_id
        status = await route_status(server, provider, call_id)
        assert (status["status"], status["reservation_id"]) == ("reserved", call["reservation_id"])

        r = await sim.post(f"/api/agents/{chloe.user_id}/accept", json={"call_id": call_id})
        assert r.status_code == 200, r.text

        async def connected() -> bool:
            now = await route_status(server, provider, call_id)
            return now["status"] == "connected" and now["agent"]["user_id"] == chloe.user_id

        await eventually(connected)
        conv = (await chloe.http.get(f"/api/v1/voice/conversations/{status['conversation_id']}/call")).json()
        assert conv["ivr_data"]["account_number"] == "1234"


async def test_a_declined_ring_goes_back_and_omniroute_reserves_the_next_agent(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana, chloe = [await clients["agent"](n) for n in ("admin", "ana", "chloe")]
    async with routed_sim(server, ada) as (sim, provider):
        await ready_in_both(sim, ana, "Ana")
        await ready_in_both(sim, chloe, "Chloé")
        call_id = (await sim.post("/api/calls", json={"from": CALLER, "keys": "1 1234#"})).json()["id"]
        first = await ringing(sim, call_id)
        r = await sim.post(f"/api/agents/{first['agent_id']}/decline", json={"call_id": call_id})
        assert r.status_code == 200, r.text
        second = await ringing(sim, call_id, previous=first["reservation_id"])
        assert {first["agent_id"], second["agent_id"]} == {ana.user_id, chloe.user_id}
        status = await route_status(server, provider, call_id)
        assert (status["reservation_id"], status["agent"]["user_id"]) == (
            second["reservation_id"],
            second["agent_id"],
        )

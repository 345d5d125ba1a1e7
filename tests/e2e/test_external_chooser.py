"""The external assignment method: an HTTP endpoint chooses among the eligible agents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.e2e.conftest import LiveServer, free_port, routing_settled, serve

Clients = dict[str, Any]


@dataclass
class Chooser:
    """The integrator's endpoint: records what it was asked and answers as told."""

    answer: str | None = None
    fail: bool = False
    asked: list[dict[str, Any]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> JSONResponse:
        self.asked.append(await request.json())
        if self.fail:
            return JSONResponse({"error": "down"}, status_code=500)
        return JSONResponse({"agent_id": self.answer})


@pytest.fixture
async def chooser() -> AsyncIterator[tuple[Chooser, str]]:
    double = Chooser()
    port = free_port()
    async with serve(Starlette(routes=[Route("/choose", double.endpoint, methods=["POST"])]), port):
        yield double, f"http://127.0.0.1:{port}/choose"


async def team(server: LiveServer, clients: Clients, url: str) -> tuple[Any, Any, Any, Any]:
    ada = await clients["agent"]("admin")
    config = {"queues": [{"queue": "Sales", "assignment_method": "external", "external_endpoint": url}]}
    r = await ada.http.put("/api/v1/admin/routing-config", json={"config": config}, headers=ada.headers())
    assert r.status_code == 200, r.text
    ana, chloe = await clients["agent"]("ana"), await clients["agent"]("chloe")  # both in Sales
    ana_ws, _ = await ana.connect()
    chloe_ws, _ = await chloe.connect()
    await ana.presence("available")
    await chloe.presence("available")
    return ana, ana_ws, chloe, chloe_ws


async def test_the_endpoint_picks_the_agent(
    server: LiveServer, clients: Clients, chooser: tuple[Chooser, str]
) -> None:
    double, url = chooser
    ana, _, chloe, chloe_ws = await team(server, clients, url)
    double.answer = chloe.user_id
    lee = await clients["customer"]().start()
    offer = await chloe_ws.next("offer.created", conversation_id=lee.conversation_id)
    assert offer["agent_id"] == chloe.user_id
    assert double.asked[0]["conversation_id"] == lee.conversation_id
    assert sorted(double.asked[0]["candidates"]) == sorted([ana.user_id, chloe.user_id])
    await routing_settled(server)
    sam = await clients["agent"]("sam")
    trace = (await sam.http.get(f"/api/v1/admin/conversations/{lee.conversation_id}/routing-trace")).json()
    assert any("chosen by the external chooser" in step for step in trace["steps"])


async def test_a_failing_endpoint_falls_back_to_the_ranking(
    server: LiveServer, clients: Clients, chooser: tuple[Chooser, str]
) -> None:
    double, url = chooser
    ana, ana_ws, chloe, chloe_ws = await team(server, clients, url)
    double.fail = True
    lee = await clients["customer"]().start()
    waits = [
        asyncio.create_task(ws.next("offer.created", conversation_id=lee.conversation_id))
        for ws in (ana_ws, chloe_ws)
    ]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    offer = done.pop().result()  # nobody is stranded: the ranking chose instead
    assert offer["agent_id"] in (ana.user_id, chloe.user_id)
    assert len(double.asked) == 1

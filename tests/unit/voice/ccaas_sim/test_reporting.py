"""The simulator reports to Omniroute with real signatures the generic adapter accepts, in order,
retrying what failed for a transient reason and dropping what Omniroute refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.generic import GenericVoiceAdapter, signing
from omniroute.voice.adapters.port import SignatureRejected, VoiceRequest, read_events
from omniroute.voice.ccaas_sim.app import SimConfig, Simulator, create_sim_app
from omniroute.voice.ccaas_sim.reporter import signed_request

SECRET = "whsec-sim-test-0123456789"
OMNIROUTE = "http://127.0.0.1:8000"
PROVIDER = "prov-1"


@dataclass
class FakeOmniroute:
    """Stands in for Omniroute's webhook endpoint: answers with the statuses it is given."""

    statuses: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, json={"detail": "no" if status >= 400 else "ok"})

    def voice_requests(self) -> list[VoiceRequest]:
        return [VoiceRequest.of(str(r.url), r.headers.items(), r.content) for r in self.requests]


@dataclass
class Running:
    client: httpx.AsyncClient
    sim: Simulator
    omniroute: FakeOmniroute
    clock: ManualClock


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    clock = ManualClock()
    omniroute = FakeOmniroute()
    app = create_sim_app(
        SimConfig(omniroute_url=OMNIROUTE, provider_id=PROVIDER, secret=SECRET),
        clock=clock,
        transport=httpx.MockTransport(omniroute.handle),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client,
    ):
        yield Running(client, app.state.sim, omniroute, clock)


def test_a_signed_request_verifies_and_parses_with_the_generic_adapter() -> None:
    clock = ManualClock()
    events = [
        {
            "event_id": "sim-evt-1",
            "call_id": "sim-call-1",
            "kind": "offered",
            "occurred_at": clock.now().isoformat(),
            "from": "+15558675310",
            "ivr_data": {"account_number": "1234"},
        }
    ]
    body, headers = signed_request(SECRET, events, clock.now())
    adapter = GenericVoiceAdapter(provider=PROVIDER, clock=clock)
    request = VoiceRequest.of(f"{OMNIROUTE}/webhooks/voice/{PROVIDER}", headers, body)
    [event] = read_events(adapter, request, SECRET)
    assert event.from_number == "+15558675310"
    assert event.ivr_data == {"account_number": "1234"}
    with pytest.raises(SignatureRejected):
        adapter.verify(request, "another-secret")
    tampered = VoiceRequest.of(request.url, request.headers, body.replace(b"1234", b"9999"))
    with pytest.raises(SignatureRejected):
        adapter.verify(tampered, SECRET)


async def test_every_webhook_the_simulator_sends_verifies_with_the_providers_secret(running: Running) -> None:
    c = running.client
    assert (await c.put("/api/agents/user-ana", json={"name": "Ana"})).status_code == 200
    assert (await c.put("/api/agents/user-ana/ready", json={"ready": True})).status_code == 200
    placed = await c.post("/api/calls", json={"from": "+15558675310", "keys": "1"})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["id"]
    assert (await c.post(f"/api/calls/{call_id}/dtmf", json={"keys": "4521#"})).json()["status"] == "ringing"
    accepted = await c.post("/api/agents/user-ana/accept", json={"call_id": call_id})
    assert accepted.json()["agent"]["status"] == "on_call"
    await c.post("/api/agents/user-ana/hangup", json={})
    await c.post("/api/agents/user-ana/wrapup", json={"disposition": "resolved", "notes": "ok"})
    await running.sim.reporter.drained()

    adapter = GenericVoiceAdapter(provider=PROVIDER, clock=running.clock)
    received = []
    for request in running.omniroute.voice_requests():
        assert request.url == f"{OMNIROUTE}/webhooks/voice/{PROVIDER}"
        received += read_events(adapter, request, SECRET)
    assert [e.kind.value for e in received] == [
        "offered",
        "offered",
        "ringing",
        "answered",
        "ended",
        "transcript_available",
        "wrapup_done",
    ]
    assert received[1].ivr_data["account_number"] == "4521"
    assert {e.agent_id for e in received[2:5]} == {"user-ana"}
    assert running.sim.reporter.status()["delivered"] == len(received)


async def test_a_transient_failure_is_retried_and_signed_afresh(running: Running) -> None:
    running.omniroute.statuses = [503]
    await running.client.post("/api/calls", json={"from": "+15558675310"})
    await asyncio.wait_for(running.omniroute.arrived.wait(), 10)  # a hang guard
    await running.clock.advance(400)  # past the replay window: a stale signature would be refused
    await running.sim.reporter.drained()
    first, second = running.omniroute.requests
    assert first.content == second.content
    assert first.headers["x-omniroute-signature"] != second.headers["x-omniroute-signature"]
    GenericVoiceAdapter(clock=running.clock).verify(running.omniroute.voice_requests()[1], SECRET)
    recent = running.sim.reporter.status()["recent"]
    assert [r["status"] for r in recent] == [200, 503]


async def test_a_refused_batch_is_recorded_and_not_sent_again(running: Running) -> None:
    running.omniroute.statuses = [403]
    await running.client.post("/api/calls", json={"from": "+15558675310"})
    await running.sim.reporter.drained()
    await running.client.post("/api/calls", json={"from": "+15558675311"})
    await running.sim.reporter.drained()
    assert len(running.omniroute.requests) == 2
    bodies = [json.loads(r.content)["events"][0]["from"] for r in running.omniroute.requests]
    assert bodies == ["+15558675310", "+15558675311"]
    state = (await running.client.get("/api/state")).json()
    assert [r["status"] for r in state["reporting"]["recent"]] == [200, 403]
    assert state["reporting"]["recent"][1]["detail"] == "no"


async def test_a_ring_times_out_on_the_simulators_clock(running: Running) -> None:
    c = running.client
    await c.put("/api/agents/user-ana", json={"name": "Ana"})
    await c.put("/api/agents/user-ana/ready", json={"ready": True})
    await c.post("/api/calls", json={"from": "+15558675310", "keys": "11234#"})
    assert (await c.get("/api/agents/user-ana")).json()["agent"]["status"] == "ringing"
    await running.clock.advance(21)
    view = (await c.get("/api/agents/user-ana")).json()
    assert view["agent"]["status"] == "not_ready"
    state = (await c.get("/api/state")).json()
    assert state["calls"][0]["status"] == "queued"


async def test_bad_requests_get_a_reason(running: Running) -> None:
    c = running.client
    r = await c.post("/api/calls", json={"from": "5551234"})
    assert r.status_code == 422
    assert "country code" in r.json()["detail"]
    r = await c.post("/api/agents/nobody/accept", json={"call_id": "x"})
    assert r.status_code == 404
    r = await c.post("/api/calls", json={"from": "+15558675310", "extra": 1})
    assert r.status_code == 422
    r = await c.post("/api/calls", json={"from": "+15558675310", "keys": "1x"})
    assert r.status_code == 422
    assert (await c.get("/api/state")).json()["calls"] == []  # nothing half-done
    # A plain form post is what another site could make a browser send without asking.
    r = await c.post(
        "/api/calls", content=b'{"from": "+15558675310"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "send Content-Type: application/json"


async def test_the_softphone_may_only_be_framed_by_omniroute(running: Running) -> None:
    page = await running.client.get("/softphone")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors {OMNIROUTE}" in policy
    assert f'src="{OMNIROUTE}/static/js/omniroute-cif.js"' in page.text
    console = await running.client.get("/")
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]


def presence_webhook(
    clock: ManualClock, agent_id: str, presence: str, secret: str = SECRET, at: float = 0
) -> dict[str, Any]:
    """What Omniroute's presence sync sends (voice/presence_sync.py): sorted compact JSON, signed."""
    occurred = (clock.now() + timedelta(seconds=at)).isoformat()
    body = json.dumps(
        {
            "type": "presence.changed",
            "agent_id": agent_id,
            "user_id": agent_id,
            "presence": presence,
            "occurred_at": occurred,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    header = signing.signature_header(secret, body, int(clock.now().timestamp()))
    return {
        "content": body,
        "headers": {"Content-Type": "application/json", "X-Omniroute-Signature": header},
    }


async def test_omniroute_presence_makes_the_agent_ready_or_not(running: Running) -> None:
    c = running.client
    await c.put("/api/agents/user-ana", json={"name": "Ana"})
    r = await c.post("/omniroute/presence", **presence_webhook(running.clock, "user-ana", "available"))
    assert r.json() == {"applied": True, "ready": True}
    assert (await c.get("/api/agents/user-ana")).json()["agent"]["status"] == "available"
    r = await c.post("/omniroute/presence", **presence_webhook(running.clock, "user-ana", "busy", at=2))
    assert (await c.get("/api/agents/user-ana")).json()["agent"]["status"] == "not_ready"
    late = await c.post(
        "/omniroute/presence", **presence_webhook(running.clock, "user-ana", "available", at=1)
    )
    assert late.json()["applied"] is False  # delivered after a newer change: ignored
    assert (await c.get("/api/agents/user-ana")).json()["agent"]["status"] == "not_ready"
    r = await c.post("/omniroute/presence", **presence_webhook(running.clock, "user-ben", "available"))
    assert r.json()["applied"] is False


async def test_a_presence_webhook_with_a_wrong_signature_is_refused(running: Running) -> None:
    await running.client.put("/api/agents/user-ana", json={"name": "Ana"})
    forged = presence_webhook(running.clock, "user-ana", "available", secret="not-the-secret")
    r = await running.client.post("/omniroute/presence", **forged)
    assert r.status_code == 403
    unsigned = presence_webhook(running.clock, "user-ana", "available")
    del unsigned["headers"]["X-Omniroute-Signature"]
    assert (await running.client.post("/omniroute/presence", **unsigned)).status_code == 401
    assert (await running.client.get("/api/agents/user-ana")).json()["agent"]["status"] == "not_ready"

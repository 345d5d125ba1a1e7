"""Presence both ways: Omniroute's presence changes reach the provider as signed webhooks (kept
and retried while it fails), and the provider sets presence with its own API token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from omniroute.core.errors import DomainError
from omniroute.voice.adapters.generic import signing
from tests.e2e.conftest import LiveServer
from tests.e2e.voice_support import PresenceDouble, create_provider, eventually, link

Clients = dict[str, Any]


async def deliveries(ada: Any, provider_id: str) -> list[dict[str, Any]]:
    r = await ada.http.get(f"/api/v1/admin/voice-providers/{provider_id}/presence-deliveries")
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()
    return result


async def test_presence_changes_reach_the_provider_signed_and_retried(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana, ben = [await clients["agent"](n) for n in ("admin", "ana", "ben")]
    async with PresenceDouble(statuses=[500]).running() as double:
        provider = await create_provider(ada, features=["presence_sync"], presence_url=double.url)
        await link(ada, provider, ana.user_id, "agent-ana")
        await ben.presence("available")  # not an agent of this provider: nothing is sent
        await ana.presence("available")

        async def first_refused() -> bool:
            found = await deliveries(ada, provider.id)
            return bool(found) and found[0]["attempts"] == 1 and found[0]["status"] == "queued"

        await eventually(first_refused)
        [(headers, body)] = double.received
        signing.verify(provider.secret, body, headers["x-omniroute-signature"], server.clock.now())
        with pytest.raises(DomainError):
            signing.verify("whsec_other", body, headers["x-omniroute-signature"], server.clock.now())
        sent = json.loads(body)
        assert (sent["type"], sent["agent_id"], sent["user_id"]) == (
            "presence.changed",
            "agent-ana",
            ana.user_id,
        )
        assert (sent["presence"], sent["previous"]) == ("available", "offline")
        [row] = await deliveries(ada, provider.id)
        assert row["last_status"] == 500

        await server.clock.advance(2)  # the first retry is due 2 s after the failure

        async def delivered() -> bool:
            return (await deliveries(ada, provider.id))[0]["status"] == "sent"

        await eventually(delivered)
        assert len(double.received) == 2
        retried_headers, retried_body = double.received[1]
        assert retried_body == body
        assert retried_headers["x-omniroute-delivery"] == headers["x-omniroute-delivery"]
        signing.verify(
            provider.secret, retried_body, retried_headers["x-omniroute-signature"], server.clock.now()
        )


async def test_presence_changes_wait_while_the_provider_is_down(server: LiveServer, clients: Clients) -> None:
    """Only the newest presence of an agent matters: older ones still queued are superseded."""
    ada, ana = await clients["agent"]("admin"), await clients["agent"]("ana")
    async with PresenceDouble(statuses=[503, 503]).running() as double:
        provider = await create_provider(ada, features=["presence_sync"], presence_url=double.url)
        await link(ada, provider, ana.user_id, "agent-ana")
        await ana.presence("available")

        async def refused_once() -> bool:
            found = await deliveries(ada, provider.id)
            return bool(found) and found[0]["attempts"] == 1

        await eventually(refused_once)
        await ana.presence("away")

        async def away_sent_or_refused() -> bool:
            return len(double.received) == 2

        await eventually(away_sent_or_refused)
        await server.clock.advance(300)

        async def settled() -> bool:
            return {(d["payload"]["presence"], d["status"]) for d in await deliveries(ada, provider.id)} == {
                ("available", "superseded"),
                ("away", "sent"),
            }

        await eventually(settled)
        assert [json.loads(b)["presence"] for _, b in double.received] == ["available", "away", "away"]


async def test_the_provider_sets_presence_of_the_agents_it_maps_with_its_token(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana, ben = [await clients["agent"](n) for n in ("admin", "ana", "ben")]
    first = await create_provider(ada, name="First")
    second = await create_provider(ada, name="Second")
    await link(ada, first, ana.user_id, "agent-ana")
    await link(ada, second, ben.user_id, "agent-ben")
    path = f"/api/v1/voice/agents/{ana.user_id}/presence"

    async def put(token: str | None, presence: str = "busy") -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await ana.http.put(path, json={"presence": presence}, headers=headers)

    assert (await put(None)).status_code == 401
    wrong = await put("omv_not-a-token")
    assert (wrong.status_code, wrong.headers.get("www-authenticate")) == (401, "Bearer")
    assert (await put(first.api_token.replace("omv_", "omr_"))).status_code == 401
    others = await put(second.api_token)
    assert (others.status_code, others.json()["detail"]) == (403, "this provider does not map that agent")
    assert (await put(first.api_token, "on_the_moon")).status_code == 422

    ok = await put(first.api_token)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"user_id": ana.user_id, "presence": "busy", "custom_presence": None}
    assert (await ana.http.get("/api/v1/me")).json()["presence"] == "busy"

    # A provider that speaks Omniroute user ids needs no mapping.
    by_id = await create_provider(ada, name="By id", agents_by_user_id=True)
    assert (await put(by_id.api_token, "away")).json()["presence"] == "away"
    gone = await ana.http.put(
        "/api/v1/voice/agents/no-such-user/presence",
        json={"presence": "away"},
        headers={"Authorization": f"Bearer {by_id.api_token}"},
    )
    assert gone.status_code == 404

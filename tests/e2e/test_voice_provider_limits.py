"""The provider registry's custom parameters (handed to the softphone by getEnvironment), and the
voice webhook's refusals that protect the store: 413 above 2 MiB, 503 when the provider's stored
secret cannot be read (so the vendor retries once an operator has fixed it)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from omniroute.core.secretbox import SecretBox
from omniroute.voice.store import voice_providers
from omniroute.web.api_voice import MAX_WEBHOOK_BYTES
from tests.e2e.conftest import LiveServer
from tests.e2e.voice_support import SOFTPHONE, create_provider, generic_headers, post_generic, stored

Clients = dict[str, Any]
ADMIN = "/api/v1/admin/voice-providers"
PARAMS = {
    "region": "eu-west-1",
    "dialer": {"prefix": "9", "outbound": True},
    "queues": ["Billing", "Support"],
}


def offered(n: int) -> dict[str, Any]:
    return {
        "event_id": f"limits-{n}",
        "call_id": f"limits-call-{n}",
        "kind": "offered",
        "occurred_at": "2026-01-05T09:00:00Z",
        "direction": "inbound",
        "from": "+15558675310",
    }


async def test_custom_parameters_are_a_small_json_object_that_reaches_the_workspace(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana = await clients["agent"]("admin"), await clients["agent"]("ana")
    for why, value in {
        "a list": [1, 2],
        "a string": "region=eu",
        "over 8 KB": {"blob": "x" * (8 * 1024)},
    }.items():
        r = await ada.post(ADMIN, name="P", kind="generic", softphone_url=SOFTPHONE, custom_parameters=value)
        assert r.status_code == 422, (why, r.text)
        assert "custom_parameters" in r.text, (why, r.text)

    made = await create_provider(ada, custom_parameters=PARAMS)
    assert made.body["custom_parameters"] == PARAMS
    bare = await create_provider(ada, name="Bare")
    assert bare.body["custom_parameters"] == {}

    # Agents get them with the providers the workspace embeds (getEnvironment hands them on).
    mine = {p["id"]: p for p in (await ana.http.get("/api/v1/voice/providers")).json()}
    assert mine[made.id]["custom_parameters"] == PARAMS
    assert mine[bare.id]["custom_parameters"] == {}

    # A patch replaces them (validated the same way); other changes leave them alone.
    url = f"{ADMIN}/{made.id}"
    too_big = await ada.http.patch(
        url, json={"custom_parameters": {"blob": "é" * 4200}}, headers=ada.headers()
    )  # 4200 two-byte characters: over 8 KB as UTF-8 JSON
    assert too_big.status_code == 422, too_big.text
    r = await ada.http.patch(url, json={"sort_order": 3}, headers=ada.headers())
    assert r.json()["custom_parameters"] == PARAMS
    r = await ada.http.patch(url, json={"custom_parameters": {"region": "us-east-1"}}, headers=ada.headers())
    assert r.status_code == 200, r.text
    assert r.json()["custom_parameters"] == {"region": "us-east-1"}
    assert (await ada.http.get(url)).json()["custom_parameters"] == {"region": "us-east-1"}
    refused = await ana.http.patch(url, json={"custom_parameters": {}}, headers=ana.headers())
    assert refused.status_code == 403


async def test_a_webhook_over_2_mib_is_refused_with_413_and_stores_nothing(
    server: LiveServer, clients: Clients
) -> None:
    ada = await clients["agent"]("admin")
    provider = await create_provider(ada)
    big = {"events": [offered(1)], "padding": "x" * MAX_WEBHOOK_BYTES}
    body = json.dumps(big).encode()
    assert len(body) > MAX_WEBHOOK_BYTES
    stamp = int(server.clock.now().timestamp())
    async with httpx.AsyncClient() as http:
        declared = await http.post(
            provider.webhook_url, content=body, headers=generic_headers(provider.secret, body, stamp)
        )
        assert declared.status_code == 413, declared.text

        async def chunks() -> Any:  # no Content-Length: the body is measured as it arrives
            for start in range(0, len(body), 256 * 1024):
                yield body[start : start + 256 * 1024]

        streamed = await http.post(
            provider.webhook_url, content=chunks(), headers=generic_headers(provider.secret, body, stamp)
        )
        assert streamed.status_code == 413, streamed.text
    assert await stored(server) == (0, 0)
    # Just under the limit is read (and verified) as usual.
    r = await post_generic(server, provider, {"events": [offered(2)]})
    assert r.status_code == 200, r.text
    assert await stored(server) == (1, 1)


async def test_a_webhook_whose_stored_secret_cannot_be_read_answers_503(
    server: LiveServer, clients: Clients, monkeypatch: Any
) -> None:
    ada = await clients["agent"]("admin")
    sealed_elsewhere = await create_provider(ada, name="Moved")
    from_env = await create_provider(ada, name="From env", webhook_secret="env:OMNIROUTE_H8_NOT_SET")
    monkeypatch.delenv("OMNIROUTE_H8_NOT_SET", raising=False)
    # The secret sealed with another installation's key (OMNIROUTE_SECRET_KEY changed).
    other = SecretBox("another installation's secret key, 32+ chars long").seal(sealed_elsewhere.secret)
    async with server.container.db.write() as conn:
        await conn.execute(
            voice_providers.update()
            .where(voice_providers.c.id == sealed_elsewhere.id)
            .values(webhook_secret=other)
        )
    for provider, secret in (
        (sealed_elsewhere, sealed_elsewhere.secret),
        (from_env, "whatever-they-sign-with"),
    ):
        r = await post_generic(server, provider, {"events": [offered(3)]}, secret=secret)
        assert r.status_code == 503, r.text
        assert "cannot be read" in r.text
    assert await stored(server) == (0, 0)

    # Once the operator fixes it (the variable is set), the vendor's retry goes through.
    monkeypatch.setenv("OMNIROUTE_H8_NOT_SET", "whatever-they-sign-with")
    r = await post_generic(server, from_env, {"events": [offered(3)]}, secret="whatever-they-sign-with")
    assert r.status_code == 200, r.text
    assert r.json()["new"] == 1
    assert await stored(server) == (1, 1)

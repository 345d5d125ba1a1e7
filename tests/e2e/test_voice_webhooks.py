"""Vendor webhooks into a live Omniroute, signed with each adapter's real scheme: only a verified
request stores anything, a malformed one gets 400 with the reason, and a replay stores nothing new."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.voice.adapters.generic.signing import signature_header
from tests.e2e.conftest import LiveServer
from tests.e2e.voice_support import ProviderHandle, create_provider, post_generic, stored
from tests.unit.voice.adapters.amazon_connect import golden as connect
from tests.unit.voice.adapters.generic import golden as generic
from tests.unit.voice.adapters.twilio_voice import golden as twilio

Clients = dict[str, Any]


async def test_generic_events_need_a_fresh_signature_by_the_providers_secret(
    server: LiveServer, clients: Clients
) -> None:
    ada = await clients["agent"]("admin")
    provider = await create_provider(ada, features=["transcripts", "recordings"])
    document = generic.document("full_call.json")
    body = generic.body("full_call.json")
    now = int(server.clock.now().timestamp())

    async with httpx.AsyncClient() as http:
        tampered = await http.post(
            provider.webhook_url,
            content=body.replace(b"4521", b"4522"),
            headers={
                "content-type": "application/json",
                "x-omniroute-signature": signature_header(provider.secret, body, now),
            },
        )
        unsigned = await http.post(
            provider.webhook_url, content=body, headers={"content-type": "application/json"}
        )
    assert (tampered.status_code, tampered.json()["detail"]) == (
        403,
        "X-Omniroute-Signature does not match the body",
    )
    assert (unsigned.status_code, unsigned.json()["detail"]) == (401, "missing X-Omniroute-Signature header")
    wrong = await post_generic(server, provider, document, secret="whsec_guessed")
    assert wrong.status_code == 403
    replayed = await post_generic(server, provider, document, skew=-301)
    assert replayed.status_code == 403
    assert "away from our clock" in replayed.json()["detail"]
    assert await stored(server) == (0, 0)

    malformed = await post_generic(server, provider, {"events": [{"event_id": "e-1", "kind": "answered"}]})
    assert malformed.status_code == 400
    assert "call_id" in malformed.json()["detail"]
    assert await stored(server) == (0, 0)

    valid = await post_generic(server, provider, document)
    assert valid.status_code == 200, valid.text
    assert valid.json() == {"received": 9, "new": 9, "calls": ["sim-call-0001"]}
    again = await post_generic(server, provider, document)  # inside the window: a duplicate
    assert again.json() == {"received": 9, "new": 0, "calls": []}
    assert await stored(server) == (9, 1)


async def test_unknown_and_disabled_providers_store_nothing(server: LiveServer, clients: Clients) -> None:
    ada = await clients["agent"]("admin")
    provider = await create_provider(ada)
    r = await ada.http.patch(
        f"/api/v1/admin/voice-providers/{provider.id}", json={"enabled": False}, headers=ada.headers()
    )
    assert r.status_code == 200, r.text
    document = generic.document("answered.json")
    assert (await post_generic(server, provider, document)).status_code == 404
    elsewhere = ProviderHandle(
        "no-such-provider", provider.webhook_url.replace(provider.id, "nope"), "", "x", {}
    )
    assert (await post_generic(server, elsewhere, document)).status_code == 404
    assert await stored(server) == (0, 0)


async def test_twilio_callbacks_are_checked_with_the_auth_token_over_url_and_form(
    server: LiveServer, clients: Clients
) -> None:
    ada = await clients["agent"]("admin")
    provider = await create_provider(
        ada,
        name="Twilio",
        kind="twilio_voice",
        webhook_secret=twilio.AUTH_TOKEN,
        settings={"account_sid": twilio.ACCOUNT_SID},
    )
    assert provider.body.get("webhook_secret") is None  # the vendor's own secret is never echoed
    raw = twilio.body("inbound_in_progress.txt")

    async def post(content: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(provider.webhook_url, content=content, headers=headers)

    tampered = await post(
        raw.replace(b"in-progress", b"completed"), twilio.headers(raw, provider.webhook_url)
    )
    assert tampered.status_code == 403
    wrong_token = await post(raw, twilio.headers(raw, provider.webhook_url, token="0" * 32))
    assert wrong_token.status_code == 403
    other_url = await post(raw, twilio.headers(raw, provider.webhook_url + "?x=1"))
    assert other_url.status_code == 403
    missing = await post(raw, {"content-type": "application/x-www-form-urlencoded"})
    assert (missing.status_code, missing.json()["detail"]) == (401, "missing X-Twilio-Signature header")
    assert await stored(server) == (0, 0)

    genuine = await post(raw, twilio.headers(raw, provider.webhook_url))
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["new"] == 1
    # Twilio's scheme has no timestamp: a replay verifies, and is a duplicate event id.
    replay = await post(raw, twilio.headers(raw, provider.webhook_url))
    assert (replay.status_code, replay.json()["new"]) == (200, 0)
    assert await stored(server) == (1, 1)


async def test_connect_events_need_the_connections_api_key_or_a_relay_signature(
    server: LiveServer, clients: Clients
) -> None:
    ada = await clients["agent"]("admin")
    provider = await create_provider(
        ada,
        name="Connect",
        kind="amazon_connect",
        webhook_secret=connect.SECRET,
        settings={"instance_arn": connect.INSTANCE},
    )
    raw = connect.body("queued.json")

    async def post(content: bytes, **headers: str) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                provider.webhook_url, content=content, headers={"content-type": "application/json", **headers}
            )

    assert (await post(raw)).status_code == 401
    assert (await post(raw, **{"X-Omniroute-Api-Key": connect.SECRET[:-1] + "0"})).status_code == 403
    stamp = int(server.clock.now().timestamp())
    relayed_tampered = await post(
        raw.replace(b"QUEUED", b"DISCONNECTED"),
        **{"X-Omniroute-Signature": signature_header(connect.SECRET, raw, stamp)},
    )
    assert relayed_tampered.status_code == 403
    assert await stored(server) == (0, 0)

    ok = await post(raw, **{"X-Omniroute-Api-Key": connect.SECRET})
    assert ok.status_code == 200, ok.text
    assert ok.json()["new"] == 1
    replay = await post(raw, **{"X-Omniroute-Api-Key": connect.SECRET})
    assert replay.json()["new"] == 0
    relayed = await post(
        connect.body("connected_to_agent.json"),
        **{
            "X-Omniroute-Signature": signature_header(
                connect.SECRET, connect.body("connected_to_agent.json"), stamp
            )
        },
    )
    assert (relayed.status_code, relayed.json()["new"]) == (200, 1)
    assert await stored(server) == (2, 1)

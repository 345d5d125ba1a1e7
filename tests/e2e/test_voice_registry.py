"""The provider registry over HTTP: admins configure providers (secrets shown once, stored
sealed or hashed), agents read what the workspace needs and nothing secret."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from omniroute.voice.store import voice_providers
from tests.e2e.conftest import LiveServer
from tests.e2e.voice_support import SOFTPHONE, create_provider, link

Clients = dict[str, Any]
ADMIN = "/api/v1/admin/voice-providers"


async def test_providers_are_validated_and_their_secrets_never_read_back(
    server: LiveServer, clients: Clients
) -> None:
    ada, ana = await clients["agent"]("admin"), await clients["agent"]("ana")
    assert (await ana.post(ADMIN, name="x", kind="generic", softphone_url=SOFTPHONE)).status_code == 403

    refused = {
        "plain http elsewhere": {"softphone_url": "http://softphone.example.com/panel"},
        "unknown feature": {"features": ["fax"]},
        "presence without a URL": {"features": ["presence_sync"]},
        "unknown kind": {"kind": "asterisk"},
        "setting the kind does not take": {"settings": {"account_sid": "AC1"}},
        "origin with a path": {"trusted_origin": "https://softphone.example.com/panel"},
        "twilio without its auth token": {"kind": "twilio_voice"},
    }
    for why, change in refused.items():
        body = {"name": "P", "kind": "generic", "softphone_url": SOFTPHONE, **change}
        r = await ada.post(ADMIN, **body)
        assert r.status_code == 422, (why, r.text)

    made = await create_provider(ada, features=["screen_pop", "click_to_dial"], sort_order=5)
    assert made.api_token.startswith("omv_")
    assert made.secret.startswith("whsec_")
    assert made.body["trusted_origin"] == "https://softphone.example.com"
    assert made.body["webhook_url"] == f"{server.base_url}/webhooks/voice/{made.id}"
    listed = await ada.http.get(ADMIN)
    assert made.api_token not in listed.text
    assert made.secret not in listed.text
    async with server.container.db.read() as conn:
        row = (await conn.execute(sa.select(voice_providers))).one()._mapping
    assert made.secret not in row["webhook_secret"]  # sealed
    assert made.api_token not in row["api_token_hash"]  # hashed
    duplicate = await ada.post(ADMIN, name="Simulator", kind="generic", softphone_url=SOFTPHONE)
    assert duplicate.status_code == 409

    local = await create_provider(
        ada, name="Local CCaaS", softphone_url="http://127.0.0.1:8765/softphone", sort_order=1
    )
    assert local.body["trusted_origin"] == "http://127.0.0.1:8765"
    moved = await ada.http.patch(
        f"{ADMIN}/{made.id}",
        json={"softphone_url": "https://phone.example.org/app?x=1", "sort_order": 0},
        headers=ada.headers(),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["trusted_origin"] == "https://phone.example.org"

    await link(ada, made, ana.user_id, "agent-ana")
    ben = await clients["agent"]("ben")
    taken = await ada.http.put(
        f"{ADMIN}/{made.id}/agents/{ben.user_id}", json={"external_id": "agent-ana"}, headers=ada.headers()
    )
    assert taken.status_code == 409
    await ada.http.patch(f"{ADMIN}/{local.id}", json={"enabled": False}, headers=ada.headers())

    workspace = await ana.http.get("/api/v1/voice/providers")
    assert workspace.status_code == 200
    assert workspace.json() == [
        {
            "id": made.id,
            "name": "Simulator",
            "kind": "generic",
            "softphone_url": "https://phone.example.org/app?x=1",
            "trusted_origin": "https://phone.example.org",
            "features": ["click_to_dial", "screen_pop"],
            "sort_order": 0,
            "agent_id": "agent-ana",
            "custom_parameters": {},
        }
    ]


async def test_a_rotated_api_token_replaces_the_old_one(server: LiveServer, clients: Clients) -> None:
    ada, ana = await clients["agent"]("admin"), await clients["agent"]("ana")
    provider = await create_provider(ada)
    await link(ada, provider, ana.user_id, "agent-ana")
    path = f"/api/v1/voice/agents/{ana.user_id}/presence"

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    assert (
        await ana.http.put(path, json={"presence": "busy"}, headers=bearer(provider.api_token))
    ).status_code == 200
    rotated = await ada.post(f"{ADMIN}/{provider.id}/api-token")
    assert rotated.status_code == 200
    new = rotated.json()["api_token"]
    old = await ana.http.put(path, json={"presence": "away"}, headers=bearer(provider.api_token))
    assert old.status_code == 401
    assert (await ana.http.put(path, json={"presence": "away"}, headers=bearer(new))).json()[
        "presence"
    ] == "away"

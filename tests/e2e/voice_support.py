"""Helpers for the voice end-to-end tests: providers made through the admin API, vendor requests
signed with each adapter's real scheme, and a local HTTP double for presence webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request, Response

from omniroute.voice.adapters.generic import signing
from omniroute.voice.store import voice_call_events, voice_calls
from tests.e2e.conftest import Agent, LiveServer, free_port, serve

WAIT = 10.0  # a hang guard, not a performance assertion
SOFTPHONE = "https://softphone.example.com/panel"


@dataclass
class ProviderHandle:
    id: str
    webhook_url: str
    api_token: str
    secret: str
    body: dict[str, Any]


async def create_provider(ada: Agent, **fields: Any) -> ProviderHandle:
    body = {"name": "Simulator", "kind": "generic", "softphone_url": SOFTPHONE, **fields}
    r = await ada.post("/api/v1/admin/voice-providers", **body)
    assert r.status_code == 201, r.text
    made = r.json()
    return ProviderHandle(
        made["id"],
        made["webhook_url"],
        made["api_token"],
        fields.get("webhook_secret") or made["webhook_secret"],
        made,
    )


async def link(ada: Agent, provider: ProviderHandle, user_id: str, external_id: str) -> None:
    r = await ada.http.put(
        f"/api/v1/admin/voice-providers/{provider.id}/agents/{user_id}",
        json={"external_id": external_id},
        headers=ada.headers(),
    )
    assert r.status_code == 200, r.text


def generic_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-omniroute-signature": signing.signature_header(secret, body, timestamp),
    }


async def post_generic(
    server: LiveServer, provider: ProviderHandle, document: Any, *, secret: str | None = None, skew: int = 0
) -> httpx.Response:
    body = json.dumps(document).encode()
    stamp = int(server.clock.now().timestamp()) + skew
    async with httpx.AsyncClient() as http:
        return await http.post(
            provider.webhook_url,
            content=body,
            headers=generic_headers(secret or provider.secret, body, stamp),
        )


async def stored(server: LiveServer) -> tuple[int, int]:
    """(call events, calls) in the store."""
    async with server.container.db.read() as conn:
        events = (await conn.execute(sa.select(sa.func.count()).select_from(voice_call_events))).scalar_one()
        calls = (await conn.execute(sa.select(sa.func.count()).select_from(voice_calls))).scalar_one()
    return int(events), int(calls)


async def eventually(check: Any) -> None:
    """Wait (with a hang guard) until ``check()`` is true."""
    async with asyncio.timeout(WAIT):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


@dataclass
class PresenceDouble:
    """A provider's presence endpoint on 127.0.0.1: records each request and answers with the
    statuses it is given (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/presence")
        async def presence(request: Request) -> Response:
            self.received.append(({k.lower(): v for k, v in request.headers.items()}, await request.body()))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return app

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PresenceDouble]:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/presence"
        async with serve(self.app(), port):
            yield self

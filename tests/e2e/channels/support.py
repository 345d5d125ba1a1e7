"""Helpers shared by the channel end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from omniroute.web.container import Container
from tests.e2e.conftest import Agent, Socket, free_port, serve

T = TypeVar("T")


async def send_agent_file(
    agent: Agent,
    agent_ws: Socket,
    conversation_id: str,
    text: str,
    file: tuple[str, bytes, str],
) -> str:
    """The agent uploads ``file`` (name, bytes, content type) and sends it with ``text``; returns
    the attachment's id once the message's delivery is ``sent`` (the adapter accepted it)."""
    up = await agent.http.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": file},
        headers=agent.headers(),
    )
    assert up.status_code == 201, up.text
    attachment_id: str = up.json()["id"]
    r = await agent.post(
        f"/api/v1/conversations/{conversation_id}/messages", text=text, attachment_ids=[attachment_id]
    )
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    return attachment_id


async def put_demo_bot_on(container: Container, channel: str) -> None:
    """The demo bank's bot (lexical embedder: it trains in milliseconds) answering ``channel``
    first, so a customer's "I lost my card" gets its question with two quick replies."""
    await container.bots.admin.install_demo(embedder="lexical")
    await container.routing_configs.save(
        {"workstreams": [{"id": channel, "name": channel, "channels": [channel], "bot": "banking"}]},
        comment=f"the demo bot answers {channel} first",
        user_id=None,
    )


async def eventually(found: Callable[[], T | None], guard: float = 60.0) -> T:
    """Wait (with a generous hang guard: a loaded CI machine is slow) until ``found()`` returns
    something: what a double received from the channel worker, which runs in the server's task."""
    async with asyncio.timeout(guard):
        while True:
            value = found()
            if value is not None:
                return value
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """``app`` (a provider's double) served on a free loopback port; yields its base URL."""
    port = free_port()
    async with serve(app, port):
        yield f"http://127.0.0.1:{port}"

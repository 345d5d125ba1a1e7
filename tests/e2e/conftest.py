"""A live Omniroute on 127.0.0.1 (real HTTP and WebSockets), in the test's own event loop.

Time is a ManualClock, so offer timeouts are driven by the test, never waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from omniroute.bootstrap import create_app
from omniroute.core.clock import ManualClock
from omniroute.core.migrations import upgrade
from omniroute.demo import DEMO_PASSWORD, load_demo
from omniroute.routing.commands import routing_commands
from omniroute.settings import Settings
from omniroute.web.container import Container

FRAME_WAIT = 10.0  # a hang guard, not a performance assertion


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    clock: ManualClock
    container: Container
    widget_key: str

    @property
    def origin(self) -> str:
        return self.base_url


@contextlib.asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[None]:
    """Serve ``app`` on 127.0.0.1:``port`` in this event loop until the block ends."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio", lifespan="on"
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        uv.should_exit = True
        await task


def node_settings(data_dir: Path, port: int, **overrides: Any) -> Settings:
    return Settings(
        environment="test",
        data_dir=data_dir,
        port=port,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        offer_timeout_seconds=60,
        **overrides,
    )


@contextlib.asynccontextmanager
async def demo_server(
    tmp_path: Path,
    prepare: Callable[[Container], Awaitable[None]] | None = None,
    mount: Callable[[FastAPI], None] | None = None,
) -> AsyncIterator[LiveServer]:
    """The whole app served on a free port over a fresh database with the demo data, then whatever
    ``prepare`` adds and ``mount`` serves besides (as ``omniroute demo`` mounts the doubles), until
    the block ends."""
    port = free_port()
    settings = node_settings(tmp_path, port)
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    container: Container = app.state.container
    base = f"http://127.0.0.1:{port}"
    await load_demo(container, [base])
    if prepare is not None:
        await prepare(container)
    if mount is not None:
        mount(app)
    widget = (await container.webchat.list_widgets())[0]
    async with serve(app, port):
        yield LiveServer(base, f"ws://127.0.0.1:{port}", clock, container, widget.public_key)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with demo_server(tmp_path) as live:
        yield live


async def routing_settled(node: LiveServer) -> None:
    """Wait (with a hang guard) until the leader has applied every routing command."""
    async with asyncio.timeout(10):
        while True:
            async with node.container.db.read() as conn:
                pending = (
                    await conn.execute(
                        sa.select(sa.func.count())
                        .select_from(routing_commands)
                        .where(routing_commands.c.status == "pending")
                    )
                ).scalar_one()
            if pending == 0:
                return
            await asyncio.sleep(0.05)


class Socket:
    """A WebSocket client that keeps every frame, so tests wait for what they expect."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._cursor = 0

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, kind: str | None = None, **match: Any) -> dict[str, Any]:
        """The next frame (after the last one returned) of ``kind`` matching ``match``."""

        async def find() -> dict[str, Any]:
            while True:
                while self._cursor < len(self.frames):
                    frame = self.frames[self._cursor]
                    self._cursor += 1
                    if (kind is None or frame.get("type") == kind) and all(
                        frame.get(k) == v for k, v in match.items()
                    ):
                        return frame
                self.frames.append(json.loads(await self.ws.recv()))

        return await asyncio.wait_for(find(), FRAME_WAIT)

    async def messages_until(self, conversation_id: str, seq: int) -> list[dict[str, Any]]:
        """Every message frame of a conversation up to and including ``seq``."""
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["seq"] < seq:
            seen.append(await self.next("message.posted", conversation_id=conversation_id))
        return seen

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Agent:
    server: LiveServer
    email: str
    http: httpx.AsyncClient
    csrf: str = ""
    user_id: str = ""
    sockets: list[Socket] = field(default_factory=list)

    async def sign_in(self) -> Agent:
        page = await self.http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "login form has a CSRF field"
        done = await self.http.post(
            "/login",
            data={"email": self.email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        )
        assert done.status_code == 303, done.text
        session = (await self.http.get("/api/v1/session")).json()
        self.csrf, self.user_id = session["csrf_token"], session["user_id"]
        return self

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    async def presence(self, value: str) -> None:
        r = await self.http.put("/api/v1/me/presence", json={"presence": value}, headers=self.headers())
        assert r.status_code == 200, r.text

    async def connect(
        self, cursors: dict[str, int] | None = None, follow: dict[str, list[str]] | None = None
    ) -> tuple[Socket, dict[str, Any]]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        ws = await connect(
            f"{self.server.ws_url}/ws/agent",
            additional_headers={"Cookie": cookie, "Origin": self.server.origin},
        )
        sock = Socket(ws)
        self.sockets.append(sock)
        hello: dict[str, Any] = {"type": "hello", "cursors": cursors or {}}
        if follow is not None:
            hello["follow"] = follow
        await sock.send(hello)
        return sock, await sock.next("snapshot")

    async def post(self, path: str, **body: Any) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers())


@dataclass
class Customer:
    server: LiveServer
    http: httpx.AsyncClient
    token: str = ""
    conversation_id: str = ""
    sockets: list[Socket] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"/api/webchat/v1/widgets/{self.server.widget_key}"

    def headers(self) -> dict[str, str]:
        return {"Origin": self.server.origin, "Authorization": f"Bearer {self.token}"}

    async def start(
        self,
        name: str = "Lee",
        question: str = "Where is my order?",
        queue: str | None = None,
        visitor_id: str | None = None,
    ) -> Customer:
        body = {"name": name, "email": "lee@example.com", "question": question, "queue": queue}
        if visitor_id is not None:
            body["visitor_id"] = visitor_id
        r = await self.http.post(
            f"{self.prefix}/conversations", json=body, headers={"Origin": self.server.origin}
        )
        assert r.status_code == 201, r.text
        self.token, self.conversation_id = r.json()["token"], r.json()["conversation"]["id"]
        return self

    async def say(self, text: str, key: str | None = None) -> httpx.Response:
        return await self.http.post(
            f"{self.prefix}/conversation/messages",
            json={"text": text, "client_message_id": key},
            headers=self.headers(),
        )

    async def connect(self, last_seq: int = 0) -> tuple[Socket, dict[str, Any]]:
        ws = await connect(
            f"{self.server.ws_url}/ws/webchat/{self.server.widget_key}",
            additional_headers={"Origin": self.server.origin},
        )
        sock = Socket(ws)
        self.sockets.append(sock)
        await sock.send({"type": "hello", "token": self.token, "last_seq": last_seq})
        return sock, await sock.next("snapshot")


@pytest.fixture
async def clients(server: LiveServer) -> AsyncIterator[dict[str, Any]]:
    opened: list[httpx.AsyncClient] = []
    people: list[Agent | Customer] = []

    def client() -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=server.base_url)
        opened.append(c)
        return c

    async def agent(name: str) -> Agent:
        person = await Agent(server, f"{name}@demo.omniroute.dev", client()).sign_in()
        people.append(person)
        return person

    def customer() -> Customer:
        person = Customer(server, client())
        people.append(person)
        return person

    made: dict[str, Any] = {"agent": agent, "customer": customer}
    try:
        yield made
    finally:
        for person in people:
            for sock in person.sockets:
                await sock.close()
        for c in opened:
            await c.aclose()

"""Customer→agent message latency over real WebSockets, next to bare baselines on the same stack.

One run, all on 127.0.0.1:

1. Seed a throwaway SQLite database: one queue, ``--agents`` agents (API tokens), one widget.
2. Serve ``create_app(settings)`` with uvicorn in a child process, configured like
   ``omniroute run`` (uvicorn's defaults, so uvloop/httptools when installed). The same app also
   carries two bare routes under ``/__bench/``, so the baselines go through the same uvicorn,
   FastAPI router and WebSocket implementation as Omniroute's own endpoints.
3. Measure three scenarios with ``--customers`` concurrent clients, each sending ``--warmup`` unmeasured
   then ``--messages`` measured messages, one in flight per client (send, wait until it arrives):

   * ``echo``: the client sends a text frame on a WebSocket, the server echoes it back.
   * ``relay``: the client POSTs the text over HTTP, the server pushes it down the client's
     WebSocket (what a customer→agent message costs without Omniroute's work: no store, no bus).
   * ``omniroute``: customers start chats through the widget API and agents accept the offers on
     ``/ws/agent``; then each customer POSTs its messages and the latency is the time until the
     assigned agent's socket receives the ``message.posted`` frame.

Send and receive times are both ``time.perf_counter_ns()`` in this (client) process; the send
time also travels inside the message text, and every message is checked to arrive exactly once,
at the right agent, in the right conversation.

Prints exactly one JSON line on stdout (see bench/README.md); logs go to stderr. Exits 0 when
every message arrived exactly once, 1 when some were lost, duplicated, misrouted or refused,
2 when the run failed or exceeded ``--timeout``, 130 when interrupted (SIGINT or SIGTERM); the
server process and the temporary database are cleaned up in every case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Origin

from omniroute.bootstrap import build_container, create_app
from omniroute.core.ids import new_id
from omniroute.core.migrations import upgrade
from omniroute.identity.model import Role, Scope
from omniroute.routing import store as routing_store
from omniroute.routing.store import Queue
from omniroute.settings import Settings

log = logging.getLogger("bench.message_latency")

SCRIPT = str(Path(__file__).resolve())  # the server child process runs this file with --serve

ORIGIN = "http://bench.localhost"  # the widget's allowed origin; only ever sent as a header
MARKER = "bench:"
STARTUP_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
HTTP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
DRAIN_SECONDS = 0.5  # after the last message: time for late arrivals and duplicates to show up
TOKEN_SCOPES = frozenset({Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE, Scope.PRESENCE_WRITE})

Key = tuple[str, int, int]  # (phase, client, n): phase "w" is warm-up, "m" is measured


class BenchError(Exception):
    """The benchmark could not run to the end; the message says where it stopped."""


# -- the server (child process) ----------------------------------------------------------------


class RelayIn(BaseModel):
    text: str


def add_baseline_routes(app: FastAPI) -> None:
    """Bare echo and relay endpoints on the application under test (same router, same server)."""
    router = APIRouter(prefix="/__bench", include_in_schema=False)
    relays: dict[str, WebSocket] = {}

    @router.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await ws.send_text(await ws.receive_text())

    @router.websocket("/relay/{client_id}")
    async def relay_socket(ws: WebSocket, client_id: str) -> None:
        await ws.accept()
        relays[client_id] = ws
        try:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await ws.receive_text()
        finally:
            relays.pop(client_id, None)

    @router.post("/relay/{client_id}", status_code=201)
    async def relay_post(client_id: str, body: RelayIn) -> dict[str, bool]:
        ws = relays.get(client_id)
        try:
            if ws is None:
                raise WebSocketDisconnect
            await ws.send_text(body.text)
        except WebSocketDisconnect:  # the client has gone (an interrupted run)
            raise HTTPException(404, "no such relay socket") from None
        return {"ok": True}

    app.include_router(router)


def serve(config_json: str) -> int:
    """Child process: serve until stdin closes (the parent is done or gone) or the deadline."""
    config = json.loads(config_json)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    settings = Settings(**{**config["settings"], "port": port})
    app = create_app(settings)
    add_baseline_routes(app)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            proxy_headers=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )

    def stop() -> None:
        server.should_exit = True

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or exited
        stop()

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            print(json.dumps({"port": port}), flush=True)

    deadline = threading.Timer(float(config["deadline"]), stop)
    for thread in (threading.Thread(target=watch_parent), threading.Thread(target=announce), deadline):
        thread.daemon = True  # never keeps the process alive
        thread.start()
    server.run(sockets=[sock])
    deadline.cancel()
    return 0 if server.started else 2


class ServerProcess:
    """The child process serving Omniroute; stopped (and killed if need be) on exit."""

    def __init__(self, settings: Settings, deadline: float) -> None:
        self.config = json.dumps({"settings": settings.model_dump(mode="json"), "deadline": deadline})
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def __aenter__(self) -> ServerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            SCRIPT,
            "--serve",
            self.config,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), STARTUP_TIMEOUT)
        except TimeoutError:
            line = b""
        if not line:
            await self.stop()
            msg = "the server did not start (its log is above)"
            raise BenchError(msg)
        self.port = int(json.loads(line)["port"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            log.warning("the server did not stop within %.0fs; killing it", STOP_TIMEOUT)
            proc.kill()
            await proc.wait()


# -- seeding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    widget_key: str
    agent_tokens: list[str]


async def seed(settings: Settings, agents: int) -> Seeded:
    c = build_container(settings)
    try:
        queue = Queue(id=new_id(), name="Bench", description="Benchmark chats", is_default=True)
        async with c.db.write() as conn:
            await routing_store.insert_queue(conn, queue, c.clock.now())
        tokens = []
        for i in range(agents):
            user = await c.identity.create_user(
                f"agent{i}@bench.localhost", f"Agent {i}", Role.AGENT, "bench-password"
            )
            async with c.db.write() as conn:
                await routing_store.add_member(conn, queue.id, user.id)
            tokens.append(await c.identity.create_api_token(user.id, "bench", TOKEN_SCOPES))
        widget = await c.webchat.create_widget("Bench", [ORIGIN], queue.id)
        return Seeded(widget.public_key, tokens)
    finally:
        await c.db.dispose()


# -- measurement -------------------------------------------------------------------------------


def make_text(key: Key, sent_ns: int) -> str:
    phase, client, n = key
    return f"{MARKER}{phase}:{client}:{n}:{sent_ns}"


def parse_text(text: str) -> tuple[Key, int] | None:
    if not text.startswith(MARKER):
        return None
    parts = text.removeprefix(MARKER).split(":")
    if len(parts) != 4:
        return None
    try:
        return (parts[0], int(parts[1]), int(parts[2])), int(parts[3])
    except ValueError:
        return None


@dataclass
class Tracker:
    """Which messages were sent, which arrived (once), and how long each took."""

    expected: dict[Key, asyncio.Future[None]] = field(default_factory=dict)
    latency_ns: dict[Key, int] = field(default_factory=dict)
    duplicated: int = 0
    unexpected: int = 0
    failed_sends: int = 0

    def expect(self, key: Key) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.expected[key] = waiter
        return waiter

    def withdraw(self, key: Key) -> None:
        """The send itself was refused: nothing is owed for it."""
        self.expected.pop(key, None)
        self.failed_sends += 1

    def arrived(self, text: str, received_ns: int) -> Key | None:
        parsed = parse_text(text)
        if parsed is None:
            self.unexpected += 1
            return None
        key, sent_ns = parsed
        if key in self.latency_ns:
            self.duplicated += 1
            return key
        waiter = self.expected.get(key)
        if waiter is None:
            self.unexpected += 1
            return None
        self.latency_ns[key] = received_ns - sent_ns
        if not waiter.done():
            waiter.set_result(None)
        return key

    @property
    def lost(self) -> int:
        return sum(1 for key in self.expected if key not in self.latency_ns)

    def summary(self) -> str:
        return (
            f"{len(self.expected)} sent, {self.lost} lost, {self.duplicated} duplicated, "
            f"{self.unexpected} unexpected, {self.failed_sends} refused"
        )

    def measured_ms(self) -> list[float]:
        return sorted(ns / 1e6 for (phase, _, _), ns in self.latency_ns.items() if phase == "m")


@dataclass(frozen=True)
class Phase:
    clients: int
    warmup: int
    messages: int
    message_timeout: float


@dataclass(frozen=True)
class Outcome:
    latencies_ms: list[float]  # measured messages: send → arrival, ascending
    send_ms: list[float]  # measured messages: how long the send call took (the POST's round trip)
    elapsed_s: float  # the measured phase, first send to last arrival
    tracker: Tracker

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float | None:
        return percentile(self.latencies_ms, 0.99)

    @property
    def msgs_per_s(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s > 0 else 0.0


Send = Callable[[int, Key, str], Awaitable[bool]]
"""Send one message for client ``i``; False if the server refused it."""


async def drive(phase: Phase, tracker: Tracker, send: Send) -> Outcome:
    """Every client sends its warm-up, then (all together) its measured messages, one at a time."""
    barrier = asyncio.Barrier(phase.clients + 1)
    send_ms: list[float] = []

    async def one(client: int, stage: str, n: int) -> None:
        key = (stage, client, n)
        waiter = tracker.expect(key)
        sent_ns = time.perf_counter_ns()
        if not await send(client, key, make_text(key, sent_ns)):
            tracker.withdraw(key)
            return
        if stage == "m":
            send_ms.append((time.perf_counter_ns() - sent_ns) / 1e6)
        # asyncio.wait, not wait_for: it never swallows a cancellation that races the result.
        done, _ = await asyncio.wait({waiter}, timeout=phase.message_timeout)
        if not done:
            log.warning("message %s has not arrived after %.1fs", key, phase.message_timeout)

    async def client(i: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        for stage, count in (("w", phase.warmup), ("m", phase.messages)):
            if stage == "m":
                await barrier.wait()
            for n in range(count):
                if task.cancelling():  # a cancellation some library swallowed: stop anyway
                    raise asyncio.CancelledError
                await one(i, stage, n)

    async with asyncio.TaskGroup() as tg:
        for i in range(phase.clients):
            tg.create_task(client(i))
        await barrier.wait()
        started = time.perf_counter()
    elapsed = time.perf_counter() - started
    await asyncio.sleep(DRAIN_SECONDS)
    return Outcome(tracker.measured_ms(), sorted(send_ms), elapsed, tracker)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


async def ws_connect(url: str, **kwargs: Any) -> ClientConnection:
    # proxy=None: never route through a proxy from the environment; this is loopback only.
    return await connect(url, proxy=None, open_timeout=CONNECT_TIMEOUT, **kwargs)


async def read_texts(ws: ClientConnection, on_text: Callable[[str, int], object]) -> None:
    """Hand every text frame to ``on_text`` with its arrival time, until the socket closes."""
    try:
        async for raw in ws:
            received_ns = time.perf_counter_ns()
            on_text(raw if isinstance(raw, str) else raw.decode(), received_ns)
    except ConnectionClosed:
        return
    except Exception:
        log.exception("a client socket reader failed; its messages will count as lost")


@contextlib.asynccontextmanager
async def background(coros: Sequence[Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run reader tasks for the duration of a block; cancel them after."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def http_clients(base: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One HTTP client (so one keep-alive connection) per simulated person, like a browser each.

    Not one shared client: httpx's connection pool itself slows down past ~10 concurrent requests,
    which would put the client's bottleneck into the figures.
    """
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            client = httpx.AsyncClient(
                base_url=base,
                trust_env=False,  # no proxies from the environment: loopback only
                timeout=HTTP_TIMEOUT,
            )
            clients.append(await stack.enter_async_context(client))
        yield clients


async def close_all(sockets: Sequence[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# -- baselines -----------------------------------------------------------------------------------


async def run_echo(ws_base: str, phase: Phase) -> Outcome:
    tracker = Tracker()
    sockets = await asyncio.gather(*(ws_connect(f"{ws_base}/__bench/echo") for _ in range(phase.clients)))
    try:
        async with background([read_texts(ws, tracker.arrived) for ws in sockets]):

            async def send(i: int, key: Key, text: str) -> bool:
                await sockets[i].send(text)
                return True

            return await drive(phase, tracker, send)
    finally:
        await close_all(sockets)


async def run_relay(base: str, ws_base: str, phase: Phase) -> Outcome:
    tracker = Tracker()
    sockets = await asyncio.gather(
        *(ws_connect(f"{ws_base}/__bench/relay/{i}") for i in range(phase.clients))
    )
    try:
        async with (
            http_clients(base, phase.clients) as https,
            background([read_texts(ws, tracker.arrived) for ws in sockets]),
        ):
            await asyncio.sleep(0.05)  # let the server register every socket before the first POST

            async def send(i: int, key: Key, text: str) -> bool:
                try:
                    r = await https[i].post(f"/__bench/relay/{i}", json={"text": text})
                except httpx.HTTPError as exc:
                    log.warning("relay %d: %r", i, exc)
                    return False
                return r.status_code == 201

            return await drive(phase, tracker, send)
    finally:
        await close_all(sockets)


# -- Omniroute ---------------------------------------------------------------------------------


@dataclass
class Routing:
    """What the agents' sockets saw of routing, to check that each message went the right way."""

    assigned: dict[str, int] = field(default_factory=dict)  # conversation id -> agent index
    conversation_of: dict[int, str] = field(default_factory=dict)  # customer -> conversation id
    misrouted: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)
        log.warning("%s", text)


class Agent:
    """An agent's desktop: the agent socket, and REST calls with an API token."""

    def __init__(
        self, index: int, token: str, http: httpx.AsyncClient, routing: Routing, tracker: Tracker
    ) -> None:
        self.index = index
        self.auth = {"Authorization": f"Bearer {token}"}
        self.http = http
        self.routing = routing
        self.tracker = tracker
        self.ws: ClientConnection | None = None
        self.accepts: set[asyncio.Task[None]] = set()

    async def sign_on(self, ws_base: str) -> None:
        self.ws = await ws_connect(f"{ws_base}/ws/agent", additional_headers=self.auth)
        await self.ws.send(json.dumps({"type": "hello", "cursors": {}}))
        snapshot = json.loads(await asyncio.wait_for(self.ws.recv(), CONNECT_TIMEOUT))
        if snapshot.get("type") != "snapshot":
            msg = f"agent {self.index}: expected a snapshot after hello, got {snapshot}"
            raise BenchError(msg)

    async def go_available(self) -> None:
        r = await self.http.put("/api/v1/me/presence", json={"presence": "available"}, headers=self.auth)
        if r.status_code != 200:
            msg = f"agent {self.index}: PUT /api/v1/me/presence -> {r.status_code} {r.text}"
            raise BenchError(msg)

    async def read(self) -> None:
        assert self.ws is not None
        await read_texts(self.ws, self.on_frame)

    def on_frame(self, raw: str, received_ns: int) -> None:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "message.posted":
            message = frame["message"]
            if message["sender_kind"] != "customer" or not message["text"].startswith(MARKER):
                return  # the pre-chat question, "… joined the conversation"
            key = self.tracker.arrived(message["text"], received_ns)
            conversation_id = frame["conversation_id"]
            if key is not None and (
                self.routing.conversation_of.get(key[1]) != conversation_id
                or self.routing.assigned.get(conversation_id) != self.index
            ):
                self.routing.misrouted += 1
        elif kind == "offer.created":
            task = asyncio.create_task(self.accept(frame["session_id"]))
            self.accepts.add(task)
            task.add_done_callback(self.accepts.discard)
        elif kind == "conversation.assigned":
            self.routing.assigned[frame["conversation_id"]] = self.index
        elif kind in {"resync", "error"}:
            self.routing.problem(f"agent {self.index} got {raw}")

    async def accept(self, session_id: str) -> None:
        try:
            r = await self.http.post(f"/api/v1/offers/{session_id}/accept", headers=self.auth)
        except httpx.HTTPError as exc:
            self.routing.problem(f"agent {self.index}: accept {session_id}: {exc!r}")
            return
        if r.status_code != 200:
            self.routing.problem(f"agent {self.index}: accept {session_id} -> {r.status_code} {r.text}")


class Customer:
    """A web chat visitor: the widget's REST calls and its socket, from an allowed origin."""

    def __init__(self, index: int, widget_key: str, http: httpx.AsyncClient) -> None:
        self.index = index
        self.widget_key = widget_key
        self.prefix = f"/api/webchat/v1/widgets/{widget_key}"
        self.http = http
        self.headers = {"Origin": ORIGIN}
        self.conversation_id = ""
        self.state = ""
        self.ws: ClientConnection | None = None

    async def start_chat(self, ws_base: str) -> None:
        r = await self.http.post(
            f"{self.prefix}/conversations",
            json={
                "name": f"Customer {self.index}",
                "email": f"customer{self.index}@bench.localhost",
                "question": f"Benchmark chat {self.index}",
            },
            headers=self.headers,
        )
        if r.status_code != 201:
            msg = f"customer {self.index}: start chat -> {r.status_code} {r.text}"
            raise BenchError(msg)
        body = r.json()
        token = body["token"]
        self.conversation_id = body["conversation"]["id"]
        self.headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
        self.ws = await ws_connect(f"{ws_base}/ws/webchat/{self.widget_key}", origin=Origin(ORIGIN))
        await self.ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))

    async def read(self) -> None:
        assert self.ws is not None
        await read_texts(self.ws, self.on_frame)

    def on_frame(self, raw: str, received_ns: int) -> None:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "snapshot":
            self.state = frame["conversation"]["state"]
        elif kind == "conversation.state_changed":
            self.state = frame["state"]
        elif kind in {"resync", "error"}:
            log.warning("customer %d got %s", self.index, raw)

    async def post(self, key: Key, text: str) -> bool:
        phase, client, n = key
        try:
            r = await self.http.post(
                f"{self.prefix}/conversation/messages",
                json={"text": text, "client_message_id": f"{phase}-{client}-{n}"},
                headers=self.headers,
            )
        except httpx.HTTPError as exc:
            log.warning("customer %d: post %s: %r", self.index, key, exc)
            return False
        if r.status_code != 201:
            log.warning("customer %d: post %s -> %s %s", self.index, key, r.status_code, r.text)
            return False
        return True


async def wait_assigned(customers: Sequence[Customer], routing: Routing, seconds: float) -> None:
    """Until every chat is active for its customer and tracked by its agent's socket."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(c.state == "active" and c.conversation_id in routing.assigned for c in customers):
            return
        await asyncio.sleep(0.01)
    inactive = [c.index for c in customers if c.state != "active"]
    untracked = [c.index for c in customers if c.conversation_id not in routing.assigned]
    msg = (
        f"chats not assigned within {seconds:.0f}s: customers whose socket never saw 'active': "
        f"{inactive}; customers whose chat no agent socket saw conversation.assigned for: "
        f"{untracked}; first problems: {routing.problems[:5]}"
    )
    raise BenchError(msg)


async def run_omniroute(
    base: str, ws_base: str, seeded: Seeded, phase: Phase, setup_timeout: float
) -> tuple[Outcome, Routing]:
    async with http_clients(base, len(seeded.agent_tokens) + phase.clients) as https:
        return await omniroute_chats(https, ws_base, seeded, phase, setup_timeout)


async def omniroute_chats(
    https: list[httpx.AsyncClient], ws_base: str, seeded: Seeded, phase: Phase, setup_timeout: float
) -> tuple[Outcome, Routing]:
    tracker, routing = Tracker(), Routing()
    tokens = seeded.agent_tokens
    agents = [Agent(i, t, https[i], routing, tracker) for i, t in enumerate(tokens)]
    customers = [Customer(i, seeded.widget_key, https[len(tokens) + i]) for i in range(phase.clients)]
    try:
        await asyncio.gather(*(a.sign_on(ws_base) for a in agents))
        async with background([a.read() for a in agents]):
            await asyncio.gather(*(a.go_available() for a in agents))
            await asyncio.gather(*(c.start_chat(ws_base) for c in customers))
            routing.conversation_of.update({c.index: c.conversation_id for c in customers})
            async with background([c.read() for c in customers]):
                await wait_assigned(customers, routing, setup_timeout)
                log.info("all %d chats assigned; measuring", len(customers))

                async def send(i: int, key: Key, text: str) -> bool:
                    return await customers[i].post(key, text)

                return await drive(phase, tracker, send), routing
    finally:
        sockets = [a.ws for a in agents] + [c.ws for c in customers]
        await close_all([ws for ws in sockets if ws is not None])


# -- the run -------------------------------------------------------------------------------------


def make_settings(data_dir: Path, args: argparse.Namespace) -> Settings:
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url="",  # SQLite in data_dir, whatever OMNIROUTE_DATABASE_URL says
        redis_url="",  # the in-process bus
        port=0,  # the server process binds a free port itself
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
        default_chat_capacity=max(3, math.ceil(args.customers / args.agents)),
        offer_timeout_seconds=max(60.0, args.timeout),  # no offer may time out mid-run
    )


def ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(a / b, 2)


async def measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    seeded = await seed(settings, args.agents)
    phase = Phase(args.customers, args.warmup, args.messages, args.message_timeout)
    async with ServerProcess(settings, deadline=args.timeout + STOP_TIMEOUT) as server:
        log.info("server on 127.0.0.1:%d", server.port)
        base, ws_base = f"http://127.0.0.1:{server.port}", f"ws://127.0.0.1:{server.port}"
        echo = await run_echo(ws_base, phase)
        log.info("echo: p50 %s ms, p99 %s ms", ms(echo.p50), ms(echo.p99))
        relay = await run_relay(base, ws_base, phase)
        log.info("relay: p50 %s ms, p99 %s ms", ms(relay.p50), ms(relay.p99))
        omni, routing = await run_omniroute(base, ws_base, seeded, phase, args.timeout / 2)
        log.info("omniroute: p50 %s ms, p99 %s ms", ms(omni.p50), ms(omni.p99))
    for name, baseline in (("echo", echo), ("relay", relay)):
        t = baseline.tracker
        if t.lost or t.duplicated or t.unexpected or t.failed_sends:
            msg = f"the {name} baseline itself misbehaved: {t.summary()}"
            raise BenchError(msg)
    t = omni.tracker
    return {
        "bench": "message_latency",
        "customers": args.customers,
        "agents": args.agents,
        "messages": args.customers * args.messages,
        "messages_per_customer": args.messages,
        "p50_ms": ms(omni.p50),
        "p99_ms": ms(omni.p99),
        "msgs_per_s": round(omni.msgs_per_s, 1),
        "post_p50_ms": ms(percentile(omni.send_ms, 0.50)),
        "post_p99_ms": ms(percentile(omni.send_ms, 0.99)),
        "echo_p50_ms": ms(echo.p50),
        "echo_p99_ms": ms(echo.p99),
        "echo_msgs_per_s": round(echo.msgs_per_s, 1),
        "relay_p50_ms": ms(relay.p50),
        "relay_p99_ms": ms(relay.p99),
        "relay_msgs_per_s": round(relay.msgs_per_s, 1),
        "ratio_p50": ratio(omni.p50, echo.p50),
        "ratio_p99": ratio(omni.p99, echo.p99),
        "lost": t.lost,
        "duplicated": t.duplicated,
        "misrouted": routing.misrouted,
        "failed_sends": t.failed_sends,
        "unexpected": t.unexpected,
    }


async def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The whole measurement under one deadline (the server is stopped either way)."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # clean up, then exit
    try:
        async with asyncio.timeout(args.timeout) as deadline:
            return await measure(settings, args)
    except TimeoutError as exc:
        if deadline.expired():
            msg = f"did not finish within --timeout {args.timeout:.0f}s"
            raise BenchError(msg) from None
        msg = f"timed out: {exc!r}"
        raise BenchError(msg) from exc
    except (OSError, WebSocketException, httpx.HTTPError) as exc:
        msg = f"{type(exc).__name__}: {exc}"
        raise BenchError(msg) from exc


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop uvicorn picks for the server (uvloop when installed), for the clients too."""
    return uvicorn.Config(app="unused:app").get_loop_factory()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Customer->agent message latency over WebSockets, next to a bare echo."
    )
    p.add_argument("--customers", type=int, default=20, help="concurrent customers (default 20)")
    p.add_argument("--agents", type=int, default=5, help="agents sharing them (default 5)")
    p.add_argument("--messages", type=int, default=20, help="measured messages per customer (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured messages per customer first (default 2)")
    p.add_argument(
        "--timeout", type=float, default=120.0, help="give up after this many seconds (default 120)"
    )
    p.add_argument(
        "--message-timeout",
        type=float,
        default=10.0,
        help="stop waiting for one message after this many seconds (default 10)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    p.add_argument("--serve", help=argparse.SUPPRESS)  # internal: the server child process
    args = p.parse_args(argv)
    for name in ("customers", "agents", "messages"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.timeout <= 0 or args.message_timeout <= 0:
        p.error("--warmup must be >= 0, --timeout and --message-timeout > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    if args.serve:
        return serve(args.serve)

    with tempfile.TemporaryDirectory(prefix="omniroute-bench-") as tmp:
        settings = make_settings(Path(tmp), args)
        upgrade(settings.effective_database_url)  # runs its own event loop, so before ours
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                result = runner.run(run(settings, args))
        except BenchError as exc:
            log.error("message_latency: %s", exc, exc_info=args.verbose)
            return 2
        except (KeyboardInterrupt, asyncio.CancelledError):
            log.error("message_latency: interrupted")
            return 130
    print(json.dumps(result), flush=True)
    faults = ("lost", "duplicated", "misrouted", "failed_sends", "unexpected")
    return 1 if any(result[k] for k in faults) else 0


if __name__ == "__main__":
    sys.exit(main())

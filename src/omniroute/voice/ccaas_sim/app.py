"""The reference CCaaS as a small FastAPI app of its own (``omniroute ccaas-sim``).

Pages: ``/`` the console (place a test call from any number, press DTMF keys for the caller, the
voice queues, the agents' call states, what was reported to Omniroute) and ``/softphone`` (the
agent's softphone, loaded by the Omniroute workspace in its voice panel; it talks to the workspace
with ``omniroute-cif.js``). JSON under ``/api``. State lives in memory; every change is reported to
Omniroute as signed generic call events. It binds to loopback by default and is meant for demos,
development and tests: its agent endpoints trust the agent id the softphone sends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omniroute.core.clock import Clock, SystemClock
from omniroute.core.errors import DomainError, InvalidInput
from omniroute.core.ids import new_id
from omniroute.voice.adapters.generic import signing
from omniroute.voice.adapters.port import json_document
from omniroute.voice.ccaas_sim.ivr import IvrScript
from omniroute.voice.ccaas_sim.reporter import Reporter
from omniroute.voice.ccaas_sim.switchboard import AgentStatus, Switchboard

HERE = Path(__file__).parent
IDLE_WAKE = timedelta(hours=1)  # with no ring pending, the timer task still wakes now and then
DISPOSITIONS = {
    "resolved": "Resolved",
    "follow_up": "Follow-up needed",
    "escalated": "Escalated",
    "wrong_number": "Wrong number",
}


@dataclass(frozen=True)
class SimConfig:
    omniroute_url: str  # where the workspace (and its SDK) is served, e.g. http://127.0.0.1:8000
    provider_id: str  # the provider configured in Omniroute for this simulator
    secret: str  # that provider's webhook secret
    number: str = "+15550100000"  # the contact centre's phone number
    ring_seconds: float = 20
    #: The provider's API token: with it, Omniroute routes the calls (the provider needs the
    #: ``routes_calls`` feature); without it the switchboard chooses the agents.
    api_token: str | None = None
    script: IvrScript = field(default_factory=IvrScript)

    @property
    def webhook_url(self) -> str:
        return f"{self.omniroute_url.rstrip('/')}/webhooks/voice/{self.provider_id}"

    def route_url(self, call_id: str, what: str = "route") -> str:
        base = self.omniroute_url.rstrip("/")
        return f"{base}/api/v1/voice/providers/{self.provider_id}/calls/{call_id}/{what}"

    @property
    def omniroute_origin(self) -> str:
        parts = urlsplit(self.omniroute_url)
        return f"{parts.scheme}://{parts.netloc}"


class Simulator:
    """The switchboard, the clock that drives its ring timeouts, and the reporter."""

    def __init__(self, config: SimConfig, clock: Clock, client: httpx.AsyncClient) -> None:
        self.config = config
        self.clock = clock
        self.board = Switchboard(
            number=config.number,
            new_id=new_id,
            script=config.script,
            ring_seconds=config.ring_seconds,
            routed_by_omniroute=config.api_token is not None,
        )
        self.reporter = Reporter(url=config.webhook_url, secret=config.secret, clock=clock, client=client)
        self.client = client
        self._asking: set[asyncio.Task[None]] = set()
        self.routing_log: list[dict[str, Any]] = []  # the latest exchanges with Omniroute's routing
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self.presence_applied: dict[str, datetime] = {}  # agent id → the newest presence change applied

    def changed(self) -> None:
        """After every command: report what happened, ask Omniroute what it must route, and
        re-arm the ring timer."""
        self.reporter.send(self.board.take_events())
        for call in self.board.take_route_asks():
            body = {
                "queue": call.queue,
                "from": call.from_number,
                "to": call.to_number,
                "ivr_data": call.ivr_data,
            }
            self._ask(call.id, "route", body)
        for call_id, reservation_id in self.board.take_rejects():
            self._ask(call_id, "reservation/reject", {"reservation_id": reservation_id})
        self._wake.set()

    def _ask(self, call_id: str, what: str, body: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._routing_request(call_id, what, body))
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)

    async def _routing_request(self, call_id: str, what: str, body: dict[str, Any]) -> None:
        """Omniroute's answer is applied like its notice would be: a reservation rings its agent.
        The reporter's events for the call may still be on their way: Omniroute does not mind."""
        # The events so far go first, so Omniroute folds what the IVR collected before routing.
        await self.reporter.drained()
        entry: dict[str, Any] = {"call_id": call_id, "request": what, "at": self.clock.now().isoformat()}
        try:
            response = await self.client.post(
                self.config.route_url(call_id, what),
                json=body,
                headers={"Authorization": f"Bearer {self.config.api_token}"},
            )
            entry["status"] = response.status_code
            answer = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
        except httpx.HTTPError as exc:
            entry["error"] = repr(exc)
            answer, response = {}, None
        self.routing_log = [entry, *self.routing_log][:50]
        now = self.clock.now()
        if response is not None and response.status_code in (403, 404, 409, 422) and what == "route":
            self.board.route_refused(call_id, now)
        elif isinstance(answer, dict) and answer.get("status") == "reserved" and answer.get("agent"):
            entry["agent_id"] = answer["agent"].get("agent_id")
            if isinstance(entry["agent_id"], str) and isinstance(answer.get("reservation_id"), str):
                self.board.reserve(call_id, entry["agent_id"], answer["reservation_id"], now)
        self.changed()

    async def settle(self) -> None:
        """Wait for routing requests in flight (tests)."""
        while self._asking:
            await asyncio.gather(*list(self._asking), return_exceptions=True)

    def start(self) -> None:
        self.reporter.start()
        self._timer = asyncio.create_task(self._run_timer(), name="ccaas-sim-timer")

    async def stop(self) -> None:
        for task in list(self._asking):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.reporter.stop()

    async def _run_timer(self) -> None:
        while True:
            self._wake.clear()
            due = self.board.next_due() or self.clock.now() + IDLE_WAKE
            await self.clock.sleep_until(due, self._wake)
            self.board.advance(self.clock.now())
            self.changed()


# -- request bodies --------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
AgentId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PlaceCallIn(Body):
    from_: Phone = Field(alias="from", description="the caller's number, E.164")
    keys: str = Field(
        default="", max_length=40, pattern=r"^[0-9*#\s]*$", description="DTMF keys to press at once: 1, 1234#"
    )


class KeysIn(Body):
    keys: str = Field(min_length=1, max_length=40)


class SignInIn(Body):
    name: str = Field(default="", max_length=200)
    queues: list[str] | None = None


class ReadyIn(Body):
    ready: bool


class CallRefIn(Body):
    call_id: str = Field(min_length=1, max_length=200)


class TransferIn(Body):
    queue: str = Field(min_length=1, max_length=200)


class WrapUpIn(Body):
    disposition: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)


class DialIn(Body):
    to: Phone


# -- routes ----------------------------------------------------------------------------------


async def json_only(request: Request) -> None:
    """Writes must say they are JSON. A browser sends that cross-origin only after a CORS
    preflight, which this app never grants, so another site cannot drive the simulator."""
    if (
        request.method != "GET"
        and request.headers.get("content-type", "").split(";")[0] != "application/json"
    ):
        raise InvalidInput("send Content-Type: application/json")


pages = APIRouter()
api = APIRouter(prefix="/api", dependencies=[Depends(json_only)])
omniroute = APIRouter()


def _sim(request: Request) -> Simulator:
    sim = request.app.state.sim
    assert isinstance(sim, Simulator)
    return sim


def _templates(request: Request) -> Jinja2Templates:
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    return templates


def _page(request: Request, name: str, frame_ancestors: str) -> Response:
    sim = _sim(request)
    response = _templates(request).TemplateResponse(
        request,
        name,
        {
            "sdk_url": f"{sim.config.omniroute_url.rstrip('/')}/static/js/omniroute-cif.js",
            "omniroute_origin": sim.config.omniroute_origin,
            "number": sim.board.number,
            "dispositions": DISPOSITIONS,
        },
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {sim.config.omniroute_origin}; connect-src 'self'; "
        f"img-src 'self' data:; style-src 'self'; frame-ancestors {frame_ancestors}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@pages.get("/", response_class=HTMLResponse)
async def console(request: Request) -> Response:
    return _page(request, "console.html", "'none'")


@pages.get("/softphone", response_class=HTMLResponse)
async def softphone(request: Request) -> Response:
    # Only the Omniroute workspace may frame the softphone: a stranger's page could not drive it.
    return _page(request, "softphone.html", _sim(request).config.omniroute_origin)


@api.get("/state")
async def state(request: Request) -> dict[str, Any]:
    sim = _sim(request)
    return {**sim.board.snapshot(), "reporting": sim.reporter.status(), "routing": sim.routing_log}


@api.post("/calls", status_code=201)
async def place_call(body: PlaceCallIn, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    now = sim.clock.now()
    call = sim.board.place_call(body.from_, now)
    keys = "".join(body.keys.split())
    if keys:
        sim.board.press(call.id, keys, now)
    sim.changed()
    return call.view()


@api.post("/calls/{call_id}/dtmf")
async def press(call_id: str, body: KeysIn, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    call = sim.board.press(call_id, body.keys, sim.clock.now())
    sim.changed()
    return call.view()


@api.post("/calls/{call_id}/answer")
async def customer_answers(call_id: str, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    call = sim.board.answer_outbound(call_id, sim.clock.now())
    sim.changed()
    return call.view()


@api.post("/calls/{call_id}/hangup")
async def caller_hangs_up(call_id: str, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    call = sim.board.caller_hang_up(call_id, sim.clock.now())
    sim.changed()
    return call.view()


@api.put("/agents/{agent_id}")
async def sign_in(agent_id: AgentId, body: SignInIn, request: Request) -> dict[str, Any]:
    sim = _sim(request)
    agent = sim.board.sign_in(agent_id, body.name, sim.clock.now(), body.queues)
    sim.changed()
    return sim.board.agent_view(agent.id)


def _agent_act(
    request: Request, agent_id: str, act: Callable[[Switchboard, datetime], object]
) -> dict[str, Any]:
    """One softphone action: applied on the switchboard now, watchers told, the agent's view back."""
    sim = _sim(request)
    act(sim.board, sim.clock.now())
    sim.changed()
    return sim.board.agent_view(agent_id)


@api.delete("/agents/{agent_id}")
async def sign_out(agent_id: AgentId, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.sign_out(agent_id, now))


@api.get("/agents/{agent_id}")
async def agent(agent_id: AgentId, request: Request) -> dict[str, Any]:
    return _sim(request).board.agent_view(agent_id)


@api.put("/agents/{agent_id}/ready")
async def ready(agent_id: AgentId, body: ReadyIn, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.set_ready(agent_id, body.ready, now))


@api.post("/agents/{agent_id}/accept")
async def accept(agent_id: AgentId, body: CallRefIn, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.accept(agent_id, body.call_id, now))


@api.post("/agents/{agent_id}/decline")
async def decline(agent_id: AgentId, body: CallRefIn, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.decline(agent_id, body.call_id, now))


@api.post("/agents/{agent_id}/hold")
async def hold(agent_id: AgentId, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.hold(agent_id, now))


@api.post("/agents/{agent_id}/resume")
async def resume(agent_id: AgentId, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.resume(agent_id, now))


@api.post("/agents/{agent_id}/hangup")
async def hang_up(agent_id: AgentId, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.hang_up(agent_id, now))


@api.post("/agents/{agent_id}/transfer")
async def transfer(agent_id: AgentId, body: TransferIn, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.transfer(agent_id, body.queue, now))


@api.post("/agents/{agent_id}/wrapup")
async def wrap_up(agent_id: AgentId, body: WrapUpIn, request: Request) -> dict[str, Any]:
    return _agent_act(
        request,
        agent_id,
        lambda board, now: board.finish_wrap_up(agent_id, body.disposition, body.notes, now),
    )


@api.post("/agents/{agent_id}/dial")
async def dial(agent_id: AgentId, body: DialIn, request: Request) -> dict[str, Any]:
    return _agent_act(request, agent_id, lambda board, now: board.dial(agent_id, body.to, now))


@omniroute.post("/omniroute/presence")
async def presence_from_omniroute(request: Request) -> dict[str, Any]:
    """Omniroute's presence webhook (the provider's presence_url): an agent who is available in
    Omniroute is ready for calls, anything else is not. Signed like our own webhooks."""
    sim = _sim(request)
    body = await request.body()
    signing.verify(sim.config.secret, body, request.headers.get(signing.HEADER), sim.clock.now())
    payload = json_document(body)
    if isinstance(payload, dict) and str(payload.get("type", "")).startswith("call."):
        return _routing_notice(sim, payload)
    if not isinstance(payload, dict) or payload.get("type") != "presence.changed":
        raise InvalidInput("expected a presence.changed event")
    agent_id, presence = payload.get("agent_id"), payload.get("presence")
    if not isinstance(agent_id, str) or not isinstance(presence, str):
        raise InvalidInput("agent_id and presence are required")
    if agent_id not in sim.board.agents or sim.board.agents[agent_id].status is AgentStatus.OFFLINE:
        return {"applied": False, "reason": "the agent is not signed in to the softphone"}
    occurred = _instant(payload.get("occurred_at"))
    last = sim.presence_applied.get(agent_id)
    if occurred is not None and last is not None and occurred <= last:
        # Two Omniroute nodes may deliver concurrently: only a newer change counts.
        return {"applied": False, "reason": "older than the last change applied"}
    if occurred is not None:
        sim.presence_applied[agent_id] = occurred
    sim.board.set_ready(agent_id, presence == "available", sim.clock.now())
    sim.changed()
    return {"applied": True, "ready": sim.board.agents[agent_id].ready}


def _routing_notice(sim: Simulator, payload: dict[str, Any]) -> dict[str, Any]:
    """Omniroute routes the calls: a reservation rings its agent, an ended one stops the ring."""
    call_id, reservation = payload.get("call_id"), payload.get("reservation_id")
    if not isinstance(call_id, str) or not isinstance(reservation, str):
        return {"applied": False, "reason": "no call or reservation"}
    now = sim.clock.now()
    applied = False
    if payload["type"] == "call.reserved" and isinstance(payload.get("agent_id"), str):
        applied = sim.board.reserve(call_id, payload["agent_id"], reservation, now)
    elif payload["type"] == "call.reservation_ended":
        sim.board.reservation_ended(call_id, reservation, now)
        applied = True
    sim.changed()
    return {"applied": applied}


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("occurred_at must be an ISO 8601 instant") from exc
    return parsed if parsed.tzinfo else None


# -- assembly --------------------------------------------------------------------------------


def create_sim_app(
    config: SimConfig, *, clock: Clock | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The simulator's app. ``transport`` replaces the network to Omniroute (tests)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
            sim = Simulator(config, clock or SystemClock(), client)
            app.state.sim = sim
            sim.start()
            try:
                yield
            finally:
                await sim.stop()

    app = FastAPI(title="Omniroute reference CCaaS", lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.include_router(pages)
    app.include_router(api)
    app.include_router(omniroute)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status)

    return app


def serve(config: SimConfig, host: str, port: int) -> None:
    """Run the simulator until interrupted (the ``omniroute ccaas-sim`` command)."""
    import uvicorn  # noqa: PLC0415 - only the command needs the server

    uvicorn.run(create_sim_app(config), host=host, port=port, log_level="info")

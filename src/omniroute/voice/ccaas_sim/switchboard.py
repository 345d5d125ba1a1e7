"""The simulator's contact centre: calls, the IVR, voice queues and agents' call states.

Pure and single-threaded: every command takes ``now`` and returns at once; what Omniroute must be
told is queued as call events in the generic adapter's wire format (``take_events``). Ring
timeouts are the only timers: ``next_due`` says when ``advance`` must run next.

A call's life as the switchboard plays it::

    inbound:  IVR ─▶ QUEUED ─▶ RINGING (one agent) ─▶ CONNECTED ⇄ HELD ─▶ ENDED (agent in wrap-up)
                        ▲          │ declined / not answered in time (agent becomes not ready)
                        └──────────┘ (also after a transfer to a queue)
    outbound: DIALLING (the agent is busy) ─▶ CONNECTED … ─▶ ENDED

Agents: OFFLINE, NOT_READY, AVAILABLE, RINGING, ON_CALL, WRAP_UP. A waiting call rings the
available agent who has been idle longest among those serving its queue and not declining it.

When Omniroute routes the calls (``routed_by_omniroute``, the provider's ``routes_calls``), the
switchboard chooses nobody itself: a queued call is asked about once (``take_route_asks``), it
rings the agent Omniroute reserved (``reserve``), and a decline or a ring nobody answers gives the
reservation back (``take_rejects``); Omniroute then reserves the next agent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from omniroute.core.errors import Conflict, InvalidInput, NotFound
from omniroute.voice.ccaas_sim.ivr import IvrScript, IvrSession, Turn
from omniroute.voice.model import normalise_number

MAX_FINISHED_CALLS = 50  # finished calls kept for the console; older ones are forgotten


class AgentStatus(StrEnum):
    OFFLINE = "offline"
    NOT_READY = "not_ready"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class CallStatus(StrEnum):
    IVR = "ivr"
    QUEUED = "queued"
    RINGING = "ringing"
    DIALLING = "dialling"  # outbound: the customer's phone is ringing
    CONNECTED = "connected"
    HELD = "held"
    ENDED = "ended"


LIVE_CALL = frozenset({CallStatus.RINGING, CallStatus.DIALLING, CallStatus.CONNECTED, CallStatus.HELD})


@dataclass
class SimAgent:
    id: str
    name: str
    status: AgentStatus
    since: datetime  # when the status last changed
    idle_since: datetime  # when the agent last became idle: the longest idle is rung first
    ready: bool = False  # wants calls once idle
    queues: frozenset[str] | None = None  # None: every queue
    call_id: str | None = None  # ringing, on call or wrapping up

    def serves(self, queue: str | None) -> bool:
        return self.queues is None or queue in self.queues

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "since": self.since.isoformat(),
            "ready": self.ready,
            "queues": sorted(self.queues) if self.queues is not None else None,
            "call_id": self.call_id,
        }


@dataclass
class SimCall:
    id: str
    direction: str  # "inbound" or "outbound"
    from_number: str
    to_number: str
    status: CallStatus
    started_at: datetime
    ivr: IvrSession | None = None
    queue: str | None = None
    queued_at: datetime | None = None
    agent_id: str | None = None
    ring_until: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    declined_by: set[str] = field(default_factory=set)
    reservation_id: str | None = None  # the Omniroute reservation this ring honours
    spent_reservations: set[str] = field(default_factory=set)  # given back or ended: never rung again
    asked: bool = False  # Omniroute was asked to route it
    routed_here: bool = False  # Omniroute refused to route it: the switchboard chooses
    disposition: str | None = None
    notes: str | None = None
    wrapped_up: bool = False

    @property
    def ivr_data(self) -> dict[str, str]:
        return dict(self.ivr.data) if self.ivr else {}

    @property
    def turns(self) -> list[Turn]:
        return list(self.ivr.turns) if self.ivr else []

    def view(self) -> dict[str, Any]:
        prompt = next((t.text for t in reversed(self.turns) if t.speaker == "bot"), None)
        return {
            "id": self.id,
            "direction": self.direction,
            "from": self.from_number,
            "to": self.to_number,
            "status": self.status.value,
            "queue": self.queue,
            "ivr_step": self.ivr.step.value if self.ivr else None,
            "ivr_prompt": prompt if self.status is CallStatus.IVR else None,
            "ivr_data": self.ivr_data,
            "agent_id": self.agent_id,
            "started_at": self.started_at.isoformat(),
            "queued_at": self.queued_at.isoformat() if self.queued_at else None,
            "ring_until": self.ring_until.isoformat() if self.ring_until else None,
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_reason": self.end_reason,
            "disposition": self.disposition,
            "wrapped_up": self.wrapped_up,
            "reservation_id": self.reservation_id,
        }


class Switchboard:
    def __init__(
        self,
        *,
        number: str,
        new_id: Callable[[], str],
        script: IvrScript | None = None,
        ring_seconds: float = 20,
        routed_by_omniroute: bool = False,
    ) -> None:
        clean = normalise_number(number)
        if clean is None:
            msg = f"the contact centre's number must be E.164 (+15550100000), not {number!r}"
            raise InvalidInput(msg)
        self.number = clean
        self.script = script or IvrScript()
        self.ring_time = timedelta(seconds=ring_seconds)
        self._new_id = new_id
        self.calls: dict[str, SimCall] = {}
        self.agents: dict[str, SimAgent] = {}
        self._outbox: list[dict[str, Any]] = []
        self.routed_by_omniroute = routed_by_omniroute
        self._route_asks: list[str] = []
        self._rejects: list[tuple[str, str]] = []

    # -- the caller's side ----------------------------------------------------------------------

    def place_call(self, from_number: str, now: datetime) -> SimCall:
        """A customer dials the contact centre: the IVR answers."""
        caller = _number(from_number, "the caller's number")
        call = SimCall(
            id=f"sim-call-{self._new_id()}",
            direction="inbound",
            from_number=caller,
            to_number=self.number,
            status=CallStatus.IVR,
            started_at=now,
            ivr=IvrSession.start(self.script),
        )
        self.calls[call.id] = call
        self._emit(call, "offered", now, direction="inbound", from_=caller, to=self.number)
        self._forget_old()
        return call

    def press(self, call_id: str, keys: str, now: datetime) -> SimCall:
        call = self._call(call_id)
        if call.status is not CallStatus.IVR or call.ivr is None:
            msg = f"call {call_id} is not in the IVR (it is {call.status.value})"
            raise Conflict(msg)
        call.ivr.press(keys)
        if call.ivr.done:
            self._enqueue(call, call.ivr.queue or self.script.fallback_queue, now)
            self._emit(call, "offered", now, queue=call.queue, ivr_data=call.ivr_data)
            self._dispatch(now)
        return call

    def answer_outbound(self, call_id: str, now: datetime) -> SimCall:
        """The customer picks up an agent's outbound call."""
        call = self._call(call_id)
        if call.status is not CallStatus.DIALLING:
            msg = f"call {call_id} is not ringing a customer (it is {call.status.value})"
            raise Conflict(msg)
        call.status, call.answered_at = CallStatus.CONNECTED, now
        self._emit(call, "answered", now, agent_id=call.agent_id)
        return call

    def caller_hang_up(self, call_id: str, now: datetime) -> SimCall:
        call = self._call(call_id)
        if call.status is CallStatus.ENDED:
            return call
        agent = self.agents.get(call.agent_id) if call.agent_id else None
        was = call.status
        reason = "busy" if was is CallStatus.DIALLING else "customer_hangup"
        self._end(call, reason, now)
        if agent is not None and agent.call_id == call.id:
            if was in (CallStatus.CONNECTED, CallStatus.HELD):
                self._set(agent, AgentStatus.WRAP_UP, now)
            else:  # rung but never talked: nothing to wrap up
                agent.call_id = None
                self._idle(agent, now, keep_place=was is CallStatus.RINGING)
        self._dispatch(now)
        return call

    # -- the agent's side -----------------------------------------------------------------------

    def sign_in(self, agent_id: str, name: str, now: datetime, queues: list[str] | None = None) -> SimAgent:
        """Idempotent: a softphone that reloads signs in again and keeps its call."""
        agent_id, name = agent_id.strip(), name.strip() or agent_id.strip()
        if not agent_id:
            raise InvalidInput("an agent needs an id")
        if queues is not None:
            unknown = sorted(set(queues) - set(self.script.queues))
            if unknown:
                msg = f"unknown queue {', '.join(unknown)}; the queues are {', '.join(self.script.queues)}"
                raise InvalidInput(msg)
        served = frozenset(queues) if queues is not None else None
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = SimAgent(agent_id, name, AgentStatus.NOT_READY, now, now, queues=served)
            self.agents[agent_id] = agent
            return agent
        agent.name, agent.queues = name, served
        if agent.status is AgentStatus.OFFLINE:
            self._set(agent, AgentStatus.NOT_READY, now)
            agent.idle_since = now
        return agent

    def sign_out(self, agent_id: str, now: datetime) -> SimAgent:
        agent = self._agent(agent_id)
        if agent.call_id is not None:
            msg = f"{agent.name} has a call ({agent.status.value}); finish it before signing out"
            raise Conflict(msg)
        agent.ready = False
        self._set(agent, AgentStatus.OFFLINE, now)
        return agent

    def set_ready(self, agent_id: str, ready: bool, now: datetime) -> SimAgent:
        """Ready for calls or not. During a call this only says what happens once it is over."""
        agent = self._agent(agent_id)
        if agent.status is AgentStatus.OFFLINE:
            raise Conflict(f"{agent.name} is signed out")
        agent.ready = ready
        if agent.call_id is None:
            was = agent.status
            self._idle(agent, now)
            if agent.status is AgentStatus.AVAILABLE and was is not AgentStatus.AVAILABLE:
                agent.idle_since = now  # the wait for a call starts when the agent is ready
            self._dispatch(now)
        return agent

    def accept(self, agent_id: str, call_id: str, now: datetime) -> SimCall:
        agent, call = self._agent(agent_id), self._call(call_id)
        if call.status is CallStatus.CONNECTED and call.agent_id == agent.id:
            return call  # a repeated click
        if agent.status is not AgentStatus.RINGING or agent.call_id != call.id:
            msg = f"call {call_id} is not ringing for {agent.name}"
            raise Conflict(msg)
        call.status, call.answered_at, call.ring_until = CallStatus.CONNECTED, now, None
        self._set(agent, AgentStatus.ON_CALL, now)
        self._emit(call, "answered", now, agent_id=agent.id, queue=call.queue)
        return call

    def decline(self, agent_id: str, call_id: str, now: datetime) -> SimCall:
        agent, call = self._agent(agent_id), self._call(call_id)
        if agent.status is not AgentStatus.RINGING or agent.call_id != call.id:
            msg = f"call {call_id} is not ringing for {agent.name}"
            raise Conflict(msg)
        call.declined_by.add(agent.id)
        agent.call_id = None
        self._idle(agent, now, keep_place=True)
        self._give_back(call)
        self._requeue(call, "declined", now)
        return call

    # -- Omniroute routes the calls -------------------------------------------------------------

    def reserve(self, call_id: str, agent_id: str, reservation_id: str, now: datetime) -> bool:
        """Omniroute reserved ``agent_id`` for the call: ring them. A reservation the switchboard
        cannot honour (the agent has no softphone here, or is busy) is given back at once. Returns
        whether the agent is being rung now."""
        call = self.calls.get(call_id)
        if call is None or reservation_id in call.spent_reservations:
            return False
        if call.status is CallStatus.RINGING and call.reservation_id == reservation_id:
            return True  # the same reservation heard twice (answer and notice)
        agent = self.agents.get(agent_id)
        if call.status is not CallStatus.QUEUED:
            call.spent_reservations.add(reservation_id)
            self._rejects.append((call.id, reservation_id))
            return False
        if agent is None or agent.status is AgentStatus.OFFLINE or agent.call_id is not None:
            call.spent_reservations.add(reservation_id)
            self._rejects.append((call.id, reservation_id))
            return False
        call.reservation_id = reservation_id
        self._ring(call, agent, now)
        return True

    def reservation_ended(self, call_id: str, reservation_id: str, now: datetime) -> None:
        """Omniroute ended a reservation (it timed out, or the call left routing): stop ringing
        for it. Omniroute reserves the next agent itself."""
        call = self.calls.get(call_id)
        if call is None:
            return
        call.spent_reservations.add(reservation_id)
        if call.status is CallStatus.RINGING and call.reservation_id == reservation_id:
            agent = self.agents.get(call.agent_id or "")
            if agent is not None and agent.call_id == call.id:
                agent.call_id = None
                self._idle(agent, now, keep_place=True)
            call.reservation_id = None
            self._requeue(call, "no-answer", now)

    def route_refused(self, call_id: str, now: datetime) -> None:
        """Omniroute would not route this call (e.g. it was transferred after Omniroute routed it
        once): the switchboard rings an agent itself."""
        call = self.calls.get(call_id)
        if call is not None:
            call.routed_here = True
            self._dispatch(now)

    def take_route_asks(self) -> list[SimCall]:
        """Queued calls to ask Omniroute about (each once)."""
        asks, self._route_asks = self._route_asks, []
        return [self.calls[c] for c in asks if c in self.calls and self.calls[c].status is CallStatus.QUEUED]

    def take_rejects(self) -> list[tuple[str, str]]:
        """(call id, reservation id) to give back to Omniroute."""
        out, self._rejects = self._rejects, []
        return out

    def _give_back(self, call: SimCall) -> None:
        if call.reservation_id is not None:
            call.spent_reservations.add(call.reservation_id)
            self._rejects.append((call.id, call.reservation_id))
            call.reservation_id = None

    def hold(self, agent_id: str, now: datetime) -> SimCall:
        agent, call = self._talking(agent_id)
        if call.status is not CallStatus.CONNECTED:
            raise Conflict(f"the call is {call.status.value}, not connected")
        call.status = CallStatus.HELD
        self._emit(call, "held", now, agent_id=agent.id)
        return call

    def resume(self, agent_id: str, now: datetime) -> SimCall:
        agent, call = self._talking(agent_id)
        if call.status is not CallStatus.HELD:
            raise Conflict("the call is not on hold")
        call.status = CallStatus.CONNECTED
        self._emit(call, "resumed", now, agent_id=agent.id)
        return call

    def hang_up(self, agent_id: str, now: datetime) -> SimCall:
        agent, call = self._talking(agent_id, dialling_too=True)
        if call.status is CallStatus.DIALLING:  # gave up before the customer answered
            self._end(call, "canceled", now)
            agent.call_id = None
            self._idle(agent, now)
        else:
            self._end(call, "completed", now)
            self._set(agent, AgentStatus.WRAP_UP, now)
        self._dispatch(now)
        return call

    def transfer(self, agent_id: str, queue: str, now: datetime) -> SimCall:
        """A blind transfer to a queue: the agent leaves the call at once (no wrap-up)."""
        agent, call = self._talking(agent_id)
        if queue not in self.script.queues:
            msg = f"unknown queue {queue}; the queues are {', '.join(self.script.queues)}"
            raise InvalidInput(msg)
        call.declined_by.add(agent.id)  # someone else takes it
        agent.call_id = None
        self._idle(agent, now)
        self._enqueue(call, queue, now)
        call.agent_id = None
        self._emit(call, "transferred", now, agent_id=agent.id, transfer_to=queue, queue=queue)
        self._dispatch(now)
        return call

    def finish_wrap_up(
        self, agent_id: str, disposition: str | None, notes: str | None, now: datetime
    ) -> SimCall:
        agent = self._agent(agent_id)
        if agent.status is not AgentStatus.WRAP_UP or agent.call_id is None:
            raise Conflict(f"{agent.name} is not in wrap-up")
        call = self._call(agent.call_id)
        call.disposition = (disposition or "").strip() or None
        call.notes = (notes or "").strip() or None
        call.wrapped_up = True
        agent.call_id = None
        self._emit(
            call, "wrapup_done", now, agent_id=agent.id, disposition=call.disposition, notes=call.notes
        )
        self._idle(agent, now)
        self._dispatch(now)
        return call

    def dial(self, agent_id: str, to_number: str, now: datetime) -> SimCall:
        """Click-to-dial: the agent calls a customer; the agent is busy while it rings."""
        agent = self._agent(agent_id)
        if agent.status is AgentStatus.OFFLINE or agent.call_id is not None:
            raise Conflict(f"{agent.name} cannot dial now ({agent.status.value})")
        customer = _number(to_number, "the number to dial")
        call = SimCall(
            id=f"sim-call-{self._new_id()}",
            direction="outbound",
            from_number=self.number,
            to_number=customer,
            status=CallStatus.DIALLING,
            started_at=now,
            agent_id=agent.id,
        )
        self.calls[call.id] = call
        agent.call_id = call.id
        self._set(agent, AgentStatus.ON_CALL, now)
        self._emit(
            call, "ringing", now, direction="outbound", from_=self.number, to=customer, agent_id=agent.id
        )
        self._forget_old()
        return call

    # -- time -----------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        due = [c.ring_until for c in self.calls.values() if c.status is CallStatus.RINGING and c.ring_until]
        return min(due, default=None)

    def advance(self, now: datetime) -> None:
        """Rings nobody answered in time go back to the queue; the agent becomes not ready, as a
        CCaaS does so that an agent who walked away stops getting calls."""
        for call in list(self.calls.values()):
            if call.status is CallStatus.RINGING and call.ring_until and call.ring_until <= now:
                agent = self.agents.get(call.agent_id or "")
                if agent is not None and agent.call_id == call.id:
                    agent.call_id = None
                    # Routed by Omniroute: the missed ring goes back as a rejection and Omniroute's
                    # presence says whether the agent is still ready.
                    agent.ready = agent.ready and self.routed_by_omniroute
                    self._idle(agent, now)
                call.declined_by.add(call.agent_id or "")
                self._give_back(call)
                self._requeue(call, "no-answer", now)

    # -- views ----------------------------------------------------------------------------------

    def take_events(self) -> list[dict[str, Any]]:
        out, self._outbox = self._outbox, []
        return out

    def agent_view(self, agent_id: str) -> dict[str, Any]:
        agent = self._agent(agent_id)
        call = self.calls.get(agent.call_id) if agent.call_id else None
        return {
            "agent": agent.view(),
            "call": call.view() if call else None,
            "queues": list(self.script.queues),
        }

    def snapshot(self) -> dict[str, Any]:
        waiting = [c for c in self.calls.values() if c.status is CallStatus.QUEUED]
        return {
            "number": self.number,
            "menu": [{"key": o.key, "label": o.label, "queue": o.queue} for o in self.script.options],
            "queues": [
                {"name": q, "waiting": [c.id for c in sorted(waiting, key=_queued) if c.queue == q]}
                for q in self.script.queues
            ],
            "agents": [a.view() for a in self.agents.values()],
            "calls": [c.view() for c in reversed(self.calls.values())],
            "routed_by_omniroute": self.routed_by_omniroute,
        }

    # -- inside ---------------------------------------------------------------------------------

    def _dispatch(self, now: datetime) -> None:
        waiting = sorted((c for c in self.calls.values() if c.status is CallStatus.QUEUED), key=_queued)
        if self.routed_by_omniroute:
            for call in waiting:
                if not call.asked and not call.routed_here:
                    call.asked = True
                    self._route_asks.append(call.id)
            waiting = [c for c in waiting if c.routed_here]
        for call in waiting:
            candidates = [
                a
                for a in self.agents.values()
                if a.status is AgentStatus.AVAILABLE and a.serves(call.queue) and a.id not in call.declined_by
            ]
            if not candidates:
                continue
            self._ring(call, min(candidates, key=lambda a: (a.idle_since, a.id)), now)

    def _ring(self, call: SimCall, agent: SimAgent, now: datetime) -> None:
        call.status, call.agent_id, call.ring_until = CallStatus.RINGING, agent.id, now + self.ring_time
        agent.call_id = call.id
        self._set(agent, AgentStatus.RINGING, now)
        self._emit(call, "ringing", now, agent_id=agent.id, queue=call.queue)

    def _enqueue(self, call: SimCall, queue: str, now: datetime) -> None:
        call.status, call.queue, call.queued_at = CallStatus.QUEUED, queue, call.queued_at or now

    def _requeue(self, call: SimCall, reason: str, now: datetime) -> None:
        call.status, call.ring_until, call.agent_id = CallStatus.QUEUED, None, None
        self._emit(call, "offered", now, queue=call.queue, end_reason=reason)
        self._dispatch(now)

    def _end(self, call: SimCall, reason: str, now: datetime) -> None:
        call.status, call.ended_at, call.end_reason, call.ring_until = CallStatus.ENDED, now, reason, None
        self._emit(
            call, "ended", now, end_reason=reason, agent_id=call.agent_id if call.answered_at else None
        )
        if call.turns:
            turns = [{"speaker": t.speaker, "text": t.text} for t in call.turns]
            self._emit(call, "transcript_available", now, transcript=turns)

    def _idle(self, agent: SimAgent, now: datetime, *, keep_place: bool = False) -> None:
        """Back to available or not ready. ``keep_place``: a ring that came to nothing does not
        send the agent to the back of the line."""
        status = AgentStatus.AVAILABLE if agent.ready else AgentStatus.NOT_READY
        was_idle = agent.status in (AgentStatus.AVAILABLE, AgentStatus.NOT_READY)
        if agent.status is not status:
            self._set(agent, status, now)
        if not keep_place and not was_idle:
            agent.idle_since = now

    def _set(self, agent: SimAgent, status: AgentStatus, now: datetime) -> None:
        agent.status, agent.since = status, now

    def _talking(self, agent_id: str, *, dialling_too: bool = False) -> tuple[SimAgent, SimCall]:
        agent = self._agent(agent_id)
        call = self.calls.get(agent.call_id) if agent.call_id else None
        allowed = {CallStatus.CONNECTED, CallStatus.HELD} | ({CallStatus.DIALLING} if dialling_too else set())
        if agent.status is not AgentStatus.ON_CALL or call is None or call.status not in allowed:
            raise Conflict(f"{agent.name} is not on a call")
        return agent, call

    def _emit(self, call: SimCall, kind: str, now: datetime, **fields: Any) -> None:
        event: dict[str, Any] = {
            "event_id": f"sim-evt-{self._new_id()}",
            "call_id": call.id,
            "kind": kind,
            "occurred_at": now.isoformat(),
        }
        for name, value in fields.items():
            if value is not None and value != {}:
                event["from" if name == "from_" else name] = value
        self._outbox.append(event)

    def _call(self, call_id: str) -> SimCall:
        call = self.calls.get(call_id)
        if call is None:
            raise NotFound(f"no call {call_id}")
        return call

    def _agent(self, agent_id: str) -> SimAgent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}; the softphone signs in first")
        return agent

    def _forget_old(self) -> None:
        finished = [
            c.id
            for c in self.calls.values()
            if c.status is CallStatus.ENDED and (c.wrapped_up or not c.answered_at)
        ]
        for call_id in finished[: max(0, len(finished) - MAX_FINISHED_CALLS)]:
            del self.calls[call_id]


def _queued(call: SimCall) -> tuple[datetime, str]:
    assert call.queued_at is not None
    return call.queued_at, call.id


def _number(raw: str, what: str) -> str:
    clean = normalise_number(raw)
    if clean is None:
        msg = f"{what} must have a country code, like +15558675310 (not {raw!r})"
        raise InvalidInput(msg)
    return clean

"""The normalised call model. Pure: no I/O, no clock, no framework.

Every voice adapter (Twilio Voice, Amazon Connect, the generic signed JSON) turns its vendor's
payloads into :class:`CallEvent` values; :class:`Call` folds one call's events into its state.

Vendors deliver at least once and in no particular order, so the aggregate is built to make
delivery order irrelevant: it keeps the set of events it has seen (a second copy of an event id is
a no-op) and always derives the state by folding that set in one canonical order,
``(occurred_at, KIND_RANK[kind], event_id)``. Whatever order the events arrive in, the same set
gives the same call. An event that contradicts what is already known *at its own time* (answered
after the call ended, a hold after the hang-up) is kept but ignored, and listed in
``Call.ignored``. See docs/VOICE.md ("Normalised call events") and ADR 0010.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum


class CallEventKind(StrEnum):
    OFFERED = "offered"  # the call reached the contact centre (IVR, queue), or went back to a queue
    RINGING = "ringing"  # a party (usually an agent; the customer on outbound calls) is being rung
    ANSWERED = "answered"  # the agent and the customer are talking
    HELD = "held"  # the customer is on hold
    RESUMED = "resumed"  # off hold
    TRANSFERRED = "transferred"  # this call is being moved to another queue, agent or call
    CONFERENCE = "conference"  # a party joined or left the call's conference
    ENDED = "ended"  # the customer's call is over (hang-up, busy, no answer, failed)
    WRAPUP_DONE = "wrapup_done"  # the agent finished after-call work (disposition, notes)
    RECORDING_AVAILABLE = "recording_available"
    TRANSCRIPT_AVAILABLE = "transcript_available"


#: Tie-break for events stamped with the same instant (vendors often stamp to the second): the
#: order a call goes through. Part of the canonical fold order; changing it changes call states.
KIND_RANK: Mapping[CallEventKind, int] = {
    CallEventKind.OFFERED: 0,
    CallEventKind.RINGING: 1,
    CallEventKind.ANSWERED: 2,
    CallEventKind.HELD: 3,
    CallEventKind.RESUMED: 4,
    CallEventKind.CONFERENCE: 5,
    CallEventKind.TRANSFERRED: 6,
    CallEventKind.ENDED: 7,
    CallEventKind.RECORDING_AVAILABLE: 8,
    CallEventKind.TRANSCRIPT_AVAILABLE: 9,
    CallEventKind.WRAPUP_DONE: 10,
}


class Direction(StrEnum):
    INBOUND = "inbound"  # the customer called us
    OUTBOUND = "outbound"  # we called the customer


class CallState(StrEnum):
    NEW = "new"  # only recordings, transcripts or conference news so far
    OFFERED = "offered"  # in the IVR or waiting in a queue
    RINGING = "ringing"
    CONNECTED = "connected"
    HELD = "held"
    WRAP_UP = "wrap_up"  # the call ended after an agent answered; after-call work is open
    CLOSED = "closed"  # nothing more will happen (wrap-up done, or nobody ever answered)


LIVE_STATES = frozenset(
    {CallState.NEW, CallState.OFFERED, CallState.RINGING, CallState.CONNECTED, CallState.HELD}
)
#: States in which the call occupies its agent (routing counts the agent's voice capacity as used).
AGENT_STATES = frozenset({CallState.RINGING, CallState.CONNECTED, CallState.HELD, CallState.WRAP_UP})

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SEPARATORS = re.compile(r"[\s\-.()/]")


def normalise_number(raw: str | None) -> str | None:
    """The E.164 form of a phone number, or None when ``raw`` is not one.

    Accepts what vendors send: ``+1 (415) 555-0100``, ``0044…``, ``tel:+1…;ext=2``,
    ``sip:+1…@host``. A number without a country code is not guessed (None), and neither are
    ``anonymous``, ``client:alice`` and other non-numbers.
    """
    if raw is None:
        return None
    value = raw.strip()
    lowered = value.lower()
    if lowered.startswith("tel:"):
        value = value[4:]
    elif lowered.startswith(("sip:", "sips:")):
        value = value.split(":", 1)[1].split("@", 1)[0]
    value = _SEPARATORS.sub("", value.split(";", 1)[0])
    if value.startswith("00"):
        value = "+" + value[2:]
    return value if _E164.fullmatch(value) else None


@dataclass(frozen=True)
class TranscriptTurn:
    speaker: str  # "customer", "agent", "bot", or the vendor's label
    text: str
    start: float | None = None  # seconds from the start of the recording, when the vendor says
    end: float | None = None


def _turn_order(turn: TranscriptTurn) -> tuple[bool, float, float, str, str]:
    return (turn.start is None, turn.start or 0.0, turn.end or 0.0, turn.speaker, turn.text)


@dataclass(frozen=True)
class CallEvent:
    """One thing that happened to one call, in Omniroute's words.

    ``(provider, event_id)`` identifies the event: the idempotency key of ingress. ``call_id`` is
    the provider's id of the customer's call (Twilio's parent ``CallSid``, Amazon Connect's
    ``contactId``). Fields a kind does not use stay empty.
    """

    event_id: str
    call_id: str
    provider: str
    kind: CallEventKind
    occurred_at: datetime
    direction: Direction | None = None
    from_number: str | None = None  # E.164
    to_number: str | None = None  # E.164
    queue: str | None = None
    ivr_data: Mapping[str, str] = field(default_factory=dict)
    agent_id: str | None = None  # the vendor's id of the agent (Twilio client identity, Connect agent ARN)
    previous_call_id: str | None = None  # on the first event of a call created by a transfer
    initial_call_id: str | None = None  # the first call of a chain of transfers
    transfer_to: str | None = None  # transferred: the new call, queue or agent
    participant: str | None = None  # conference: who joined or left
    participant_joined: bool = True
    recording_url: str | None = None
    transcript: tuple[TranscriptTurn, ...] = ()
    disposition: str | None = None
    notes: str | None = None
    end_reason: str | None = None  # ended: completed, busy, no-answer, failed, canceled, …
    source_event: str = ""  # the vendor's own name for what happened, for traces and support

    def __post_init__(self) -> None:
        if not self.event_id or not self.call_id or not self.provider:
            msg = "a call event needs event_id, call_id and provider"
            raise ValueError(msg)
        if self.occurred_at.tzinfo is None:
            msg = f"occurred_at must be timezone-aware, got {self.occurred_at!r}"
            raise ValueError(msg)
        object.__setattr__(self, "occurred_at", self.occurred_at.astimezone(UTC))
        object.__setattr__(self, "kind", CallEventKind(self.kind))
        if self.direction is not None:
            object.__setattr__(self, "direction", Direction(self.direction))

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.event_id)


def fold_order(event: CallEvent) -> tuple[datetime, int, str]:
    """The canonical order events are folded in; delivery order never matters."""
    return (event.occurred_at, KIND_RANK[event.kind], event.event_id)


@dataclass(frozen=True)
class CallDurations:
    """Seconds spent in each phase: ``wait`` in the IVR and queue, ``ring`` while an agent (or the
    customer, outbound) was rung, ``talk`` connected and not on hold, ``hold``, ``wrap_up`` from the
    end of the call to wrap-up done."""

    wait: float = 0.0
    ring: float = 0.0
    talk: float = 0.0
    hold: float = 0.0
    wrap_up: float = 0.0


_PHASE = {
    CallState.OFFERED: "wait",
    CallState.RINGING: "ring",
    CallState.CONNECTED: "talk",
    CallState.HELD: "hold",
    CallState.WRAP_UP: "wrap_up",
}


@dataclass(frozen=True)
class Call:
    """One call as its events describe it. Build with :meth:`from_events` or :meth:`apply`."""

    provider: str
    call_id: str
    events: tuple[CallEvent, ...] = ()  # in fold order, one per event id
    state: CallState = CallState.NEW
    state_since: datetime | None = None
    direction: Direction | None = None
    from_number: str | None = None
    to_number: str | None = None
    queue: str | None = None
    ivr_data: Mapping[str, str] = field(default_factory=dict)
    agent_id: str | None = None  # the agent last rung or answering
    agents: tuple[str, ...] = ()  # every agent who answered, in order
    previous_call_id: str | None = None
    initial_call_id: str | None = None
    transferred_to: str | None = None
    transfer_count: int = 0
    hold_count: int = 0
    participants: tuple[str, ...] = ()  # conference parties other than the customer, present now
    conferenced: bool = False  # two or more parties besides the customer were on the call at once
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrapup_done_at: datetime | None = None
    end_reason: str | None = None
    disposition: str | None = None
    notes: str | None = None
    recordings: tuple[str, ...] = ()
    transcript: tuple[TranscriptTurn, ...] = ()
    phases: CallDurations = field(default_factory=CallDurations)  # up to ``state_since``
    ignored: tuple[str, ...] = ()  # event ids that contradicted the call at their own time

    @classmethod
    def from_events(cls, events: Iterable[CallEvent]) -> Call:
        """The call the events describe; duplicates (same event id) count once, the first kept."""
        unique: dict[str, CallEvent] = {}
        provider = call_id = None
        for event in events:
            if provider is None:
                provider, call_id = event.provider, event.call_id
            _check_same_call(provider, call_id, event)
            unique.setdefault(event.event_id, event)
        if provider is None or call_id is None:
            msg = "a call needs at least one event"
            raise ValueError(msg)
        return _fold(provider, call_id, sorted(unique.values(), key=fold_order))

    def apply(self, event: CallEvent) -> Call:
        """This call with one more event; the same call when the event id was seen before."""
        _check_same_call(self.provider, self.call_id, event)
        if self.has(event.event_id):
            return self
        return _fold(self.provider, self.call_id, sorted((*self.events, event), key=fold_order))

    def has(self, event_id: str) -> bool:
        return any(e.event_id == event_id for e in self.events)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def holds_agent(self) -> bool:
        """True while the call occupies ``agent_id`` *at the provider* (ringing, talking, on hold,
        in wrap-up): a fact about the call. Omniroute's routing capacity is another matter: it is
        taken when the call is answered (the voice conversation is the agent's work), or while it
        rings only when Omniroute routed it (the reservation); see docs/VOICE.md ("Capacity")."""
        return self.state in AGENT_STATES and self.agent_id is not None

    @property
    def outcome(self) -> str | None:
        """How the call ended: answered, transferred (before anyone answered), abandoned (inbound,
        nobody answered) or unanswered (outbound); None while it is live."""
        if self.is_live:
            return None
        if self.answered_at is not None:
            return "answered"
        if self.transfer_count:
            return "transferred"
        return "unanswered" if self.direction is Direction.OUTBOUND else "abandoned"

    def durations(self, as_of: datetime | None = None) -> CallDurations:
        """The phases so far; with ``as_of`` (now, from the caller's clock) the current phase runs
        up to that instant instead of stopping at the last event."""
        phase = _PHASE.get(self.state)
        if as_of is None or phase is None or self.state_since is None or as_of <= self.state_since:
            return self.phases
        extra = (as_of - self.state_since).total_seconds()
        return replace(self.phases, **{phase: getattr(self.phases, phase) + extra})


def _check_same_call(provider: str | None, call_id: str | None, event: CallEvent) -> None:
    if (event.provider, event.call_id) != (provider, call_id):
        msg = f"event {event.event_id} belongs to {event.provider}/{event.call_id}, not {provider}/{call_id}"
        raise ValueError(msg)


class _Fold:
    """The state machine, applied to events in fold order."""

    def __init__(self) -> None:
        self.state = CallState.NEW
        self.since: datetime | None = None
        self.phases: dict[str, float] = {}
        self.direction: Direction | None = None
        self.from_number: str | None = None
        self.to_number: str | None = None
        self.queue: str | None = None
        self.ivr: dict[str, str] = {}
        self.agent_id: str | None = None
        self.agents: list[str] = []
        self.previous_call_id: str | None = None
        self.initial_call_id: str | None = None
        self.transferred_to: str | None = None
        self.transfer_count = 0
        self.hold_count = 0
        self.participants: set[str] = set()
        self.conferenced = False
        self.offered_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.wrapup_done_at: datetime | None = None
        self.end_reason: str | None = None
        self.disposition: str | None = None
        self.notes: str | None = None
        self.recordings: list[str] = []
        self.turns: set[TranscriptTurn] = set()
        self.ignored: list[str] = []
        self.pending_wrapup: CallEvent | None = None

    def take(self, event: CallEvent) -> None:
        kind = event.kind
        if kind is CallEventKind.WRAPUP_DONE:
            self._wrapup(event)
        elif kind is CallEventKind.RECORDING_AVAILABLE:
            if event.recording_url and event.recording_url not in self.recordings:
                self.recordings.append(event.recording_url)
        elif kind is CallEventKind.TRANSCRIPT_AVAILABLE:
            self.turns.update(event.transcript)
        elif self.state not in LIVE_STATES:
            self.ignored.append(event.event_id)
            return
        else:
            self._lifecycle(event)
        self._merge(event)

    def _move(self, state: CallState, at: datetime) -> None:
        if self.since is not None and (phase := _PHASE.get(self.state)):
            self.phases[phase] = self.phases.get(phase, 0.0) + (at - self.since).total_seconds()
        self.state, self.since = state, at

    def _lifecycle(self, event: CallEvent) -> None:
        handlers = {
            CallEventKind.OFFERED: self._offered,
            CallEventKind.RINGING: self._ringing,
            CallEventKind.ANSWERED: self._answered,
            CallEventKind.HELD: self._held,
            CallEventKind.RESUMED: self._resumed,
            CallEventKind.TRANSFERRED: self._transferred,
            CallEventKind.CONFERENCE: self._conference,
            CallEventKind.ENDED: self._ended,
        }
        handlers[event.kind](event)

    def _offered(self, event: CallEvent) -> None:
        if self.state in (CallState.NEW, CallState.RINGING):  # from ringing: nobody picked up, back to queue
            self._move(CallState.OFFERED, event.occurred_at)
            self.offered_at = self.offered_at or event.occurred_at
            self._agent(event)

    def _ringing(self, event: CallEvent) -> None:
        if self.state in (CallState.NEW, CallState.OFFERED):
            self._move(CallState.RINGING, event.occurred_at)
        if self.state is CallState.RINGING:
            self._agent(event)

    def _held(self, event: CallEvent) -> None:
        if self.state is CallState.CONNECTED:
            self._move(CallState.HELD, event.occurred_at)
            self.hold_count += 1

    def _resumed(self, event: CallEvent) -> None:
        if self.state is CallState.HELD:
            self._move(CallState.CONNECTED, event.occurred_at)

    def _transferred(self, event: CallEvent) -> None:
        self._move(CallState.OFFERED, event.occurred_at)
        self.transfer_count += 1
        self.transferred_to = event.transfer_to or self.transferred_to

    def _answered(self, event: CallEvent) -> None:
        if self.state in (CallState.NEW, CallState.OFFERED, CallState.RINGING):
            self._move(CallState.CONNECTED, event.occurred_at)
            self.answered_at = self.answered_at or event.occurred_at
            self._agent(event)
        elif self.state is CallState.CONNECTED and event.agent_id and event.agent_id != self.agent_id:
            self._agent(event)  # another agent took over the call (a transfer inside one call id)
        else:
            return
        if self.agent_id is not None and self.agent_id not in self.agents:
            self.agents.append(self.agent_id)

    def _conference(self, event: CallEvent) -> None:
        if event.participant is None:
            self.conferenced = True
        elif event.participant_joined:
            self.participants.add(event.participant)
            self.conferenced = self.conferenced or len(self.participants) >= 2
        else:
            self.participants.discard(event.participant)

    def _ended(self, event: CallEvent) -> None:
        at = event.occurred_at
        self.ended_at, self.end_reason = at, event.end_reason
        self.participants.clear()
        if self.answered_at is None:
            self._move(CallState.CLOSED, at)
        elif self.pending_wrapup is not None:
            self._move(CallState.CLOSED, at)
            self.wrapup_done_at = max(at, self.pending_wrapup.occurred_at)
        else:
            self._move(CallState.WRAP_UP, at)

    def _wrapup(self, event: CallEvent) -> None:
        # Wrap-up done may be stamped before the end by a vendor whose clocks disagree: it is then
        # kept aside and closes the call the moment it ends, so the order of the two never matters.
        self.disposition = event.disposition if event.disposition is not None else self.disposition
        self.notes = event.notes if event.notes is not None else self.notes
        if self.state is CallState.WRAP_UP:
            self._move(CallState.CLOSED, event.occurred_at)
            self.wrapup_done_at = event.occurred_at
        elif self.state in LIVE_STATES and self.pending_wrapup is None:
            self.pending_wrapup = event

    def _agent(self, event: CallEvent) -> None:
        self.agent_id = event.agent_id or self.agent_id

    def _merge(self, event: CallEvent) -> None:
        self.direction = self.direction or event.direction
        self.from_number = self.from_number or event.from_number
        self.to_number = self.to_number or event.to_number
        self.previous_call_id = self.previous_call_id or event.previous_call_id
        self.initial_call_id = self.initial_call_id or event.initial_call_id
        self.queue = event.queue or self.queue  # the latest: transfers move calls between queues
        self.ivr.update(event.ivr_data)

    def result(self, provider: str, call_id: str, events: tuple[CallEvent, ...]) -> Call:
        return Call(
            provider=provider,
            call_id=call_id,
            events=events,
            state=self.state,
            state_since=self.since,
            direction=self.direction,
            from_number=self.from_number,
            to_number=self.to_number,
            queue=self.queue,
            ivr_data=dict(self.ivr),
            agent_id=self.agent_id,
            agents=tuple(self.agents),
            previous_call_id=self.previous_call_id,
            initial_call_id=self.initial_call_id,
            transferred_to=self.transferred_to,
            transfer_count=self.transfer_count,
            hold_count=self.hold_count,
            participants=tuple(sorted(self.participants)),
            conferenced=self.conferenced,
            offered_at=self.offered_at,
            answered_at=self.answered_at,
            ended_at=self.ended_at,
            wrapup_done_at=self.wrapup_done_at,
            end_reason=self.end_reason,
            disposition=self.disposition,
            notes=self.notes,
            recordings=tuple(self.recordings),
            transcript=tuple(sorted(self.turns, key=_turn_order)),
            phases=CallDurations(**self.phases),
            ignored=tuple(self.ignored),
        )


def _fold(provider: str, call_id: str, ordered: list[CallEvent]) -> Call:
    fold = _Fold()
    for event in ordered:
        fold.take(event)
    return fold.result(provider, call_id, tuple(ordered))

"""What the engine answers: decisions for the caller to persist, and the routing trace.

A command returns an ``Outcome``: the decisions it took, in order. The caller stores them (offer
rows, capacity, presence) in one transaction and only then announces them; the engine has already
applied them to its own indexes, so the caller must not drop an outcome it has not stored (on a
failed commit, rebuild the engine from the store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Why(StrEnum):
    """Why an agent was not chosen for an item."""

    NOT_MEMBER = "not a member of the queue"
    PRESENCE = "presence not allowed"
    CAPACITY = "no capacity for this channel"
    SKILLS = "missing required skills"
    DECLINE_LIMIT = "declined it too often"
    DIRECTED = "item is directed to another agent"
    RANKED_LOWER = "ranked lower"
    CHOOSER = "not chosen by the external chooser"


class OfferEnd(StrEnum):
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"


class Release(StrEnum):
    """Why an agent's capacity for an item became free."""

    ENDED = "ended"  # wrap-up does not block capacity
    WRAP_UP_FINISHED = "wrap_up_finished"
    WRAP_UP_ELAPSED = "wrap_up_elapsed"
    CLOSED = "closed"
    TRANSFERRED = "transferred"


@dataclass(frozen=True, slots=True)
class Offered:
    """Offer ``item_id`` to ``agent_id``; its capacity (``units``) is reserved from now on.

    ``expires_at`` is None for auto-accepted offers (an ``Assigned`` follows at once).
    """

    item_id: str
    agent_id: str
    queue_id: str
    attempt: int
    offered_at: datetime
    expires_at: datetime | None
    units: int
    channel: str
    why: str


@dataclass(frozen=True, slots=True)
class Assigned:
    item_id: str
    agent_id: str
    queue_id: str
    at: datetime
    auto_accepted: bool = False


@dataclass(frozen=True, slots=True)
class OfferClosed:
    """A pending offer ended without acceptance; its reserved capacity is free again."""

    item_id: str
    agent_id: str
    attempt: int
    at: datetime
    reason: OfferEnd


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """The engine changed an agent's presence (a missed offer makes the agent inactive)."""

    agent_id: str
    presence: str
    previous: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class CapacityReleased:
    item_id: str
    agent_id: str
    at: datetime
    reason: Release


@dataclass(frozen=True, slots=True)
class WrapUpStarted:
    """Work ended; ``until`` is when its capacity frees by itself (None: when finished)."""

    item_id: str
    agent_id: str
    at: datetime
    until: datetime | None


@dataclass(frozen=True, slots=True)
class ChoiceRequested:
    """The external chooser deferred: call ``RoutingEngine.choose`` with its answer."""

    item_id: str
    queue_id: str
    candidates: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class Relaxed:
    """The item waited long enough to ask for less (a bullseye step)."""

    item_id: str
    stage: int
    skills: tuple[tuple[str, int], ...]
    any_skill: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class ConsultStarted:
    item_id: str
    agent_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    item_id: str
    agent_id: str
    at: datetime


Decision = (
    Offered
    | Assigned
    | OfferClosed
    | PresenceChanged
    | CapacityReleased
    | WrapUpStarted
    | ChoiceRequested
    | Relaxed
    | ConsultStarted
    | ConsultEnded
)


@dataclass(frozen=True, slots=True)
class Outcome:
    decisions: tuple[Decision, ...] = ()
    #: Set when the command was refused after time had already acted (accepting an expired
    #: offer): the decisions still hold and must be persisted.
    refused: str | None = None

    @property
    def offers(self) -> list[Offered]:
        return [d for d in self.decisions if isinstance(d, Offered)]

    @property
    def assignments(self) -> list[Assigned]:
        return [d for d in self.decisions if isinstance(d, Assigned)]

    @property
    def closed_offers(self) -> list[OfferClosed]:
        return [d for d in self.decisions if isinstance(d, OfferClosed)]

    @property
    def releases(self) -> list[CapacityReleased]:
        return [d for d in self.decisions if isinstance(d, CapacityReleased)]


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One line of an item's routing trace.

    ``kind`` is one of: ``prior`` (a step the caller passed in, e.g. classification), ``queued``,
    ``offered``, ``waiting`` (no agent could take it), ``declined``, ``timed_out``, ``withdrawn``,
    ``accepted``, ``relaxed``, ``transferred``, ``consult``, ``chooser``, ``ended``, ``closed``.
    ``rejected`` names the candidates looked at and passed over, with why; ``looked_at`` counts
    every candidate examined (the indexes mean that is usually a handful, not the whole queue).
    """

    at: datetime
    kind: str
    detail: str
    agent_id: str | None = None
    rejected: tuple[tuple[str, str], ...] = ()
    looked_at: int = 0

    def describe(self) -> str:
        who = f" {self.agent_id}" if self.agent_id else ""
        text = f"{self.at.isoformat()} {self.kind}{who}: {self.detail}"
        if self.looked_at:
            text += f" (looked at {self.looked_at})"
        if self.rejected:
            text += "; passed over " + ", ".join(f"{a} ({why})" for a, why in self.rejected)
        return text


@dataclass(frozen=True, slots=True)
class RoutingTrace:
    item_id: str
    steps: tuple[TraceStep, ...]
    dropped: int = 0  # oldest steps dropped to keep the trace bounded

    def lines(self) -> list[str]:
        head = [f"({self.dropped} earlier steps dropped)"] if self.dropped else []
        return head + [s.describe() for s in self.steps]


@dataclass(frozen=True, slots=True)
class CandidateVerdict:
    """``explain``: one queue member and whether it could take the item right now."""

    agent_id: str
    eligible: bool
    why: str | None = None
    rank: int | None = None  # 1 = would be chosen next


@dataclass(frozen=True, slots=True)
class QueuePosition:
    item_id: str
    queue_id: str
    position: int  # 1 = next in line
    waiting: int  # items waiting in the queue
    estimated_wait_seconds: float | None  # None: nobody who could take it is signed in


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue_id: str
    waiting: int
    offered: int  # items with a pending offer
    oldest_wait_seconds: float
    members: int
    ready: int  # members with an allowed presence and some free capacity
    handled: int = 0  # items whose work ended in this queue since start
    extras: dict[str, float] = field(default_factory=dict)

"""First-cut routing rules. Pure: no I/O, no clock reads.

The full engine (skills, unit capacity, assignment methods, overflow) replaces this module and
``routing.engine``; the service API and the events stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BUSY_DND = "busy_dnd"
    AWAY = "away"
    OFFLINE = "offline"


#: Presences that receive pushed work. Busy means "I'd rather not": it keeps current work only.
ROUTABLE_PRESENCES = frozenset({Presence.AVAILABLE})


class SessionStatus(StrEnum):
    OFFERED = "offered"
    ACTIVE = "active"
    CLOSED = "closed"


class ClosureReason(StrEnum):
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    TRANSFERRED = "transferred"
    CUSTOMER_LEFT = "customer_left"
    ENDED = "ended"  # the conversation reached wrap-up/closed with this agent
    WITHDRAWN = "withdrawn"  # the offer was taken back (agent went offline, conversation closed)


@dataclass(frozen=True)
class AgentCandidate:
    agent_id: str
    presence: Presence
    load: int
    capacity: int
    idle_since: datetime | None  # last time this agent's load changed; None = never worked


def eligible(candidate: AgentCandidate, excluded: frozenset[str]) -> bool:
    return (
        candidate.presence in ROUTABLE_PRESENCES
        and candidate.load < candidate.capacity
        and candidate.agent_id not in excluded
    )


def choose_agent(
    candidates: Iterable[AgentCandidate], excluded: frozenset[str] = frozenset()
) -> AgentCandidate | None:
    """Longest idle first among available agents with spare capacity; ties by id (stable)."""
    pool = [c for c in candidates if eligible(c, excluded)]
    if not pool:
        return None
    never = [c for c in pool if c.idle_since is None]
    if never:
        return min(never, key=lambda c: c.agent_id)
    return min(pool, key=lambda c: (c.idle_since, c.agent_id))

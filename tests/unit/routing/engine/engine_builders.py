"""Small builders for engine tests: agents, items and engines with readable defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from omniroute.routing.engine import (
    Agent,
    CapacityProfile,
    Offered,
    Outcome,
    QueueConfig,
    RoutingEngine,
    WorkItem,
    WrapUpBlocking,
)
from omniroute.routing.engine.model import MAX_OPEN_ITEMS

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def agent(
    agent_id: str,
    *,
    presence: str = "available",
    skills: Mapping[str, int] | None = None,
    queues: Iterable[str] = ("q",),
    units: int | None = 3,
    limits: Mapping[str, int] | None = None,
    channel_units: Mapping[str, int] | None = None,
    wrap_up: WrapUpBlocking = WrapUpBlocking.NEVER,
    wrap_up_seconds: float = 0,
    idle_since: datetime | None = None,
    max_items: int = MAX_OPEN_ITEMS,
) -> Agent:
    profile = CapacityProfile(
        total_units=units,
        channel_units=dict(channel_units or {}),
        channel_limits=dict(limits or {}),
        wrap_up=wrap_up,
        wrap_up_seconds=wrap_up_seconds,
        max_items=max_items,
    )
    return Agent(agent_id, presence, dict(skills or {}), frozenset(queues), profile, idle_since)


def item(
    item_id: str,
    *,
    queue: str = "q",
    channel: str = "chat",
    skills: Mapping[str, int] | None = None,
    priority: int = 0,
    cost: int | None = None,
    t: float = 0,
    preferred: tuple[str, ...] = (),
    affinity: str | None = None,
    allowed: frozenset[str] | None = None,
    push: bool = True,
    trace: tuple[str, ...] = (),
) -> WorkItem:
    extra = {} if allowed is None else {"allowed_presences": allowed}
    return WorkItem(
        item_id,
        queue,
        channel,
        at(t),
        skills=dict(skills or {}),
        priority=priority,
        capacity_units=cost,
        preferred_agents=preferred,
        affinity_agent=affinity,
        push=push,
        trace=trace,
        **extra,  # type: ignore[arg-type]
    )


def engine(*queues: QueueConfig, selector: str = "indexed", **kwargs: object) -> RoutingEngine:
    return RoutingEngine(queues or (QueueConfig("q"),), selector=selector, **kwargs)  # type: ignore[arg-type]


def with_agents(e: RoutingEngine, *agents: Agent, t: float = 0) -> RoutingEngine:
    for a in agents:
        e.add_agent(a, at(t))
    return e


def offers(outcome: Outcome) -> dict[str, str]:
    """item -> agent for every offer in the outcome."""
    return {d.item_id: d.agent_id for d in outcome.decisions if isinstance(d, Offered)}


def only_offer(outcome: Outcome) -> Offered:
    found = outcome.offers
    assert len(found) == 1, outcome
    return found[0]

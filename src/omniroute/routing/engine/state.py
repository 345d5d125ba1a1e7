"""The engine's mutable state and the rules that read it.

The rule functions here (eligibility, capacity fit, ranking keys) are the single definition of
"who may take what, in which order". The indexed selection (``selection.py``) and the brute-force
scan (``reference.py``) both call them, so the two can only disagree through an index bug, which
is exactly what the differential tests and benchmarks look for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from omniroute.routing.engine.decisions import Why
from omniroute.routing.engine.model import (
    NEVER_ROUTABLE,
    AssignmentMethod,
    CapacityProfile,
    OrderBy,
    Presence,
    QueueConfig,
    SkillMatch,
    WorkItem,
)

Requirements = tuple[tuple[str, int], ...]
Key = tuple[int | float | str, ...]
#: One trace step as recorded: (at, kind, detail, agent, rejected, looked at); see ``TraceStep``.
TraceRecord = tuple[datetime, str, str, str | None, Sequence[tuple[str, str]], int]


class ItemStatus(StrEnum):
    WAITING = "waiting"  # in its queue, no pending offer
    OFFERED = "offered"  # one pending offer; capacity reserved
    CHOOSING = "choosing"  # waiting for the external chooser's answer
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"  # work ended; capacity held until released
    CLOSED = "closed"  # gone from the engine (only seen by the selector while forgetting it)


class AgentState:
    __slots__ = (
        "agent_id",
        "base",
        "by_channel",
        "consults",
        "holdings",
        "idle_seq",
        "idle_since",
        "presence",
        "profile",
        "queues",
        "rr",
        "skills",
        "used_units",
    )

    def __init__(
        self,
        agent_id: str,
        presence: str,
        base: Presence,
        skills: Mapping[str, int],
        queues: frozenset[str],
        profile: CapacityProfile,
        idle_since: datetime | None,
        idle_seq: int,
    ) -> None:
        self.agent_id = agent_id
        self.presence = presence
        self.base = base
        self.skills: dict[str, int] = dict(skills)
        self.queues: frozenset[str] = queues
        self.profile = profile
        self.idle_since = idle_since
        self.idle_seq = idle_seq
        self.used_units = 0
        self.by_channel: dict[str, int] = {}
        self.holdings: dict[str, tuple[int, str]] = {}  # item -> (units, channel) it takes
        self.rr: dict[str, int] = {}  # queue -> sequence of the last offer from it (round robin)
        self.consults: set[str] = set()


class ItemState:
    __slots__ = (
        "affinity",
        "agent_id",
        "allowed",
        "any_skill",
        "assigned_at",
        "attempts",
        "channel",
        "consults",
        "cost",
        "declines",
        "directed_to",
        "enq_ts",
        "enqueued_at",
        "group",
        "item_id",
        "offer_agent",
        "offer_at",
        "offer_expires",
        "preferred",
        "priority",
        "push",
        "queue_id",
        "queued_at",
        "reqs",
        "seq",
        "skills",
        "stage",
        "status",
        "trace",
        "trace_dropped",
        "wrap_until",
    )

    def __init__(self, item: WorkItem, seq: int, queued_at: datetime) -> None:
        self.item_id = item.item_id
        self.queue_id = item.queue_id
        self.channel = item.channel
        self.enqueued_at = item.enqueued_at
        self.enq_ts = item.enqueued_at.timestamp()
        self.seq = seq
        self.priority = item.priority
        self.skills: dict[str, int] = dict(item.skills)
        self.cost = item.capacity_units
        self.allowed = item.allowed_presences
        self.push = item.push
        self.preferred: tuple[str, ...] = ()
        if item.affinity_agent or item.preferred_agents:
            chain: list[str] = []
            for agent_id in (item.affinity_agent, *item.preferred_agents):
                if agent_id and agent_id not in chain:
                    chain.append(agent_id)
            self.preferred = tuple(chain)
        self.affinity = item.affinity_agent
        self.directed_to: str | None = None
        self.queued_at = queued_at
        self.stage = 0
        self.reqs: Requirements = tuple(sorted(self.skills.items()))
        self.any_skill = False
        self.status = ItemStatus.WAITING
        self.offer_agent: str | None = None
        self.offer_expires: datetime | None = None
        self.offer_at: datetime | None = None
        self.attempts = 0
        self.agent_id: str | None = None  # holder of capacity once assigned
        self.assigned_at: datetime | None = None
        self.wrap_until: datetime | None = None
        self.declines: dict[str, int] = {}
        self.consults: set[str] = set()
        self.group: tuple[str, Any] | None = None  # (queue, group key) while in a waiting line
        self.trace: list[TraceRecord] = []
        self.trace_dropped = 0

    def order_key(self, queue_priority: int) -> Key:
        """Work order: queue priority, item priority (both higher first), then age."""
        return (-queue_priority, -self.priority, self.enq_ts, self.seq)


# -- presence ----------------------------------------------------------------------------------


def presence_ok(agent: AgentState, allowed: frozenset[str]) -> bool:
    """A presence is allowed when its own name or its base presence is in the allowed set."""
    base = agent.base
    if base in NEVER_ROUTABLE:
        return False
    return agent.presence in allowed or base in allowed  # a StrEnum member matches its value


# -- capacity ----------------------------------------------------------------------------------


def units_for(profile: CapacityProfile, channel: str, cost: int | None) -> int:
    """Units an item takes from an agent: its own cost, else the profile's channel cost, else 1.

    Under a unit budget every item costs at least one unit, so a full agent is really full.
    """
    units = cost if cost is not None else profile.channel_units.get(channel, 1)
    if units < 1 and profile.total_units is not None:
        return 1
    return units


def fits(agent: AgentState, channel: str, cost: int | None) -> bool:
    profile = agent.profile
    if len(agent.holdings) >= profile.max_items:
        return False
    total = profile.total_units
    if total is not None:
        units = cost if cost is not None else profile.channel_units.get(channel, 1)  # units_for
        if agent.used_units + (units if units > 1 else 1) > total:
            return False
    limits = profile.channel_limits
    if limits:
        limit = limits.get(channel)
        if limit is None:
            return total is not None
        if agent.by_channel.get(channel, 0) >= limit:
            return False
    return True


def has_room(agent: AgentState) -> bool:
    """Could the agent fit some item at all? (The agent pools hold only agents with room.)"""
    profile = agent.profile
    if len(agent.holdings) >= profile.max_items:
        return False
    if profile.total_units is not None:
        return agent.used_units < profile.total_units
    by_channel = agent.by_channel
    return any(by_channel.get(ch, 0) < limit for ch, limit in profile.channel_limits.items())


def free_capacity(agent: AgentState) -> int:
    """The score of "highest available capacity": free units, else free slots over all channels."""
    profile = agent.profile
    if profile.total_units is not None:
        return profile.total_units - agent.used_units
    by_channel = agent.by_channel
    return sum(max(0, limit - by_channel.get(ch, 0)) for ch, limit in profile.channel_limits.items())


# -- skills ------------------------------------------------------------------------------------


def skills_ok(agent: AgentState, reqs: Requirements) -> bool:
    skills = agent.skills
    for skill, minimum in reqs:  # noqa: SIM110 - a plain loop beats all() on the hot path
        if skills.get(skill, 0) < minimum:
            return False
    return True


def closeness(agent: AgentState, reqs: Requirements) -> Key:
    """Closest match: most required skills met, then least over-qualified, then least short."""
    met = excess = shortfall = 0
    skills = agent.skills
    for skill, minimum in reqs:
        level = skills.get(skill, 0)
        if level >= minimum:
            met += 1
            excess += level - minimum
        else:
            shortfall += minimum - level
    return (-met, excess, shortfall)


def proficiency(agent: AgentState, reqs: Requirements) -> int:
    skills = agent.skills
    return sum(skills.get(skill, 0) for skill, _ in reqs)


def relaxed(skills: Mapping[str, int], queue: QueueConfig, stage: int) -> tuple[Requirements, bool]:
    """Requirements after the first ``stage`` relaxation steps of the queue (they accumulate)."""
    lower = 0
    dropped: set[str] = set()
    any_skill = False
    for step in queue.relaxation[:stage]:
        lower += step.lower_proficiency_by
        dropped |= step.drop_skills
        any_skill = any_skill or step.any_skill
    if any_skill:
        return (), True
    reqs = tuple(sorted((s, max(1, m - lower)) for s, m in skills.items() if s not in dropped))
    return reqs, False


# -- ranking -----------------------------------------------------------------------------------


def method_key(agent: AgentState, queue: QueueConfig, reqs: Requirements) -> Key:
    """The assignment method's order for one agent (smaller first; ends in a unique sequence)."""
    method = queue.method
    if method is AssignmentMethod.LONGEST_IDLE or method is AssignmentMethod.EXTERNAL:
        return (agent.idle_seq,)
    if method is AssignmentMethod.HIGHEST_CAPACITY:
        return (-free_capacity(agent), agent.idle_seq)
    if method is AssignmentMethod.ROUND_ROBIN:
        return (agent.rr.get(queue.queue_id, 0), agent.idle_seq)
    if method is AssignmentMethod.MOST_SKILLED:
        return (-proficiency(agent, reqs), agent.idle_seq)
    key: list[int | float | str] = []
    for criterion in queue.order_by:
        if criterion is OrderBy.MOST_SKILLED:
            key.append(-proficiency(agent, reqs))
        elif criterion is OrderBy.HIGHEST_CAPACITY:
            key.append(-free_capacity(agent))
        elif criterion is OrderBy.ROUND_ROBIN:
            key.append(agent.rr.get(queue.queue_id, 0))
        else:
            key.append(agent.idle_seq)
    key.append(agent.idle_seq)
    return tuple(key)


def rank(agent: AgentState, item: ItemState, queue: QueueConfig) -> Key:
    """Full order among eligible agents: fewest declines of this item, closeness, method."""
    declines = item.declines.get(agent.agent_id, 0)
    if queue.skill_match is SkillMatch.CLOSEST:
        return (declines, *closeness(agent, item.reqs), *method_key(agent, queue, item.reqs))
    return (declines, *method_key(agent, queue, item.reqs))


def why_not(agent: AgentState, item: ItemState, queue: QueueConfig) -> Why | None:
    """Why ``agent`` cannot take ``item`` now (None: it can)."""
    if item.directed_to is not None:
        if agent.agent_id != item.directed_to:
            return Why.DIRECTED
        if not presence_ok(agent, item.allowed):
            return Why.PRESENCE
        if not fits(agent, item.channel, item.cost):
            return Why.CAPACITY
        return None
    if item.queue_id not in agent.queues:
        return Why.NOT_MEMBER
    if not presence_ok(agent, item.allowed):
        return Why.PRESENCE
    if item.declines.get(agent.agent_id, 0) >= queue.decline_limit:
        return Why.DECLINE_LIMIT
    if not fits(agent, item.channel, item.cost):
        return Why.CAPACITY
    if queue.skill_match is SkillMatch.EXACT and not skills_ok(agent, item.reqs):
        return Why.SKILLS
    return None


def can_take(agent: AgentState, item: ItemState, queue: QueueConfig) -> bool:
    """``why_not(agent, item, queue) is None`` for an item that is not directed, in one call.

    The same rules in the same terms, inlined for the walks (the reason is asked of ``why_not``
    only for the agents passed over); the differential tests hold the two together.
    """
    if item.queue_id not in agent.queues:
        return False
    base = agent.base
    allowed = item.allowed
    if base in NEVER_ROUTABLE or (agent.presence not in allowed and base not in allowed):
        return False
    declines = item.declines
    if declines and declines.get(agent.agent_id, 0) >= queue.decline_limit:
        return False
    profile = agent.profile
    if len(agent.holdings) >= profile.max_items:
        return False
    total = profile.total_units
    if total is not None:
        cost = item.cost
        units = cost if cost is not None else profile.channel_units.get(item.channel, 1)
        if agent.used_units + (units if units > 1 else 1) > total:
            return False
    if profile.channel_limits and not fits(agent, item.channel, item.cost):
        return False
    if queue.skill_match is SkillMatch.EXACT:
        skills = agent.skills
        for skill, minimum in item.reqs:
            if skills.get(skill, 0) < minimum:
                return False
    return True


def preferred_for(item: ItemState, agent_id: str) -> bool:
    """Does the item rank ``agent_id`` first (directed transfer, affinity, preferred agent)?"""
    if item.directed_to is not None:
        return item.directed_to == agent_id
    return agent_id in item.preferred and item.declines.get(agent_id, 0) == 0


def matchable(item: ItemState) -> bool:
    """Waiting for an agent to be pushed to it (not offered, not picked-only, not choosing)."""
    return item.status is ItemStatus.WAITING and (item.push or item.directed_to is not None)

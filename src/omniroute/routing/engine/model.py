"""What the engine is told: presences, capacity profiles, queues, agents and work items.

Frozen dataclasses and string enums only, so the engine stays pure (no framework, no I/O). The
string values are the ones the admin configuration (``routing.config``) uses, so mapping one to
the other is a field-by-field copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Presence(StrEnum):
    """The base presences. Custom presences map onto one of these (see ``PresenceCatalog``)."""

    AVAILABLE = "available"
    BUSY = "busy"
    BUSY_DND = "busy_dnd"
    AWAY = "away"
    OFFLINE = "offline"
    INACTIVE = "inactive"  # set by the engine when an agent lets an offer time out


#: Presences that never receive pushed work, whatever a workstream allows.
NEVER_ROUTABLE = frozenset({Presence.OFFLINE, Presence.INACTIVE})

#: Default allowed presences of a work item: only agents who said they are available get pushed
#: work. Busy means "I would rather not"; a workstream can allow it explicitly.
DEFAULT_ALLOWED_PRESENCES = frozenset({Presence.AVAILABLE.value})


class AssignmentMethod(StrEnum):
    HIGHEST_CAPACITY = "highest_capacity"
    ROUND_ROBIN = "round_robin"
    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    RULES = "rules"  # ordered criteria (``QueueConfig.order_by``), with relaxation like any method
    EXTERNAL = "external"  # an injected chooser picks among the candidates


class OrderBy(StrEnum):
    """One criterion of the ``rules`` method; criteria apply in the order given."""

    MOST_SKILLED = "most_skilled"  # highest total proficiency in the required skills
    HIGHEST_CAPACITY = "highest_capacity"  # most free capacity
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"  # least recently offered work from this queue


class SkillMatch(StrEnum):
    EXACT = "exact"  # every required skill at or above its minimum proficiency
    CLOSEST = "closest"  # any member; ranked by how closely their skills fit


class WrapUpBlocking(StrEnum):
    ALWAYS = "always"  # capacity stays taken until wrap-up is finished (or the item closed)
    NEVER = "never"  # capacity is free as soon as the work ends
    SECONDS = "seconds"  # free after ``wrap_up_seconds`` or when wrap-up is finished, if sooner


class EngineError(Exception):
    """A command the engine cannot apply in its current state; nothing was changed."""


class UnknownItem(EngineError):
    pass


class UnknownAgent(EngineError):
    pass


class UnknownQueue(EngineError):
    pass


class NotPending(EngineError):
    """The item has no pending offer to that agent (accepted, declined, withdrawn or expired)."""


class InvalidState(EngineError):
    pass


#: The most work items an agent holds at once: the agent workspace shows ten sessions.
MAX_OPEN_ITEMS = 10


@dataclass(frozen=True, slots=True)
class CapacityProfile:
    """How much concurrent work an agent takes.

    Unit-based when ``total_units`` is set: an item costs its ``capacity_units`` (or, when the
    item does not say, this profile's ``channel_units`` for its channel, else 1) and fits while
    the units in use plus its cost stay within the total. Profile-based through
    ``channel_limits``: at most that many concurrent items of a channel. With limits but no
    ``total_units``, channels missing from ``channel_limits`` are not handled at all. Both can
    apply at once.
    """

    total_units: int | None = None
    channel_units: Mapping[str, int] = field(default_factory=dict)
    channel_limits: Mapping[str, int] = field(default_factory=dict)
    wrap_up: WrapUpBlocking = WrapUpBlocking.ALWAYS
    wrap_up_seconds: float = 0.0
    #: At most this many items at once, whatever the units say: each is a session in the agent's
    #: workspace, which shows ten.
    max_items: int = MAX_OPEN_ITEMS

    def __post_init__(self) -> None:
        if self.total_units is None and not self.channel_limits:
            raise ValueError("a capacity profile needs total_units or channel_limits")
        if not 1 <= self.max_items <= MAX_OPEN_ITEMS:
            raise ValueError(f"max_items must be between 1 and {MAX_OPEN_ITEMS}")
        if self.total_units is not None and self.total_units < 1:
            raise ValueError("total_units must be at least 1")
        if any(v < 1 for v in self.channel_limits.values()):
            raise ValueError("channel_limits must be at least 1")
        if self.wrap_up is WrapUpBlocking.SECONDS and self.wrap_up_seconds <= 0:
            raise ValueError("wrap_up 'seconds' needs wrap_up_seconds > 0")


#: Three concurrent items of any channel (each costs one unit), capacity held through wrap-up:
#: the first cut's rule.
DEFAULT_CAPACITY = CapacityProfile(total_units=3)


@dataclass(frozen=True, slots=True)
class RelaxationStep:
    """Bullseye routing: after ``after_seconds`` in the queue the item asks for less."""

    after_seconds: float
    lower_proficiency_by: int = 0
    drop_skills: frozenset[str] = frozenset()
    any_skill: bool = False  # any member of the queue will do


@dataclass(frozen=True, slots=True)
class QueueConfig:
    queue_id: str
    priority: int = 0  # higher goes first when an agent serves several queues
    method: AssignmentMethod = AssignmentMethod.HIGHEST_CAPACITY
    skill_match: SkillMatch = SkillMatch.EXACT
    offer_timeout_seconds: float = 60.0
    auto_accept: bool = False
    decline_limit: int = 3  # declines (or missed offers) of one item before that agent is excluded
    relaxation: tuple[RelaxationStep, ...] = ()
    order_by: tuple[OrderBy, ...] = (OrderBy.MOST_SKILLED, OrderBy.LONGEST_IDLE)  # for ``rules``
    external_candidates: int = 20  # how many ranked candidates the external chooser sees
    service_level_seconds: float = 60.0

    def __post_init__(self) -> None:
        steps = [s.after_seconds for s in self.relaxation]
        if steps != sorted(set(steps)) or any(s <= 0 for s in steps):
            raise ValueError("relaxation steps need increasing, positive after_seconds")
        if self.decline_limit < 1:
            raise ValueError("decline_limit must be at least 1")
        if self.offer_timeout_seconds <= 0:
            raise ValueError("offer_timeout_seconds must be positive")
        if self.external_candidates < 1:
            raise ValueError("external_candidates must be at least 1")


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    presence: str = Presence.OFFLINE.value  # a base presence or a custom one
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> proficiency 1..10
    queues: frozenset[str] = frozenset()
    capacity: CapacityProfile = DEFAULT_CAPACITY
    idle_since: datetime | None = None  # when the agent last became free; None = never worked

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.skills.items() if not 1 <= v <= 10}
        if bad:
            raise ValueError(f"proficiency must be 1 to 10: {bad}")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A piece of work to route, as classified by the caller (workstream and rules applied)."""

    item_id: str
    queue_id: str
    channel: str
    enqueued_at: datetime
    skills: Mapping[str, int] = field(default_factory=dict)  # required skill -> minimum proficiency
    priority: int = 0  # higher goes first
    capacity_units: int | None = None  # None: the agent's profile decides per channel
    allowed_presences: frozenset[str] = DEFAULT_ALLOWED_PRESENCES
    push: bool = True  # False for "pick" workstreams: wait until an agent picks it
    preferred_agents: tuple[str, ...] = ()  # tried first, in order (at most 3)
    affinity_agent: str | None = None  # "keep same agent": tried before the preferred ones
    trace: tuple[str, ...] = ()  # prior steps (classification, route-to-queue), kept verbatim

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.skills.items() if not 1 <= v <= 10}
        if bad:
            raise ValueError(f"minimum proficiency must be 1 to 10: {bad}")
        if len(self.preferred_agents) > 3:
            raise ValueError("at most 3 preferred agents")
        blocked = {p for p in self.allowed_presences if p in NEVER_ROUTABLE}
        if blocked:
            raise ValueError(f"presences {sorted(blocked)} never receive work")
        if self.capacity_units is not None and self.capacity_units < 0:
            raise ValueError("capacity_units must not be negative")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    trace_limit: int = 200  # trace steps kept per item (the oldest are dropped, counted)
    trace_candidates: int = 8  # rejected candidates named in one trace step
    default_handle_seconds: float = 300.0  # for wait estimates until a queue has history


@dataclass(frozen=True, slots=True)
class OfferState:
    """A pending offer in a snapshot (see ``ItemSnapshot``)."""

    agent_id: str
    offered_at: datetime
    expires_at: datetime | None
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class ItemSnapshot:
    """A work item as the store knows it, for ``RoutingEngine.restore``.

    ``state`` is ``waiting`` (optionally with a pending ``offer``), ``assigned`` (``agent_id``
    holds its capacity) or ``wrap_up`` (``agent_id`` holds capacity until ``wrap_up_until``, or
    until finished when None and the profile blocks ``always``).
    """

    item: WorkItem
    state: str = "waiting"
    offer: OfferState | None = None
    agent_id: str | None = None
    wrap_up_until: datetime | None = None
    declines: Mapping[str, int] = field(default_factory=dict)
    queued_at: datetime | None = None  # entered its current queue (relaxation clock); default enqueued_at
    directed_to: str | None = None  # a transfer to one agent that has not been answered yet
    units: int | None = None  # capacity units held (as offered); None: what the profile says now

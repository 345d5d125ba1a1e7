"""The routing configuration: one validated, versioned document (skills, capacity profiles, custom
presences, queue settings, workstreams, classification rulesets, route-to-queue rules).

Admins replace it through the API; every accepted change becomes a new version in the store, so
a change can be audited, compared and rolled back. Pure: validation only, no I/O.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omniroute.routing.engine.model import MAX_OPEN_ITEMS
from omniroute.routing.model import Presence
from omniroute.routing.rules import Always, Condition

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssignmentMethod(StrEnum):
    HIGHEST_CAPACITY = "highest_capacity"
    ROUND_ROBIN = "round_robin"
    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    RULES = "rules"  # ordered custom rules with time-based relaxation
    EXTERNAL = "external"  # an HTTP endpoint chooses among the candidates


class SkillMatch(StrEnum):
    EXACT = "exact"
    CLOSEST = "closest"


class WrapUpBlocking(StrEnum):
    ALWAYS = "always"  # capacity stays taken until the conversation is closed
    NEVER = "never"  # capacity is free as soon as the conversation ends
    SECONDS = "seconds"  # free after wrap_up_seconds or at close, whichever is first


class Skill(Strict):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)


class CapacityProfile(Strict):
    """Unit-based (``total_units`` and each channel's cost) and/or per-channel concurrent limits."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    total_units: int | None = Field(default=None, ge=1, le=10_000)
    channel_units: dict[str, int] = Field(default_factory=dict)
    channel_limits: dict[str, int] = Field(default_factory=dict)
    wrap_up_blocking: WrapUpBlocking = WrapUpBlocking.ALWAYS
    wrap_up_seconds: int = Field(default=0, ge=0, le=3600)
    max_items: int = Field(
        default=MAX_OPEN_ITEMS,
        ge=1,
        le=MAX_OPEN_ITEMS,
        description="at most this many work items at once, whatever the units allow (ten sessions)",
    )

    @model_validator(mode="after")
    def _coherent(self) -> CapacityProfile:
        if self.total_units is None and not self.channel_limits:
            raise ValueError("a capacity profile needs total_units or channel_limits")
        if any(v < 0 for v in self.channel_units.values()):
            raise ValueError("channel_units must not be negative")
        if any(v < 1 for v in self.channel_limits.values()):
            raise ValueError("channel_limits must be at least 1")
        if self.wrap_up_blocking is WrapUpBlocking.SECONDS and self.wrap_up_seconds == 0:
            raise ValueError("wrap_up_blocking 'seconds' needs wrap_up_seconds")
        return self


class CustomPresence(Strict):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=60)
    base: Presence


class TimeRange(Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("a time range must end after it starts (split ranges across midnight)")
        return self


class OperatingHours(Strict):
    timezone: str = "UTC"
    weekly: dict[str, list[TimeRange]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {value!r}"
            raise ValueError(msg) from exc
        return value

    @field_validator("weekly")
    @classmethod
    def _weekdays(cls, value: dict[str, list[TimeRange]]) -> dict[str, list[TimeRange]]:
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            msg = f"unknown weekday(s) {unknown}; use {', '.join(WEEKDAYS)}"
            raise ValueError(msg)
        return value


class OverflowWhen(StrEnum):
    OUT_OF_HOURS = "out_of_hours"  # before queueing
    WAITING_OVER = "waiting_over"  # before queueing: more than `count` items waiting
    ESTIMATED_WAIT_OVER = "estimated_wait_over"  # before queueing: estimate above `seconds`
    WAITED_LONGER_THAN = "waited_longer_than"  # while queued


class OverflowAction(StrEnum):
    TRANSFER_TO_QUEUE = "transfer_to_queue"
    END_WITH_MESSAGE = "end_with_message"
    OFFER_CALLBACK = "offer_callback"
    ASSIGN_ANYWAY = "assign_anyway"


class OverflowRule(Strict):
    when: OverflowWhen
    count: int | None = Field(default=None, ge=0)
    seconds: int | None = Field(default=None, ge=0)
    action: OverflowAction
    queue: str | None = None
    message: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _complete(self) -> OverflowRule:
        if self.when is OverflowWhen.WAITING_OVER and self.count is None:
            raise ValueError("'waiting_over' needs count")
        if self.when in (OverflowWhen.ESTIMATED_WAIT_OVER, OverflowWhen.WAITED_LONGER_THAN) and (
            self.seconds is None
        ):
            msg = f"'{self.when.value}' needs seconds"
            raise ValueError(msg)
        if self.action is OverflowAction.TRANSFER_TO_QUEUE and not self.queue:
            raise ValueError("'transfer_to_queue' needs queue")
        if self.action is OverflowAction.END_WITH_MESSAGE and not self.message:
            raise ValueError("'end_with_message' needs message")
        return self


class RelaxationStep(Strict):
    """Bullseye routing: after ``after_seconds`` in queue, ask for less."""

    after_seconds: int = Field(ge=1)
    lower_proficiency_by: int = Field(default=0, ge=0, le=9)
    drop_skills: list[str] = Field(default_factory=list)
    any_skill: bool = False


class QueueSettings(Strict):
    queue: str = Field(min_length=1, max_length=120, description="queue name")
    priority: int = Field(default=0, ge=0, le=100, description="higher goes first across queues")
    assignment_method: AssignmentMethod = AssignmentMethod.HIGHEST_CAPACITY
    skill_match: SkillMatch = SkillMatch.EXACT
    offer_timeout_seconds: int = Field(default=60, ge=5, le=3600)
    auto_accept: bool = False
    decline_limit: int = Field(default=3, ge=1, le=100)
    service_level_seconds: int = Field(default=60, ge=1, le=86_400)
    operating_hours: OperatingHours | None = None
    overflow: list[OverflowRule] = Field(default_factory=list)
    relaxation: list[RelaxationStep] = Field(default_factory=list)
    external_endpoint: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _external_needs_endpoint(self) -> QueueSettings:
        external = self.assignment_method is AssignmentMethod.EXTERNAL
        if external and not re.match(r"^https?://", self.external_endpoint or ""):
            raise ValueError("the external method needs an http(s) external_endpoint")
        steps = [s.after_seconds for s in self.relaxation]
        if steps != sorted(set(steps)):
            raise ValueError("relaxation steps must have increasing after_seconds")
        return self


class Workstream(Strict):
    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=120)
    channels: list[str] = Field(min_length=1)
    mode: Literal["push", "pick"] = "push"
    capacity_units: int = Field(default=0, ge=0, le=10_000)
    allowed_presences: list[Presence] = Field(default_factory=lambda: [Presence.AVAILABLE])
    auto_close_after_seconds: int | None = Field(default=None, ge=60)
    keep_same_agent: bool = False
    bot: str | None = None
    fallback_queue: str | None = None


class Classification(Strict):
    """What a matching rule adds to the work item."""

    skills: dict[str, int] = Field(default_factory=dict, description="skill id → minimum proficiency")
    priority: int | None = Field(default=None, ge=0, le=100)
    attributes: dict[str, Any] = Field(default_factory=dict)
    capacity_units: int | None = Field(default=None, ge=0, le=10_000)

    @field_validator("skills")
    @classmethod
    def _proficiency_range(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not 1 <= v <= 10}
        if bad:
            msg = f"proficiency must be 1 to 10: {bad}"
            raise ValueError(msg)
        return value


class ClassificationRule(Strict):
    name: str = Field(min_length=1, max_length=120)
    when: Condition = Field(default_factory=Always)
    set: Classification


class Ruleset(Strict):
    """Within a ruleset the first matching rule wins; then the next ruleset runs."""

    name: str = Field(min_length=1, max_length=120)
    rules: list[ClassificationRule] = Field(default_factory=list)


class QueueShare(Strict):
    queue: str
    percent: int = Field(ge=1, le=100)


class RouteToQueueRule(Strict):
    name: str = Field(min_length=1, max_length=120)
    when: Condition = Field(default_factory=Always)
    queue: str | None = None
    split: list[QueueShare] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> RouteToQueueRule:
        if (self.queue is None) == (not self.split):
            raise ValueError("a route-to-queue rule needs either queue or split")
        if self.split and sum(s.percent for s in self.split) != 100:
            raise ValueError("split percentages must add up to 100")
        return self


class RoutingConfig(Strict):
    skills: list[Skill] = Field(default_factory=list)
    capacity_profiles: list[CapacityProfile] = Field(default_factory=list)
    default_capacity_profile: str | None = None
    custom_presences: list[CustomPresence] = Field(default_factory=list)
    queues: list[QueueSettings] = Field(default_factory=list)
    workstreams: list[Workstream] = Field(default_factory=list)
    classification: list[Ruleset] = Field(default_factory=list)
    route_to_queue: list[RouteToQueueRule] = Field(default_factory=list)
    fallback_queue: str | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> RoutingConfig:
        problems: list[str] = []
        for label, ids in (
            ("skill", [s.id for s in self.skills]),
            ("capacity profile", [p.id for p in self.capacity_profiles]),
            ("custom presence", [p.id for p in self.custom_presences]),
            ("queue settings", [q.queue for q in self.queues]),
            ("workstream", [w.id for w in self.workstreams]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"duplicate {label} {dupes}")
        skills = {s.id for s in self.skills}
        for ruleset in self.classification:
            for rule in ruleset.rules:
                unknown = sorted(set(rule.set.skills) - skills)
                if unknown:
                    problems.append(f"rule {rule.name!r} uses unknown skill(s) {unknown}")
        for q in self.queues:
            for step in q.relaxation:
                unknown = sorted(set(step.drop_skills) - skills)
                if unknown:
                    problems.append(f"queue {q.queue!r} relaxes unknown skill(s) {unknown}")
        profiles = {p.id for p in self.capacity_profiles}
        if self.default_capacity_profile and self.default_capacity_profile not in profiles:
            problems.append(f"unknown default capacity profile {self.default_capacity_profile!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def queue_names(self) -> set[str]:
        """Every queue name the document refers to (checked against the store by the service)."""
        names = {q.queue for q in self.queues}
        names |= {r.queue for r in self.route_to_queue if r.queue}
        names |= {s.queue for r in self.route_to_queue for s in r.split}
        names |= {w.fallback_queue for w in self.workstreams if w.fallback_queue}
        names |= {o.queue for q in self.queues for o in q.overflow if o.queue}
        if self.fallback_queue:
            names.add(self.fallback_queue)
        return names

    def workstream_for(self, channel: str) -> Workstream | None:
        """The first workstream that serves ``channel`` (workstreams are matched in order)."""
        for stream in self.workstreams:
            if channel in stream.channels:
                return stream
        return None

    def settings_for(self, queue_name: str) -> QueueSettings:
        for q in self.queues:
            if q.queue == queue_name:
                return q
        return QueueSettings(queue=queue_name)

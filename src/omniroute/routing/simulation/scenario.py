"""The scenario file of ``omniroute simulate``: queues, agents, arrival streams, in YAML.

Parsed into frozen dataclasses with clear errors ("streams[0].handle_time: unknown distribution
'expo'"), so a supervisor's typo fails before anything runs. See ``docs/ROUTING.md`` for the
format with a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from omniroute.routing.engine import (
    AssignmentMethod,
    CapacityProfile,
    OrderBy,
    Presence,
    QueueConfig,
    RelaxationStep,
    SkillMatch,
    WrapUpBlocking,
)
from omniroute.routing.simulation.distributions import Distribution, parse_distribution
from omniroute.routing.simulation.units import ScenarioError, duration

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Shift:
    start: float  # seconds from the start of the simulation
    end: float


@dataclass(frozen=True)
class AgentGroup:
    name: str
    count: int
    queues: frozenset[str]
    skills: Mapping[str, int]
    capacity: CapacityProfile
    shifts: tuple[Shift, ...]
    presence: str  # presence while on shift
    accept_probability: float  # for offers that are not auto-accepted
    response: Distribution | None  # time to answer an offer; None: at once
    wrap_up_time: Distribution | None  # how long wrap-up takes; None: none


@dataclass(frozen=True)
class RateStep:
    until: float  # seconds from the start
    per_second: float


@dataclass(frozen=True)
class Stream:
    name: str
    queue: str
    channel: str
    skills: Mapping[str, int]
    priority: int
    capacity_units: int | None
    allowed_presences: frozenset[str]
    rates: tuple[RateStep, ...]  # piecewise-constant Poisson rate; empty when ``times`` is used
    times: tuple[float, ...]  # explicit arrival times
    handle_time: Distribution
    patience: Distribution | None  # None: nobody abandons


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    start: datetime
    duration: float
    warmup: float
    drain: float
    queues: tuple[QueueConfig, ...]
    custom_presences: Mapping[str, Presence]
    agents: tuple[AgentGroup, ...]
    streams: tuple[Stream, ...]
    extras: Mapping[str, Any] = field(default_factory=dict)


def load_scenario(path: str | Path) -> Scenario:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from exc
    return parse_scenario(raw)


def parse_scenario(raw: object) -> Scenario:
    doc = _mapping(raw, "scenario")
    _known(
        doc,
        "scenario",
        {"name", "seed", "start", "duration", "warmup", "drain", "queues", "presences", "agents", "streams"},
    )
    start = doc.get("start", DEFAULT_START)
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError as exc:
            raise ScenarioError(f"start: not an ISO date-time ({start!r})") from exc
    if not isinstance(start, datetime):
        raise ScenarioError("start: expected an ISO date-time")
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    total = duration(doc.get("duration", "1h"), "duration")
    if total <= 0:
        raise ScenarioError("duration: must be positive")
    warmup = duration(doc.get("warmup", 0), "warmup")
    if warmup >= total:
        raise ScenarioError("warmup: must be shorter than the duration")
    presences = {
        str(name): _presence(base, f"presences.{name}")
        for name, base in _mapping(doc.get("presences", {}), "presences").items()
    }
    queues = tuple(_queue(q, f"queues[{n}]") for n, q in enumerate(_list(doc.get("queues"), "queues")))
    if not queues:
        raise ScenarioError("queues: at least one queue is needed")
    ids = [q.queue_id for q in queues]
    if len(set(ids)) != len(ids):
        raise ScenarioError("queues: queue ids must be unique")
    known = set(ids)
    agents = tuple(
        _agents(a, f"agents[{n}]", known, total) for n, a in enumerate(_list(doc.get("agents"), "agents"))
    )
    streams = tuple(
        _stream(s, f"streams[{n}]", known, total) for n, s in enumerate(_list(doc.get("streams"), "streams"))
    )
    if not streams:
        raise ScenarioError("streams: at least one arrival stream is needed")
    seed = doc.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ScenarioError("seed: expected an integer")
    return Scenario(
        name=str(doc.get("name", "scenario")),
        seed=seed,
        start=start,
        duration=total,
        warmup=warmup,
        drain=duration(doc.get("drain", "1h"), "drain"),
        queues=queues,
        custom_presences=presences,
        agents=agents,
        streams=streams,
    )


def _queue(raw: object, where: str) -> QueueConfig:
    q = _mapping(raw, where)
    _known(
        q,
        where,
        {
            "id",
            "priority",
            "method",
            "skill_match",
            "offer_timeout",
            "auto_accept",
            "decline_limit",
            "relaxation",
            "order_by",
            "service_level",
        },
    )
    steps = []
    for n, step in enumerate(_list(q.get("relaxation", []), f"{where}.relaxation")):
        s = _mapping(step, f"{where}.relaxation[{n}]")
        _known(s, f"{where}.relaxation[{n}]", {"after", "lower_proficiency_by", "drop_skills", "any_skill"})
        steps.append(
            RelaxationStep(
                after_seconds=duration(s.get("after"), f"{where}.relaxation[{n}].after"),
                lower_proficiency_by=_int(s.get("lower_proficiency_by", 0), f"{where}.relaxation[{n}]", 0, 9),
                drop_skills=frozenset(
                    str(x) for x in _list(s.get("drop_skills", []), f"{where}.relaxation[{n}]")
                ),
                any_skill=bool(s.get("any_skill", False)),
            )
        )
    try:
        return QueueConfig(
            queue_id=str(q.get("id") or _fail(f"{where}.id: required")),
            priority=_int(q.get("priority", 0), f"{where}.priority", 0, 100),
            method=_enum(AssignmentMethod, q.get("method", "longest_idle"), f"{where}.method"),
            skill_match=_enum(SkillMatch, q.get("skill_match", "exact"), f"{where}.skill_match"),
            offer_timeout_seconds=duration(q.get("offer_timeout", 60), f"{where}.offer_timeout"),
            auto_accept=bool(q.get("auto_accept", True)),
            decline_limit=_int(q.get("decline_limit", 3), f"{where}.decline_limit", 1, 100),
            relaxation=tuple(steps),
            order_by=tuple(
                _enum(OrderBy, o, f"{where}.order_by")
                for o in _list(q.get("order_by", ["most_skilled", "longest_idle"]), f"{where}.order_by")
            ),
            service_level_seconds=duration(q.get("service_level", 20), f"{where}.service_level"),
        )
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}: {exc}") from exc


def _agents(raw: object, where: str, queues: set[str], total: float) -> AgentGroup:
    a = _mapping(raw, where)
    _known(
        a,
        where,
        {
            "name",
            "count",
            "queues",
            "skills",
            "capacity",
            "wrap_up",
            "wrap_up_time",
            "shifts",
            "presence",
            "accept",
        },
    )
    member_of = frozenset(str(x) for x in _list(a.get("queues"), f"{where}.queues"))
    unknown = sorted(member_of - queues)
    if unknown:
        raise ScenarioError(f"{where}.queues: unknown queue(s) {unknown}")
    cap = _mapping(a.get("capacity", {"total_units": 1}), f"{where}.capacity")
    _known(cap, f"{where}.capacity", {"total_units", "channel_units", "channel_limits"})
    wrap = _mapping(a.get("wrap_up", {"blocking": "always"}), f"{where}.wrap_up")
    _known(wrap, f"{where}.wrap_up", {"blocking", "seconds"})
    try:
        profile = CapacityProfile(
            total_units=cap.get("total_units"),
            channel_units={str(k): int(v) for k, v in _mapping(cap.get("channel_units", {}), where).items()},
            channel_limits={
                str(k): int(v) for k, v in _mapping(cap.get("channel_limits", {}), where).items()
            },
            wrap_up=_enum(WrapUpBlocking, wrap.get("blocking", "always"), f"{where}.wrap_up.blocking"),
            wrap_up_seconds=duration(wrap.get("seconds", 0), f"{where}.wrap_up.seconds"),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}.capacity: {exc}") from exc
    shifts = []
    # Without shifts agents work the whole run, drain included.
    for n, s in enumerate(_list(a.get("shifts", [{"start": 0, "end": math.inf}]), f"{where}.shifts")):
        shift = _mapping(s, f"{where}.shifts[{n}]")
        _known(shift, f"{where}.shifts[{n}]", {"start", "end"})
        begin = duration(shift.get("start", 0), f"{where}.shifts[{n}].start")
        end = duration(shift.get("end", total), f"{where}.shifts[{n}].end")
        if end <= begin:
            raise ScenarioError(f"{where}.shifts[{n}]: must end after it starts")
        shifts.append(Shift(begin, end))
    accept = _mapping(a.get("accept", {}), f"{where}.accept")
    _known(accept, f"{where}.accept", {"probability", "after"})
    probability = float(accept.get("probability", 1.0))
    if not 0.0 <= probability <= 1.0:
        raise ScenarioError(f"{where}.accept.probability: must be between 0 and 1")
    return AgentGroup(
        name=str(a.get("name") or _fail(f"{where}.name: required")),
        count=_int(a.get("count", 1), f"{where}.count", 0, 100_000),
        queues=member_of,
        skills=_skills(a.get("skills", {}), f"{where}.skills"),
        capacity=profile,
        shifts=tuple(sorted(shifts, key=lambda s: s.start)),
        presence=str(a.get("presence", "available")),
        accept_probability=probability,
        response=parse_distribution(accept["after"], f"{where}.accept.after") if "after" in accept else None,
        wrap_up_time=parse_distribution(a["wrap_up_time"], f"{where}.wrap_up_time")
        if "wrap_up_time" in a
        else None,
    )


def _stream(raw: object, where: str, queues: set[str], total: float) -> Stream:
    s = _mapping(raw, where)
    _known(
        s,
        where,
        {
            "name",
            "queue",
            "channel",
            "skills",
            "priority",
            "capacity_units",
            "allowed_presences",
            "arrivals",
            "handle_time",
            "patience",
        },
    )
    queue = str(s.get("queue") or _fail(f"{where}.queue: required"))
    if queue not in queues:
        raise ScenarioError(f"{where}.queue: unknown queue {queue!r}")
    arrivals = _mapping(s.get("arrivals"), f"{where}.arrivals")
    if len(arrivals) != 1:
        raise ScenarioError(f"{where}.arrivals: give exactly one of poisson, schedule or times")
    kind, spec = next(iter(arrivals.items()))
    rates: list[RateStep] = []
    times: tuple[float, ...] = ()
    if kind == "poisson":
        rates.append(RateStep(total, _rate(spec, f"{where}.arrivals.poisson")))
    elif kind == "schedule":
        for n, step in enumerate(_list(spec, f"{where}.arrivals.schedule")):
            st = _mapping(step, f"{where}.arrivals.schedule[{n}]")
            until = duration(st.get("until", total), f"{where}.arrivals.schedule[{n}].until")
            rates.append(RateStep(until, _rate(st, f"{where}.arrivals.schedule[{n}]")))
        if [r.until for r in rates] != sorted(r.until for r in rates):
            raise ScenarioError(f"{where}.arrivals.schedule: steps must be in time order")
    elif kind == "times":
        times = tuple(sorted(duration(t, f"{where}.arrivals.times") for t in _list(spec, where)))
    else:
        raise ScenarioError(f"{where}.arrivals: unknown kind {kind!r} (poisson, schedule or times)")
    allowed = frozenset(str(p) for p in _list(s.get("allowed_presences", ["available"]), where))
    cost = s.get("capacity_units")
    return Stream(
        name=str(s.get("name") or _fail(f"{where}.name: required")),
        queue=queue,
        channel=str(s.get("channel", "chat")),
        skills=_skills(s.get("skills", {}), f"{where}.skills"),
        priority=_int(s.get("priority", 0), f"{where}.priority", 0, 100),
        capacity_units=None if cost is None else _int(cost, f"{where}.capacity_units", 0, 10_000),
        allowed_presences=allowed,
        rates=tuple(rates),
        times=times,
        handle_time=parse_distribution(s.get("handle_time"), f"{where}.handle_time"),
        patience=parse_distribution(s["patience"], f"{where}.patience") if s.get("patience") else None,
    )


def _rate(spec: object, where: str) -> float:
    rate = _mapping(spec, where)
    for key, scale in (("per_second", 1.0), ("per_minute", 60.0), ("per_hour", 3600.0)):
        if key in rate:
            value = rate[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ScenarioError(f"{where}.{key}: expected a number >= 0")
            return float(value) / scale
    raise ScenarioError(f"{where}: give per_second, per_minute or per_hour")


def _skills(raw: object, where: str) -> dict[str, int]:
    return {str(k): _int(v, f"{where}.{k}", 1, 10) for k, v in _mapping(raw, where).items()}


def _presence(raw: object, where: str) -> Presence:
    return _enum(Presence, raw, where)


def _enum(kind: type[E], raw: object, where: str) -> E:
    try:
        return kind(str(raw))
    except ValueError:
        options = ", ".join(m.value for m in kind)
        raise ScenarioError(f"{where}: {raw!r} is not one of {options}") from None


def _int(raw: object, where: str, low: int, high: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise ScenarioError(f"{where}: expected an integer from {low} to {high}, got {raw!r}")
    return raw


def _mapping(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return {str(k): v for k, v in raw.items()}


def _list(raw: object, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: expected a list, got {type(raw).__name__}")
    return raw


def _known(raw: Mapping[str, Any], where: str, keys: set[str]) -> None:
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(keys)}")


def _fail(message: str) -> Any:
    raise ScenarioError(message)

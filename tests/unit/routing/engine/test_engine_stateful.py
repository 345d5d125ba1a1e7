"""Stateful property test: random races of routing commands against the invariants.

Two engines run every command in lockstep: the indexed one and the brute-force reference
(``selector="scan"``), which applies the same rules by looking at every agent and item (including
the order of work for an agent with room: items naming it, then items it never declined, then
items it declined, each by priority then age). They must
take identical decisions and raise identical refusals. Independently of both, a small book of the
decisions (which agent holds which item, for how many units) checks the invariants:

* no agent is pushed over capacity (every offer fits the agent's capacity when it is made, work
  taken outside routing included); an agent is over its capacity only through work it took
  outside routing (``occupy``: a call the CCaaS connected) or a profile lowered while it held work;
* no item is offered to, or held by, two agents at once;
* no item is lost: the engine knows exactly the items submitted and not closed, each held by the
  agent the decisions say;
* nothing waits that could be served: no waiting item has an eligible agent (work-conserving).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine_builders import T0
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from omniroute.routing.engine import (
    Agent,
    Assigned,
    AssignmentMethod,
    CapacityProfile,
    CapacityReleased,
    EngineError,
    ItemStatus,
    OfferClosed,
    Offered,
    Outcome,
    PresenceChanged,
    QueueConfig,
    RelaxationStep,
    Release,
    RoutingEngine,
    SkillMatch,
    WorkItem,
    WrapUpBlocking,
    WrapUpStarted,
)

AGENTS = ["a1", "a2", "a3", "a4", "a5"]
QUEUES = ["q1", "q2"]
SKILLS = ["es", "fr", "tech"]
CHANNELS = ["chat", "email", "voice"]
PRESENCES = ["available", "available", "available", "busy", "away", "offline", "on-break"]

# Agents tend to be more skilled than items require, so that most work can be routed somewhere.
agent_skills = st.dictionaries(st.sampled_from(SKILLS), st.integers(3, 10), min_size=1, max_size=3)
item_skills = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=2)
profiles = st.one_of(
    st.builds(
        lambda units, voice, wrap: CapacityProfile(
            total_units=units, channel_units={"voice": voice}, wrap_up=wrap, wrap_up_seconds=20
        ),
        st.integers(1, 4),
        st.integers(1, 3),
        st.sampled_from(list(WrapUpBlocking)),
    ),
    st.builds(
        lambda chat, email: CapacityProfile(channel_limits={"chat": chat, "email": email}),
        st.integers(1, 3),
        st.integers(1, 2),
    ),
    # Units to spare, but a cap on the number of items (the workspace's session limit).
    st.builds(
        lambda items: CapacityProfile(total_units=100, max_items=items),
        st.integers(1, 3),
    ),
)
queue_configs = st.builds(
    QueueConfig,
    queue_id=st.just("q"),
    priority=st.integers(0, 2),
    method=st.sampled_from([m for m in AssignmentMethod if m is not AssignmentMethod.EXTERNAL]),
    skill_match=st.sampled_from(list(SkillMatch)),
    auto_accept=st.booleans(),
    decline_limit=st.integers(1, 3),
    offer_timeout_seconds=st.sampled_from([30.0, 60.0]),
    relaxation=st.sampled_from(
        [(), (RelaxationStep(40, lower_proficiency_by=3),), (RelaxationStep(50, any_skill=True),)]
    ),
)


@dataclass
class Held:
    agent_id: str
    units: int
    channel: str
    state: str  # offered, assigned, wrap_up
    external: bool = False  # taken outside routing (``occupy``): may exceed the capacity


@dataclass
class Book:
    """What the decisions say, kept without looking inside the engine."""

    profiles: dict[str, CapacityProfile] = field(default_factory=dict)
    items: dict[str, Held | None] = field(default_factory=dict)  # item -> holder (None: waiting)
    channels: dict[str, str] = field(default_factory=dict)
    #: Agents whose profile changed while they held work (the work stays, even above a lower
    #: limit); forgotten once they hold nothing.
    lowered: set[str] = field(default_factory=set)

    def over_capacity(self, agent_id: str) -> bool:
        profile = self.profiles[agent_id]
        units, by_channel = self.used(agent_id)
        if profile.total_units is not None and units > profile.total_units:
            return True
        return any(by_channel.get(ch, 0) > limit for ch, limit in profile.channel_limits.items())

    def holds_external(self, agent_id: str) -> bool:
        return any(h is not None and h.agent_id == agent_id and h.external for h in self.items.values())

    def change_profile(self, agent_id: str, profile: CapacityProfile) -> CapacityProfile | None:
        previous = self.profiles.get(agent_id)
        if previous is not None and previous != profile and self.used(agent_id)[0]:
            self.lowered.add(agent_id)
        self.profiles[agent_id] = profile
        return previous

    def used(self, agent_id: str) -> tuple[int, dict[str, int]]:
        units, by_channel = 0, {}
        for held in self.items.values():
            if held is not None and held.agent_id == agent_id:
                units += held.units
                by_channel[held.channel] = by_channel.get(held.channel, 0) + 1
        return units, by_channel

    def apply(self, outcome: Outcome) -> None:
        for d in outcome.decisions:
            if isinstance(d, Offered):
                assert d.item_id in self.items, f"offer of unknown item {d.item_id}"
                assert self.items[d.item_id] is None, (
                    f"{d.item_id} offered while held: {self.items[d.item_id]}"
                )
                units, by_channel = self.used(d.agent_id)
                profile = self.profiles[d.agent_id]
                if profile.total_units is not None:
                    assert units + d.units <= profile.total_units, f"{d.agent_id} pushed over its units"
                assert sum(by_channel.values()) < profile.max_items, f"{d.agent_id} given too many items"
                limit = profile.channel_limits.get(d.channel)
                if limit is not None:
                    assert by_channel.get(d.channel, 0) < limit, f"{d.agent_id} over its {d.channel} limit"
                elif profile.channel_limits and profile.total_units is None:
                    raise AssertionError(f"{d.agent_id} offered a channel it does not handle")
                self.items[d.item_id] = Held(d.agent_id, d.units, d.channel, "offered")
            elif isinstance(d, Assigned):
                held = self.items[d.item_id]
                assert held is not None
                assert (held.agent_id, held.state) == (d.agent_id, "offered")
                held.state = "assigned"
            elif isinstance(d, OfferClosed):
                held = self.items[d.item_id]
                assert held is not None
                assert (held.agent_id, held.state) == (d.agent_id, "offered")
                self.items[d.item_id] = None
            elif isinstance(d, WrapUpStarted):
                held = self.items[d.item_id]
                assert held is not None
                assert held.state == "assigned"
                held.state = "wrap_up"
            elif isinstance(d, CapacityReleased):
                held = self.items[d.item_id]
                assert held is not None
                assert held.agent_id == d.agent_id
                if d.reason is Release.TRANSFERRED:
                    self.items[d.item_id] = None
                else:
                    del self.items[d.item_id]
            elif isinstance(d, PresenceChanged):
                assert d.presence == "inactive"


class RoutingRaces(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.book = Book()
        self.counter = 0
        self.engines: list[RoutingEngine] = []

    @initialize(
        first=queue_configs,
        second=queue_configs,
        staff=st.lists(
            st.tuples(agent_skills, st.sets(st.sampled_from(QUEUES), min_size=1), profiles),
            min_size=2,
            max_size=len(AGENTS),
        ),
    )
    def configure(
        self,
        first: QueueConfig,
        second: QueueConfig,
        staff: list[tuple[dict[str, int], set[str], CapacityProfile]],
    ) -> None:
        queues = [
            QueueConfig(**{**_fields(first), "queue_id": "q1"}),
            QueueConfig(**{**_fields(second), "queue_id": "q2"}),
        ]
        custom = {"on-break": _away()}
        self.engines = [
            RoutingEngine(queues, custom_presences=custom, selector="indexed"),
            RoutingEngine(queues, custom_presences=custom, selector="scan"),
        ]
        for agent_id, (skills, member_of, profile) in zip(AGENTS, staff, strict=False):
            self.add_agent(agent_id, "available", skills, member_of, profile)

    # -- the lockstep --------------------------------------------------------------------------

    def both(self, command: Callable[[RoutingEngine], Outcome]) -> Outcome | None:
        results: list[Any] = []
        for engine in self.engines:
            try:
                results.append(command(engine))
            except EngineError as exc:
                results.append(type(exc))
        indexed, scan = results
        assert indexed == scan, f"indexed and reference disagree:\n{indexed}\n{scan}"
        if isinstance(indexed, Outcome):
            self.book.apply(indexed)
            for d in indexed.decisions:
                event(type(d).__name__)
                if isinstance(d, Offered) and d.attempt > 1:
                    event("re-offer")
            return indexed
        return None

    @property
    def engine(self) -> RoutingEngine:
        return self.engines[0]

    # -- agents --------------------------------------------------------------------------------

    @rule(
        agent_id=st.sampled_from(AGENTS),
        presence=st.sampled_from(PRESENCES),
        skills=agent_skills,
        queues=st.sets(st.sampled_from(QUEUES)),
        profile=profiles,
    )
    def add_agent(
        self, agent_id: str, presence: str, skills: dict[str, int], queues: set[str], profile: CapacityProfile
    ) -> None:
        spec = Agent(agent_id, presence, skills, frozenset(queues), profile)
        previous = self.book.change_profile(agent_id, profile)
        if self.both(lambda e: e.add_agent(spec, self.now)) is None and previous is not None:
            self.book.profiles[agent_id] = previous

    @precondition(lambda self: self.book.profiles)
    @rule(data=st.data(), presence=st.sampled_from(PRESENCES))
    def set_presence(self, data: st.DataObject, presence: str) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.both(lambda e: e.set_presence(agent_id, presence, self.now))

    @precondition(lambda self: self.book.profiles)
    @rule(data=st.data(), skills=agent_skills)
    def set_skills(self, data: st.DataObject, skills: dict[str, int]) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.both(lambda e: e.set_skills(agent_id, skills, self.now))

    @precondition(lambda self: self.book.profiles)
    @rule(data=st.data(), queues=st.sets(st.sampled_from(QUEUES)))
    def set_queues(self, data: st.DataObject, queues: set[str]) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.both(lambda e: e.set_queues(agent_id, queues, self.now))

    @precondition(lambda self: self.book.profiles)
    @rule(data=st.data(), profile=profiles)
    def set_capacity(self, data: st.DataObject, profile: CapacityProfile) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.book.change_profile(agent_id, profile)
        self.both(lambda e: e.set_capacity(agent_id, profile, self.now))

    @precondition(lambda self: self.book.profiles)
    @rule(data=st.data())
    def remove_agent(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        if self.both(lambda e: e.remove_agent(agent_id, self.now)) is not None:
            del self.book.profiles[agent_id]

    # -- work ----------------------------------------------------------------------------------

    @rule(
        queue=st.sampled_from(QUEUES),
        channel=st.sampled_from(CHANNELS),
        skills=item_skills,
        priority=st.integers(0, 2),
        preferred=st.lists(st.sampled_from(AGENTS), max_size=2, unique=True),
        busy_ok=st.booleans(),
        push=st.booleans().map(lambda b: b or True),
        cost=st.sampled_from([None, None, 1, 2]),
    )
    def submit(
        self,
        queue: str,
        channel: str,
        skills: dict[str, int],
        priority: int,
        preferred: list[str],
        busy_ok: bool,
        push: bool,
        cost: int | None,
    ) -> None:
        self.counter += 1
        item_id = f"i{self.counter}"
        allowed = frozenset({"available", "busy"} if busy_ok else {"available"})
        work = WorkItem(
            item_id,
            queue,
            channel,
            self.now,
            skills=skills,
            priority=priority,
            preferred_agents=tuple(preferred),
            allowed_presences=allowed,
            push=push,
            capacity_units=cost,
        )
        self.book.items[item_id] = None
        self.both(lambda e: e.submit(work, self.now))

    @rule(
        agent_id=st.sampled_from([*AGENTS, "stranger"]),
        queue=st.sampled_from(QUEUES),
        channel=st.sampled_from(CHANNELS),
        cost=st.sampled_from([None, None, 1, 3]),
        again=st.booleans(),
    )
    def occupy(self, agent_id: str, queue: str, channel: str, cost: int | None, again: bool) -> None:
        """Work taken outside routing (a call the CCaaS connected): the agent holds it at once,
        whatever its presence and load, and nothing is offered. ``again`` reuses a routed item's
        id, which must be refused."""
        if again and self.book.items:
            item_id = sorted(self.book.items)[0]
        else:
            self.counter += 1
            item_id = f"i{self.counter}"
        work = WorkItem(item_id, queue, channel, self.now, capacity_units=cost)
        outcome = self.both(lambda e: e.occupy(work, agent_id, self.now))
        if outcome is None:
            assert item_id in self.book.items or agent_id not in self.book.profiles
            return
        assert item_id not in self.book.items
        assert agent_id in self.book.profiles
        assert outcome.decisions == (), "occupying offers or releases nothing"
        profile = self.book.profiles[agent_id]
        units = cost if cost is not None else profile.channel_units.get(channel, 1)
        if profile.total_units is not None:
            units = max(units, 1)
        self.book.items[item_id] = Held(agent_id, units, channel, "assigned", external=True)
        event("occupy took the agent over its capacity" if self.book.over_capacity(agent_id) else "occupy")

    def _offered(self) -> list[tuple[str, str]]:
        return sorted(
            (i, h.agent_id) for i, h in self.book.items.items() if h is not None and h.state == "offered"
        )

    @precondition(lambda self: self._offered())
    @rule(data=st.data(), late=st.booleans())
    def accept(self, data: st.DataObject, late: bool) -> None:
        item_id, agent_id = data.draw(st.sampled_from(self._offered()))
        if late:  # the race between a click and the timeout: accept at or after expiry
            self.now += timedelta(seconds=60)
        self.both(lambda e: e.accept(item_id, agent_id, self.now))

    @precondition(lambda self: self._offered())
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        item_id, agent_id = data.draw(st.sampled_from(self._offered()))
        outcome = self.both(lambda e: e.reject(item_id, agent_id, self.now))
        if outcome is not None:
            back = {d.item_id for d in outcome.offers if d.agent_id == agent_id}
            if back - {item_id}:
                event("the rejecting agent got work it had not declined")
            if item_id in back:
                event("the rejected item came back to the same agent")

    @rule(seconds=st.sampled_from([1, 10, 30, 45, 61]))
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self.both(lambda e: e.advance(self.now))

    @precondition(lambda self: self.book.items)
    @rule(data=st.data(), agent_id=st.sampled_from(AGENTS))
    def pick(self, data: st.DataObject, agent_id: str) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        self.both(lambda e: e.pick(item_id, agent_id, self.now))

    @precondition(lambda self: self.book.items)
    @rule(data=st.data())
    def end_work(self, data: st.DataObject) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        self.both(lambda e: e.end_work(item_id, self.now))

    @precondition(lambda self: self.book.items)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        self.both(lambda e: e.close(item_id, self.now))
        self.book.items.pop(item_id, None)

    @precondition(lambda self: self.book.items)
    @rule(data=st.data(), queue=st.sampled_from(QUEUES), skills=st.none() | item_skills)
    def transfer_to_queue(self, data: st.DataObject, queue: str, skills: dict[str, int] | None) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        self.both(lambda e: e.transfer_to_queue(item_id, queue, self.now, skills=skills))

    @precondition(lambda self: self.book.items and self.book.profiles)
    @rule(data=st.data())
    def transfer_to_agent(self, data: st.DataObject) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.both(lambda e: e.transfer_to_agent(item_id, agent_id, self.now))

    @precondition(lambda self: self.book.items and self.book.profiles)
    @rule(data=st.data())
    def consult(self, data: st.DataObject) -> None:
        item_id = data.draw(st.sampled_from(sorted(self.book.items)))
        agent_id = data.draw(st.sampled_from(sorted(self.book.profiles)))
        self.both(lambda e: e.consult(item_id, agent_id, self.now))

    @rule()
    def restart(self) -> None:
        """A crash or a new leader: both engines are rebuilt from what the store would hold."""
        agents, items = self.engine.snapshot()
        queues = list(self.engine.world.queues.values())
        custom = dict(self.engine.world.presences)
        self.engines = [
            RoutingEngine(queues, custom_presences=custom, selector="indexed"),
            RoutingEngine(queues, custom_presences=custom, selector="scan"),
        ]
        self.both(lambda e: e.restore(agents, items, self.now))

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def nothing_lost_and_single_holder(self) -> None:
        for engine in self.engines:
            for item_id, held in self.book.items.items():
                status = engine.item_status(item_id)
                assert status is not None, f"{item_id} was lost"
                assert engine.holder(item_id) == (held.agent_id if held else None), item_id
                if held is None:
                    assert status in (ItemStatus.WAITING,), (item_id, status)
                else:
                    assert status.value == held.state, (item_id, status, held)
            assert set(engine.world.items) == set(self.book.items)

    @invariant()
    def agents_hold_what_the_decisions_say(self) -> None:
        for engine in self.engines:
            for agent_id in self.book.profiles:
                units, _ = self.book.used(agent_id)
                load = engine.load(agent_id)
                assert sum(load.values()) == units, agent_id
                assert engine.world.agents[agent_id].used_units == units

    @invariant()
    def over_capacity_only_through_occupy(self) -> None:
        book = self.book
        for agent_id in book.profiles:
            if not book.used(agent_id)[0]:
                book.lowered.discard(agent_id)
            if book.over_capacity(agent_id):
                assert book.holds_external(agent_id) or agent_id in book.lowered, (
                    f"{agent_id} is over capacity without work taken outside routing"
                )

    @invariant()
    def work_conserving(self) -> None:
        engine = self.engine
        for item_id, state in engine.world.items.items():
            if state.status is not ItemStatus.WAITING or not (state.push or state.directed_to):
                continue
            eligible = [v.agent_id for v in engine.explain(item_id) if v.eligible]
            assert not eligible, f"{item_id} waits while {eligible} could take it"


def _fields(queue: QueueConfig) -> dict[str, Any]:
    return {name: getattr(queue, name) for name in QueueConfig.__dataclass_fields__}


def _away() -> Any:
    from omniroute.routing.engine import Presence

    return Presence.AWAY


RoutingRaces.TestCase.settings = settings(
    # ROUTING_RACES_EXAMPLES=3000 for a longer search while working on the engine.
    max_examples=int(os.environ.get("ROUTING_RACES_EXAMPLES", "300")),
    stateful_step_count=50,
    deadline=None,
    # CI replays the same examples every run (no flaky builds); a developer's run explores anew.
    derandomize=bool(os.environ.get("CI")),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_routing_races = RoutingRaces.TestCase

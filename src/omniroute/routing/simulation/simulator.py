"""Discrete-event simulation in virtual time, driving the real ``RoutingEngine``.

Time is a float of seconds since the scenario's start; the engine gets the matching datetimes.
Events: arrivals (Poisson, piecewise Poisson or fixed times), agents answering offers, work
ending, wrap-up ending, customers abandoning, shifts starting and ending, and the engine's own
timers (offer timeouts, wrap-up, relaxation) through ``next_due``/``advance``. Everything random
comes from one seeded ``random.Random``, so a scenario and a seed give the same report every time.
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omniroute.routing.engine import (
    Agent,
    Assigned,
    EngineError,
    Offered,
    Outcome,
    PresenceChanged,
    RoutingEngine,
    WorkItem,
)
from omniroute.routing.simulation.report import QueueTally, Report, build_report
from omniroute.routing.simulation.scenario import AgentGroup, Scenario, Stream

#: How long an agent who missed an offer (and was made inactive) takes to come back.
BACK_AFTER_MISSED_SECONDS = 60.0

# Event kinds, in the order they run when due at the same instant.
_SHIFT_OFF, _SHIFT_ON, _CLOSE, _END, _ANSWER, _ABANDON, _TICK, _ARRIVE, _BACK = range(9)


@dataclass(slots=True)
class ItemRecord:
    stream: Stream
    arrived: float
    counted: bool  # arrived inside the measured window
    answered: float | None = None
    abandoned: bool = False
    done: bool = False


@dataclass(slots=True)
class AgentRecord:
    group: AgentGroup
    on_shift: bool = False


@dataclass
class Simulation:
    scenario: Scenario
    seed: int | None = None
    selector: str = "indexed"
    rng: random.Random = field(init=False)
    engine: RoutingEngine = field(init=False)

    def __post_init__(self) -> None:
        # A simulation's dice, seeded for reproducible runs; nothing secret here.
        self.rng = random.Random(self.scenario.seed if self.seed is None else self.seed)  # noqa: S311
        self.engine = RoutingEngine(
            self.scenario.queues,
            custom_presences=self.scenario.custom_presences,
            selector="scan" if self.selector == "scan" else "indexed",
        )
        self._events: list[tuple[float, int, int, str, int]] = []  # (time, kind, seq, key, extra)
        self._seq = 0
        self._arrivals_pending = 0
        self._tick_at: float | None = None
        self._items: dict[str, ItemRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._tallies = {
            q.queue_id: QueueTally(q.queue_id, q.service_level_seconds) for q in self.scenario.queues
        }
        self._assigned_at: dict[str, tuple[float, str]] = {}  # item -> (time, queue) while held
        self._decisions = 0
        self._events_run = 0
        self._counter = 0

    # -- running -----------------------------------------------------------------------------

    def run(self) -> Report:
        started = time.perf_counter()
        scenario = self.scenario
        for group in scenario.agents:
            for n in range(1, group.count + 1):
                agent_id = f"{group.name}-{n}"
                self._agents[agent_id] = AgentRecord(group)
                spec = Agent(agent_id, "offline", dict(group.skills), group.queues, group.capacity)
                self._apply(self.engine.add_agent(spec, self._at(0.0)), 0.0)
                for shift in group.shifts:
                    self._push(shift.start, _SHIFT_ON, agent_id)
                    self._push(shift.end, _SHIFT_OFF, agent_id)
        for index, stream in enumerate(scenario.streams):
            first = self._next_arrival(stream, 0.0, 0)
            if first is not None:
                self._push(first[0], _ARRIVE, stream.name, first[1] * 1000 + index)
        limit = scenario.duration + scenario.drain
        events = self._events
        while events:
            now, kind, _, key, extra = heapq.heappop(events)
            if now > limit:
                break
            if kind == _ARRIVE:
                self._arrivals_pending -= 1
            self._events_run += 1
            self._run_event(now, kind, key, extra)
            if kind != _ARRIVE and self._all_settled(now):
                break
        return build_report(
            scenario,
            self.rng_seed,
            self._tallies,
            self._staffed_seconds(),
            decisions=self._decisions,
            events=self._events_run,
            wall_seconds=time.perf_counter() - started,
        )

    @property
    def rng_seed(self) -> int:
        return self.scenario.seed if self.seed is None else self.seed

    def _run_event(self, now: float, kind: int, key: str, extra: int) -> None:
        engine = self.engine
        at = self._at(now)
        if kind == _ARRIVE:
            self._arrive(now, key, extra)
        elif kind == _TICK:
            self._tick_at = None
            self._apply(engine.advance(at), now)
        elif kind == _ANSWER:
            self._answer(now, key, extra)
        elif kind == _END:
            self._apply(engine.end_work(key, at), now)
            group = self._group_of_holder(key)
            wrap = group.wrap_up_time if group is not None else None
            if wrap is not None:
                self._push(now + wrap.sample(self.rng), _CLOSE, key)
            else:
                self._close(now, key)
        elif kind == _CLOSE:
            self._close(now, key)
        elif kind == _ABANDON:
            record = self._items.get(key)
            if record is not None and record.answered is None and not record.done:
                record.abandoned = True
                record.done = True
                self._tally(record).abandon(now - record.arrived, record.counted)
                self._apply(engine.close(key, at), now)
        elif kind == _SHIFT_ON:
            self._agents[key].on_shift = True
            self._apply(engine.set_presence(key, self._agents[key].group.presence, at), now)
        elif kind == _SHIFT_OFF:
            self._agents[key].on_shift = False
            self._apply(engine.set_presence(key, "offline", at), now)
        elif kind == _BACK and self._agents[key].on_shift and engine.presence(key) == "inactive":
            self._apply(engine.set_presence(key, self._agents[key].group.presence, at), now)

    def _arrive(self, now: float, stream_name: str, extra: int) -> None:
        index = extra % 1000
        step = extra // 1000
        stream = self.scenario.streams[index]
        self._counter += 1
        item_id = f"{stream.name}-{self._counter}"
        counted = self.scenario.warmup <= now < self.scenario.duration
        record = ItemRecord(stream, now, counted)
        self._items[item_id] = record
        self._tally(record).arrive(counted)
        work = WorkItem(
            item_id,
            stream.queue,
            stream.channel,
            self._at(now),
            skills=stream.skills,
            priority=stream.priority,
            capacity_units=stream.capacity_units,
            allowed_presences=stream.allowed_presences,
        )
        if stream.patience is not None:
            self._push(now + stream.patience.sample(self.rng), _ABANDON, item_id)
        self._apply(self.engine.submit(work, self._at(now)), now)
        following = self._next_arrival(stream, now, step)
        if following is not None:
            self._push(following[0], _ARRIVE, stream_name, following[1] * 1000 + index)

    def _answer(self, now: float, item_id: str, attempt: int) -> None:
        agent_id = self.engine.holder(item_id)
        if agent_id is None:
            return
        state = self.engine.world.items[item_id]
        if state.attempts != attempt or state.offer_agent != agent_id:
            return
        accept = self.rng.random() < self._agents[agent_id].group.accept_probability
        try:
            outcome = (self.engine.accept if accept else self.engine.reject)(item_id, agent_id, self._at(now))
        except EngineError:
            return
        self._apply(outcome, now)

    def _close(self, now: float, item_id: str) -> None:
        held = self._assigned_at.pop(item_id, None)
        if held is not None:
            self._tallies[held[1]].busy(held[0], now, self.scenario.warmup, self.scenario.duration)
        record = self._items.get(item_id)
        if record is not None:
            record.done = True
        self._apply(self.engine.close(item_id, self._at(now)), now)

    # -- outcomes ----------------------------------------------------------------------------

    def _apply(self, outcome: Outcome, now: float) -> None:
        for decision in outcome.decisions:
            self._decisions += 1
            if isinstance(decision, Offered) and decision.expires_at is not None:
                group = self._agents[decision.agent_id].group
                delay = group.response.sample(self.rng) if group.response is not None else 0.0
                self._push(now + delay, _ANSWER, decision.item_id, decision.attempt)
            elif isinstance(decision, Assigned):
                record = self._items[decision.item_id]
                if record.answered is None:
                    record.answered = now
                    self._tally(record).answer(now - record.arrived, record.counted)
                self._assigned_at[decision.item_id] = (now, decision.queue_id)
                self._push(now + record.stream.handle_time.sample(self.rng), _END, decision.item_id)
            elif isinstance(decision, PresenceChanged) and decision.presence == "inactive":
                self._push(now + BACK_AFTER_MISSED_SECONDS, _BACK, decision.agent_id)
        due = self.engine.next_due()
        if due is not None:
            seconds = (due - self.scenario.start).total_seconds()
            if self._tick_at is None or seconds < self._tick_at:
                self._tick_at = seconds
                self._push(max(seconds, now), _TICK, "")

    # -- helpers -----------------------------------------------------------------------------

    def _next_arrival(self, stream: Stream, now: float, step: int) -> tuple[float, int] | None:
        """The next arrival after ``now``: piecewise Poisson (by exponential gaps per step)."""
        if stream.times:
            return (stream.times[step], step + 1) if step < len(stream.times) else None
        t = now
        rates = stream.rates
        while step < len(rates):
            rate = rates[step].per_second
            end = min(rates[step].until, self.scenario.duration)
            if rate > 0:
                gap = self.rng.expovariate(rate)
                if t + gap < end:
                    return t + gap, step
            # Memoryless: nothing arrived before this step ends; start afresh in the next one.
            t = max(t, end)
            step += 1
            if t >= self.scenario.duration:
                return None
        return None

    def _group_of_holder(self, item_id: str) -> AgentGroup | None:
        agent_id = self.engine.holder(item_id)
        return self._agents[agent_id].group if agent_id is not None else None

    def _tally(self, record: ItemRecord) -> QueueTally:
        return self._tallies[record.stream.queue]

    def _all_settled(self, now: float) -> bool:
        """After the last arrival, stop once every item is answered and finished, or abandoned."""
        if now < self.scenario.duration or self._arrivals_pending:
            return False
        return not self.engine.world.items and all(r.done for r in self._items.values())

    def _staffed_seconds(self) -> dict[str, float]:
        """Scheduled agent time inside the measured window, per queue (each member counts)."""
        window = (self.scenario.warmup, self.scenario.duration)
        staffed = {q.queue_id: 0.0 for q in self.scenario.queues}
        for group in self.scenario.agents:
            seconds = sum(max(0.0, min(s.end, window[1]) - max(s.start, window[0])) for s in group.shifts)
            for queue_id in group.queues:
                staffed[queue_id] += seconds * group.count
        return staffed

    def _push(self, at: float, kind: int, key: str, extra: int = 0) -> None:
        self._seq += 1
        if kind == _ARRIVE:
            self._arrivals_pending += 1
        heapq.heappush(self._events, (at, kind, self._seq, key, extra))

    def _at(self, seconds: float) -> datetime:
        start: datetime = self.scenario.start
        return start + timedelta(seconds=seconds)


def simulate(scenario: Scenario, seed: int | None = None, selector: str = "indexed") -> Report:
    return Simulation(scenario, seed, selector).run()

"""``RoutingEngine``: the single writer's in-memory router.

Pure and single-threaded: no I/O, no clock (every command takes ``now``), no threads. The caller
(the routing service holding the routing lease) builds it from committed store state with
``restore``, applies each committed change through a command, persists the returned ``Outcome``
and announces it only after the commit; ``next_due``/``advance`` drive offer timeouts, wrap-up
and relaxation from the caller's timer.

Two-sided: a command that makes work matchable asks the selector for the best agent; one that
gives an agent room asks for the best waiting item. After every command no waiting item could be
offered to any agent (the engine is work-conserving), which the stateful tests check.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from omniroute.routing.engine.decisions import (
    Assigned,
    CandidateVerdict,
    CapacityReleased,
    ChoiceRequested,
    ConsultEnded,
    ConsultStarted,
    Decision,
    OfferClosed,
    Offered,
    OfferEnd,
    Outcome,
    PresenceChanged,
    QueuePosition,
    QueueStats,
    Relaxed,
    Release,
    RoutingTrace,
    TraceStep,
    WrapUpStarted,
)
from omniroute.routing.engine.estimate import QueueHistory, estimate_wait
from omniroute.routing.engine.indexed import IndexedSelector
from omniroute.routing.engine.model import (
    Agent,
    AssignmentMethod,
    CapacityProfile,
    EngineSettings,
    InvalidState,
    ItemSnapshot,
    NotPending,
    OfferState,
    Presence,
    QueueConfig,
    UnknownAgent,
    UnknownItem,
    UnknownQueue,
    WorkItem,
    WrapUpBlocking,
)
from omniroute.routing.engine.reference import ScanSelector
from omniroute.routing.engine.selection import Pick, Selector, World, directed_or_preferred
from omniroute.routing.engine.state import (
    AgentState,
    ItemState,
    ItemStatus,
    fits,
    has_room,
    matchable,
    preferred_for,
    presence_ok,
    rank,
    relaxed,
    units_for,
    why_not,
)


@dataclass(frozen=True, slots=True)
class ChoiceRequest:
    """What the external chooser sees: the item and its eligible agents, best ranked first."""

    item_id: str
    queue_id: str
    channel: str
    skills: tuple[tuple[str, int], ...]
    priority: int
    waited_seconds: float
    candidates: tuple[str, ...]


class Defer:
    """Returned by a chooser that will answer later through ``RoutingEngine.choose``."""


DEFER = Defer()


class ExternalChooser(Protocol):
    """Picks the agent for items in ``external`` queues (for example by calling an HTTP hook).

    Return one of ``request.candidates``; None (or an unknown id) lets the engine take the
    best-ranked candidate; ``DEFER`` parks the item until ``RoutingEngine.choose`` is called,
    so a service can ask a slow endpoint without blocking the single writer.
    """

    def choose(self, request: ChoiceRequest) -> str | Defer | None: ...


# Timer kinds (the heap holds (due timestamp, sequence, kind, item id, token)).
_OFFER, _WRAP_UP, _RELAX = 0, 1, 2

AGENT_SIDE = "agent had room; best waiting item"


class RoutingEngine:
    def __init__(
        self,
        queues: Iterable[QueueConfig] = (),
        *,
        custom_presences: Mapping[str, Presence] | None = None,
        settings: EngineSettings | None = None,
        chooser: ExternalChooser | None = None,
        selector: Literal["indexed", "scan"] = "indexed",
    ) -> None:
        self.world = World(settings or EngineSettings())
        for queue in queues:
            self.world.queues[queue.queue_id] = queue
            self.world.members[queue.queue_id] = set()
        self.world.presences.update(custom_presences or {})
        self.chooser = chooser
        self.selector: Selector = (
            IndexedSelector(self.world) if selector == "indexed" else ScanSelector(self.world)
        )
        self._seq = 0
        self._timers: list[tuple[float, int, int, str, int, datetime]] = []
        self._out: list[Decision] = []
        self._history: dict[str, QueueHistory] = {q: QueueHistory() for q in self.world.queues}
        self._wrap_tokens: dict[str, int] = {}
        self._trace_limit = self.world.settings.trace_limit
        self._timeouts: dict[str, tuple[float, timedelta]] = {}  # queue -> offer timeout

    # == configuration ===========================================================================

    def set_queue(self, queue: QueueConfig, now: datetime) -> Outcome:
        """Add or replace a queue's settings; its waiting items are routed again."""
        world = self.world
        world.queues[queue.queue_id] = queue
        world.members.setdefault(queue.queue_id, set())
        self._history.setdefault(queue.queue_id, QueueHistory())
        self.selector.changed_queue(queue)
        waiting = [i for i in world.items.values() if i.queue_id == queue.queue_id]
        for item in waiting:
            self._restage(item, now, schedule=True)
        for item in sorted(waiting, key=lambda i: i.order_key(queue.priority)):
            if matchable(item):
                self._route_item(item, now)
        return self._flush()

    def remove_queue(self, queue_id: str, now: datetime) -> Outcome:
        world = self.world
        if queue_id not in world.queues:
            raise UnknownQueue(queue_id)
        if any(i.queue_id == queue_id for i in world.items.values()):
            raise InvalidState(f"queue {queue_id} still has work; transfer or close it first")
        for agent_id in sorted(world.members.get(queue_id, ())):
            agent = world.agents[agent_id]
            self._set_membership(agent, agent.queues - {queue_id}, dict(agent.skills))
        del world.queues[queue_id]
        world.members.pop(queue_id, None)
        if isinstance(self.selector, IndexedSelector):
            self.selector.removed_queue(queue_id)
        return self._flush()

    def set_custom_presences(self, presences: Mapping[str, Presence], now: datetime) -> Outcome:
        world = self.world
        world.presences = dict(presences)
        for agent in world.agents.values():
            agent.base = self._base(agent.presence)
        self.selector.changed_presences()
        for agent in self._agents_in_order():
            self._route_agent(agent, now)
        return self._flush()

    # == agents ==================================================================================

    def add_agent(self, agent: Agent, now: datetime) -> Outcome:
        """Add an agent, or replace everything known about one (its held work stays)."""
        world = self.world
        for queue_id in agent.queues:
            if queue_id not in world.queues:
                raise UnknownQueue(queue_id)
        base = self._base(agent.presence)
        state = world.agents.get(agent.agent_id)
        if state is None:
            state = AgentState(
                agent.agent_id,
                agent.presence,
                base,
                agent.skills,
                frozenset(),
                agent.capacity,
                agent.idle_since,
                self._next_seq(),
            )
            world.agents[agent.agent_id] = state
        else:
            state.presence, state.base, state.profile = agent.presence, base, agent.capacity
        self._set_membership(state, agent.queues, dict(agent.skills))
        self._route_agent(state, now)
        return self._flush()

    def remove_agent(self, agent_id: str, now: datetime) -> Outcome:
        """Forget an agent: pending offers are withdrawn; it must hold no accepted work."""
        agent = self._agent(agent_id)
        held = [i for i in agent.holdings if self.world.items[i].status is not ItemStatus.OFFERED]
        if held:
            raise InvalidState(f"agent {agent_id} still holds {sorted(held)}; close or transfer first")
        withdrawn = self._withdraw_offers(agent, now)
        for item_id in sorted(agent.consults):
            self._end_consult(self.world.items[item_id], agent, now)
        self.selector.removed_agent(agent)
        for queue_id in agent.queues:
            self.world.members[queue_id].discard(agent_id)
        del self.world.agents[agent_id]
        for item in withdrawn:
            self._route_item(item, now)
        return self._flush()

    def set_presence(self, agent_id: str, presence: str, now: datetime, reason: str = "agent") -> Outcome:
        """Change presence. Going offline withdraws pending offers; accepted work stays."""
        agent = self._agent(agent_id)
        self._change_presence(agent, presence, now, reason, announce=False)
        withdrawn = self._withdraw_offers(agent, now) if agent.base is Presence.OFFLINE else []
        for item in withdrawn:
            self._route_item(item, now)
        self._route_agent(agent, now)
        return self._flush()

    def set_skills(self, agent_id: str, skills: Mapping[str, int], now: datetime) -> Outcome:
        agent = self._agent(agent_id)
        bad = {k: v for k, v in skills.items() if not 1 <= v <= 10}
        if bad:
            raise ValueError(f"proficiency must be 1 to 10: {bad}")
        self._set_membership(agent, agent.queues, dict(skills))
        self._route_agent(agent, now)
        return self._flush()

    def set_queues(self, agent_id: str, queues: Iterable[str], now: datetime) -> Outcome:
        agent = self._agent(agent_id)
        wanted = frozenset(queues)
        for queue_id in wanted:
            if queue_id not in self.world.queues:
                raise UnknownQueue(queue_id)
        self._set_membership(agent, wanted, dict(agent.skills))
        self._route_agent(agent, now)
        return self._flush()

    def set_capacity(self, agent_id: str, profile: CapacityProfile, now: datetime) -> Outcome:
        """Change an agent's capacity profile. Work already held stays, even above a lower limit."""
        agent = self._agent(agent_id)
        agent.profile = profile
        self.selector.changed_agent(agent)
        self._route_agent(agent, now)
        return self._flush()

    # == work ====================================================================================

    def submit(self, work: WorkItem, now: datetime) -> Outcome:
        """New work (or work re-entering routing): queue it and offer it if an agent can take it."""
        items = self.world.items
        if work.item_id in items:
            raise InvalidState(f"item {work.item_id} is already routed")
        queue = self._queue(work.queue_id)
        self._seq += 1
        item = ItemState(work, self._seq, now)
        items[work.item_id] = item
        for step in work.trace:
            self._trace(item, now, "prior", step)
        self._trace(item, now, "queued", f"in {queue.queue_id} (priority {item.priority})")
        if queue.relaxation:
            self._restage(item, now, schedule=True)
        self._route_item(item, now)
        return self._flush()

    def occupy(self, work: WorkItem, agent_id: str, now: datetime) -> Outcome:
        """Work an agent took outside routing (a call the CCaaS connected): record it as assigned
        and let it use the agent's capacity, even past the limit, so routing holds other work back
        until it ends. Nothing is offered; the caller stores the assignment itself."""
        world = self.world
        if work.item_id in world.items:
            raise InvalidState(f"item {work.item_id} is already routed")
        self._queue(work.queue_id)
        agent = self._agent(agent_id)
        item = ItemState(work, self._next_seq(), now)
        world.items[work.item_id] = item
        item.status = ItemStatus.ASSIGNED
        item.agent_id = agent_id
        item.assigned_at = now
        self._hold(agent, item, now)
        self._trace(item, now, "external", "taken by the agent outside routing", agent_id)
        return self._flush()

    def hand_over(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        """A routed item an agent took over outside routing (a reserved call the provider connected,
        a call transferred at the provider inside one call id). The agent it was offered to takes
        it as if accepting (whatever the offer's timeout); anyone else holding or offered it lets
        go, and the new agent holds it, even past the limit, like ``occupy``."""
        item = self._item(item_id)
        agent = self._agent(agent_id)
        if item.status is ItemStatus.OFFERED and item.offer_agent == agent_id:
            self._assign(item, agent, now, auto=False)
            return self._flush()
        if item.status is ItemStatus.ASSIGNED and item.agent_id == agent_id:
            return self._flush()
        released = self._let_go(item, now)
        item.status = ItemStatus.ASSIGNED
        item.agent_id = agent_id
        item.assigned_at = now
        item.offer_agent = None
        item.offer_expires = None
        item.directed_to = None
        item.wrap_until = None
        self._hold(agent, item, now)
        self.selector.changed_item(item)
        self._trace(item, now, "external", "taken over outside routing", agent_id)
        if released is not None and released is not agent:
            self._route_agent(released, now)
        return self._flush()

    def accept(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        """The agent accepts its pending offer. Refused (``Outcome.refused``) once it expired."""
        item = self._item(item_id)
        agent = self._pending(item, agent_id)
        expires = item.offer_expires
        if expires is not None and now >= expires:
            self._time_out(item, agent, now)
            return self._flush(refused="the offer has expired")
        self._assign(item, agent, now, auto=False)
        return self._flush()

    def reject(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        item = self._item(item_id)
        agent = self._pending(item, agent_id)
        self._close_offer(item, agent, now, OfferEnd.REJECTED)
        self._route_item(item, now)
        self._route_agent(agent, now)
        return self._flush()

    def pick(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        """An agent takes a waiting item themselves (pick mode, or from the queue view)."""
        item = self._item(item_id)
        agent = self._agent(agent_id)
        if item.status not in (ItemStatus.WAITING, ItemStatus.OFFERED, ItemStatus.CHOOSING):
            raise InvalidState(f"item {item_id} is already {item.status.value}")
        if item.queue_id not in agent.queues and item.directed_to != agent_id:
            raise InvalidState(f"agent {agent_id} is not a member of {item.queue_id}")
        if agent.base is Presence.OFFLINE:
            raise InvalidState(f"agent {agent_id} is offline")
        if item.status is ItemStatus.OFFERED and item.offer_agent == agent_id:
            self._assign(item, agent, now, auto=False)
            return self._flush()
        if not fits(agent, item.channel, item.cost):
            raise InvalidState(f"agent {agent_id} has no capacity for {item.channel}")
        other = None
        if item.status is ItemStatus.OFFERED and item.offer_agent is not None:
            other = self.world.agents[item.offer_agent]
            self._close_offer(item, other, now, OfferEnd.WITHDRAWN, count=False)
        self._offer(item, agent, now, Pick(agent_id, "picked by the agent"), force_accept=True)
        if other is not None:
            self._route_agent(other, now)
        return self._flush()

    def end_work(self, item_id: str, now: datetime) -> Outcome:
        """The work ended (conversation wrap-up starts); capacity frees per the wrap-up rule."""
        item = self._item(item_id)
        if item.status is not ItemStatus.ASSIGNED or item.agent_id is None:
            raise InvalidState(f"item {item_id} is {item.status.value}, not assigned")
        agent = self.world.agents[item.agent_id]
        profile = agent.profile
        history = self._history.get(item.queue_id)
        if history is not None and item.assigned_at is not None:
            history.ended((now - item.assigned_at).total_seconds())
        self._end_all_consults(item, now)
        if profile.wrap_up is WrapUpBlocking.NEVER:
            self._trace(item, now, "ended", "work ended; wrap-up does not hold capacity", agent.agent_id)
            self._finish(item, agent, now, Release.ENDED)
            return self._flush()
        item.status = ItemStatus.WRAP_UP
        until = None
        if profile.wrap_up is WrapUpBlocking.SECONDS:
            until = now + timedelta(seconds=profile.wrap_up_seconds)
            item.wrap_until = until
            token = self._next_seq()
            self._wrap_tokens[item_id] = token
            self._schedule(until, _WRAP_UP, item_id, token)
        self._trace(item, now, "ended", "work ended; wrap-up holds capacity", agent.agent_id)
        self._out.append(WrapUpStarted(item_id, agent.agent_id, now, until))
        return self._flush()

    def close(self, item_id: str, now: datetime) -> Outcome:
        """The work is over (closed, customer left, wrap-up finished). Unknown items: no-op."""
        item = self.world.items.get(item_id)
        if item is None:
            return self._flush()
        self._end_all_consults(item, now)
        if item.status is ItemStatus.OFFERED and item.offer_agent is not None:
            agent = self.world.agents[item.offer_agent]
            self._close_offer(item, agent, now, OfferEnd.WITHDRAWN, count=False)
            self._forget(item)
            self._route_agent(agent, now)
        elif item.agent_id is not None and item.status in (ItemStatus.ASSIGNED, ItemStatus.WRAP_UP):
            reason = Release.WRAP_UP_FINISHED if item.status is ItemStatus.WRAP_UP else Release.CLOSED
            self._finish(item, self.world.agents[item.agent_id], now, reason)
        else:
            self._trace(item, now, "closed", "closed while waiting")
            self._forget(item)
        return self._flush()

    def transfer_to_queue(
        self,
        item_id: str,
        queue_id: str,
        now: datetime,
        *,
        skills: Mapping[str, int] | None = None,
        priority: int | None = None,
    ) -> Outcome:
        """Send an item to another queue (optionally with new requirements). Any holder lets go."""
        item = self._item(item_id)
        queue = self._queue(queue_id)
        released = self._let_go(item, now)
        item.queue_id = queue.queue_id
        item.directed_to = None
        if skills is not None:
            item.skills = dict(skills)
        if priority is not None:
            item.priority = priority
        item.queued_at = now
        item.stage = 0
        item.status = ItemStatus.WAITING
        self._trace(item, now, "transferred", f"to queue {queue_id}")
        self._restage(item, now, schedule=True)
        self._route_item(item, now)
        if released is not None:
            self._route_agent(released, now)
        return self._flush()

    def transfer_to_agent(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        """Offer an item to one agent only; if they decline it goes back to its queue."""
        item = self._item(item_id)
        target = self._agent(agent_id)
        if item.agent_id == agent_id and item.status is ItemStatus.ASSIGNED:
            raise InvalidState(f"item {item_id} is already with {agent_id}")
        released = self._let_go(item, now)
        item.status = ItemStatus.WAITING
        item.directed_to = target.agent_id
        self._trace(item, now, "transferred", f"to agent {agent_id}", agent_id)
        self._route_item(item, now)
        if released is not None:
            self._route_agent(released, now)
        return self._flush()

    def consult(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        """Bring another agent in to help; a consult takes no capacity."""
        item = self._item(item_id)
        agent = self._agent(agent_id)
        if item.status is not ItemStatus.ASSIGNED:
            raise InvalidState(f"item {item_id} is {item.status.value}, not assigned")
        if agent.base is Presence.OFFLINE:
            raise InvalidState(f"agent {agent_id} is offline")
        if agent_id == item.agent_id or agent_id in item.consults:
            raise InvalidState(f"agent {agent_id} is already on {item_id}")
        item.consults.add(agent_id)
        agent.consults.add(item_id)
        self._trace(item, now, "consult", "consult started (no capacity used)", agent_id)
        self._out.append(ConsultStarted(item_id, agent_id, now))
        return self._flush()

    def end_consult(self, item_id: str, agent_id: str, now: datetime) -> Outcome:
        item = self._item(item_id)
        agent = self._agent(agent_id)
        if agent_id not in item.consults:
            raise InvalidState(f"agent {agent_id} is not consulting on {item_id}")
        self._end_consult(item, agent, now)
        return self._flush()

    def choose(self, item_id: str, agent_id: str | None, now: datetime) -> Outcome:
        """The external chooser's late answer for a deferred item (None: take the best ranked)."""
        item = self._item(item_id)
        if item.status is not ItemStatus.CHOOSING:
            raise InvalidState(f"item {item_id} is not waiting for a choice")
        item.status = ItemStatus.WAITING
        self.selector.changed_item(item)
        queue = self.world.queues[item.queue_id]
        agent = self.world.agents.get(agent_id) if agent_id else None
        if agent is not None and why_not(agent, item, queue) is None:
            self._offer(item, agent, now, Pick(agent.agent_id, "chosen by the external chooser"))
            return self._flush()
        note = "the chooser gave no usable answer" if agent is None else f"{agent_id} can no longer take it"
        self._trace(item, now, "chooser", note + "; using the ranking")
        self._route_item(item, now, ask_chooser=False)
        return self._flush()

    # == time ====================================================================================

    def next_due(self) -> datetime | None:
        """When ``advance`` next has something to do (a timeout, wrap-up end or relaxation)."""
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        if not timers:
            return None
        return timers[0][5]

    def advance(self, now: datetime) -> Outcome:
        """Run every timer due at or before ``now``, in due order."""
        limit = now.timestamp()
        timers = self._timers
        while timers and timers[0][0] <= limit:
            entry = heapq.heappop(timers)
            if not self._timer_live(entry):
                continue
            kind, item_id = entry[2], entry[3]
            item = self.world.items[item_id]
            if kind == _OFFER:
                assert item.offer_agent is not None
                self._time_out(item, self.world.agents[item.offer_agent], now)
            elif kind == _WRAP_UP:
                assert item.agent_id is not None
                del self._wrap_tokens[item_id]
                self._finish(item, self.world.agents[item.agent_id], now, Release.WRAP_UP_ELAPSED)
            else:
                self._restage(item, now, schedule=True)
                if matchable(item):
                    self._route_item(item, now)
        return self._flush()

    # == restore =================================================================================

    def restore(self, agents: Iterable[Agent], items: Iterable[ItemSnapshot], now: datetime) -> Outcome:
        """Rebuild from the store after a start or a lost lease, then route what can be routed.

        Offers already past their expiry time out at the next ``advance`` (they are re-queued).
        Agents are ordered by ``idle_since`` (never worked = idlest) for the idle-based methods.
        """
        if self.world.agents or self.world.items:
            raise InvalidState("restore needs an empty engine")
        world = self.world
        ordered = sorted(agents, key=lambda a: (a.idle_since is not None, a.idle_since or now, a.agent_id))
        for agent in ordered:
            for queue_id in agent.queues:
                self._queue(queue_id)
            state = AgentState(
                agent.agent_id,
                agent.presence,
                self._base(agent.presence),
                agent.skills,
                frozenset(),
                agent.capacity,
                agent.idle_since,
                self._next_seq(),
            )
            world.agents[agent.agent_id] = state
            state.queues = agent.queues
            for queue_id in agent.queues:
                world.members[queue_id].add(agent.agent_id)
        snapshots = sorted(items, key=lambda s: (s.item.enqueued_at, s.item.item_id))
        for snap in snapshots:
            self._restore_item(snap, now)
        self.selector.changed_presences()  # fills every pool from the members, with their loads
        for item in world.items.values():
            self.selector.changed_item(item)
        for item in sorted(
            (i for i in world.items.values() if matchable(i)),
            key=lambda i: i.order_key(world.queues[i.queue_id].priority),
        ):
            if matchable(item):
                self._route_item(item, now)
        for state in self._agents_in_order():
            self._route_agent(state, now)
        return self._flush()

    def _restore_item(self, snap: ItemSnapshot, now: datetime) -> None:
        work = snap.item
        self._queue(work.queue_id)
        item = ItemState(work, self._next_seq(), snap.queued_at or work.enqueued_at)
        item.declines.update(snap.declines)
        item.directed_to = snap.directed_to
        self.world.items[work.item_id] = item
        for step in work.trace:
            self._trace(item, now, "prior", step)
        self._restage(item, now, schedule=True)
        if snap.state == "waiting" and snap.offer is not None:
            agent = self._agent(snap.offer.agent_id)
            item.status = ItemStatus.OFFERED
            item.offer_agent = agent.agent_id
            item.offer_expires = snap.offer.expires_at
            item.attempts = snap.offer.attempt
            item.offer_at = snap.offer.offered_at
            self._hold(agent, item, None, snap.units)
            if snap.offer.expires_at is not None:
                self._schedule(snap.offer.expires_at, _OFFER, item.item_id, item.attempts)
            self._trace(item, now, "restored", "pending offer", agent.agent_id)
        elif snap.state in ("assigned", "wrap_up"):
            if snap.agent_id is None:
                raise InvalidState(f"item {work.item_id} is {snap.state} without an agent")
            agent = self._agent(snap.agent_id)
            item.status = ItemStatus.ASSIGNED if snap.state == "assigned" else ItemStatus.WRAP_UP
            item.agent_id = agent.agent_id
            self._hold(agent, item, None, snap.units)
            if snap.state == "wrap_up" and snap.wrap_up_until is not None:
                item.wrap_until = snap.wrap_up_until
                token = self._next_seq()
                self._wrap_tokens[item.item_id] = token
                self._schedule(snap.wrap_up_until, _WRAP_UP, item.item_id, token)
            self._trace(item, now, "restored", snap.state, agent.agent_id)
        elif snap.state != "waiting":
            raise InvalidState(f"unknown item state {snap.state!r}")

    def snapshot(self) -> tuple[list[Agent], list[ItemSnapshot]]:
        """What ``restore`` needs to rebuild this engine: what the store must be able to give back.

        Consults, traces and round-robin positions are not included (they do not change who may
        take what); the idle order is kept through ``idle_since``.
        """
        agents = [
            Agent(a.agent_id, a.presence, dict(a.skills), a.queues, a.profile, a.idle_since)
            for a in self._agents_in_order()
        ]
        items = []
        for item in sorted(self.world.items.values(), key=lambda i: i.seq):
            work = WorkItem(
                item.item_id,
                item.queue_id,
                item.channel,
                item.enqueued_at,
                skills=dict(item.skills),
                priority=item.priority,
                capacity_units=item.cost,
                allowed_presences=item.allowed,
                push=item.push,
                preferred_agents=tuple(a for a in item.preferred if a != item.affinity),
                affinity_agent=item.affinity,
            )
            offer = None
            state = "waiting"
            holder = self.holder(item.item_id)
            units = self.world.agents[holder].holdings[item.item_id][0] if holder else None
            if item.status is ItemStatus.OFFERED and item.offer_agent is not None:
                offered_at = item.offer_at or item.queued_at
                offer = OfferState(item.offer_agent, offered_at, item.offer_expires, item.attempts)
            elif item.status in (ItemStatus.ASSIGNED, ItemStatus.WRAP_UP):
                state = item.status.value
            items.append(
                ItemSnapshot(
                    work,
                    state=state,
                    offer=offer,
                    agent_id=item.agent_id if state != "waiting" else None,
                    wrap_up_until=item.wrap_until if item.status is ItemStatus.WRAP_UP else None,
                    declines=dict(item.declines),
                    queued_at=item.queued_at,
                    directed_to=item.directed_to,
                    units=units,
                )
            )
        return agents, items

    # == queries =================================================================================

    def trace(self, item_id: str) -> RoutingTrace:
        item = self._item(item_id)
        steps = tuple(
            TraceStep(at, kind, detail, agent_id, tuple(rejected), looked_at)
            for at, kind, detail, agent_id, rejected, looked_at in item.trace
        )
        return RoutingTrace(item_id, steps, item.trace_dropped)

    def explain(self, item_id: str) -> list[CandidateVerdict]:
        """Every queue member (and named agent) and whether it could take the item right now.

        A full scan, for supervisors asking "why is this still waiting?"; ranked eligible first.
        """
        item = self._item(item_id)
        world = self.world
        queue = world.queues[item.queue_id]
        ids = set(world.members.get(item.queue_id, ())) | set(item.preferred)
        if item.directed_to is not None:
            ids.add(item.directed_to)
        eligible = []
        verdicts = []
        for agent_id in sorted(ids):
            agent = world.agents.get(agent_id)
            if agent is None:
                verdicts.append(CandidateVerdict(agent_id, False, "unknown agent"))
                continue
            why = why_not(agent, item, queue)
            if why is None:
                eligible.append((rank(agent, item, queue), agent_id))
            else:
                verdicts.append(CandidateVerdict(agent_id, False, why.value))
        eligible.sort()
        decided, _ = directed_or_preferred(world, item, queue)
        first = decided.agent_id if decided is not None else None
        ranked = [a for _, a in eligible]
        if first is not None and first in ranked:
            ranked.remove(first)
            ranked.insert(0, first)
        head = [CandidateVerdict(a, True, None, n) for n, a in enumerate(ranked, 1)]
        return head + verdicts

    def position(self, item_id: str, now: datetime) -> QueuePosition:
        """Where a waiting item stands in its queue, and about how long until an agent takes it."""
        item = self._item(item_id)
        world = self.world
        queue = world.queues[item.queue_id]
        mine = item.order_key(queue.priority)
        waiting = [
            i for i in world.items.values() if i.queue_id == item.queue_id and i.status is ItemStatus.WAITING
        ]
        ahead = sum(1 for i in waiting if i.order_key(queue.priority) < mine)
        staffed = sum(
            1 for a in world.members.get(item.queue_id, ()) if presence_ok(world.agents[a], item.allowed)
        )
        estimate = None
        if item.status is ItemStatus.WAITING:
            estimate = estimate_wait(
                ahead + 1,
                self._history[item.queue_id],
                staffed,
                self.world.settings.default_handle_seconds,
                now,
            )
        elif item.status is ItemStatus.OFFERED:
            estimate = 0.0
        return QueuePosition(item_id, item.queue_id, ahead + 1, len(waiting), estimate)

    def queue_stats(self, queue_id: str, now: datetime) -> QueueStats:
        world = self.world
        self._queue(queue_id)
        items = [i for i in world.items.values() if i.queue_id == queue_id]
        waiting = [i for i in items if i.status is ItemStatus.WAITING]
        members = world.members.get(queue_id, set())
        ready = sum(
            1
            for a in members
            if presence_ok(world.agents[a], frozenset({Presence.AVAILABLE.value}))
            and has_room(world.agents[a])
        )
        oldest = max((now - i.queued_at).total_seconds() for i in waiting) if waiting else 0.0
        return QueueStats(
            queue_id,
            waiting=len(waiting),
            offered=sum(1 for i in items if i.status is ItemStatus.OFFERED),
            oldest_wait_seconds=max(0.0, oldest),
            members=len(members),
            ready=ready,
            handled=self._history[queue_id].handled,
        )

    def item_status(self, item_id: str) -> ItemStatus | None:
        item = self.world.items.get(item_id)
        return item.status if item is not None else None

    def holder(self, item_id: str) -> str | None:
        """The agent holding capacity for the item (offered to, assigned to, or wrapping up)."""
        item = self.world.items.get(item_id)
        if item is None:
            return None
        return item.offer_agent if item.status is ItemStatus.OFFERED else item.agent_id

    def load(self, agent_id: str) -> dict[str, int]:
        """Units each held item takes from the agent."""
        return {i: h[0] for i, h in self._agent(agent_id).holdings.items()}

    def presence(self, agent_id: str) -> str:
        return self._agent(agent_id).presence

    # == internals: routing ======================================================================

    def _route_item(self, item: ItemState, now: datetime, *, ask_chooser: bool = True) -> None:
        """Offer a matchable item to the best agent, or record why it waits."""
        if item.status is not ItemStatus.WAITING or not (item.push or item.directed_to is not None):
            self.selector.changed_item(item)  # not matchable
            return
        queue = self.world.queues[item.queue_id]
        if queue.method is AssignmentMethod.EXTERNAL and item.directed_to is None and ask_chooser:
            self._route_external(item, queue, now)
            return
        selector = self.selector
        while True:
            pick = selector.best_agent(item)
            if pick.agent_id is None:
                selector.changed_item(item)
                self._trace(item, now, "waiting", pick.why, None, pick.rejected, pick.looked_at)
                return
            agent = self.world.agents[pick.agent_id]
            if item.directed_to is None and item.declines.get(agent.agent_id):
                # Only agents who declined it can take it now. If this one has waiting work it
                # has not declined, that goes first; the item is routed again after.
                other = selector.best_item(agent)
                if other is not None and other is not item and _fresh_for(other, agent.agent_id):
                    self._offer(other, agent, now, Pick(agent.agent_id, AGENT_SIDE))
                    continue
            self._offer(item, agent, now, pick)
            return

    def _route_external(self, item: ItemState, queue: QueueConfig, now: datetime) -> None:
        decided, passed_over = directed_or_preferred(self.world, item, queue)
        if decided is not None and decided.agent_id is not None:
            self._offer(item, self.world.agents[decided.agent_id], now, decided)
            return
        candidates = self.selector.ranked_agents(item, queue.external_candidates)
        if not candidates:
            self.selector.changed_item(item)
            self._trace(item, now, "waiting", "no eligible agent", None, passed_over)
            return
        if self.chooser is None:
            self._offer(
                item,
                self.world.agents[candidates[0]],
                now,
                Pick(candidates[0], "no chooser set; ranked first"),
            )
            return
        request = ChoiceRequest(
            item.item_id,
            item.queue_id,
            item.channel,
            item.reqs,
            item.priority,
            max(0.0, (now - item.queued_at).total_seconds()),
            tuple(candidates),
        )
        answer = self.chooser.choose(request)
        if isinstance(answer, Defer):
            item.status = ItemStatus.CHOOSING
            self.selector.changed_item(item)
            self._trace(item, now, "chooser", f"asked the external chooser about {len(candidates)} agents")
            self._out.append(ChoiceRequested(item.item_id, item.queue_id, tuple(candidates), now))
            return
        if answer in candidates:
            assert isinstance(answer, str)
            rejected = [(a, "not chosen by the external chooser") for a in candidates if a != answer][:8]
            self._offer(
                item, self.world.agents[answer], now, Pick(answer, "chosen by the external chooser", rejected)
            )
            return
        self._offer(
            item,
            self.world.agents[candidates[0]],
            now,
            Pick(candidates[0], "chooser gave no usable answer; ranked first"),
        )

    def _route_agent(self, agent: AgentState, now: datetime) -> None:
        """Give an agent waiting work while it has room for some."""
        selector = self.selector
        while has_room(agent) and agent.base is not Presence.OFFLINE:
            item = selector.best_item(agent)
            if item is None:
                return
            self._offer(item, agent, now, Pick(agent.agent_id, AGENT_SIDE))

    def _offer(
        self, item: ItemState, agent: AgentState, now: datetime, pick: Pick, *, force_accept: bool = False
    ) -> None:
        queue = self.world.queues[item.queue_id]
        item.attempts += 1
        item.status = ItemStatus.OFFERED
        item.offer_agent = agent.agent_id
        self._seq += 1
        agent.rr[item.queue_id] = self._seq
        units = self._hold(agent, item, now)
        self.selector.changed_item(item)
        auto = queue.auto_accept or force_accept
        expires = None
        if not auto:
            timeout = self._timeouts.get(queue.queue_id)
            if timeout is None or timeout[0] != queue.offer_timeout_seconds:
                timeout = (queue.offer_timeout_seconds, timedelta(seconds=queue.offer_timeout_seconds))
                self._timeouts[queue.queue_id] = timeout
            expires = now + timeout[1]
        item.offer_expires = expires
        item.offer_at = now
        self._trace(item, now, "offered", pick.why, agent.agent_id, pick.rejected, pick.looked_at)
        self._out.append(
            Offered(
                item.item_id,
                agent.agent_id,
                item.queue_id,
                item.attempts,
                now,
                expires,
                units,
                item.channel,
                pick.why,
            )
        )
        if auto:
            self._assign(item, agent, now, auto=True)
        else:
            assert expires is not None
            self._schedule(expires, _OFFER, item.item_id, item.attempts)

    def _assign(self, item: ItemState, agent: AgentState, now: datetime, *, auto: bool) -> None:
        item.status = ItemStatus.ASSIGNED
        item.agent_id = agent.agent_id
        item.assigned_at = now
        item.offer_agent = None
        item.offer_expires = None
        item.directed_to = None
        self.selector.changed_item(item)
        history = self._history.get(item.queue_id)
        if history is not None:
            history.answered(now)
        self._trace(item, now, "accepted", "auto-accepted" if auto else "accepted", agent.agent_id)
        self._out.append(Assigned(item.item_id, agent.agent_id, item.queue_id, now, auto))

    def _time_out(self, item: ItemState, agent: AgentState, now: datetime) -> None:
        """A missed offer: the agent becomes inactive and the item goes to someone else."""
        self._change_presence(agent, Presence.INACTIVE.value, now, "missed an offer", announce=True)
        self._close_offer(item, agent, now, OfferEnd.TIMED_OUT)
        self._route_item(item, now)
        self._route_agent(agent, now)

    def _close_offer(
        self, item: ItemState, agent: AgentState, now: datetime, reason: OfferEnd, *, count: bool = True
    ) -> None:
        attempt = item.attempts
        self._unhold(agent, item, now)
        item.status = ItemStatus.WAITING
        item.offer_agent = None
        item.offer_expires = None
        if count:
            item.declines[agent.agent_id] = item.declines.get(agent.agent_id, 0) + 1
        if item.directed_to == agent.agent_id and reason is not OfferEnd.WITHDRAWN:
            item.directed_to = None  # a declined transfer goes back to the queue
        self._trace(item, now, reason.value, f"offer {attempt} {reason.value}", agent.agent_id)
        self._out.append(OfferClosed(item.item_id, agent.agent_id, attempt, now, reason))
        self.selector.changed_item(item)

    def _withdraw_offers(self, agent: AgentState, now: datetime) -> list[ItemState]:
        items = self.world.items
        offered = sorted(
            (items[i] for i in agent.holdings if items[i].status is ItemStatus.OFFERED),
            key=lambda i: i.seq,
        )
        for item in offered:
            self._close_offer(item, agent, now, OfferEnd.WITHDRAWN, count=False)
        return offered

    def _let_go(self, item: ItemState, now: datetime) -> AgentState | None:
        """Release whoever holds the item (for a transfer); returns that agent."""
        world = self.world
        if item.status is ItemStatus.OFFERED and item.offer_agent is not None:
            agent = world.agents[item.offer_agent]
            self._close_offer(item, agent, now, OfferEnd.WITHDRAWN, count=False)
            return agent
        if item.status in (ItemStatus.ASSIGNED, ItemStatus.WRAP_UP) and item.agent_id is not None:
            agent = world.agents[item.agent_id]
            self._end_all_consults(item, now)
            self._wrap_tokens.pop(item.item_id, None)
            self._unhold(agent, item, now)
            self._out.append(CapacityReleased(item.item_id, agent.agent_id, now, Release.TRANSFERRED))
            item.agent_id = None
            return agent
        if item.status is ItemStatus.CHOOSING:
            item.status = ItemStatus.WAITING
        return None

    def _finish(self, item: ItemState, agent: AgentState, now: datetime, reason: Release) -> None:
        self._wrap_tokens.pop(item.item_id, None)
        self._unhold(agent, item, now)
        self._trace(item, now, "closed", reason.value, agent.agent_id)
        self._out.append(CapacityReleased(item.item_id, agent.agent_id, now, reason))
        self._forget(item)
        self._route_agent(agent, now)

    def _forget(self, item: ItemState) -> None:
        item.status = ItemStatus.CLOSED  # not matchable any more: the selector drops it
        self.selector.changed_item(item)
        del self.world.items[item.item_id]

    def _end_all_consults(self, item: ItemState, now: datetime) -> None:
        if not item.consults:
            return
        for agent_id in sorted(item.consults):
            agent = self.world.agents.get(agent_id)
            if agent is not None:
                self._end_consult(item, agent, now)

    def _end_consult(self, item: ItemState, agent: AgentState, now: datetime) -> None:
        item.consults.discard(agent.agent_id)
        agent.consults.discard(item.item_id)
        self._out.append(ConsultEnded(item.item_id, agent.agent_id, now))

    def _restage(self, item: ItemState, now: datetime, *, schedule: bool) -> None:
        """Apply the relaxation steps the item has waited long enough for; arm the next one."""
        queue = self.world.queues[item.queue_id]
        waited = (now - item.queued_at).total_seconds()
        stage = sum(1 for step in queue.relaxation if step.after_seconds <= waited)
        reqs, any_skill = relaxed(item.skills, queue, stage)
        changed = stage != item.stage
        item.stage = stage
        if reqs != item.reqs or any_skill != item.any_skill:
            item.reqs, item.any_skill = reqs, any_skill
            if changed and stage:
                self._trace(item, now, "relaxed", f"stage {stage}: requires {_skills_text(reqs, any_skill)}")
                self._out.append(Relaxed(item.item_id, stage, reqs, any_skill, now))
        if schedule and stage < len(queue.relaxation):
            due = item.queued_at + timedelta(seconds=queue.relaxation[stage].after_seconds)
            self._schedule(due, _RELAX, item.item_id, stage + 1)

    # == internals: state ========================================================================

    def _hold(
        self, agent: AgentState, item: ItemState, now: datetime | None, units: int | None = None
    ) -> int:
        """Take the item's capacity from the agent; ``now`` None (restoring) keeps the idle order."""
        channel = item.channel
        if units is None:
            units = units_for(agent.profile, channel, item.cost)
        agent.holdings[item.item_id] = (units, channel)
        agent.used_units += units
        by_channel = agent.by_channel
        by_channel[channel] = by_channel.get(channel, 0) + 1
        if now is not None:
            self._seq += 1
            agent.idle_seq = self._seq
            agent.idle_since = now
        self.selector.changed_agent(agent)
        return units

    def _unhold(self, agent: AgentState, item: ItemState, now: datetime) -> None:
        units, channel = agent.holdings.pop(item.item_id)
        agent.used_units -= units
        by_channel = agent.by_channel
        left = by_channel[channel] - 1
        if left:
            by_channel[channel] = left
        else:
            del by_channel[channel]
        self._seq += 1
        agent.idle_seq = self._seq
        agent.idle_since = now
        self.selector.changed_agent(agent)

    def _change_presence(
        self, agent: AgentState, presence: str, now: datetime, reason: str, *, announce: bool
    ) -> None:
        base = self._base(presence)
        previous = agent.presence
        if previous == presence:
            return
        became_available = base is Presence.AVAILABLE and agent.base is not Presence.AVAILABLE
        agent.presence, agent.base = presence, base
        if became_available:
            # Coming back counts as becoming idle: no jumping the line after a break.
            agent.idle_seq = self._next_seq()
            agent.idle_since = now
        self.selector.changed_agent(agent)
        if announce:
            self._out.append(PresenceChanged(agent.agent_id, presence, previous, now, reason))

    def _set_membership(self, agent: AgentState, queues: frozenset[str], skills: dict[str, int]) -> None:
        old_queues, old_skills = agent.queues, agent.skills
        members = self.world.members
        for queue_id in old_queues - queues:
            members[queue_id].discard(agent.agent_id)
            agent.rr.pop(queue_id, None)
        for queue_id in queues - old_queues:
            members[queue_id].add(agent.agent_id)
            agent.rr[queue_id] = self._next_seq()  # joins at the end of the rotation
        agent.queues = queues
        agent.skills = skills
        self.selector.changed_membership(agent, old_queues, old_skills)

    def _base(self, presence: str) -> Presence:
        try:
            return Presence(presence)
        except ValueError:
            pass
        base = self.world.presences.get(presence)
        if base is None:
            raise InvalidState(f"unknown presence {presence!r}")
        return base

    def _agents_in_order(self) -> list[AgentState]:
        return sorted(self.world.agents.values(), key=lambda a: a.idle_seq)

    def _trace(
        self,
        item: ItemState,
        now: datetime,
        kind: str,
        detail: str,
        agent_id: str | None = None,
        rejected: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
        looked_at: int = 0,
    ) -> None:
        # Recorded raw (a tuple is far cheaper than a frozen dataclass) and rendered by ``trace``.
        trace = item.trace
        trace.append((now, kind, detail, agent_id, rejected or (), looked_at))
        if len(trace) > self._trace_limit:
            del trace[0]
            item.trace_dropped += 1

    def _schedule(self, due: datetime, kind: int, item_id: str, token: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (due.timestamp(), self._seq, kind, item_id, token, due))

    def _timer_live(self, entry: tuple[float, int, int, str, int, datetime]) -> bool:
        kind, item_id, token = entry[2], entry[3], entry[4]
        item = self.world.items.get(item_id)
        if item is None:
            return False
        if kind == _OFFER:
            return item.status is ItemStatus.OFFERED and item.attempts == token
        if kind == _WRAP_UP:
            return item.status is ItemStatus.WRAP_UP and self._wrap_tokens.get(item_id) == token
        return (
            item.stage < token
            and item.status is not ItemStatus.ASSIGNED
            and item.status is not ItemStatus.WRAP_UP
        )

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _flush(self, refused: str | None = None) -> Outcome:
        out, self._out = self._out, []
        return Outcome(tuple(out), refused)

    def _item(self, item_id: str) -> ItemState:
        item = self.world.items.get(item_id)
        if item is None:
            raise UnknownItem(item_id)
        return item

    def _agent(self, agent_id: str) -> AgentState:
        agent = self.world.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _queue(self, queue_id: str) -> QueueConfig:
        queue = self.world.queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(queue_id)
        return queue

    def _pending(self, item: ItemState, agent_id: str) -> AgentState:
        if item.status is not ItemStatus.OFFERED or item.offer_agent != agent_id:
            raise NotPending(f"no pending offer of {item.item_id} to {agent_id}")
        return self.world.agents[agent_id]


def _fresh_for(item: ItemState, agent_id: str) -> bool:
    """Does the item come before anything the agent declined (it names the agent, or it is new)?"""
    return preferred_for(item, agent_id) or not item.declines.get(agent_id)


def _skills_text(reqs: tuple[tuple[str, int], ...], any_skill: bool) -> str:
    if any_skill or not reqs:
        return "any member"
    return ", ".join(f"{s}>={m}" for s, m in reqs)

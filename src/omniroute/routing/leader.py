"""The routing leader: the one place where the routing engine runs and its decisions are stored.

Only the node holding the lease (``core.lease``) runs it. It applies routing commands in order
(``routing.commands``) and the engine's timers; each one runs the pure engine, then stores the
outcome (offer rows, assignments, presence) in the same transaction as the command's result, and the
events go out only after the commit. If storing fails, the engine has run ahead of the store, so it is
rebuilt from the store before anything else happens.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.conversations.model import Conversation, ConversationState, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.core.errors import Conflict, DomainError, Forbidden, NotFound
from omniroute.core.ids import new_id
from omniroute.core.timers import DueTimers
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers import service as customers
from omniroute.routing import engine as eng
from omniroute.routing import store
from omniroute.routing.commands import Command
from omniroute.routing.config import CapacityProfile as ConfigProfile
from omniroute.routing.config import OverflowAction, OverflowRule, OverflowWhen, RoutingConfig
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.events import (
    AgentPresenceChanged,
    ConsultEnded,
    ConsultStarted,
    ConversationAssigned,
    OfferClosed,
    OfferCreated,
    SessionClosed,
)
from omniroute.routing.model import ClosureReason, Presence, SessionStatus
from omniroute.routing.store import ROUTING_KEY, Session

log = logging.getLogger(__name__)

TIMER_KEY = "routing-engine"
OVERFLOW_PREFIX = "overflow:"
IDLE_PREFIX = "idle:"
AgentNames = Callable[[str], Awaitable[str]]
Payload = dict[str, Any]

CLOSURE = {
    eng.OfferEnd.REJECTED: ClosureReason.REJECTED,
    eng.OfferEnd.TIMED_OUT: ClosureReason.TIMED_OUT,
    eng.OfferEnd.WITHDRAWN: ClosureReason.WITHDRAWN,
}
ENGINE_ERRORS: dict[type[Exception], Callable[[str], DomainError]] = {
    eng.UnknownItem: lambda m: NotFound(f"no routed work {m}"),
    eng.UnknownAgent: lambda m: NotFound(f"agent {m} is not known to routing"),
    eng.UnknownQueue: lambda m: NotFound(f"no queue {m}"),
    eng.NotPending: lambda _m: Conflict("the offer is no longer pending"),
    eng.InvalidState: Conflict,
}


def engine_profile(profile: ConfigProfile | None, default_units: int) -> eng.CapacityProfile:
    if profile is None:
        return eng.CapacityProfile(total_units=default_units)
    return eng.CapacityProfile(
        total_units=profile.total_units,
        channel_units=dict(profile.channel_units),
        channel_limits=dict(profile.channel_limits),
        wrap_up=eng.WrapUpBlocking(profile.wrap_up_blocking.value),
        wrap_up_seconds=float(profile.wrap_up_seconds),
        max_items=profile.max_items,
    )


class _ExternalQueues:
    """The engine's chooser for ``external`` queues: park the item and ask the endpoint later, so
    an HTTP call never blocks the single writer. Without an endpoint, the ranking decides."""

    def __init__(self) -> None:
        self.endpoints: dict[str, str] = {}

    def choose(self, request: eng.ChoiceRequest) -> str | eng.Defer | None:
        return eng.DEFER if request.queue_id in self.endpoints else None


#: Called with a parked item and the endpoint to ask; the service answers through a command.
AskChooser = Callable[[eng.ChoiceRequested, str], None]


class EngineOutOfStep(RuntimeError):
    """A command was refused after the engine had decided: the engine must be rebuilt."""


class CollectorTuning:
    """Keeps CPython's garbage collector from pausing the single writer (ADR 13).

    The engine holds hundreds of thousands of long-lived objects (agents, items, index entries).
    Left alone, the collector walks all of them in every full collection (0.4-0.9 s with 10,000
    agents and 80,000 items, landing inside one routing command). So once the engine is built,
    and again each time it has grown by ``growth`` since, the leader collects once and then
    freezes every survivor (``gc.freeze``): frozen objects are never examined again, so later
    collections only look at what was made since. Each settle first unfreezes, so garbage among
    earlier survivors (the previous engine after a rebuild) is still found: nothing leaks. The
    young-generation threshold is raised to ``young_threshold`` (never lowered): fewer young
    collections. Engines smaller than ``min_objects`` (agents plus items) are left alone: their
    pauses are small anyway. A settle is one full collection (about 0.5-1 s at that scale), once
    per build and per doubling; it runs inside the command that crossed the line.
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        min_objects: int = 2_000,
        growth: float = 2.0,
        young_threshold: int = 10_000,
    ) -> None:
        self.enabled = enabled
        self.min_objects = min_objects
        self.growth = growth
        self.young_threshold = young_threshold
        self.settled_at = 0  # engine size at the last settle (0: never)
        self.settles = 0

    def loaded(self, size: int) -> bool:
        """The engine was (re)built with ``size`` agents and items: settle if it is big enough."""
        if not self.enabled or size < self.min_objects:
            self.settled_at = 0
            return False
        self.settle(size)
        return True

    def grew(self, size: int) -> bool:
        """After a command: settle again once the engine has grown by ``growth`` since."""
        if not self.enabled or size < max(self.min_objects, self.settled_at * self.growth, 1):
            return False
        self.settle(size)
        return True

    def settle(self, size: int) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        young, middle, old = gc.get_threshold()
        if young < self.young_threshold:
            gc.set_threshold(self.young_threshold, middle, old)
        self.settled_at = size
        self.settles += 1
        log.info(
            "routing engine of %d agents and items: collected, %d objects frozen", size, gc.get_freeze_count()
        )


class RoutingLeader:
    def __init__(
        self,
        *,
        publisher: Publisher,
        conversations: ConversationService,
        configs: RoutingConfigService,
        timers: DueTimers,
        default_capacity: int,
        default_offer_timeout: timedelta,
        agent_names: AgentNames,
    ) -> None:
        self.publisher = publisher
        self.db = publisher.db
        self.conversations = conversations
        self.configs = configs
        self.timers = timers
        self.default_capacity = default_capacity
        self.default_offer_timeout = default_offer_timeout
        self.agent_names = agent_names
        self.engine: eng.RoutingEngine | None = None
        self.ask_chooser: AskChooser | None = None
        self._external = _ExternalQueues()
        self._waited_rules: dict[str, OverflowRule] = {}
        self._queue_names: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._config: RoutingConfig | None = None
        self.collector = CollectorTuning()
        self._moved = False  # did this command's engine decisions reach _persist yet?

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the engine from the store and store what it decides (expired offers, new offers)."""
        async with self.publisher.unit_of_work() as uow, self._lock:
            self.engine = None
            self.engine = await self._build(uow)
            outcome = await self._restore(uow, self.engine)
            await self._persist(uow, outcome)
        self._schedule()
        self.collector.loaded(self._engine_size())

    async def stop(self) -> None:
        async with self._lock:
            self.engine = None
        self.timers.cancel(TIMER_KEY)

    async def rebuild(self) -> None:
        log.warning("rebuilding the routing engine from the store")
        await self.start()

    # -- commands -----------------------------------------------------------------------------------

    async def handle(self, uow: UnitOfWork, command: Command) -> dict[str, Any]:
        """Apply one routing command inside the command's transaction (see ``CommandQueue``)."""
        async with self._lock:
            if self.engine is None:
                raise DomainError("routing is starting; try again")
            self._moved = False
            try:
                result = await self._dispatch(uow, self.engine, command)
            except eng.EngineError as exc:
                # The engine refused before changing anything: a clean, explainable answer.
                for kind, make in ENGINE_ERRORS.items():
                    if isinstance(exc, kind):
                        raise make(str(exc)) from exc
                raise Conflict(str(exc)) from exc
            except DomainError as exc:
                if not self._moved:
                    # A refusal checked before the engine decided anything (someone else's offer,
                    # an offer that has just expired, a transfer by the wrong agent): the engine
                    # still matches the store, so routing carries on.
                    raise
                # Refused after the engine moved: the store rolls back, so the engine is ahead of
                # it. A plain error makes the command queue rebuild the engine from the store.
                self.engine = None
                raise EngineOutOfStep(f"refused after the engine decided: {exc.reason}") from exc
            except BaseException:
                # The engine may have moved ahead of the store, which is rolling back.
                self.engine = None
                raise
        self._schedule()
        self.collector.grew(self._engine_size())
        return result

    def _engine_size(self) -> int:
        engine = self.engine
        return len(engine.world.agents) + len(engine.world.items) if engine is not None else 0

    async def _dispatch(self, uow: UnitOfWork, engine: eng.RoutingEngine, command: Command) -> dict[str, Any]:
        handlers = {
            "submit": self._submit,
            "accept": self._accept,
            "reject": self._reject,
            "presence": self._presence,
            "ended": self._ended,
            "closed": self._closed,
            "agent_changed": self._agents_changed,
            "config_changed": self._config_changed,
            "pick": self._pick,
            "choose": self._choose,
            "transfer": self._transfer,
            "consult": self._consult,
            "end_consult": self._end_consult,
            "promote": self._promote,
            "external": self._external_work,
            "position": self._position,
        }
        handler = handlers.get(command.kind)
        if handler is None:
            msg = f"unknown routing command {command.kind!r}"
            raise DomainError(msg)
        return await handler(uow, engine, command.payload, uow.clock.now())

    async def _submit(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        conv = await self.conversations.load(uow, p["conversation_id"])
        if conv.state is not ConversationState.OPEN or engine.item_status(conv.id) is not None:
            return {"skipped": "not waiting"}
        item = await self._work_item(uow, conv)
        await self._persist(uow, engine.submit(item, now), touched=(conv.id,))
        self._watch_wait(conv.id, conv.queue_id, item.enqueued_at)
        return {}

    async def _accept(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        session = await self._own_offer(uow, p["agent_id"], p["session_id"])
        outcome = engine.accept(session.conversation_id, p["agent_id"], now)
        await self._persist(uow, outcome, touched=(session.conversation_id,))
        if outcome.refused:
            return {"refused": outcome.refused}
        return {"conversation_id": session.conversation_id}

    async def _reject(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        session = await self._own_offer(uow, p["agent_id"], p["session_id"])
        outcome = engine.reject(session.conversation_id, p["agent_id"], now)
        await self._persist(uow, outcome, touched=(session.conversation_id,))
        return {}

    async def _presence(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        await self._ensure_agent(uow, engine, p["agent_id"], now)
        chosen = str(p["presence"])
        custom_map = {c.id: c.base for c in (self._config or RoutingConfig()).custom_presences}
        base = custom_map.get(chosen) or Presence(chosen)
        custom = chosen if chosen in custom_map else None
        await store.set_custom_presence(uow.conn, p["agent_id"], custom)
        await self._record_presence(uow, p["agent_id"], base.value, "agent", custom=custom)
        await self._persist(uow, engine.set_presence(p["agent_id"], chosen, now))
        return {"presence": base.value, "custom_presence": custom}

    async def _pick(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        await self._ensure_agent(uow, engine, p["agent_id"], now)
        outcome = engine.pick(p["conversation_id"], p["agent_id"], now)
        await self._persist(uow, outcome, touched=(p["conversation_id"],))
        return {"conversation_id": p["conversation_id"]}

    async def _transfer(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """The agent holding a conversation hands it to a queue or to a colleague."""
        conv = await self.conversations.load(uow, p["conversation_id"])
        if conv.state not in (ConversationState.ACTIVE, ConversationState.WAITING):
            raise Conflict("only a conversation in progress can be transferred")
        if conv.agent_id != p["actor_id"] and not p.get("supervisor"):
            raise Forbidden("only the agent handling the conversation can transfer it")
        actor = await self.agent_names(p["actor_id"])
        target_agent = p.get("agent_id")
        queue_id = p.get("queue_id") or conv.queue_id
        if await store.get_queue(uow.conn, queue_id) is None:
            msg = f"no queue {queue_id}"
            raise NotFound(msg)
        if target_agent is not None:
            await self._ensure_agent(uow, engine, target_agent, now)
            colleague = await self.agent_names(target_agent)
            text = f"{actor} is transferring the conversation to {colleague}."
        else:
            queue = await store.get_queue(uow.conn, queue_id)
            text = f"{actor} transferred the conversation to {queue.name if queue else 'another queue'}."
        await self.conversations.append(
            uow, conv, sender_kind=SenderKind.SYSTEM, sender_id=None, sender_name="Omniroute", text=text
        )
        conv = await self.conversations.requeue(uow, await self.conversations.load(uow, conv.id), queue_id)
        if target_agent is not None:
            if queue_id != engine.world.items[conv.id].queue_id:
                await self._persist(uow, engine.transfer_to_queue(conv.id, queue_id, now))
            outcome = engine.transfer_to_agent(conv.id, target_agent, now)
        else:
            outcome = engine.transfer_to_queue(conv.id, queue_id, now)
        note = str(p.get("note") or "").strip()
        await self._persist(uow, outcome, touched=(conv.id,))
        if note:
            await store.append_trace(
                uow.conn, conv.id, [f"{now.isoformat()} transfer note from {actor}: {note}"]
            )
            # The next agent reads it beside the transcript; the customer never sees it.
            await self.conversations.add_note_in(
                uow,
                await self.conversations.load(uow, conv.id),
                p["actor_id"],
                actor,
                f"Transfer note: {note}",
            )
        self._watch_wait(conv.id, queue_id, now)
        return {"conversation_id": conv.id}

    async def _external_work(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """Record work an agent took outside routing (a call) so it uses their capacity.

        Routed work (a call Omniroute reserved an agent for) is handed over: the reserved agent's
        offer becomes the assignment, or whoever was offered or held it lets go (a warm transfer
        inside one call id). Work that has already ended when this arrives (a call answered and
        ended in one delivery) still takes its wrap-up, as it would after a rebuild."""
        conv = await self.conversations.load(uow, p["conversation_id"])
        agent_id = p["agent_id"]
        if conv.state is ConversationState.CLOSED:
            return {"skipped": "the work has ended"}
        status = engine.item_status(conv.id)
        if status is eng.ItemStatus.WRAP_UP:
            return {"skipped": "the work has ended"}
        await self._ensure_agent(uow, engine, agent_id, now)
        if status is not None:
            if status is eng.ItemStatus.ASSIGNED and engine.holder(conv.id) == agent_id:
                return {"skipped": "already routed"}
            outcome = engine.hand_over(conv.id, agent_id, now)
            accepted = any(isinstance(d, eng.Assigned) for d in outcome.decisions)
            await self._persist(uow, outcome, touched=(conv.id,))
            if not accepted:
                await self._taken_outside(uow, conv, agent_id, now)
        else:
            item = await self._work_item(uow, conv)
            await self._persist(uow, engine.occupy(item, agent_id, now), touched=(conv.id,))
            await self._taken_outside(uow, conv, agent_id, now)
        if conv.state is ConversationState.WRAP_UP:
            await self._persist(uow, engine.end_work(conv.id, now), touched=(conv.id,))
        return {"conversation_id": conv.id}

    async def _taken_outside(self, uow: UnitOfWork, conv: Conversation, agent_id: str, now: datetime) -> None:
        session = Session(
            id=new_id(),
            conversation_id=conv.id,
            queue_id=conv.queue_id,
            agent_id=agent_id,
            channel=conv.channel,
            status=SessionStatus.ACTIVE,
            offered_at=now,
            expires_at=None,
            accepted_at=now,
        )
        await store.insert_session(uow.conn, session)
        await store.set_idle_since(uow.conn, agent_id, now)
        if conv.state in (ConversationState.OPEN, ConversationState.WAITING):
            conv = await self.conversations.assign(uow, conv, agent_id)
        uow.emit(
            ConversationAssigned(
                occurred_at=now,
                session_id=session.id,
                conversation_id=conv.id,
                agent_id=agent_id,
                queue_id=conv.queue_id,
            )
        )

    async def _consult(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """The holder (or a supervisor) brings a colleague in; the colleague joins at once."""
        conv = await self._in_progress(uow, p["conversation_id"], p["actor_id"], p.get("supervisor", False))
        await self._ensure_agent(uow, engine, p["agent_id"], now)
        await self._persist(uow, engine.consult(conv.id, p["agent_id"], now), touched=(conv.id,))
        return {"conversation_id": conv.id}

    async def _end_consult(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """The consultant leaves, or the holder or a supervisor lets them go."""
        conv = await self.conversations.load(uow, p["conversation_id"])
        actor, consultant = p["actor_id"], p["agent_id"]
        if actor not in (consultant, conv.agent_id) and not p.get("supervisor"):
            raise Forbidden("only the consultant, the agent handling the conversation or a supervisor")
        if not await store.consult_sessions(uow.conn, conversation_id=conv.id, agent_id=consultant):
            msg = f"agent {consultant} is not consulting on this conversation"
            raise NotFound(msg)
        await self._persist(uow, engine.end_consult(conv.id, consultant, now), touched=(conv.id,))
        return {"conversation_id": conv.id}

    async def _promote(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """The consultant takes the conversation over: it is transferred to them and accepted.

        If the consultant has no free capacity the transfer waits for them like any directed
        transfer (the answer says so); the previous holder is released either way.
        """
        conv = await self._in_progress(uow, p["conversation_id"], p["actor_id"], p.get("supervisor", False))
        consultant = p["agent_id"]
        if not await store.consult_sessions(uow.conn, conversation_id=conv.id, agent_id=consultant):
            msg = f"agent {consultant} is not consulting on this conversation"
            raise NotFound(msg)
        await self._persist(
            uow,
            engine.end_consult(conv.id, consultant, now),
            touched=(conv.id,),
            ended=ClosureReason.PROMOTED,
        )
        actor = await self.agent_names(p["actor_id"])
        colleague = await self.agent_names(consultant)
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.SYSTEM,
            sender_id=None,
            sender_name="Omniroute",
            text=f"{actor} handed the conversation to {colleague}.",
        )
        conv = await self.conversations.requeue(
            uow, await self.conversations.load(uow, conv.id), conv.queue_id
        )
        await self._persist(uow, engine.transfer_to_agent(conv.id, consultant, now), touched=(conv.id,))
        item = engine.world.items[conv.id]
        if item.status is eng.ItemStatus.OFFERED and item.offer_agent == consultant:
            await self._persist(uow, engine.accept(conv.id, consultant, now), touched=(conv.id,))
        if item.status is eng.ItemStatus.ASSIGNED and item.agent_id == consultant:
            return {"conversation_id": conv.id, "assigned": True}
        self._watch_wait(conv.id, conv.queue_id, now)
        return {"conversation_id": conv.id, "assigned": False}

    async def _in_progress(
        self, uow: UnitOfWork, conversation_id: str, actor_id: str, supervisor: bool
    ) -> Conversation:
        conv = await self.conversations.load(uow, conversation_id)
        if conv.state not in (ConversationState.ACTIVE, ConversationState.WAITING):
            raise Conflict("the conversation is not in progress")
        if conv.agent_id != actor_id and not supervisor:
            raise Forbidden("only the agent handling the conversation (or a supervisor) can do this")
        return conv

    async def _choose(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        if engine.item_status(p["conversation_id"]) is not eng.ItemStatus.CHOOSING:
            return {"skipped": "not waiting for a choice"}  # it ended or was rebuilt meanwhile
        outcome = engine.choose(p["conversation_id"], p.get("agent_id"), now)
        await self._persist(uow, outcome, touched=(p["conversation_id"],))
        return {}

    async def _position(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        """Read-only: where a waiting item stands and how long it may wait."""
        if engine.item_status(p["conversation_id"]) not in (eng.ItemStatus.WAITING, eng.ItemStatus.OFFERED):
            return {"waiting": False}
        spot = engine.position(p["conversation_id"], now)
        return {
            "waiting": True,
            "position": spot.position,
            "queue_length": spot.waiting,
            "estimated_wait_seconds": spot.estimated_wait_seconds,
        }

    async def _ended(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        item_id = p["conversation_id"]
        status = engine.item_status(item_id)
        if status is eng.ItemStatus.ASSIGNED:
            await self._persist(uow, engine.end_work(item_id, now))
            return {}
        if status is eng.ItemStatus.WRAP_UP:
            return {"skipped": "in wrap-up already"}  # work taken outside routing after it ended
        # A customer who leaves before anyone accepted takes pending offers with them.
        left = ClosureReason.CUSTOMER_LEFT if p.get("by") == "customer" else ClosureReason.WITHDRAWN
        await self._persist(uow, engine.close(item_id, now), left)
        return {}

    async def _closed(self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime) -> Payload:
        await self._persist(uow, engine.close(p["conversation_id"], now))
        return {}

    async def _agents_changed(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, p: Payload, now: datetime
    ) -> Payload:
        for agent_id in p["agent_ids"]:
            await self._persist(uow, engine.add_agent(await self._load_agent(uow, agent_id), now))
        return {}

    async def _config_changed(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, _p: Payload, now: datetime
    ) -> Payload:
        self._config = (await self.configs.active()).config
        await self._learn_endpoints(uow)
        custom = {p.id: eng.Presence(p.base.value) for p in self._config.custom_presences}
        await self._persist(uow, engine.set_custom_presences(custom, now))
        for queue in await store.list_queues(uow.conn):
            await self._persist(uow, engine.set_queue(self._queue_config(queue), now))
        for agent_id in list(engine.world.agents):
            await self._persist(uow, engine.add_agent(await self._load_agent(uow, agent_id), now))
        return {}

    async def tick(self, key: str = TIMER_KEY) -> None:
        """Timer callback: the engine's timers (offer timeouts, wrap-up ends, relaxation steps),
        or a queue's "waited longer than" overflow for one item."""
        try:
            async with self.publisher.unit_of_work() as uow, self._lock:
                if self.engine is None:
                    return
                try:
                    if key.startswith(OVERFLOW_PREFIX):
                        await self._overflow(uow, self.engine, key.removeprefix(OVERFLOW_PREFIX))
                    elif key.startswith(IDLE_PREFIX):
                        await self._auto_close(uow, key.removeprefix(IDLE_PREFIX))
                    else:
                        await self._persist(uow, self.engine.advance(uow.clock.now()))
                except BaseException:
                    self.engine = None
                    raise
        except Exception:
            log.exception("routing timers failed")
            await self.rebuild()
            return
        self._schedule()

    def _idle_limit(self, row: store.WorkItemRow | None) -> timedelta | None:
        """The workstream's "auto-close after inactivity", if the conversation's workstream has one."""
        routing = row.attributes.get(ROUTING_KEY) if row is not None else None
        stream_id = routing.get("workstream") if isinstance(routing, dict) else None
        for stream in self._config.workstreams if self._config is not None else []:
            if stream.id == stream_id and stream.auto_close_after_seconds is not None:
                return timedelta(seconds=stream.auto_close_after_seconds)
        return None

    async def _watch_idle(self, uow: UnitOfWork, conv: Conversation) -> None:
        limit = self._idle_limit(await store.get_work_item(uow.conn, conv.id))
        if limit is not None:
            last = await self.conversations.last_activity(uow.conn, conv)
            self.timers.schedule(IDLE_PREFIX + conv.id, last + limit)

    async def _auto_close(self, uow: UnitOfWork, conversation_id: str) -> None:
        """Nobody wrote for the workstream's inactivity limit: end the conversation.

        The timer is armed from the last activity it knew of; a message since then moves it on
        instead of ending anything, so posting never has to reach the leader.
        """
        conv = await self.conversations.load(uow, conversation_id)
        if conv.state not in (ConversationState.ACTIVE, ConversationState.WAITING):
            return
        limit = self._idle_limit(await store.get_work_item(uow.conn, conv.id))
        if limit is None:
            return
        due = await self.conversations.last_activity(uow.conn, conv) + limit
        if uow.clock.now() < due:
            self.timers.schedule(IDLE_PREFIX + conv.id, due)
            return
        minutes = round(limit.total_seconds() / 60)
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.SYSTEM,
            sender_id=None,
            sender_name="Omniroute",
            text=f"This conversation was closed after {minutes} minutes without activity.",
        )
        await self.conversations.end_in(
            uow, await self.conversations.load(uow, conv.id), SenderKind.SYSTEM, "Omniroute"
        )
        await store.append_trace(uow.conn, conv.id, [f"{uow.clock.now().isoformat()} auto-closed: inactive"])

    def _watch_wait(self, item_id: str, queue_id: str, since: datetime) -> None:
        rule = self._waited_rules.get(queue_id)
        if rule is not None and rule.seconds is not None:
            self.timers.schedule(OVERFLOW_PREFIX + item_id, since + timedelta(seconds=rule.seconds))

    async def _overflow(self, uow: UnitOfWork, engine: eng.RoutingEngine, item_id: str) -> None:
        """The item waited longer than its queue allows: apply the queue's overflow action."""
        if engine.item_status(item_id) not in (eng.ItemStatus.WAITING, eng.ItemStatus.OFFERED):
            return  # taken, ended or being chosen meanwhile
        queue_id = engine.world.items[item_id].queue_id
        rule = self._waited_rules.get(queue_id)
        if rule is None:
            return
        now = uow.clock.now()
        note = f"waited longer than {rule.seconds} s in its queue: {rule.action.value}"
        conv = await self.conversations.load(uow, item_id)
        if rule.action is OverflowAction.TRANSFER_TO_QUEUE and rule.queue in self._queue_names:
            target = self._queue_names[rule.queue]
            await self.conversations.move_to_queue(uow, conv, target)
            await self._persist(uow, engine.transfer_to_queue(item_id, target, now), touched=(item_id,))
            self._watch_wait(item_id, target, now)
        elif rule.action is OverflowAction.ASSIGN_ANYWAY:
            outcome = engine.transfer_to_queue(item_id, queue_id, now, skills={})
            await self._persist(uow, outcome, touched=(item_id,))
        elif rule.action is OverflowAction.END_WITH_MESSAGE:
            await self.conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.BOT,
                sender_id=None,
                sender_name="Omniroute",
                text=rule.message or "",
            )
            await self.conversations.end_in(
                uow, await self.conversations.load(uow, item_id), SenderKind.SYSTEM, "Omniroute"
            )
        elif rule.action is OverflowAction.OFFER_CALLBACK:
            await store.mark_callback(uow.conn, item_id)
        await store.append_trace(uow.conn, item_id, [f"{now.isoformat()} overflow: {note}"])

    def _schedule(self) -> None:
        due = self.engine.next_due() if self.engine is not None else None
        if due is None:
            self.timers.cancel(TIMER_KEY)
        else:
            self.timers.schedule(TIMER_KEY, due)

    # -- building the engine from the store ---------------------------------------------------------

    async def _build(self, uow: UnitOfWork) -> eng.RoutingEngine:
        self._config = (await self.configs.active()).config
        queues = [self._queue_config(q) for q in await store.list_queues(uow.conn)]
        custom = {p.id: eng.Presence(p.base.value) for p in self._config.custom_presences}
        await self._learn_endpoints(uow)
        return eng.RoutingEngine(queues, custom_presences=custom, chooser=self._external)

    async def _learn_endpoints(self, uow: UnitOfWork) -> None:
        config = self._config or RoutingConfig()
        names = {q.name: q.id for q in await store.list_queues(uow.conn)}
        self._queue_names = names
        self._waited_rules = {}
        for settings in config.queues:
            waited = [r for r in settings.overflow if r.when is OverflowWhen.WAITED_LONGER_THAN]
            if waited and settings.queue in names:
                self._waited_rules[names[settings.queue]] = waited[0]
        self._external.endpoints = {
            names[q.queue]: q.external_endpoint
            for q in config.queues
            if q.assignment_method.value == "external" and q.external_endpoint and q.queue in names
        }

    def _queue_config(self, queue: store.Queue) -> eng.QueueConfig:
        config = self._config or RoutingConfig()
        settings = config.settings_for(queue.name)
        configured = any(q.queue == queue.name for q in config.queues)
        timeout = settings.offer_timeout_seconds if configured else self.default_offer_timeout.total_seconds()
        return eng.QueueConfig(
            queue_id=queue.id,
            priority=settings.priority,
            method=eng.AssignmentMethod(settings.assignment_method.value),
            skill_match=eng.SkillMatch(settings.skill_match.value),
            offer_timeout_seconds=float(timeout),
            auto_accept=settings.auto_accept,
            decline_limit=settings.decline_limit,
            relaxation=tuple(
                eng.RelaxationStep(
                    after_seconds=float(s.after_seconds),
                    lower_proficiency_by=s.lower_proficiency_by,
                    drop_skills=frozenset(s.drop_skills),
                    any_skill=s.any_skill,
                )
                for s in settings.relaxation
            ),
            service_level_seconds=float(settings.service_level_seconds),
        )

    async def _load_agent(self, uow: UnitOfWork, agent_id: str) -> eng.Agent:
        conn = uow.conn
        row = await store.get_agent(conn, agent_id)
        queues = {q.id for q in await store.queues_of(conn, agent_id)}
        skills = (await store.agent_skill_map(conn, [agent_id])).get(agent_id, {})
        profile_id = (await store.agent_profile_map(conn, [agent_id])).get(agent_id)
        custom = await store.custom_presence_of(conn, agent_id)
        return self._agent(agent_id, row, queues, skills, profile_id, custom)

    def _agent(
        self,
        agent_id: str,
        row: store.AgentRow | None,
        queues: set[str],
        skills: dict[str, int],
        profile_id: str | None,
        custom_presence: str | None = None,
    ) -> eng.Agent:
        config = self._config or RoutingConfig()
        profiles = {p.id: p for p in config.capacity_profiles}
        profile = profiles.get(profile_id or config.default_capacity_profile or "")
        known_custom = {c.id for c in config.custom_presences}
        base = row.presence.value if row else Presence.OFFLINE.value
        return eng.Agent(
            agent_id=agent_id,
            # A custom presence removed from the configuration falls back to its stored base.
            presence=custom_presence if custom_presence in known_custom else base,
            skills=skills,
            queues=frozenset(queues),
            capacity=engine_profile(profile, self.default_capacity),
            idle_since=row.idle_since if row else None,
        )

    async def _ensure_agent(
        self, uow: UnitOfWork, engine: eng.RoutingEngine, agent_id: str, now: datetime
    ) -> None:
        if agent_id not in engine.world.agents:
            await self._persist(uow, engine.add_agent(await self._load_agent(uow, agent_id), now))

    async def _work_item(self, uow: UnitOfWork, conv: Conversation) -> eng.WorkItem:
        row = await store.get_work_item(uow.conn, conv.id)
        return self._item_from(conv, row)

    def _item_from(self, conv: Conversation, row: store.WorkItemRow | None) -> eng.WorkItem:
        routing = row.attributes.get(ROUTING_KEY) if row else None
        asks: dict[str, Any] = routing if isinstance(routing, dict) else {}
        allowed = frozenset(asks.get("allowed_presences") or eng.DEFAULT_ALLOWED_PRESENCES) - {
            "offline",
            "inactive",
        }
        return eng.WorkItem(
            item_id=conv.id,
            queue_id=conv.queue_id,
            channel=conv.channel,
            enqueued_at=conv.queued_at or conv.created_at,
            skills=row.required_skills if row else {},
            priority=row.priority if row else 0,
            capacity_units=row.capacity_units if row else None,
            allowed_presences=allowed or eng.DEFAULT_ALLOWED_PRESENCES,
            push=bool(asks.get("push", True)),
            affinity_agent=asks.get("affinity_agent"),
            preferred_agents=tuple(asks.get("preferred_agents") or ())[:3],
            trace=tuple(row.trace) if row else (),
        )

    async def _restore(self, uow: UnitOfWork, engine: eng.RoutingEngine) -> eng.Outcome:
        conn = uow.conn
        now = uow.clock.now()
        rows = await store.all_agents(conn)
        memberships = await store.all_memberships(conn)
        agent_ids = set(rows) | set(memberships)
        skills = await store.agent_skill_map(conn, agent_ids)
        profiles = await store.agent_profile_map(conn, agent_ids)
        customs = await store.custom_presences(conn, agent_ids)
        agents = [
            self._agent(
                a, rows.get(a), memberships.get(a, set()), skills.get(a, {}), profiles.get(a), customs.get(a)
            )
            for a in sorted(agent_ids)
        ]
        convs = await self.conversations.routable(conn)
        items = await store.work_items_for(conn, [c.id for c in convs])
        sessions = await store.open_sessions(conn)
        offers = {s.conversation_id: s for s in sessions if s.status is SessionStatus.OFFERED}
        declines = await store.decline_counts(
            conn, {c.id: c.queued_at or c.created_at for c in convs if c.state is ConversationState.OPEN}
        )
        by_id = {a.agent_id: a for a in agents}
        snapshots = []
        for conv in convs:
            item = self._item_from(conv, items.get(conv.id))
            if conv.state is ConversationState.OPEN:
                offer = offers.get(conv.id)
                snapshots.append(
                    eng.ItemSnapshot(
                        item=item,
                        state="waiting",
                        declines=declines.get(conv.id, {}),
                        offer=eng.OfferState(offer.agent_id, offer.offered_at, offer.expires_at)
                        if offer
                        else None,
                    )
                )
            elif conv.agent_id is not None and conv.agent_id in by_id:
                if conv.state is ConversationState.WRAP_UP:
                    until = self._wrap_up_until(by_id[conv.agent_id], conv)
                    snapshots.append(
                        eng.ItemSnapshot(
                            item=item, state="wrap_up", agent_id=conv.agent_id, wrap_up_until=until
                        )
                    )
                else:
                    snapshots.append(eng.ItemSnapshot(item=item, state="assigned", agent_id=conv.agent_id))
        for snapshot in snapshots:
            if snapshot.state == "waiting":
                self._watch_wait(snapshot.item.item_id, snapshot.item.queue_id, snapshot.item.enqueued_at)
        outcome = engine.restore(agents, snapshots, now)
        await self._restore_consults(uow, engine, now)
        for conv in convs:
            limit = self._idle_limit(items.get(conv.id))
            if limit is not None and conv.state in (ConversationState.ACTIVE, ConversationState.WAITING):
                last = await self.conversations.last_activity(conn, conv)
                self.timers.schedule(IDLE_PREFIX + conv.id, last + limit)
        return outcome

    async def _restore_consults(self, uow: UnitOfWork, engine: eng.RoutingEngine, now: datetime) -> None:
        """Consults are stored as sessions: the engine learns them again, nothing is stored twice."""
        for session in await store.consult_sessions(uow.conn):
            if engine.item_status(session.conversation_id) is not eng.ItemStatus.ASSIGNED:
                await self._consult_ended(
                    uow, eng.ConsultEnded(session.conversation_id, session.agent_id, now), ClosureReason.ENDED
                )
                continue
            try:
                engine.consult(session.conversation_id, session.agent_id, now)
            except eng.EngineError:
                await self._consult_ended(
                    uow, eng.ConsultEnded(session.conversation_id, session.agent_id, now), ClosureReason.ENDED
                )

    @staticmethod
    def _wrap_up_until(agent: eng.Agent, conv: Conversation) -> datetime | None:
        ended = conv.ended_at or conv.updated_at
        match agent.capacity.wrap_up:
            case eng.WrapUpBlocking.NEVER:
                return ended
            case eng.WrapUpBlocking.SECONDS:
                return ended + timedelta(seconds=agent.capacity.wrap_up_seconds)
        return None

    # -- storing what the engine decided ------------------------------------------------------------

    async def _persist(
        self,
        uow: UnitOfWork,
        outcome: eng.Outcome,
        withdrawn: ClosureReason = ClosureReason.WITHDRAWN,
        touched: tuple[str, ...] = (),
        ended: ClosureReason = ClosureReason.CONSULT_ENDED,
    ) -> None:
        self._moved = True
        for decision in outcome.decisions:
            match decision:
                case eng.Offered():
                    await self._offered(uow, decision)
                case eng.Assigned():
                    await self._assigned(uow, decision)
                case eng.OfferClosed():
                    await self._offer_closed(uow, decision, withdrawn)
                case eng.PresenceChanged():
                    await self._record_presence(uow, decision.agent_id, decision.presence, decision.reason)
                case eng.CapacityReleased():
                    await self._released(uow, decision)
                case eng.ChoiceRequested():
                    self._ask_external(decision)
                case eng.Relaxed():
                    await self._relaxed(uow, decision)
                case eng.ConsultStarted():
                    await self._consult_started(uow, decision)
                case eng.ConsultEnded():
                    await self._consult_ended(uow, decision, ended)
                case _:
                    pass  # wrap-up start and external choices change no stored state
        await self._sync_traces(uow, outcome, touched)

    async def _sync_traces(self, uow: UnitOfWork, outcome: eng.Outcome, touched: tuple[str, ...]) -> None:
        # The engine's own trace is the explanation; keep the stored one in step with it.
        for item_id in ({getattr(d, "item_id", None) for d in outcome.decisions} | set(touched)) - {None}:
            assert isinstance(item_id, str)
            if self.engine is not None and self.engine.item_status(item_id) is not None:
                await store.replace_trace(uow.conn, item_id, self.engine.trace(item_id).lines())

    async def _offered(self, uow: UnitOfWork, d: eng.Offered) -> None:
        session = Session(
            id=new_id(),
            conversation_id=d.item_id,
            queue_id=d.queue_id,
            agent_id=d.agent_id,
            channel=d.channel,
            status=SessionStatus.OFFERED,
            offered_at=d.offered_at,
            expires_at=d.expires_at,
        )
        await store.insert_session(uow.conn, session)
        if d.expires_at is not None:
            uow.emit(await self.offer_event(uow.conn, session, d.offered_at))

    async def _assigned(self, uow: UnitOfWork, d: eng.Assigned) -> None:
        session = await store.open_session_for(uow.conn, d.item_id, d.agent_id, SessionStatus.OFFERED)
        if session is None:
            msg = f"no offer row for {d.item_id} to {d.agent_id}"
            raise DomainError(msg)
        await store.update_session(uow.conn, session.id, status=SessionStatus.ACTIVE, accepted_at=d.at)
        await store.set_idle_since(uow.conn, d.agent_id, d.at)
        conv = await self.conversations.load(uow, d.item_id)
        if conv.state is ConversationState.OPEN or conv.agent_id != d.agent_id:
            # (a reserved call the provider connected is already the agent's: see _external_work)
            conv = await self.conversations.assign(uow, conv, d.agent_id)
        uow.emit(
            ConversationAssigned(
                occurred_at=d.at,
                session_id=session.id,
                conversation_id=conv.id,
                agent_id=d.agent_id,
                queue_id=d.queue_id,
            )
        )
        await self._watch_idle(uow, conv)
        name = await self.agent_names(d.agent_id)
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.SYSTEM,
            sender_id=None,
            sender_name="Omniroute",
            text=f"{name} joined the conversation.",
        )

    async def _offer_closed(self, uow: UnitOfWork, d: eng.OfferClosed, withdrawn: ClosureReason) -> None:
        session = await store.open_session_for(uow.conn, d.item_id, d.agent_id, SessionStatus.OFFERED)
        if session is None:
            return
        reason = withdrawn if d.reason is eng.OfferEnd.WITHDRAWN else CLOSURE[d.reason]
        await store.update_session(
            uow.conn, session.id, status=SessionStatus.CLOSED, closed_at=d.at, closure_reason=reason
        )
        uow.emit(
            OfferClosed(
                occurred_at=d.at,
                session_id=session.id,
                conversation_id=d.item_id,
                agent_id=d.agent_id,
                reason=reason.value,
            )
        )

    def _ask_external(self, d: eng.ChoiceRequested) -> None:
        endpoint = self._external.endpoints.get(d.queue_id)
        if endpoint is not None and self.ask_chooser is not None:
            self.ask_chooser(d, endpoint)

    async def _relaxed(self, uow: UnitOfWork, d: eng.Relaxed) -> None:
        any_member = " or any member" if d.any_skill else ""
        await store.append_trace(
            uow.conn, d.item_id, [f"relaxed to stage {d.stage}: skills {dict(d.skills)}{any_member}"]
        )

    async def _consult_started(self, uow: UnitOfWork, d: eng.ConsultStarted) -> None:
        conv = await self.conversations.get_in(uow.conn, d.item_id)
        session = Session(
            id=new_id(),
            conversation_id=d.item_id,
            queue_id=conv.queue_id,
            agent_id=d.agent_id,
            channel=conv.channel,
            status=SessionStatus.CONSULTING,
            offered_at=d.at,
            expires_at=None,
            accepted_at=d.at,
        )
        await store.insert_session(uow.conn, session)
        uow.emit(
            ConsultStarted(
                occurred_at=d.at,
                session_id=session.id,
                conversation_id=d.item_id,
                agent_id=d.agent_id,
                holder_id=conv.agent_id,
                agent_name=await self.agent_names(d.agent_id),
            )
        )

    async def _consult_ended(self, uow: UnitOfWork, d: eng.ConsultEnded, reason: ClosureReason) -> None:
        for session in await store.consult_sessions(uow.conn, conversation_id=d.item_id, agent_id=d.agent_id):
            await store.update_session(
                uow.conn, session.id, status=SessionStatus.CLOSED, closed_at=d.at, closure_reason=reason
            )
            conv = await self.conversations.get_in(uow.conn, d.item_id)
            uow.emit(
                ConsultEnded(
                    occurred_at=d.at,
                    session_id=session.id,
                    conversation_id=d.item_id,
                    agent_id=d.agent_id,
                    holder_id=conv.agent_id,
                    reason=reason.value,
                )
            )

    async def _released(self, uow: UnitOfWork, d: eng.CapacityReleased) -> None:
        session = await store.open_session_for(uow.conn, d.item_id, d.agent_id, SessionStatus.ACTIVE)
        await store.set_idle_since(uow.conn, d.agent_id, d.at)
        if session is None:
            return
        reason = ClosureReason.TRANSFERRED if d.reason is eng.Release.TRANSFERRED else ClosureReason.ENDED
        await store.update_session(
            uow.conn, session.id, status=SessionStatus.CLOSED, closed_at=d.at, closure_reason=reason
        )
        uow.emit(
            SessionClosed(
                occurred_at=d.at,
                session_id=session.id,
                conversation_id=d.item_id,
                agent_id=d.agent_id,
                reason=reason.value,
            )
        )

    async def _record_presence(
        self, uow: UnitOfWork, agent_id: str, presence: str, reason: str, custom: str | None = None
    ) -> None:
        now = uow.clock.now()
        current = await store.get_agent(uow.conn, agent_id, for_update=True)
        previous = current.presence if current else Presence.OFFLINE
        value = Presence(presence) if presence in Presence.__members__.values() else previous
        await store.upsert_presence(uow.conn, agent_id, value, now, existed=current is not None)
        if previous is not value:
            await store.insert_presence_history(uow.conn, new_id(), agent_id, value, previous, now)
            uow.emit(
                AgentPresenceChanged(
                    occurred_at=now,
                    agent_id=agent_id,
                    presence=value.value,
                    previous=previous.value,
                    custom_presence=custom,
                )
            )

    async def _own_offer(self, uow: UnitOfWork, agent_id: str, session_id: str) -> Session:
        session = await store.get_session(uow.conn, session_id)
        if session is None:
            msg = f"no offer {session_id}"
            raise NotFound(msg)
        if session.agent_id != agent_id:
            raise Forbidden("this offer was made to another agent")
        if session.status is not SessionStatus.OFFERED:
            msg = f"the offer is no longer pending ({session.closure_reason or 'accepted'})"
            raise Conflict(msg)
        return session

    async def offer_event(self, conn: AsyncConnection, session: Session, now: datetime) -> OfferCreated:
        conv = await self.conversations.get_in(conn, session.conversation_id)
        customer = await customers.get_customer(conn, conv.customer_id)
        queue = await store.get_queue(conn, session.queue_id)
        return OfferCreated(
            occurred_at=now,
            session_id=session.id,
            conversation_id=conv.id,
            agent_id=session.agent_id,
            queue_id=session.queue_id,
            queue_name=queue.name if queue else "",
            channel=conv.channel,
            customer_name=customer.display_name if customer else "Customer",
            preview=conv.subject[:200],
            prechat=conv.prechat,
            expires_at=session.expires_at or now,
        )

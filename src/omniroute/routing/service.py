"""First-cut routing: queue, offer to the longest-idle available agent, accept/reject/timeout.

Every decision runs inside one unit of work holding the routing lock (the single writer:
SQLite's one writer connection, or a PostgreSQL advisory lock across nodes), so no agent goes over
capacity and no conversation is offered twice. The offer row commits before anyone hears of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from omniroute.conversations.model import Conversation, ConversationState, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.events import DomainEvent
from omniroute.core.ids import new_id
from omniroute.core.timers import DueTimers
from omniroute.core.uow import Publisher, UnitOfWork
from omniroute.customers import service as customers
from omniroute.routing import store
from omniroute.routing.classify import classify
from omniroute.routing.config import OverflowAction, OverflowRule, RoutingConfig
from omniroute.routing.config_service import RoutingConfigService
from omniroute.routing.events import (
    AgentPresenceChanged,
    ConversationAssigned,
    OfferClosed,
    OfferCreated,
    SessionClosed,
)
from omniroute.routing.model import (
    AgentCandidate,
    ClosureReason,
    Presence,
    SessionStatus,
    choose_agent,
    eligible,
)
from omniroute.routing.overflow import BEFORE_QUEUEING, QueueLoad, first_overflow
from omniroute.routing.rules import time_attributes
from omniroute.routing.store import Queue, Session, WorkItemRow

log = logging.getLogger(__name__)

#: Key of the advisory lock that makes routing decisions single-writer across nodes.
ROUTING_LOCK = 0x0A11_0C47


@dataclass(frozen=True)
class RoutingPlan:
    """Where new work goes and what it needs, decided by classification and route-to-queue."""

    queue: Queue
    priority: int
    skills: dict[str, int]
    capacity_units: int | None
    attributes: dict[str, Any]
    trace: list[str]
    config_version: int | None
    end_message: str | None = None  # set when overflow says "end with message"


@dataclass(frozen=True)
class AgentState:
    agent_id: str
    presence: Presence
    queues: list[Queue]
    pending_offers: list[Session]


class RoutingService:
    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        conversations: ConversationService,
        timers: DueTimers,
        offer_timeout: timedelta,
        default_capacity: int,
        configs: RoutingConfigService,
    ) -> None:
        self.configs = configs
        self.db = db
        self.publisher = publisher
        self.conversations = conversations
        self.timers = timers
        self.offer_timeout = offer_timeout
        self.default_capacity = default_capacity

    # -- new work -------------------------------------------------------------------------------

    async def plan_work(
        self,
        uow: UnitOfWork,
        *,
        item_id: str,
        channel: str,
        attributes: dict[str, Any],
        requested_queue: str | None,
        fallback_queue_id: str | None,
    ) -> RoutingPlan:
        """Classify new work, choose its queue and apply overflow, with every step on the trace."""
        active = await self.configs.active()
        config = active.config
        now = uow.clock.now()
        facts = {"channel": channel, **attributes, "time": time_attributes(now)}
        overflowing = await self._overflowing(uow, config, now)
        classified = classify(
            config,
            item_id,
            facts,
            requested_queue=requested_queue,
            is_overflowing=lambda name: name in overflowing,
        )
        queue = await self.resolve_queue(uow, classified.queue, fallback_queue_id)
        trace = list(classified.trace)
        if active.version is not None:
            trace.insert(0, f"routing configuration version {active.version}")
        found = classified.attributes
        end_message: str | None = None
        seen = {queue.name}
        while (rule := overflowing.get(queue.name)) is not None:
            trace.append(f"queue {queue.name!r} overflows ({rule.when.value}): {rule.action.value}")
            if rule.action is OverflowAction.TRANSFER_TO_QUEUE and rule.queue not in seen:
                queue = await self.resolve_queue(uow, rule.queue, None)
                seen.add(queue.name)
                continue
            if rule.action is OverflowAction.END_WITH_MESSAGE:
                end_message = rule.message
            elif rule.action is OverflowAction.OFFER_CALLBACK:
                found = {**found, "callback_offered": True}
            break
        trace.append(f"queued in {queue.name!r}" if end_message is None else "ended by overflow")
        return RoutingPlan(
            queue=queue,
            priority=classified.priority,
            skills=classified.skills,
            capacity_units=classified.capacity_units,
            attributes=found,
            trace=trace,
            config_version=active.version,
            end_message=end_message,
        )

    async def _overflowing(
        self, uow: UnitOfWork, config: RoutingConfig, now: datetime
    ) -> dict[str, OverflowRule]:
        """Queues whose before-queueing overflow condition holds now, with the rule that fired."""
        result: dict[str, OverflowRule] = {}
        for settings in config.queues:
            if not any(r.when in BEFORE_QUEUEING for r in settings.overflow):
                continue
            queue = await store.get_queue_by_name(uow.conn, settings.queue)
            if queue is None:
                continue
            waiting = await self.conversations.count_waiting(uow.conn, queue.id)
            stats = await store.queue_stats(uow.conn, queue.id, waiting)
            rule = first_overflow(
                settings, QueueLoad(stats.waiting, stats.staffed, stats.mean_handle_seconds), now
            )
            if rule is not None:
                result[settings.queue] = rule
        return result

    async def enqueue(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None:
        """Record the plan as the conversation's work item and offer it if someone is free."""
        await self.record_plan(uow, conv, plan)
        await self._dispatch(uow)

    async def record_plan(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None:
        await store.upsert_work_item(
            uow.conn,
            WorkItemRow(
                conversation_id=conv.id,
                priority=plan.priority,
                required_skills=plan.skills,
                capacity_units=plan.capacity_units,
                attributes=_jsonable(plan.attributes),
                trace=plan.trace,
                config_version=plan.config_version,
            ),
        )

    async def trace(self, conversation_id: str) -> tuple[WorkItemRow | None, list[Session]]:
        async with self.db.read() as conn:
            return (
                await store.get_work_item(conn, conversation_id),
                await store.sessions_for_conversation(conn, conversation_id),
            )

    # -- hooks called by the conversation slice inside its unit of work -------------------

    async def conversation_ended(self, uow: UnitOfWork, conv: Conversation) -> None:
        """Withdraw pending offers; an accepted session keeps its capacity through wrap-up."""
        await uow.lock(ROUTING_LOCK)
        now = uow.clock.now()
        for session in await store.open_sessions_for_conversation(uow.conn, conv.id):
            if session.status is SessionStatus.OFFERED:
                await self._close_offer(uow, session, ClosureReason.CUSTOMER_LEFT, now)

    async def conversation_closed(self, uow: UnitOfWork, conv: Conversation) -> None:
        await uow.lock(ROUTING_LOCK)
        now = uow.clock.now()
        for session in await store.open_sessions_for_conversation(uow.conn, conv.id):
            if session.status is SessionStatus.OFFERED:
                await self._close_offer(uow, session, ClosureReason.WITHDRAWN, now)
            else:
                await store.update_session(
                    uow.conn,
                    session.id,
                    status=SessionStatus.CLOSED,
                    closed_at=now,
                    closure_reason=ClosureReason.ENDED,
                )
                await store.set_idle_since(uow.conn, session.agent_id, now)
                uow.emit(
                    SessionClosed(
                        occurred_at=now,
                        session_id=session.id,
                        conversation_id=conv.id,
                        agent_id=session.agent_id,
                        reason=ClosureReason.ENDED.value,
                    )
                )
        await self._dispatch(uow)

    # -- agent commands -----------------------------------------------------------------------

    async def set_presence(self, agent_id: str, presence: Presence) -> Presence:
        async with self.publisher.unit_of_work() as uow:
            await uow.lock(ROUTING_LOCK)
            now = uow.clock.now()
            current = await store.get_agent(uow.conn, agent_id, for_update=True)
            previous = current.presence if current else Presence.OFFLINE
            await store.upsert_presence(uow.conn, agent_id, presence, now, existed=current is not None)
            if previous is not presence:
                await store.insert_presence_history(uow.conn, new_id(), agent_id, presence, previous, now)
                uow.emit(
                    AgentPresenceChanged(
                        occurred_at=now,
                        agent_id=agent_id,
                        presence=presence.value,
                        previous=previous.value,
                    )
                )
            if presence is Presence.OFFLINE:
                for offer in await store.pending_offers(uow.conn, agent_id):
                    await self._close_offer(uow, offer, ClosureReason.WITHDRAWN, now)
            await self._dispatch(uow)
        return presence

    async def accept(self, agent_id: str, session_id: str, agent_name: str) -> Conversation:
        async with self.publisher.unit_of_work() as uow:
            await uow.lock(ROUTING_LOCK)
            now = uow.clock.now()
            session = await self._own_offer(uow, agent_id, session_id)
            if session.expires_at is not None and session.expires_at <= now:
                await self._close_offer(uow, session, ClosureReason.TIMED_OUT, now)
                await self._dispatch(uow)
                expired = True
            else:
                expired = False
                conv = await self.conversations.load(uow, session.conversation_id)
                await store.update_session(uow.conn, session.id, status=SessionStatus.ACTIVE, accepted_at=now)
                await store.set_idle_since(uow.conn, agent_id, now)
                conv = await self.conversations.assign(uow, conv, agent_id)
                uow.emit(
                    ConversationAssigned(
                        occurred_at=now,
                        session_id=session.id,
                        conversation_id=conv.id,
                        agent_id=agent_id,
                        queue_id=session.queue_id,
                    )
                )
                await self.conversations.append(
                    uow,
                    conv,
                    sender_kind=SenderKind.SYSTEM,
                    sender_id=None,
                    sender_name="Omniroute",
                    text=f"{agent_name} joined the conversation.",
                )
        if expired:
            # Raised after the commit so the timeout and re-offer are kept.
            raise Conflict("the offer has expired")
        return conv

    async def reject(self, agent_id: str, session_id: str) -> None:
        async with self.publisher.unit_of_work() as uow:
            await uow.lock(ROUTING_LOCK)
            session = await self._own_offer(uow, agent_id, session_id)
            await self._close_offer(uow, session, ClosureReason.REJECTED, uow.clock.now())
            await self._dispatch(uow)

    async def expire(self, session_id: str) -> None:
        """Timer callback: time out an offer that is still pending and due."""
        async with self.publisher.unit_of_work() as uow:
            await uow.lock(ROUTING_LOCK)
            now = uow.clock.now()
            session = await store.get_session(uow.conn, session_id)
            if (
                session is None
                or session.status is not SessionStatus.OFFERED
                or session.expires_at is None
                or session.expires_at > now
            ):
                return
            await self._close_offer(uow, session, ClosureReason.TIMED_OUT, now)
            await self._dispatch(uow)

    async def kick(self) -> None:
        """Run a dispatch pass (after start-up or configuration changes)."""
        async with self.publisher.unit_of_work() as uow:
            await self._dispatch(uow)

    # -- queries ------------------------------------------------------------------------------

    async def agent_state(self, agent_id: str) -> AgentState:
        async with self.db.read() as conn:
            row = await store.get_agent(conn, agent_id)
            return AgentState(
                agent_id=agent_id,
                presence=row.presence if row else Presence.OFFLINE,
                queues=await store.queues_of(conn, agent_id),
                pending_offers=await store.pending_offers(conn, agent_id),
            )

    async def create_queue(self, name: str, description: str) -> Queue:
        clean = name.strip()
        if not clean or len(clean) > 120:
            raise InvalidInput("queue name must have 1 to 120 characters")
        queue = Queue(id=new_id(), name=clean, description=description.strip()[:500], is_default=False)
        msg = f"a queue named {clean!r} already exists"
        try:
            async with self.db.write() as conn:
                if await store.get_queue_by_name(conn, clean) is not None:
                    raise Conflict(msg)
                await store.insert_queue(conn, queue, self.publisher.clock.now())
        except IntegrityError as exc:  # created concurrently: the unique index decides
            raise Conflict(msg) from exc
        return queue

    async def set_members(self, queue_id: str, user_ids: list[str]) -> list[str]:
        """Replace a queue's members; newly added agents may pick up waiting work at once."""
        async with self.publisher.unit_of_work() as uow:
            if await store.get_queue(uow.conn, queue_id) is None:
                msg = f"no queue {queue_id}"
                raise NotFound(msg)
            await store.replace_members(uow.conn, queue_id, sorted(set(user_ids)))
            await self._dispatch(uow)
        return sorted(set(user_ids))

    async def members(self, queue_id: str) -> list[str]:
        async with self.db.read() as conn:
            return sorted((await store.member_ids(conn, [queue_id])).get(queue_id, set()))

    async def queues(self) -> list[Queue]:
        async with self.db.read() as conn:
            return await store.list_queues(conn)

    async def resolve_queue(self, uow: UnitOfWork, requested: str | None, fallback_id: str | None) -> Queue:
        """The queue for new work: the one asked for (by id or name), else the channel's, else default."""
        for key in (requested, fallback_id):
            if not key:
                continue
            queue = await store.get_queue(uow.conn, key) or await store.get_queue_by_name(uow.conn, key)
            if queue is not None:
                return queue
        queue = await store.get_default_queue(uow.conn)
        if queue is None:
            raise InvalidInput("no queue is configured")
        return queue

    async def offer_view(self, session: Session) -> OfferCreated:
        """Rebuild what an agent needs to show a pending offer (for snapshots)."""
        async with self.db.read() as conn:
            return await self._offer_event(conn, session, session.offered_at)

    async def load_timers(self) -> None:
        async with self.db.read() as conn:
            for offer in await store.pending_offers(conn):
                if offer.expires_at is not None:
                    self.timers.schedule(offer.id, offer.expires_at)

    # -- internals ----------------------------------------------------------------------------

    async def _own_offer(self, uow: UnitOfWork, agent_id: str, session_id: str) -> Session:
        session = await store.get_session(uow.conn, session_id)
        if session is None:
            msg = f"no offer {session_id}"
            raise NotFound(msg)
        if session.agent_id != agent_id:
            raise Forbidden("this offer was made to another agent")
        if session.status is not SessionStatus.OFFERED:
            raise Conflict(f"the offer is no longer pending ({session.closure_reason or 'accepted'})")
        return session

    async def _close_offer(
        self, uow: UnitOfWork, session: Session, reason: ClosureReason, now: datetime
    ) -> None:
        await store.update_session(
            uow.conn, session.id, status=SessionStatus.CLOSED, closed_at=now, closure_reason=reason
        )
        await store.append_trace(
            uow.conn, session.conversation_id, [f"offer to agent {session.agent_id} closed: {reason.value}"]
        )
        uow.emit(
            OfferClosed(
                occurred_at=now,
                session_id=session.id,
                conversation_id=session.conversation_id,
                agent_id=session.agent_id,
                reason=reason.value,
            )
        )

    async def _dispatch(self, uow: UnitOfWork) -> None:
        """Offer every waiting conversation without a pending offer to the best free agent."""
        await uow.lock(ROUTING_LOCK)
        waiting = [c for c in await self.conversations.waiting(uow) if c.state is ConversationState.OPEN]
        if not waiting:
            return
        offered = await store.conversations_with_open_offers(uow.conn)
        waiting = [c for c in waiting if c.id not in offered]
        if not waiting:
            return
        members = await store.member_ids(uow.conn, {c.queue_id for c in waiting})
        agent_ids = set().union(*members.values()) if members else set()
        if not agent_ids:
            return
        rows = await store.agents(uow.conn, agent_ids)
        declined = await store.declined_by(
            uow.conn,
            [c.id for c in waiting],
            {c.id: c.queued_at for c in waiting if c.queued_at is not None},
        )
        load_by_channel: dict[str, dict[str, int]] = {}
        cap_by_channel: dict[str, dict[str, int]] = {}
        now = uow.clock.now()
        for conv in waiting:
            if conv.channel not in load_by_channel:
                load_by_channel[conv.channel] = await store.loads(uow.conn, agent_ids, conv.channel)
                cap_by_channel[conv.channel] = await store.capacities(uow.conn, agent_ids, conv.channel)
            loads, caps = load_by_channel[conv.channel], cap_by_channel[conv.channel]
            candidates = [
                AgentCandidate(
                    agent_id=a,
                    presence=rows[a].presence,
                    load=loads.get(a, 0),
                    capacity=caps.get(a, self.default_capacity),
                    idle_since=rows[a].idle_since,
                )
                for a in members.get(conv.queue_id, set())
                if a in rows
            ]
            pick = choose_agent(candidates, frozenset(declined.get(conv.id, set())))
            if pick is None:
                continue
            session = Session(
                id=new_id(),
                conversation_id=conv.id,
                queue_id=conv.queue_id,
                agent_id=pick.agent_id,
                channel=conv.channel,
                status=SessionStatus.OFFERED,
                offered_at=now,
                expires_at=now + self.offer_timeout,
            )
            await store.insert_session(uow.conn, session)
            loads[pick.agent_id] = loads.get(pick.agent_id, 0) + 1
            free = [c for c in candidates if eligible(c, frozenset(declined.get(conv.id, set())))]
            await store.append_trace(
                uow.conn,
                conv.id,
                [
                    f"offered to agent {pick.agent_id}: longest idle of {len(free)} eligible "
                    f"(of {len(candidates)} members; others unavailable, at capacity or declined)"
                ],
            )
            uow.emit(await self._offer_event(uow.conn, session, now))

    async def _offer_event(self, conn: AsyncConnection, session: Session, now: datetime) -> OfferCreated:
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

    def after_commit(self, events: Sequence[DomainEvent]) -> None:
        """Arm or disarm offer timers once the decisions that made them have committed."""
        for event in events:
            if isinstance(event, OfferCreated):
                self.timers.schedule(event.session_id, event.expires_at)
            elif isinstance(event, (OfferClosed, ConversationAssigned)):
                self.timers.cancel(event.session_id)


def _jsonable(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes come from customers and rules; keep only what JSON can hold."""
    result: dict[str, Any] = json.loads(json.dumps(attributes, default=str))
    return result

"""Omniroute routes the calls (provider feature ``routes_calls``).

The provider's back end asks which agent should take a queued call. The call becomes a voice
conversation waiting in an Omniroute queue as routed work, so the routing leader decides exactly
as for digital work (same queues, skills, capacity, presence, single writer, durable commands). The
leader's offer is the **reservation**: it holds the agent's capacity for the call until the queue's
offer timeout, and no other offer can take that room. Then:

- the provider connects the call and reports ``answered`` by that agent (a call event, as always):
  the reservation becomes the call's assignment and occupancy (``RoutingLeader._external_work``);
- the provider rejects it (``reject``): the offer is declined, the agent goes last for this call
  (excluded after the queue's decline limit) and routing reserves the next agent;
- nobody reports anything in time: the offer times out (the agent becomes inactive, like any
  missed offer) and the next agent is reserved;
- nobody is available: the call waits in the queue; the answer gives its position, and a signed
  ``call.reserved`` notice reaches the provider when an agent is reserved later.

Everything is keyed by the provider's call id, so a retried request answers with what holds now
and changes nothing. Notices go through the durable presence outbox (``presence_sync``), written
after commit and caught up from the event log when a worker starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from omniroute.conversations.model import Conversation, ConversationState
from omniroute.conversations.service import ConversationService
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.events import DomainEvent, parse_event
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher
from omniroute.identity.service import IdentityService
from omniroute.routing.events import ConversationAssigned, OfferClosed, OfferCreated
from omniroute.routing.model import SessionStatus
from omniroute.routing.service import RoutingService
from omniroute.voice import store
from omniroute.voice.calls import changed
from omniroute.voice.model import Call, CallEvent, CallEventKind, Direction, normalise_number
from omniroute.voice.presence_sync import CATCH_UP, PresenceSync
from omniroute.voice.providers import Feature, Provider
from omniroute.voice.store import CallRow, PresenceDelivery
from omniroute.voice.timeline import CallTimeline, RouteAsk

log = logging.getLogger(__name__)

ROUTED_BY = "omniroute"
MAX_CALL_ID = 300
MAX_SKILLS = 20
MAX_IVR_ITEMS = 50
NOTICE_EVENTS = ("offer.created", "offer.closed", "conversation.assigned")


@dataclass(frozen=True)
class RouteRequest:
    """What the provider knows about the queued call (all optional)."""

    queue: str | None = None
    skills: Mapping[str, int] | None = None
    priority: int | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    ivr_data: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RoutedAgent:
    user_id: str
    agent_id: str | None  # the provider's id for the agent; None when the provider does not map them
    name: str


@dataclass(frozen=True)
class RouteStatus:
    """Where a routed call stands: ``queued`` (nobody available yet), ``reserved`` (an agent is
    held for it until ``reservation_expires_at``), ``connected`` (an agent took it) or ``ended``."""

    call_id: str
    status: str
    conversation_id: str
    queue_id: str
    agent: RoutedAgent | None = None
    reservation_id: str | None = None
    reservation_expires_at: datetime | None = None
    position: int | None = None
    queue_length: int | None = None
    estimated_wait_seconds: float | None = None


def is_routed(conv: Conversation) -> bool:
    return conv.prechat.get("routed_by") == ROUTED_BY


def check_request(call_id: str, ask: RouteRequest) -> None:
    if not 1 <= len(call_id) <= MAX_CALL_ID:
        msg = f"a call id has 1 to {MAX_CALL_ID} characters"
        raise InvalidInput(msg)
    skills = ask.skills or {}
    if len(skills) > MAX_SKILLS:
        msg = f"at most {MAX_SKILLS} required skills"
        raise InvalidInput(msg)
    for name, level in skills.items():
        if not name.strip() or not 0 <= level <= 10:
            raise InvalidInput("a required skill has a name and a level from 0 to 10")
    if ask.priority is not None and not -1000 <= ask.priority <= 1000:
        raise InvalidInput("priority is between -1000 and 1000")
    if ask.direction is not None and ask.direction not in {d.value for d in Direction}:
        raise InvalidInput("direction is inbound or outbound")
    if len(ask.ivr_data or {}) > MAX_IVR_ITEMS:
        msg = f"at most {MAX_IVR_ITEMS} IVR values"
        raise InvalidInput(msg)
    for label, number in (("from", ask.from_number), ("to", ask.to_number)):
        if number and normalise_number(number) is None:
            msg = f"{label!r} is not a phone number with a country code (E.164, e.g. +15558675310)"
            raise InvalidInput(msg)


class CallRouter:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        conversations: ConversationService,
        routing: RoutingService,
        identity: IdentityService,
        timeline: CallTimeline,
        outbox: PresenceSync,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.clock = clock
        self.conversations = conversations
        self.routing = routing
        self.identity = identity
        self.timeline = timeline
        self.outbox = outbox
        self._pending: set[asyncio.Task[int]] = set()
        publisher.add_listener(self._after_commit)
        outbox.catch_ups.append(self.catch_up)

    # -- the provider's requests -----------------------------------------------------------------

    async def route(self, provider: Provider, call_id: str, ask: RouteRequest) -> RouteStatus:
        """Route a queued call (idempotent per call id: a retry answers with what holds now)."""
        if not provider.has(Feature.ROUTES_CALLS):
            raise Forbidden("this provider does not let Omniroute route its calls (feature routes_calls)")
        check_request(call_id, ask)
        async with self.publisher.unit_of_work() as uow:
            now = uow.clock.now()
            row = await store.lock_call(uow.conn, new_id(), provider.id, call_id, now)
            if row.conversation_id is None:
                stored = await store.call_events(uow.conn, provider.id, call_id)
                if stored:
                    real = Call.from_events(stored)
                    if not real.is_live:
                        raise Conflict("the call has ended")
                    if real.answered_at is not None:
                        raise Conflict("the call is connected already: there is nothing to route")
                call = Call.from_events([*stored, self._asked(provider, call_id, ask, now)])
                updated = await self.timeline.open_routed(
                    uow,
                    provider,
                    call,
                    row,
                    RouteAsk(skills=dict(ask.skills or {}), priority=ask.priority),
                )
                if row.event_count == 0:
                    # Nothing reported yet: the row shows what the request said until events do.
                    updated = replace(
                        updated,
                        state=call.state.value,
                        direction=call.direction.value if call.direction else None,
                        from_number=call.from_number,
                        to_number=call.to_number,
                        queue=call.queue,
                        ivr_data=dict(call.ivr_data),
                        offered_at=now,
                        updated_at=now,
                    )
                await store.save_call(uow.conn, updated)
                uow.emit(changed(updated, row.state, "routing requested", now))
            else:
                conv = await self.conversations.load(uow, row.conversation_id)
                if not is_routed(conv):
                    raise Conflict("the call is already connected: Omniroute did not route it")
        return await self.status(provider, call_id)

    @staticmethod
    def _asked(provider: Provider, call_id: str, ask: RouteRequest, now: datetime) -> CallEvent:
        """The request as an ``offered`` event, folded with what was reported (never stored)."""
        return CallEvent(
            event_id=f"omniroute-route:{call_id}",
            call_id=call_id,
            provider=provider.id,
            kind=CallEventKind.OFFERED,
            occurred_at=now,
            direction=Direction(ask.direction) if ask.direction else None,
            from_number=normalise_number(ask.from_number) if ask.from_number else None,
            to_number=normalise_number(ask.to_number) if ask.to_number else None,
            queue=ask.queue,
            ivr_data={str(k)[:100]: str(v)[:500] for k, v in (ask.ivr_data or {}).items()},
            source_event="route request",
        )

    async def reject(self, provider: Provider, call_id: str, reservation_id: str) -> RouteStatus:
        """The provider cannot use this reservation (the agent declined the ring, their softphone
        is gone): the agent goes last for this call and the next one is reserved. Rejecting a
        reservation that is no longer pending changes nothing (retries are safe)."""
        _, conv = await self._routed(provider, call_id)
        _, sessions = await self.routing.trace(conv.id)
        session = next((s for s in sessions if s.id == reservation_id), None)
        if session is None:
            raise NotFound("no such reservation for this call")
        if session.status is SessionStatus.OFFERED:
            # It may have timed out or been answered meanwhile: the status says what holds now.
            with contextlib.suppress(Conflict):
                await self.routing.reject(session.agent_id, session.id)
        return await self.status(provider, call_id)

    async def status(self, provider: Provider, call_id: str) -> RouteStatus:
        row, conv = await self._routed(provider, call_id)
        base = RouteStatus(
            call_id=row.call_id, status="ended", conversation_id=conv.id, queue_id=conv.queue_id
        )
        if conv.state is ConversationState.OPEN:
            # A routing command: it is applied after the request's own ``submit``, so the leader
            # has decided by the time it answers.
            spot = await self.routing.position(conv.id)
            conv = await self.conversations.get(conv.id)
            _, sessions = await self.routing.trace(conv.id)
            offer = next((s for s in sessions if s.status is SessionStatus.OFFERED), None)
            if offer is not None and conv.state is ConversationState.OPEN:
                return replace(
                    base,
                    status="reserved",
                    agent=await self._agent(provider, offer.agent_id),
                    reservation_id=offer.id,
                    reservation_expires_at=offer.expires_at,
                    queue_id=conv.queue_id,
                )
            if conv.state is ConversationState.OPEN:
                return replace(
                    base,
                    status="queued",
                    queue_id=conv.queue_id,
                    position=spot.get("position"),
                    queue_length=spot.get("queue_length"),
                    estimated_wait_seconds=spot.get("estimated_wait_seconds"),
                )
        if conv.state in (ConversationState.ACTIVE, ConversationState.WAITING) and conv.agent_id:
            return replace(base, status="connected", agent=await self._agent(provider, conv.agent_id))
        return base

    async def _routed(self, provider: Provider, call_id: str) -> tuple[CallRow, Conversation]:
        async with self.db.read() as conn:
            row = await store.call_by_provider_id(conn, provider.id, call_id)
        conv = await self.conversations.get(row.conversation_id) if row and row.conversation_id else None
        if row is None or conv is None or not is_routed(conv):
            raise NotFound("Omniroute is not routing this call")
        return row, conv

    async def _agent(self, provider: Provider, user_id: str) -> RoutedAgent:
        async with self.db.read() as conn:
            links = await store.links(conn, provider_id=provider.id, user_id=user_id)
        external = links[0].external_id if links else (user_id if provider.agents_by_user_id else None)
        user = await self.identity.get_user(user_id)
        return RoutedAgent(user_id, external, user.display_name if user else "Agent")

    # -- notices to the provider ------------------------------------------------------------------

    def _after_commit(self, events: Sequence[DomainEvent]) -> None:
        wanted = [e for e in events if _may_concern_a_call(e)]
        if not wanted:
            return
        task = asyncio.get_running_loop().create_task(self._queue_logged(wanted))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _queue_logged(self, events: Sequence[DomainEvent]) -> int:
        try:
            return await self.queue(events)
        except Exception:
            log.exception("queueing call routing notices failed")  # caught up at the next start
            return 0

    async def settle(self) -> None:
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def catch_up(self) -> int:
        """Queue recent reservation notices no row was written for (a crash after commit)."""
        since = self.clock.now() - CATCH_UP
        async with self.db.read() as conn:
            envelopes = await store.recent_events(conn, NOTICE_EVENTS, since, limit=10_000)
        events = [parse_event(envelope) for envelope in envelopes]
        return await self.queue([e for e in events if _may_concern_a_call(e)])

    async def queue(self, events: Sequence[DomainEvent]) -> int:
        """One outbox row per routing event about a call Omniroute routes for a listening provider."""
        now = self.clock.now()
        deliveries: list[PresenceDelivery] = []
        async with self.db.read() as conn:  # most routing events are about chats: read first
            for event in events:
                conversation_id = str(getattr(event, "conversation_id", ""))
                row = await store.call_for_conversation(conn, conversation_id)
                if row is None:
                    continue
                provider = await store.get_provider(conn, row.provider_id)
                if provider is None or not provider.hears_routing or event.occurred_at < provider.created_at:
                    continue
                if not is_routed(await self.conversations.get_in(conn, conversation_id)):
                    continue
                deliveries.append(
                    PresenceDelivery(
                        id=new_id(),
                        provider_id=provider.id,
                        event_id=event.event_id,
                        # Notices are the call's state: a newer one supersedes an older one.
                        user_id=conversation_id,
                        occurred_at=event.occurred_at,
                        payload=await self._notice(conn, provider, row, event),
                        status="queued",
                        attempts=0,
                        due_at=now,
                        last_status=None,
                        last_error=None,
                        created_at=now,
                    )
                )
        if not deliveries:
            return 0
        queued = 0
        async with self.db.write() as conn:
            for delivery in deliveries:
                queued += await store.queue_delivery(conn, delivery)
        if queued:
            self.outbox.wake()
        return queued

    async def _notice(
        self, conn: Any, provider: Provider, row: CallRow, event: DomainEvent
    ) -> dict[str, Any]:
        user_id = str(getattr(event, "agent_id", ""))
        links = await store.links(conn, provider_id=provider.id, user_id=user_id)
        external = links[0].external_id if links else (user_id if provider.agents_by_user_id else None)
        payload: dict[str, Any] = {
            "event_id": event.event_id,
            "occurred_at": event.occurred_at.isoformat(),
            "provider_id": provider.id,
            "call_id": row.call_id,
            "conversation_id": row.conversation_id,
            "agent_id": external,
            "user_id": user_id,
        }
        match event:
            case OfferCreated():
                expires = event.expires_at if event.expires_at > event.occurred_at else None
                payload |= {
                    "type": "call.reserved",
                    "reservation_id": event.session_id,
                    "expires_at": expires.isoformat() if expires else None,
                }
            case OfferClosed():
                payload |= {
                    "type": "call.reservation_ended",
                    "reservation_id": event.session_id,
                    "reason": event.reason,
                }
            case _:
                payload |= {"type": "call.assigned", "reservation_id": getattr(event, "session_id", None)}
        return payload


def _may_concern_a_call(event: DomainEvent) -> bool:
    if isinstance(event, OfferCreated):
        return event.channel == "voice"
    return isinstance(event, (OfferClosed, ConversationAssigned))

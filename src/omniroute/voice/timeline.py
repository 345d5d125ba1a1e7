"""A call on the customer's timeline: the voice conversation that mirrors it.

Each call becomes one conversation on channel ``voice``, for the customer the caller's number
resolves to (``voice`` proves the phone, so whoever texted from that number is the same customer).
The call drives the conversation and never the other way round:

- answered by an agent Omniroute knows → the conversation is created and handed to routing as
  work the agent is already doing (``assign_external``), which counts the agent's voice capacity;
- ended → wrap-up (or closed at once when nobody answered: the conversation is then only a record);
- wrap-up done → closed, which frees the capacity through the conversation's usual hooks.

No conversation exists while the call is only in the IVR or the provider's queue: an open
conversation would be waiting work to the routing engine, which would offer it to agents as if
it were a chat. Everything the call gathers (recording links, transcript turns, the disposition)
is appended with idempotency keys, so syncing the same call twice writes nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from omniroute.conversations.model import (
    Conversation,
    ConversationState,
    SenderKind,
    check_can_post,
)
from omniroute.conversations.model import close as close_conversation
from omniroute.conversations.service import ConversationService
from omniroute.core.errors import Conflict
from omniroute.core.ids import new_id
from omniroute.core.uow import UnitOfWork
from omniroute.customers import service as customers
from omniroute.customers.model import Customer
from omniroute.routing.service import RoutingPlan
from omniroute.voice.model import Call, CallState, Direction
from omniroute.voice.providers import Feature, Provider
from omniroute.voice.store import CallRow

#: Call states in which the answering agent is the one on the call (or wrapping it up).
TALKING = frozenset({CallState.CONNECTED, CallState.HELD, CallState.WRAP_UP})

log = logging.getLogger(__name__)

CHANNEL = "voice"
S = ConversationState
LIVE = frozenset({S.OPEN, S.ACTIVE, S.WAITING})
SPEAKERS = {"customer": SenderKind.CUSTOMER, "caller": SenderKind.CUSTOMER, "agent": SenderKind.AGENT}
BOT_SPEAKERS = frozenset({"bot", "ivr", "virtual_agent", "system"})


class CallRouting(Protocol):
    """What the timeline needs from routing (``RoutingService`` provides it)."""

    async def plan_work(
        self,
        uow: UnitOfWork,
        *,
        item_id: str,
        channel: str,
        attributes: dict[str, Any],
        requested_queue: str | None,
        fallback_queue_id: str | None,
    ) -> RoutingPlan: ...

    async def record_plan(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None: ...

    async def assign_external(self, uow: UnitOfWork, conv: Conversation, agent_id: str) -> Any: ...

    async def enqueue(self, uow: UnitOfWork, conv: Conversation, plan: RoutingPlan) -> None: ...


@dataclass(frozen=True)
class RouteAsk:
    """What a provider asks when Omniroute routes its call: skills on top of what classification
    finds, and a priority instead of it."""

    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int | None = None


def customer_number(call: Call) -> str | None:
    """The customer's side of the call: who called us, or whom we called."""
    return call.to_number if call.direction is Direction.OUTBOUND else call.from_number


def needs_conversation(call: Call, agent_user_id: str | None) -> bool:
    """Answered by an agent we know, or over: before that a call is only the provider's business."""
    return (call.answered_at is not None and agent_user_id is not None) or not call.is_live


def _key(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return f"voice:{digest[:48]}"


def _seconds(value: float) -> str:
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


class CallTimeline:
    def __init__(
        self,
        conversations: ConversationService,
        routing: CallRouting,
        agent_name: Callable[[str], Awaitable[str]],
    ) -> None:
        self.conversations = conversations
        self.routing = routing
        self.agent_name = agent_name

    async def sync(self, uow: UnitOfWork, provider: Provider, call: Call, row: CallRow) -> CallRow:
        """Make the call's conversation say what the call says; returns the row with the customer
        and the conversation it now has."""
        customer: Customer | None = None
        number = customer_number(call)
        if row.customer_id is None and (number or needs_conversation(call, row.agent_user_id)):
            customer = await self._customer(uow, provider, call, number)
            row = replace(row, customer_id=customer.id)
        conv = await self.conversations.load(uow, row.conversation_id) if row.conversation_id else None
        if conv is None:
            if not needs_conversation(call, row.agent_user_id):
                return row
            assert row.customer_id is not None
            customer = customer or await self._existing_customer(uow, row.customer_id)
            conv = await self._open(uow, provider, call, row, customer)
            row = replace(row, conversation_id=conv.id)
        conv = await self._assign(uow, call, row, conv)
        conv = await self._attachments(uow, provider, call, row, conv)
        await self._finish(uow, call, row, conv)
        return row

    # -- the conversation's life ---------------------------------------------------------------

    async def _customer(
        self, uow: UnitOfWork, provider: Provider, call: Call, number: str | None
    ) -> Customer:
        if number is not None:
            return await customers.resolve_customer(uow, CHANNEL, number, number)
        # No number (withheld, or not E.164): the call still needs someone on the timeline, and
        # nothing links it to anyone else.
        address = f"unknown:{provider.id}:{call.call_id}"[:320]
        return await customers.resolve_customer(uow, CHANNEL, address, "Unknown caller")

    async def _existing_customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        found = await customers.get_customer(uow.conn, customer_id)
        assert found is not None  # guarded by the foreign key
        return found

    async def open_routed(
        self, uow: UnitOfWork, provider: Provider, call: Call, row: CallRow, ask: RouteAsk
    ) -> CallRow:
        """The provider asks Omniroute to route a queued call: its conversation waits in the
        queue as routed work, and the routing leader reserves an agent (an offer) for it."""
        number = customer_number(call)
        customer = (
            await self._existing_customer(uow, row.customer_id)
            if row.customer_id
            else await self._customer(uow, provider, call, number)
        )
        conv = await self._open(uow, provider, call, row, customer, ask)
        return replace(row, customer_id=customer.id, conversation_id=conv.id)

    async def _open(
        self,
        uow: UnitOfWork,
        provider: Provider,
        call: Call,
        row: CallRow,
        customer: Customer,
        route: RouteAsk | None = None,
    ) -> Conversation:
        number = customer_number(call)
        direction = (call.direction or Direction.INBOUND).value
        conversation_id = new_id()
        plan = await self.routing.plan_work(
            uow,
            item_id=conversation_id,
            channel=CHANNEL,
            attributes={
                "customer": {"id": customer.id, "name": customer.display_name},
                "call": {
                    "direction": direction,
                    "from": call.from_number,
                    "to": call.to_number,
                    "queue": call.queue,
                    "ivr": dict(call.ivr_data),
                },
                "provider": provider.name,
            },
            # The provider's queue name, when Omniroute has a queue of that name; else the default.
            requested_queue=call.queue,
            fallback_queue_id=None,
        )
        if route is not None:
            plan = replace(
                plan,
                skills={**plan.skills, **route.skills},
                priority=plan.priority if route.priority is None else route.priority,
                trace=[*plan.trace, f"routed for {provider.name}: call {call.call_id}"],
            )
        subject = (
            f"Call to {number or 'an unknown number'}"
            if call.direction is Direction.OUTBOUND
            else f"Call from {number or 'an unknown number'}"
        )
        conv = await self.conversations.start(
            uow,
            channel=CHANNEL,
            customer_id=customer.id,
            queue_id=plan.queue.id,
            subject=subject,
            prechat={
                "name": customer.display_name,
                "phone": number,
                "provider": provider.name,
                "call_id": call.call_id,
                "direction": direction,
                "queue": call.queue,
                "ivr": dict(call.ivr_data),
                "previous_call_id": call.previous_call_id,
                **({"routed_by": "omniroute"} if route is not None else {}),
            },
            customer_token_hash=None,
            conversation_id=conversation_id,
            customer_address=number,
        )
        if route is not None:
            # Omniroute routes the call: it waits in the queue like any work item.
            await self.routing.enqueue(uow, conv, plan)
        else:
            # The plan is the work item (capacity cost, skills, trace); the provider did the
            # routing, so nothing is submitted to the engine as waiting work.
            await self.routing.record_plan(uow, conv, plan)
        await self._system(uow, conv, self._opening_text(provider, call, direction), ("opened",))
        return await self.conversations.load(uow, conv.id)

    @staticmethod
    def _opening_text(provider: Provider, call: Call, direction: str) -> str:
        parts = [
            f"{direction.capitalize()} call through {provider.name}",
            f"from {call.from_number or 'an unknown number'}",
            f"to {call.to_number or 'an unknown number'}",
        ]
        if call.queue:
            parts.append(f"queue {call.queue}")
        if call.previous_call_id:
            parts.append(f"transferred from call {call.previous_call_id}")
        text = ", ".join(parts) + "."
        if call.ivr_data:
            text += " IVR: " + "; ".join(f"{k} = {v}" for k, v in sorted(call.ivr_data.items())) + "."
        return text

    async def _assign(self, uow: UnitOfWork, call: Call, row: CallRow, conv: Conversation) -> Conversation:
        """The answering agent takes the conversation now, in this transaction, and routing is told
        to count it as their work. Assigning here rather than waiting for the routing leader means a
        call that ends in the next delivery still reaches wrap-up with its agent, and the routing
        engine never sees the call as waiting work, even when it rebuilds after a restart.

        For a call Omniroute routed, the leader turns the agent's reservation into the assignment
        (or releases whoever else was reserved). An agent taking over inside the same call id (a
        warm transfer at the provider) takes the conversation, and routing hands the capacity over
        from the first agent to them."""
        agent = row.agent_user_id
        if agent is None or call.answered_at is None:
            return conv
        if conv.state is S.OPEN:
            conv = await self.conversations.assign(uow, conv, agent)
            await self.routing.assign_external(uow, conv, agent)
        elif conv.state in (S.ACTIVE, S.WAITING) and conv.agent_id != agent and call.state in TALKING:
            previous = await self.agent_name(conv.agent_id) if conv.agent_id else "Nobody"
            text = f"Call transferred from {previous} to {await self.agent_name(agent)}."
            await self._system(uow, conv, text, ("handover", agent, len(call.agents)))
            conv = await self.conversations.load(uow, conv.id)
            if conv.state is S.ACTIVE:
                conv = await self.conversations.requeue(uow, conv, conv.queue_id, "transferred")
            conv = await self.conversations.assign(uow, conv, agent)
            await self.routing.assign_external(uow, conv, agent)
        return conv

    async def _attachments(
        self, uow: UnitOfWork, provider: Provider, call: Call, row: CallRow, conv: Conversation
    ) -> Conversation:
        if provider.has(Feature.RECORDINGS):
            for url in call.recordings:
                await self._system(uow, conv, f"Call recording: {url}", ("recording", url))
        if provider.has(Feature.TRANSCRIPTS):
            for turn in call.transcript:
                conv = await self.conversations.load(uow, conv.id)
                await self._turn(uow, conv, row, turn.speaker, turn.text, (turn.start, turn.end))
        if row.disposition or row.notes:
            await self.disposition_message(uow, conv, row)
        return await self.conversations.load(uow, conv.id)

    async def _turn(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        row: CallRow,
        speaker: str,
        text: str,
        span: tuple[float | None, float | None],
    ) -> None:
        if not text.strip():
            return
        key = _key("turn", speaker, span[0], span[1], text)
        label = speaker.strip().lower()
        kind = SPEAKERS.get(label, SenderKind.BOT if label in BOT_SPEAKERS else SenderKind.SYSTEM)
        sender_id: str | None = None
        name = speaker.capitalize()
        if kind is SenderKind.CUSTOMER:
            sender_id, name = conv.customer_id, str(conv.prechat.get("name") or "Customer")
        elif kind is SenderKind.AGENT:
            sender_id = row.agent_user_id
            name = await self.agent_name(sender_id) if sender_id else "Agent"
        try:
            check_can_post(conv, kind, sender_id)
        except Conflict:
            # The conversation model takes customer and agent messages only while they talk; most
            # transcripts arrive after the call, so the turn is kept as a record under its speaker.
            kind, name = SenderKind.SYSTEM, f"{name} (transcript)"
        await self.conversations.append(
            uow,
            conv,
            sender_kind=kind,
            sender_id=sender_id,
            sender_name=name,
            text=text,
            idempotency_key=key,
        )

    async def disposition_message(self, uow: UnitOfWork, conv: Conversation, row: CallRow) -> None:
        text = f"Disposition: {row.disposition or 'none'}."
        if row.notes:
            text += f" Notes: {row.notes}"
        await self._system(uow, conv, text, ("disposition", row.disposition, row.notes))

    async def _finish(self, uow: UnitOfWork, call: Call, row: CallRow, conv: Conversation) -> None:
        if not call.is_live and conv.state in LIVE:
            conv = await self.conversations.load(uow, conv.id)
            await self._system(uow, conv, self._ending_text(call), ("ended",))
            conv = await self.conversations.load(uow, conv.id)
            conv = await self.conversations.end_in(uow, conv, SenderKind.SYSTEM, "The phone call")
        if call.state is CallState.CLOSED and conv.state is S.WRAP_UP:
            await self.close(uow, conv, "wrap_up_done")

    async def close(self, uow: UnitOfWork, conv: Conversation, reason: str) -> Conversation:
        """Wrap-up is over: closed, and routing frees the agent's capacity."""
        closed = await self.conversations.change_state(
            uow, conv, close_conversation(conv, uow.clock.now()), reason
        )
        await self.conversations.hooks.conversation_closed(uow, closed)
        return closed

    @staticmethod
    def _ending_text(call: Call) -> str:
        d = call.durations()
        outcome = call.outcome or "ended"
        text = f"Call {outcome}"
        if call.end_reason:
            text += f" ({call.end_reason})"
        figures = [f"waited {_seconds(d.wait)}"] if d.wait else []
        if call.answered_at is not None:
            figures.append(f"talked {_seconds(d.talk)}")
            if d.hold:
                figures.append(f"on hold {_seconds(d.hold)} ({call.hold_count}×)")
        return text + (": " + ", ".join(figures) if figures else "") + "."

    async def _system(self, uow: UnitOfWork, conv: Conversation, text: str, key: tuple[object, ...]) -> None:
        await self.conversations.append(
            uow,
            conv,
            sender_kind=SenderKind.SYSTEM,
            sender_id=None,
            sender_name="Omniroute",
            text=text,
            idempotency_key=_key(*key),
        )

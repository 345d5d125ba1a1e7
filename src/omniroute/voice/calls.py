"""Call events in, calls out: store each verified event once, re-fold its call from everything
stored, and bring the call's row and conversation up to date — in the caller's transaction.

Delivery order never matters: the call is always ``Call.from_events`` over the stored set (see
ADR 0010), so a late ``answered`` after an ``ended`` simply produces the right call next time.
A delivery whose events were all seen before changes nothing at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from omniroute.core.ids import new_id
from omniroute.core.uow import UnitOfWork
from omniroute.voice import store
from omniroute.voice.events import VoiceCallChanged
from omniroute.voice.model import Call, CallEvent
from omniroute.voice.providers import Feature, Provider
from omniroute.voice.store import CallRow
from omniroute.voice.timeline import CallTimeline

#: (uow, provider, the provider's agent id) → the Omniroute user it stands for, if any.
AgentResolver = Callable[[UnitOfWork, Provider, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Ingested:
    received: int  # events in the delivery
    new: int  # events not seen before
    calls: list[CallRow]  # the calls those new events changed, as they are now


def fold_into(
    row: CallRow, call: Call, agent_user_id: str | None, provider: Provider, now: datetime
) -> CallRow:
    """The row that says what the folded call says. What Omniroute added stays: the customer,
    the conversation, and a disposition an agent set here (an explicit choice wins over the
    provider's wrap-up data)."""
    by_agent = row.disposition_by is not None
    recordings = list(call.recordings) if provider.has(Feature.RECORDINGS) else []
    return replace(
        row,
        state=call.state.value,
        outcome=call.outcome,
        direction=call.direction.value if call.direction else None,
        from_number=call.from_number,
        to_number=call.to_number,
        queue=call.queue,
        ivr_data=dict(call.ivr_data),
        agent_external_id=call.agent_id,
        agent_user_id=agent_user_id,
        previous_call_id=call.previous_call_id,
        initial_call_id=call.initial_call_id,
        recording_url=recordings[-1] if recordings else None,
        recordings=recordings,
        transcript_turns=len(call.transcript) if provider.has(Feature.TRANSCRIPTS) else 0,
        disposition=row.disposition if by_agent else call.disposition,
        notes=row.notes if by_agent else call.notes,
        hold_count=call.hold_count,
        transfer_count=call.transfer_count,
        durations=asdict(call.durations()),
        end_reason=call.end_reason,
        offered_at=call.offered_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wrapup_done_at=call.wrapup_done_at,
        event_count=len(call.events),
        updated_at=now,
    )


class CallRecorder:
    def __init__(self, timeline: CallTimeline, agent_user: AgentResolver) -> None:
        self.timeline = timeline
        self.agent_user = agent_user

    async def record(self, uow: UnitOfWork, provider: Provider, events: Sequence[CallEvent]) -> Ingested:
        now = uow.clock.now()
        fresh: dict[str, int] = defaultdict(int)
        # Keys in one order for every delivery, so overlapping deliveries wait for each other on
        # PostgreSQL's unique index instead of deadlocking.
        for event in sorted(events, key=lambda e: e.event_id):
            if event.provider != provider.id:
                msg = f"event {event.event_id} is for provider {event.provider}, not {provider.id}"
                raise ValueError(msg)
            if await store.insert_event(uow.conn, new_id(), event, now):
                fresh[event.call_id] += 1
        calls = []
        for call_id in sorted(fresh):
            row = await store.lock_call(uow.conn, new_id(), provider.id, call_id, now)
            call = Call.from_events(await store.call_events(uow.conn, provider.id, call_id))
            calls.append(await self.refresh(uow, provider, call, row, "call events"))
        return Ingested(received=len(events), new=sum(fresh.values()), calls=calls)

    async def refresh(
        self, uow: UnitOfWork, provider: Provider, call: Call, row: CallRow, reason: str
    ) -> CallRow:
        """Rewrite a locked call row from its folded call and sync its conversation."""
        agent = await self.agent_user(uow, provider, call.agent_id) if call.agent_id else None
        updated = fold_into(row, call, agent, provider, uow.clock.now())
        updated = await self.timeline.sync(uow, provider, call, updated)
        await store.save_call(uow.conn, updated)
        if (updated.state, updated.conversation_id, updated.agent_user_id, updated.outcome) != (
            row.state,
            row.conversation_id,
            row.agent_user_id,
            row.outcome,
        ) or row.event_count == 0:
            uow.emit(changed(updated, row.state, reason, uow.clock.now()))
        return updated


def changed(row: CallRow, previous_state: str, reason: str, now: datetime) -> VoiceCallChanged:
    return VoiceCallChanged(
        occurred_at=now,
        call_row_id=row.id,
        provider_id=row.provider_id,
        call_id=row.call_id,
        state=row.state,
        previous_state=previous_state,
        outcome=row.outcome,
        conversation_id=row.conversation_id,
        customer_id=row.customer_id,
        agent_id=row.agent_user_id,
        reason=reason,
    )

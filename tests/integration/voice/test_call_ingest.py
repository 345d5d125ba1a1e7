"""Call events on every store: stored once, folded into one call whatever the delivery order,
and mirrored by one voice conversation on the caller's timeline."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import sqlalchemy as sa

from omniroute.conversations.model import ConversationState, SenderKind
from omniroute.core.eventlog import events_table
from omniroute.customers import service as customers
from omniroute.routing.commands import routing_commands
from omniroute.voice import store
from omniroute.voice.store import CallRow, voice_call_events
from tests.integration.voice.conftest import Voice, full_call

CUSTOMER = "+15558675310"  # the golden call's caller, normalised


async def call_row(voice: Voice, call_id: str) -> CallRow:
    async with voice.app.db.read() as conn:
        row = await store.call_by_provider_id(conn, voice.provider.id, call_id)
    assert row is not None
    return row


def folded(row: CallRow) -> dict[str, Any]:
    """What the events decide (ids, timestamps of our own and links left out)."""
    return {
        "state": row.state,
        "outcome": row.outcome,
        "direction": row.direction,
        "numbers": (row.from_number, row.to_number),
        "queue": row.queue,
        "ivr": row.ivr_data,
        "agent": row.agent_external_id,
        "recordings": row.recordings,
        "turns": row.transcript_turns,
        "disposition": (row.disposition, row.notes),
        "holds": row.hold_count,
        "durations": row.durations,
        "times": (row.offered_at, row.answered_at, row.ended_at, row.wrapup_done_at),
        "events": row.event_count,
    }


async def test_a_call_is_stored_once_and_a_redelivery_changes_nothing(voice: Voice) -> None:
    first = await voice.deliver(full_call())
    assert (first.received, first.new) == (9, 9)
    row = await call_row(voice, "sim-call-0001")
    assert row.state == "closed"
    assert row.outcome == "answered"
    assert row.from_number == CUSTOMER
    assert row.ivr_data == {"account_number": "4521", "menu_path": "1>3", "verified": "true"}
    assert row.recording_url == "https://ccaas.example.com/recordings/sim-call-0001.wav"
    assert (row.disposition, row.notes) == ("resolved", "Reshipped order 4521.")
    assert row.durations["talk"] == 225.0  # answered 09:00:45, ended 09:05:00, 30 s on hold
    assert row.conversation_id is not None
    assert row.customer_id is not None

    conv = await voice.app.conversations.get(row.conversation_id)
    assert conv.channel == "voice"
    assert conv.customer_id == row.customer_id
    # Answered by an agent Omniroute does not know: a record on the timeline, already closed.
    assert conv.state is ConversationState.CLOSED
    messages = await voice.app.conversations.messages(conv.id)
    texts = [m.text for m in messages]
    assert "My order 4521 has not arrived." in texts
    assert "Call recording: https://ccaas.example.com/recordings/sim-call-0001.wav" in texts
    assert any(t.startswith("Disposition: resolved.") for t in texts)

    before = {t.name: await voice.count(t) for t in (voice_call_events, events_table)}
    again = await voice.deliver(full_call())
    assert (again.received, again.new, again.calls) == (9, 0, [])
    assert {t.name: await voice.count(t) for t in (voice_call_events, events_table)} == before
    assert [m.text for m in await voice.app.conversations.messages(conv.id)] == texts
    assert await call_row(voice, "sim-call-0001") == row


async def test_any_delivery_order_gives_the_same_call(voice: Voice) -> None:
    in_order, backwards, shuffled = full_call("in-order"), full_call("backwards"), full_call("shuffled")
    for event in in_order:
        await voice.deliver(event)
    for event in reversed(backwards):
        await voice.deliver(event)
    deliveries = shuffled + random.Random(7).sample(shuffled, 5)  # noqa: S311 - a fixed, repeatable order; with duplicates
    random.Random(11).shuffle(deliveries)  # noqa: S311 - a fixed, repeatable order
    for event in deliveries:
        await voice.deliver(event)

    expected = folded(await call_row(voice, "in-order"))
    assert expected["state"] == "closed"
    assert folded(await call_row(voice, "backwards")) == expected
    assert folded(await call_row(voice, "shuffled")) == expected
    for call_id in ("in-order", "backwards", "shuffled"):
        row = await call_row(voice, call_id)
        assert row.conversation_id is not None
        messages = await voice.app.conversations.messages(row.conversation_id)
        turns = [
            m.text
            for m in messages
            if m.text in ("My order 4521 has not arrived.", "Let me check that for you.")
        ]
        assert sorted(turns) == ["Let me check that for you.", "My order 4521 has not arrived."], call_id


async def test_overlapping_deliveries_at_once_store_each_event_once(voice: Voice) -> None:
    events = full_call()
    batches = [events[k::3] + events[:2] for k in range(3)] + [events]
    results = await asyncio.gather(*(voice.deliver(batch) for batch in batches))
    assert sum(r.new for r in results) == len(events)
    async with voice.app.db.read() as conn:
        ids = (await conn.execute(sa.select(voice_call_events.c.event_id))).scalars().all()
    assert sorted(ids) == sorted(e["event_id"] for e in events)
    row = await call_row(voice, "sim-call-0001")
    assert row.event_count == len(events)
    assert row.state == "closed"
    assert row.conversation_id is not None
    messages = await voice.app.conversations.messages(row.conversation_id)
    assert sum(m.text == "My order 4521 has not arrived." for m in messages) == 1


async def test_the_caller_is_the_customer_who_texted_from_that_number(voice: Voice) -> None:
    async with voice.app.publisher.unit_of_work() as uow:
        texter = await customers.resolve_customer(uow, "sms_twilio", CUSTOMER, "Lee")
    await voice.deliver(full_call())
    row = await call_row(voice, "sim-call-0001")
    assert row.customer_id == texter.id
    found = await voice.app.voice.lookup("+1 (555) 867-5310")
    assert [c.id for c in found.matches] == [texter.id]
    assert found.action == "open"


async def test_a_call_in_the_ivr_has_no_conversation_yet(voice: Voice) -> None:
    offered = full_call()[0]
    await voice.deliver(offered)
    row = await call_row(voice, "sim-call-0001")
    assert row.state == "offered"
    assert row.conversation_id is None
    assert row.customer_id is not None  # screen pop can already find them
    ended = {**full_call()[5], "occurred_at": "2026-01-06T09:01:00Z"}  # hung up in the queue
    await voice.deliver(ended)
    row = await call_row(voice, "sim-call-0001")
    assert (row.state, row.outcome) == ("closed", "abandoned")
    assert row.conversation_id is not None
    conv = await voice.app.conversations.get(row.conversation_id)
    assert conv.state is ConversationState.CLOSED
    last = (await voice.app.conversations.messages(conv.id))[-1]
    assert last.sender_kind is SenderKind.SYSTEM


async def test_a_known_agent_answering_takes_the_conversation_and_routing_is_told(voice: Voice) -> None:
    ana = await voice.app.identity.get_user_by_email("ana@demo.omniroute.dev")
    assert ana is not None
    await voice.app.voice.link_agent(voice.provider.id, ana.id, "agent-alice")
    events = full_call()
    await voice.deliver(events[:3])  # offered, ringing, answered by agent-alice
    row = await call_row(voice, "sim-call-0001")
    assert (row.state, row.agent_user_id) == ("connected", ana.id)
    assert row.conversation_id is not None
    conv = await voice.app.conversations.get(row.conversation_id)
    assert (conv.state, conv.agent_id) == (ConversationState.ACTIVE, ana.id)
    async with voice.app.db.read() as conn:
        commands = (await conn.execute(sa.select(routing_commands.c.kind, routing_commands.c.payload))).all()
    assert ("external", {"conversation_id": conv.id, "agent_id": ana.id}) in [
        (k, dict(p)) for k, p in commands
    ]

    await voice.deliver(events[3:6])  # held, resumed, ended
    conv = await voice.app.conversations.get(conv.id)
    assert (conv.state, conv.agent_id) == (ConversationState.WRAP_UP, ana.id)
    await voice.deliver(events[6:])  # recording, transcript, wrap-up done
    conv = await voice.app.conversations.get(conv.id)
    assert conv.state is ConversationState.CLOSED
    assert (await call_row(voice, "sim-call-0001")).state == "closed"

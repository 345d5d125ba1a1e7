"""The normalised JSON: every kind, batches, and the reasons a payload is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.adapters.port import MalformedCallEvent
from omniroute.voice.model import Call, CallDurations, CallEventKind, CallState, Direction, TranscriptTurn
from tests.unit.voice.adapters.generic.golden import body, document

JSON = {"content-type": "application/json"}


@pytest.fixture
def adapter() -> GenericVoiceAdapter:
    return GenericVoiceAdapter(provider="sim", clock=ManualClock())


def test_every_kind_of_a_full_call(adapter: GenericVoiceAdapter) -> None:
    events = adapter.parse(body("full_call.json"), JSON)
    assert [e.kind for e in events] == [
        CallEventKind.OFFERED,
        CallEventKind.RINGING,
        CallEventKind.ANSWERED,
        CallEventKind.HELD,
        CallEventKind.RESUMED,
        CallEventKind.ENDED,
        CallEventKind.RECORDING_AVAILABLE,
        CallEventKind.TRANSCRIPT_AVAILABLE,
        CallEventKind.WRAPUP_DONE,
    ]
    offered = events[0]
    assert (offered.direction, offered.from_number, offered.to_number, offered.queue) == (
        Direction.INBOUND,
        "+15558675310",  # sent as "+1 (555) 867-5310"
        "+18005550199",
        "billing",
    )
    assert offered.ivr_data == {"account_number": "4521", "menu_path": "1>3", "verified": "true"}
    assert offered.occurred_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    assert {e.provider for e in events} == {"sim"}
    assert events[7].transcript[0] == TranscriptTurn("customer", "My order 4521 has not arrived.", 1.2, 3.9)
    call = Call.from_events(events)
    assert (call.state, call.disposition, call.notes, call.end_reason) == (
        CallState.CLOSED,
        "resolved",
        "Reshipped order 4521.",
        "customer_hangup",
    )
    assert call.phases == CallDurations(wait=40, ring=5, talk=225, hold=30, wrap_up=60)


def test_a_single_event_object_is_accepted(adapter: GenericVoiceAdapter) -> None:
    [event] = adapter.parse(body("answered.json"), JSON)
    assert (event.event_id, event.call_id, event.agent_id) == ("sim-evt-0003", "sim-call-0001", "agent-alice")


def test_transfers_and_conferences(adapter: GenericVoiceAdapter) -> None:
    first = adapter.parse(body("full_call.json"), JSON)[:3]
    call = Call.from_events([*first, *adapter.parse(body("transferred.json"), JSON)])
    assert (call.agent_id, call.agents, call.transferred_to, call.queue) == (
        "agent-bob",
        ("agent-alice", "agent-bob"),
        "queue:tier2",
        "tier2",
    )
    assert call.participants == ("supervisor-carol",)


def event(**changes: Any) -> bytes:
    base = document("answered.json")
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (event(kind="picked_up"), "kind: Input should be"),
        (event(event_id=None), "event_id: Field required"),
        (event(occurred_at="2026-01-06T09:00:45"), "occurred_at: Input should have timezone info"),
        (event(agent="agent-alice"), "agent: Extra inputs are not permitted"),
        (event(kind="recording_available"), "needs recording_url"),
        (event(kind="recording_available", recording_url="ftp://x/y"), "recording_url: String should match"),
        (event(kind="transcript_available"), "needs at least one transcript turn"),
        (
            event(transcript=[{"speaker": "agent", "text": "hi", "start": 3, "end": 1}]),
            "end must not be before start",
        ),
        (event(ivr_data={"nested": {"a": 1}}), "ivr_data.nested"),
        (b'{"events": []}', "events: List should have at least 1 item"),
        (json.dumps({"events": [document("answered.json")] * 101}).encode(), "at most 100 items"),
        (b'"answered"', "Input should be a valid dictionary"),
    ],
)
def test_what_is_refused_and_why(adapter: GenericVoiceAdapter, raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedCallEvent) as refused:
        adapter.parse(raw, JSON)
    assert reason in refused.value.reason
    assert refused.value.status == 400

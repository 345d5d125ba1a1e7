"""Amazon Connect contact events → normalised call events, including transfers and redelivery."""

from __future__ import annotations

from datetime import datetime

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.amazon_connect import AmazonConnectAdapter
from omniroute.voice.adapters.port import MalformedCallEvent
from omniroute.voice.model import Call, CallDurations, CallEvent, CallEventKind, CallState, Direction
from tests.unit.voice.adapters.amazon_connect.golden import (
    AGENT,
    CUSTOMER,
    INBOUND,
    INBOUND_CALL,
    INSTANCE,
    OUTBOUND,
    QUEUE,
    SYSTEM,
    TRANSFERRED,
    body,
)

JSON = {"content-type": "application/json"}


@pytest.fixture
def adapter() -> AmazonConnectAdapter:
    return AmazonConnectAdapter(provider="connect-main", clock=ManualClock(), instance_arn=INSTANCE)


def parse(adapter: AmazonConnectAdapter, *names: str) -> list[CallEvent]:
    return [event for name in names for event in adapter.parse(body(name), JSON)]


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-01-06T{hms}+00:00")


@pytest.mark.parametrize(
    ("name", "kind", "when"),
    [
        ("initiated_inbound.json", CallEventKind.OFFERED, "14:00:00.120"),
        ("connected_to_system_inbound.json", CallEventKind.OFFERED, "14:00:00.120"),
        ("queued.json", CallEventKind.OFFERED, "14:00:25.480"),
        ("connected_to_agent.json", CallEventKind.ANSWERED, "14:01:02.915"),
        ("disconnected.json", CallEventKind.ENDED, "14:05:40.002"),
    ],
)
def test_each_inbound_contact_event(
    adapter: AmazonConnectAdapter, name: str, kind: CallEventKind, when: str
) -> None:
    [event] = parse(adapter, name)
    assert (event.kind, event.call_id, event.provider, event.occurred_at) == (
        kind,
        INBOUND,
        "connect-main",
        at(when),
    )
    assert (event.direction, event.from_number, event.to_number) == (Direction.INBOUND, CUSTOMER, SYSTEM)
    assert event.event_id.startswith("e4b0c1d2-")


def test_agent_queue_and_ivr_data(adapter: AmazonConnectAdapter) -> None:
    [answered] = parse(adapter, "connected_to_agent.json")
    assert (answered.agent_id, answered.queue) == (AGENT, QUEUE)
    # Data the flow collected, put on the contact with the "Tag contact" block; aws:* tags are not.
    assert answered.ivr_data == {"AccountNumber": "4521", "Intent": "order_status"}
    assert answered.source_event == "CONNECTED_TO_AGENT"


def test_completed_is_wrap_up_done_and_carries_the_recording(adapter: AmazonConnectAdapter) -> None:
    done, recording = parse(adapter, "completed.json")
    assert (done.kind, done.occurred_at) == (CallEventKind.WRAPUP_DONE, at("14:06:30"))
    assert recording.kind is CallEventKind.RECORDING_AVAILABLE
    assert recording.recording_url == (
        f"s3://acme-connect-recordings/connect/acme/CallRecordings/2026/01/06/{INBOUND}_20260106T14:01_UTC.wav"
    )
    assert recording.event_id == "e4b0c1d2-0007-4a3b-8c5d-6e7f8a9b0c1d:recording:0"


def test_a_whole_inbound_call_delivered_out_of_order_and_twice(adapter: AmazonConnectAdapter) -> None:
    call = Call.from_events(parse(adapter, *INBOUND_CALL))
    assert (call.state, call.agent_id, call.queue, call.outcome) == (
        CallState.CLOSED,
        AGENT,
        QUEUE,
        "answered",
    )
    assert call.durations() == CallDurations(wait=62.795, talk=277.087, wrap_up=49.998)
    assert call.recordings
    assert call.ignored == ()
    # "Although events are not ordered, they have a timestamp": EventBridge gives no order.
    shuffled = parse(adapter, *reversed(INBOUND_CALL), "queued.json", "completed.json")
    assert Call.from_events(shuffled) == call
    live = Call.from_events(parse(adapter, "disconnected.json", "queued.json", "connected_to_agent.json"))
    assert (live.state, live.holds_agent) == (CallState.WRAP_UP, True)


def test_a_transfer_links_the_new_contact_to_the_old_one(adapter: AmazonConnectAdapter) -> None:
    transferred, offered = parse(adapter, "initiated_transfer.json")
    assert (transferred.kind, transferred.call_id, transferred.transfer_to) == (
        CallEventKind.TRANSFERRED,
        INBOUND,
        TRANSFERRED,
    )
    assert (offered.kind, offered.call_id, offered.previous_call_id, offered.initial_call_id) == (
        CallEventKind.OFFERED,
        TRANSFERRED,
        INBOUND,
        INBOUND,
    )
    assert transferred.event_id != offered.event_id
    old_events = [e for e in parse(adapter, *INBOUND_CALL, "initiated_transfer.json") if e.call_id == INBOUND]
    old = Call.from_events(old_events)
    assert (old.transferred_to, old.transfer_count, old.state) == (TRANSFERRED, 1, CallState.CLOSED)
    new = Call.from_events([offered])
    assert (new.previous_call_id, new.state) == (INBOUND, CallState.OFFERED)


def test_an_agent_placed_outbound_call_rings_the_customer_after_the_agent_connects(
    adapter: AmazonConnectAdapter,
) -> None:
    names = [
        "outbound_connected_to_agent.json",
        "outbound_connected_to_system.json",
        "outbound_disconnected.json",
    ]
    events = parse(adapter, *names)
    assert [e.kind for e in events] == [CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.ENDED]
    call = Call.from_events(events)
    assert (call.call_id, call.direction, call.from_number, call.to_number) == (
        OUTBOUND,
        Direction.OUTBOUND,
        SYSTEM,
        CUSTOMER,
    )
    assert call.phases == CallDurations(ring=8.2, talk=111.4)
    assert call.queue is None  # Connect sends no queueInfo for OUTBOUND


def test_pascal_case_details_as_in_some_aws_samples(adapter: AmazonConnectAdapter) -> None:
    [answered] = parse(adapter, "connected_to_agent_pascal_case.json")
    assert (answered.kind, answered.call_id, answered.agent_id, answered.queue) == (
        CallEventKind.ANSWERED,
        INBOUND,
        AGENT,
        QUEUE,
    )
    assert answered.occurred_at == at("14:01:02.915")
    assert answered.to_number == SYSTEM  # no systemEndpoint: read from the aws:connect:systemEndpoint tag


@pytest.mark.parametrize(
    "name",
    ["chat_queued.json", "monitor_initiated.json", "contact_lens_rule.json", "contact_data_updated.json"],
)
def test_what_is_not_about_a_voice_calls_state_is_skipped(adapter: AmazonConnectAdapter, name: str) -> None:
    assert parse(adapter, name) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not an EventBridge event"),
        (
            b'{"source": "aws.connect", "detail-type": "Amazon Connect Contact Event", "detail": {}}',
            "'id' and 'time'",
        ),
        (
            b'{"id": "x", "time": "2026-01-06T14:00:00Z", "source": "aws.connect",'
            b' "detail-type": "Amazon Connect Contact Event", "detail": {"channel": "VOICE"}}',
            "detail.contactId",
        ),
    ],
)
def test_malformed_events_are_refused(raw: bytes, reason: str) -> None:
    adapter = AmazonConnectAdapter(clock=ManualClock())
    with pytest.raises(MalformedCallEvent, match=reason):
        adapter.parse(raw, JSON)


def test_events_of_another_instance_are_refused(adapter: AmazonConnectAdapter) -> None:
    other = body("queued.json").replace(b"instance/0f1e2d3c", b"instance/99999999")
    with pytest.raises(MalformedCallEvent, match="is not this provider's"):
        adapter.parse(other, JSON)

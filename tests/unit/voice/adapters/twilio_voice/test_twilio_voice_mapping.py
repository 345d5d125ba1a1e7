"""Twilio's call, conference, recording and transcription callbacks → normalised call events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omniroute.core.clock import ManualClock
from omniroute.voice.adapters.port import MalformedCallEvent
from omniroute.voice.adapters.twilio_voice import TwilioVoiceAdapter
from omniroute.voice.model import Call, CallDurations, CallEvent, CallEventKind, CallState, Direction
from tests.unit.voice.adapters.twilio_voice.golden import (
    ACCOUNT_SID,
    CHILD,
    CONFERENCE_CUSTOMER,
    CUSTOMER,
    OUR_NUMBER,
    OUTBOUND,
    PARENT,
    body,
    variant,
)

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def adapter() -> TwilioVoiceAdapter:
    return TwilioVoiceAdapter(provider="twilio-main", clock=ManualClock(NOW), account_sid=ACCOUNT_SID)


def parse(adapter: TwilioVoiceAdapter, *names: str) -> list[CallEvent]:
    return [event for name in names for event in adapter.parse(body(name), FORM)]


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-01-06T{hms}+00:00")


def test_the_dialled_leg_rings_and_answers_the_customers_call(adapter: TwilioVoiceAdapter) -> None:
    assert parse(adapter, "dial_leg_initiated.txt") == []
    [ringing] = parse(adapter, "dial_leg_ringing.txt")
    assert (ringing.kind, ringing.call_id, ringing.agent_id) == (CallEventKind.RINGING, PARENT, "alice")
    assert (ringing.event_id, ringing.provider, ringing.occurred_at) == (
        f"{CHILD}:ringing",
        "twilio-main",
        at("09:00:31"),
    )
    assert ringing.source_event == "CallStatus=ringing"
    [answered] = parse(adapter, "dial_leg_answered.txt")
    assert (answered.kind, answered.call_id, answered.agent_id) == (CallEventKind.ANSWERED, PARENT, "alice")
    # The leg's own hang-up is not the customer's: the parent's "completed" ends the call.
    assert parse(adapter, "dial_leg_completed.txt") == []


def test_a_leg_nobody_answers_sends_the_call_back_to_waiting(adapter: TwilioVoiceAdapter) -> None:
    [missed] = parse(adapter, "dial_leg_no_answer.txt")
    assert (missed.kind, missed.call_id, missed.end_reason) == (CallEventKind.OFFERED, PARENT, "no-answer")


def test_the_customers_inbound_call(adapter: TwilioVoiceAdapter) -> None:
    [running] = parse(adapter, "inbound_in_progress.txt")
    # In progress for an inbound call means Twilio is running the IVR, not that an agent answered.
    assert (running.kind, running.direction) == (CallEventKind.OFFERED, Direction.INBOUND)
    assert (running.from_number, running.to_number) == (CUSTOMER, OUR_NUMBER)
    [ended] = parse(adapter, "inbound_completed.txt")
    assert (ended.kind, ended.call_id, ended.end_reason) == (CallEventKind.ENDED, PARENT, "completed")


def test_a_whole_inbound_call_in_any_order(adapter: TwilioVoiceAdapter) -> None:
    names = [
        "inbound_in_progress.txt",
        "dial_leg_initiated.txt",
        "dial_leg_ringing.txt",
        "dial_leg_answered.txt",
        "dial_leg_completed.txt",
        "inbound_completed.txt",
        "recording_completed.txt",
        "transcription_final.txt",
    ]
    events = parse(adapter, *names)
    call = Call.from_events(events)
    assert (call.state, call.agent_id, call.outcome) == (CallState.WRAP_UP, "alice", "answered")
    assert call.phases == CallDurations(wait=29, ring=5, talk=185)
    assert (call.from_number, call.to_number, call.direction) == (CUSTOMER, OUR_NUMBER, Direction.INBOUND)
    assert call.recordings == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
    )
    assert [t.text for t in call.transcript] == ["My order 4521 has not arrived"]
    # Twilio delivers each callback on its own connection: any order, some twice.
    shuffled = parse(adapter, *reversed(names), "dial_leg_answered.txt", "inbound_completed.txt")
    assert Call.from_events(shuffled) == call


def test_a_call_placed_through_the_api(adapter: TwilioVoiceAdapter) -> None:
    events = parse(
        adapter,
        "outbound_initiated.txt",
        "outbound_ringing.txt",
        "outbound_answered.txt",
        "outbound_completed.txt",
    )
    assert [e.kind for e in events] == [
        CallEventKind.OFFERED,
        CallEventKind.RINGING,
        CallEventKind.ANSWERED,
        CallEventKind.ENDED,
    ]
    call = Call.from_events(events)
    assert (call.call_id, call.direction, call.from_number, call.to_number) == (
        OUTBOUND,
        Direction.OUTBOUND,
        OUR_NUMBER,
        CUSTOMER,
    )
    assert call.phases == CallDurations(wait=1, ring=8, talk=120)
    busy = Call.from_events(
        parse(adapter, "outbound_initiated.txt", "outbound_ringing.txt", "outbound_busy.txt")
    )
    assert (busy.state, busy.outcome, busy.end_reason) == (CallState.CLOSED, "unanswered", "busy")


def test_an_agent_calling_from_the_browser_is_outbound_with_that_agent(adapter: TwilioVoiceAdapter) -> None:
    raw = variant(
        "inbound_in_progress.txt", From="client:alice", Caller="client:alice", To=CUSTOMER, Called=CUSTOMER
    )
    [placed] = adapter.parse(raw, FORM)
    assert (placed.kind, placed.direction, placed.agent_id) == (
        CallEventKind.OFFERED,
        Direction.OUTBOUND,
        "alice",
    )
    assert (placed.from_number, placed.to_number) == (None, CUSTOMER)


def test_conference_callbacks(adapter: TwilioVoiceAdapter) -> None:
    assert (
        parse(adapter, "conference_join_customer.txt", "conference_start.txt", "conference_mute_agent.txt")
        == []
    )
    assert parse(adapter, "conference_end.txt") == []
    answered, joined = parse(adapter, "conference_join_agent.txt")
    assert (answered.kind, answered.call_id, answered.agent_id) == (
        CallEventKind.ANSWERED,
        CONFERENCE_CUSTOMER,
        "alice",
    )
    assert (joined.kind, joined.participant, joined.participant_joined) == (
        CallEventKind.CONFERENCE,
        "agent:alice",
        True,
    )
    assert answered.event_id != joined.event_id
    [held] = parse(adapter, "conference_hold_customer.txt")
    [resumed] = parse(adapter, "conference_unhold_customer.txt")
    assert (held.kind, resumed.kind) == (CallEventKind.HELD, CallEventKind.RESUMED)
    [left] = parse(adapter, "conference_leave_supervisor.txt")
    assert (left.participant, left.participant_joined) == ("supervisor:bob", False)


def test_a_conference_call_with_a_hold_and_a_supervisor(adapter: TwilioVoiceAdapter) -> None:
    names = [
        "conference_join_customer.txt",
        "conference_start.txt",
        "conference_join_agent.txt",
        "conference_hold_customer.txt",
        "conference_unhold_customer.txt",
        "conference_join_supervisor.txt",
        "conference_leave_supervisor.txt",
        "conference_mute_agent.txt",
        "conference_end.txt",
    ]
    call = Call.from_events(parse(adapter, *reversed(names)))
    assert (call.state, call.agent_id, call.hold_count, call.conferenced) == (
        CallState.CONNECTED,
        "alice",
        1,
        True,
    )
    assert call.participants == ("agent:alice",)
    assert call.durations(at("11:04:00")) == CallDurations(talk=39 + 135, hold=45)


def test_a_completed_recording(adapter: TwilioVoiceAdapter) -> None:
    [recording] = parse(adapter, "recording_completed.txt")
    assert (recording.kind, recording.call_id) == (CallEventKind.RECORDING_AVAILABLE, PARENT)
    assert recording.occurred_at == at("09:03:40")  # started + duration
    assert recording.event_id == "RE6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d:completed"
    assert adapter.parse(variant("recording_completed.txt", RecordingStatus="absent"), FORM) == []
    with pytest.raises(MalformedCallEvent, match="CallSid and RecordingUrl"):
        adapter.parse(variant("recording_completed.txt", RecordingUrl=""), FORM)


def test_only_final_transcriptions_become_turns(adapter: TwilioVoiceAdapter) -> None:
    assert parse(adapter, "transcription_started.txt", "transcription_partial.txt") == []
    [final] = parse(adapter, "transcription_final.txt")
    assert final.kind is CallEventKind.TRANSCRIPT_AVAILABLE
    assert (final.transcript[0].speaker, final.transcript[0].text) == (
        "customer",
        "My order 4521 has not arrived",
    )
    assert final.occurred_at == datetime(2026, 1, 6, 9, 0, 42, 431926, tzinfo=UTC)
    assert final.event_id == "GT8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a:3"
    agent = adapter.parse(variant("transcription_final.txt", Track="outbound_track", SequenceId="4"), FORM)
    assert agent[0].transcript[0].speaker == "agent"
    with pytest.raises(MalformedCallEvent, match="TranscriptionData"):
        adapter.parse(variant("transcription_final.txt", TranscriptionData="{not json"), FORM)


def test_a_callback_without_a_timestamp_happened_when_it_arrived(adapter: TwilioVoiceAdapter) -> None:
    [ended] = adapter.parse(
        variant("inbound_completed.txt", Timestamp="", SequenceNumber="", CallbackSource=""), FORM
    )
    assert ended.occurred_at == NOW
    [odd] = adapter.parse(variant("inbound_completed.txt", Timestamp="Tuesday at nine"), FORM)
    assert odd.occurred_at == NOW


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Body=hello&MessageSid=SM1&AccountSid=" + ACCOUNT_SID.encode(), "not a Twilio Voice callback"),
        (b"CallSid=CA1&CallStatus=ringing&AccountSid=\xff", "not UTF-8"),
        (b"&".join(b"f%d=x" % i for i in range(300)), "more than 200 fields"),
        (b"CallSid=CA1&CallStatus=ringing&AccountSid=AC0000", "is not this provider's"),
    ],
)
def test_what_is_not_a_voice_callback_of_this_account_is_refused(
    adapter: TwilioVoiceAdapter, raw: bytes, reason: str
) -> None:
    with pytest.raises(MalformedCallEvent, match=reason) as refused:
        adapter.parse(raw, FORM)
    assert refused.value.status == 400


def test_callbacks_are_form_encoded(adapter: TwilioVoiceAdapter) -> None:
    with pytest.raises(MalformedCallEvent, match="form-encoded"):
        adapter.parse(b'{"CallSid": "CA1"}', {"content-type": "application/json"})

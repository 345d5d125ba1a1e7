"""Property tests: the call a set of events describes does not depend on how they were delivered.

Vendors deliver at least once and out of order. Whatever permutation of a call's events arrives,
with any of them repeated, applying them one by one must end in exactly the call that the events
describe (``Call.from_events`` over the distinct events).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from omniroute.voice.model import Call, CallEvent, CallEventKind, CallState, TranscriptTurn
from tests.unit.voice.builders import PROVIDER, ev

KINDS = list(CallEventKind)
AGENTS = [None, "alice", "bob"]
PARTICIPANTS = [None, "agent:alice", "supervisor:carol", "expert:dan"]


@st.composite
def any_events(draw: st.DrawFn) -> list[CallEvent]:
    """Arbitrary events of one call: any kinds, with many stamped at the same second."""
    count = draw(st.integers(1, 14))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        extra: dict[str, object] = {}
        if kind in (CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.OFFERED):
            extra["agent_id"] = draw(st.sampled_from(AGENTS))
        if kind is CallEventKind.CONFERENCE:
            extra["participant"] = draw(st.sampled_from(PARTICIPANTS))
            extra["participant_joined"] = draw(st.booleans())
        if kind is CallEventKind.RECORDING_AVAILABLE:
            extra["recording_url"] = f"https://rec.example/{draw(st.integers(0, 2))}.wav"
        if kind is CallEventKind.TRANSCRIPT_AVAILABLE:
            extra["transcript"] = (TranscriptTurn(draw(st.sampled_from(["agent", "customer"])), "hi", index),)
        if kind is CallEventKind.WRAPUP_DONE:
            extra["disposition"] = draw(st.sampled_from([None, "sale", "resolved"]))
        extra["queue"] = draw(st.sampled_from([None, "main", "billing"]))
        events.append(ev(kind, draw(st.integers(0, 30)), event_id=f"e{index}", **extra))
    return events


@st.composite
def realistic_call(draw: st.DrawFn) -> list[CallEvent]:
    """A call as a contact centre lives it: IVR, rings, talk with holds, maybe a transfer and a
    three-way conference, the hang-up, recordings, transcript and wrap-up."""
    clock = 0
    events: list[CallEvent] = []

    def step(kind: str, **fields: object) -> None:
        nonlocal clock
        # Distinct instants: at one instant events fold by KIND_RANK, so "held, resumed, held" in
        # the same second cannot be told apart (documented; vendors stamp to the millisecond or second).
        clock += draw(st.integers(1, 90))
        events.append(ev(kind, clock, event_id=f"{kind}-{len(events)}", **fields))

    step("offered", direction="inbound", from_number="+15558675310", queue="main", ivr_data={"acct": "4521"})
    for _ in range(draw(st.integers(0, 2))):  # rings nobody answers
        step("ringing", agent_id="bob")
        step("offered", end_reason="no-answer")
    step("ringing", agent_id="alice")
    step("answered", agent_id="alice")
    for _ in range(draw(st.integers(0, 3))):
        step("held")
        step("resumed")
    if draw(st.booleans()):
        step("conference", participant="agent:alice")
        step("conference", participant="supervisor:carol")
        step("conference", participant="supervisor:carol", participant_joined=False)
    if draw(st.booleans()):
        step("transferred", transfer_to="tier2", queue="tier2")
        step("ringing", agent_id="bob")
        step("answered", agent_id="bob")
    step("ended", end_reason="customer_hangup")
    step("recording_available", recording_url="https://rec.example/call.wav")
    step("transcript_available", transcript=(TranscriptTurn("customer", "hello", 0.0, 1.0),))
    step("wrapup_done", disposition="resolved")
    return events


def delivered(events: list[CallEvent], data: st.DataObject) -> list[CallEvent]:
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=6), label="repeats")
    return data.draw(st.permutations([*events, *repeats]), label="delivery order")


def apply_one_by_one(events: list[CallEvent]) -> Call:
    call = Call(provider=PROVIDER, call_id=events[0].call_id)
    for event in events:
        call = call.apply(event)
    return call


@settings(max_examples=300)
@given(events=any_events(), data=st.data())
def test_any_permutation_and_duplication_gives_the_same_call(
    events: list[CallEvent], data: st.DataObject
) -> None:
    expected = Call.from_events(events)
    arrival = delivered(events, data)
    assert apply_one_by_one(arrival) == expected
    assert Call.from_events(arrival) == expected


@settings(max_examples=300)
@given(events=any_events())
def test_the_call_always_makes_sense(events: list[CallEvent]) -> None:
    call = Call.from_events(events)
    phases = call.phases
    spent = phases.wait + phases.ring + phases.talk + phases.hold + phases.wrap_up
    span = (max(e.occurred_at for e in events) - min(e.occurred_at for e in events)).total_seconds()
    assert min(phases.wait, phases.ring, phases.talk, phases.hold, phases.wrap_up) >= 0
    assert spent <= span
    assert (call.outcome is None) == call.is_live
    if call.state in (CallState.WRAP_UP, CallState.CLOSED):
        assert call.ended_at is not None
    if call.state is CallState.WRAP_UP:
        assert call.answered_at is not None
    if call.answered_at and call.ended_at:
        assert call.answered_at <= call.ended_at
    if call.holds_agent:
        assert call.agent_id is not None
    assert set(call.ignored) <= {e.event_id for e in events}
    assert len(call.events) == len({e.event_id for e in events})


@settings(max_examples=200)
@given(events=realistic_call(), data=st.data())
def test_a_real_call_adds_up_whatever_the_delivery(events: list[CallEvent], data: st.DataObject) -> None:
    call = apply_one_by_one(delivered(events, data))
    assert call == Call.from_events(events)
    assert call.state is CallState.CLOSED
    assert call.ignored == ()
    # Every second from the first offer to the end of wrap-up is in exactly one phase.
    phases = call.phases
    total = phases.wait + phases.ring + phases.talk + phases.hold + phases.wrap_up
    assert call.offered_at is not None
    assert call.wrapup_done_at is not None
    assert total == (call.wrapup_done_at - call.offered_at).total_seconds()
    holds = sum(1 for e in events if e.kind is CallEventKind.HELD)
    assert call.hold_count == holds
    assert call.agents[0] == "alice"

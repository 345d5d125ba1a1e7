"""The call aggregate: states, durations, idempotency and out-of-order delivery."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from omniroute.voice.model import (
    Call,
    CallDurations,
    CallEvent,
    CallEventKind,
    CallState,
    Direction,
    TranscriptTurn,
    normalise_number,
)
from tests.unit.voice.builders import T0, at, ev, straight_call


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+15558675310", "+15558675310"),
        ("+1 (555) 867-5310", "+15558675310"),
        ("0044 20 7946 0958", "+442079460958"),
        ("tel:+1-555-867-5310;ext=22", "+15558675310"),
        ("sip:+15558675310@pbx.example.com;user=phone", "+15558675310"),
        ("5558675310", None),  # no country code: not guessed
        ("anonymous", None),
        ("client:alice", None),
        ("+0123456789", None),
        ("", None),
        (None, None),
    ],
)
def test_numbers_are_normalised_to_e164_or_unknown(raw: str | None, expected: str | None) -> None:
    assert normalise_number(raw) == expected


def test_an_event_needs_an_aware_time_and_is_kept_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CallEvent("e", "c", "p", CallEventKind.OFFERED, datetime(2026, 1, 6, 9, 0))
    madrid = datetime(2026, 1, 6, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert CallEvent("e", "c", "p", CallEventKind.OFFERED, madrid).occurred_at == T0
    with pytest.raises(ValueError, match="event_id"):
        CallEvent("", "c", "p", CallEventKind.OFFERED, T0)


def test_a_straight_call_goes_through_every_state() -> None:
    events = straight_call()
    states = []
    call = Call(provider="ccaas", call_id="call-1")
    for event in events:
        call = call.apply(event)
        states.append(call.state)
    assert states == [
        CallState.OFFERED,
        CallState.RINGING,
        CallState.CONNECTED,
        CallState.HELD,
        CallState.CONNECTED,
        CallState.WRAP_UP,
        CallState.CLOSED,
    ]
    assert call.phases == CallDurations(wait=40, ring=5, talk=75 + 150, hold=30, wrap_up=60)
    assert (call.offered_at, call.answered_at, call.ended_at, call.wrapup_done_at) == (
        at(0),
        at(45),
        at(300),
        at(360),
    )
    assert call.direction is Direction.INBOUND
    assert call.from_number == "+15558675310"
    assert (call.queue, call.ivr_data, call.agent_id, call.agents) == (
        "billing",
        {"acct": "4521"},
        "alice",
        ("alice",),
    )
    assert (call.end_reason, call.disposition, call.notes, call.hold_count) == (
        "customer_hangup",
        "resolved",
        "reshipped",
        1,
    )
    assert call.outcome == "answered"
    assert call.ignored == ()
    assert call == Call.from_events(events)


def test_the_same_event_id_twice_is_a_no_op() -> None:
    call = Call.from_events(straight_call()[:3])
    assert call.apply(straight_call()[2]) is call
    # Even with different content the first one seen stays (the store decides which was first).
    again = ev("answered", 46, event_id="answered@45", agent_id="bob")
    assert call.apply(again) is call
    assert Call.from_events([*straight_call(), again]) == Call.from_events(straight_call())


def test_delivery_order_does_not_matter() -> None:
    events = straight_call()
    assert Call.from_events(reversed(events)) == Call.from_events(events)
    call = Call(provider="ccaas", call_id="call-1")
    for event in [events[5], events[2], events[6], events[0], events[4], events[1], events[3]]:
        call = call.apply(event)
    assert call == Call.from_events(events)
    assert call.state is CallState.CLOSED


def test_ended_delivered_before_answered_still_counts_the_talk() -> None:
    ended, answered = ev("ended", 100), ev("answered", 10, agent_id="alice")
    early = Call.from_events([ended])
    assert early.state is CallState.CLOSED
    assert early.outcome == "abandoned"
    late = early.apply(answered)
    assert late.state is CallState.WRAP_UP
    assert late.phases.talk == 90
    assert late.outcome == "answered"


def test_answered_stamped_after_the_end_is_ignored_and_listed() -> None:
    call = Call.from_events(
        [ev("offered", 0), ev("ended", 30), ev("answered", 31, agent_id="alice"), ev("held", 40)]
    )
    assert call.state is CallState.CLOSED
    assert call.answered_at is None
    assert call.agent_id is None
    assert call.ignored == ("answered@31", "held@40")
    assert call.outcome == "abandoned"


def test_wrapup_done_stamped_before_the_end_closes_the_call_when_it_ends() -> None:
    events = [ev("answered", 0, agent_id="alice"), ev("wrapup_done", 50, disposition="sale"), ev("ended", 60)]
    call = Call.from_events(events)
    assert call.state is CallState.CLOSED
    assert call.wrapup_done_at == at(60)
    assert call.disposition == "sale"
    assert Call.from_events(events[:2]).state is CallState.CONNECTED  # the early wrap-up waits


def test_the_same_instant_is_ordered_by_the_life_of_a_call() -> None:
    call = Call.from_events([ev("ended", 5), ev("answered", 5, agent_id="alice"), ev("offered", 5)])
    assert call.state is CallState.WRAP_UP
    assert call.answered_at == call.ended_at == at(5)


def test_unanswered_outbound_and_missed_rings() -> None:
    outbound = Call.from_events(
        [ev("offered", 0, direction="outbound"), ev("ringing", 1), ev("ended", 20, end_reason="busy")]
    )
    assert (outbound.state, outbound.outcome, outbound.phases.ring) == (CallState.CLOSED, "unanswered", 19)
    # Nobody picked up the ring: the call goes back to waiting, and the ring time is kept.
    missed = Call.from_events(
        [ev("offered", 0), ev("ringing", 10, agent_id="bob"), ev("offered", 25, end_reason="no-answer")]
    )
    assert missed.state is CallState.OFFERED
    assert missed.phases == CallDurations(wait=10, ring=15)
    assert missed.holds_agent is False


def test_a_transfer_inside_one_call_hands_it_to_the_next_agent() -> None:
    events = [
        *straight_call()[:3],
        ev("transferred", 100, transfer_to="queue:tier2", queue="tier2"),
        ev("ringing", 110, agent_id="bob"),
        ev("answered", 115, agent_id="bob"),
    ]
    call = Call.from_events(events)
    assert (call.state, call.agent_id, call.agents) == (CallState.CONNECTED, "bob", ("alice", "bob"))
    assert (call.transfer_count, call.transferred_to, call.queue) == (1, "queue:tier2", "tier2")
    assert call.phases == CallDurations(wait=40 + 10, ring=5 + 5, talk=55)
    assert call.answered_at == at(45)  # the first answer


def test_a_call_created_by_a_transfer_names_the_one_before() -> None:
    old = Call.from_events(
        [ev("answered", 0, agent_id="alice"), ev("transferred", 30, transfer_to="call-2"), ev("ended", 31)]
    )
    assert (old.state, old.transferred_to, old.outcome) == (CallState.WRAP_UP, "call-2", "answered")
    new = Call.from_events(
        [ev("offered", 30, call_id="call-2", previous_call_id="call-1", initial_call_id="call-1")]
    )
    assert (new.previous_call_id, new.initial_call_id, new.state) == ("call-1", "call-1", CallState.OFFERED)
    cold = Call.from_events([ev("offered", 0), ev("transferred", 30, transfer_to="call-2"), ev("ended", 31)])
    assert cold.outcome == "transferred"


def test_another_agent_answering_while_connected_takes_over() -> None:
    call = Call.from_events([ev("answered", 0, agent_id="alice"), ev("answered", 60, agent_id="bob")])
    assert (call.agent_id, call.agents, call.state_since) == ("bob", ("alice", "bob"), at(0))
    assert call.durations(at(90)).talk == 90  # one conversation, whoever is on our side


def test_conference_membership_and_three_way_calls() -> None:
    events = [
        ev("answered", 0, agent_id="alice"),
        ev("conference", 1, participant="agent:alice"),
        ev("conference", 30, participant="supervisor:bob"),
        ev("conference", 60, participant="supervisor:bob", participant_joined=False),
    ]
    assert Call.from_events(events[:2]).conferenced is False
    assert Call.from_events(events[:3]).participants == ("agent:alice", "supervisor:bob")
    call = Call.from_events(events)
    assert (call.conferenced, call.participants) == (True, ("agent:alice",))
    assert Call.from_events([*events, ev("ended", 90)]).participants == ()
    assert Call.from_events([ev("conference", 5)]).conferenced is True  # a vendor that only says "conference"


def test_recordings_and_transcripts_attach_in_any_state() -> None:
    turns = (
        TranscriptTurn("agent", "How can I help?", 2.0, 3.0),
        TranscriptTurn("customer", "Hello", 0.5, 1.5),
    )
    events = [
        *straight_call(),
        ev("recording_available", 400, recording_url="https://rec.example/1.wav"),
        ev("recording_available", 401, recording_url="https://rec.example/1.wav"),  # the same link twice
        ev("transcript_available", 402, transcript=turns),
        ev("transcript_available", 403, transcript=(turns[1], TranscriptTurn("bot", "Welcome"))),
    ]
    call = Call.from_events(events)
    assert call.state is CallState.CLOSED
    assert call.recordings == ("https://rec.example/1.wav",)
    assert [t.text for t in call.transcript] == ["Hello", "How can I help?", "Welcome"]
    alone = Call.from_events([ev("recording_available", 1, recording_url="https://rec.example/2.wav")])
    assert (alone.state, alone.recordings) == (CallState.NEW, ("https://rec.example/2.wav",))


def test_durations_run_to_now_while_the_call_is_live() -> None:
    call = Call.from_events(straight_call()[:4])  # on hold since 120
    assert call.durations() == call.phases == CallDurations(wait=40, ring=5, talk=75)
    assert call.durations(at(200)) == CallDurations(wait=40, ring=5, talk=75, hold=80)
    assert call.durations(at(100)) == call.phases  # "now" before the last event adds nothing
    closed = Call.from_events(straight_call())
    assert closed.durations(at(9999)) == closed.phases


def test_the_agent_is_occupied_from_the_ring_to_the_end_of_wrap_up() -> None:
    events = straight_call()
    occupied = [Call.from_events(events[: i + 1]).holds_agent for i in range(len(events))]
    assert occupied == [False, True, True, True, True, True, False]


def test_merging_details_first_number_latest_queue() -> None:
    call = Call.from_events(
        [
            ev("offered", 0, from_number="+15558675310", queue="main", ivr_data={"lang": "es", "acct": "1"}),
            ev(
                "offered",
                5,
                event_id="requeued",
                from_number="+15550000000",
                queue="billing",
                ivr_data={"acct": "2"},
            ),
        ]
    )
    assert (call.from_number, call.queue, call.ivr_data) == (
        "+15558675310",
        "billing",
        {"lang": "es", "acct": "2"},
    )


def test_events_of_another_call_are_refused() -> None:
    call = Call.from_events(straight_call())
    with pytest.raises(ValueError, match="belongs to"):
        call.apply(ev("ended", 1, call_id="call-2"))
    with pytest.raises(ValueError, match="belongs to"):
        Call.from_events([ev("offered", 0), ev("ended", 1, call_id="call-2")])
    with pytest.raises(ValueError, match="at least one event"):
        Call.from_events([])

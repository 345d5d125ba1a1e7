"""The simulator's contact centre: queueing, ringing, answering, wrap-up, and the call events it
reports (checked against the generic adapter's own wire schema)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omniroute.core.clock import ManualClock
from omniroute.core.errors import Conflict, InvalidInput
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.ccaas_sim.switchboard import AgentStatus, CallStatus, Switchboard
from omniroute.voice.model import Call, CallState

T0 = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
CALLER = "+15558675310"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def board(ring_seconds: float = 20) -> Switchboard:
    counter = itertools.count(1)
    return Switchboard(
        number="+15550100000", new_id=lambda: f"{next(counter):04d}", ring_seconds=ring_seconds
    )


def ready_agent(b: Switchboard, agent_id: str, when: float = 0, queues: list[str] | None = None) -> None:
    b.sign_in(agent_id, agent_id.title(), at(when), queues)
    b.set_ready(agent_id, True, at(when))


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def as_call(events: list[dict[str, Any]], call_id: str) -> Call:
    """Read the reported events with the generic adapter and fold them with Omniroute's own model,
    as the server will."""
    body = json.dumps({"events": events}).encode()
    parsed = GenericVoiceAdapter(provider="sim", clock=ManualClock(T0)).parse(body, {})
    return Call.from_events(e for e in parsed if e.call_id == call_id)


def test_a_call_goes_through_the_ivr_queue_ring_talk_and_wrap_up() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call("+1 (555) 867-5310", at(1))
    assert call.status is CallStatus.IVR
    assert call.from_number == CALLER
    b.press(call.id, "1", at(3))
    b.press(call.id, "98765432#", at(6))
    assert call.status is CallStatus.RINGING
    assert b.agents["ana"].status is AgentStatus.RINGING
    b.accept("ana", call.id, at(8))
    b.hold("ana", at(20))
    b.resume("ana", at(30))
    b.hang_up("ana", at(60))
    assert b.agents["ana"].status is AgentStatus.WRAP_UP
    b.finish_wrap_up("ana", "resolved", "Refund explained", at(75))
    assert b.agents["ana"].status is AgentStatus.AVAILABLE

    events = b.take_events()
    assert kinds(events) == [
        "offered",
        "offered",
        "ringing",
        "answered",
        "held",
        "resumed",
        "ended",
        "transcript_available",
        "wrapup_done",
    ]
    assert events[0] | {"event_id": "", "call_id": ""} == {
        "event_id": "",
        "call_id": "",
        "kind": "offered",
        "occurred_at": at(1).isoformat(),
        "direction": "inbound",
        "from": CALLER,
        "to": "+15550100000",
    }
    assert events[1]["queue"] == "Billing"
    assert events[1]["ivr_data"] == {
        "menu": "billing",
        "account_number": "98765432",
        "ivr_result": "completed",
    }
    assert events[-1]["disposition"] == "resolved"
    assert len({e["event_id"] for e in events}) == len(events)

    folded = as_call(events, call.id)
    assert folded.state is CallState.CLOSED
    assert folded.agent_id == "ana"
    assert folded.ivr_data["account_number"] == "98765432"
    assert folded.hold_count == 1
    assert folded.durations().talk == pytest.approx(42)


def test_the_longest_idle_agent_serving_the_queue_is_rung() -> None:
    b = board()
    ready_agent(b, "ben", when=0, queues=["Support"])
    ready_agent(b, "ana", when=5)
    ready_agent(b, "cy", when=10)
    call = b.place_call(CALLER, at(20))
    b.press(call.id, "11234#", at(21))
    assert call.agent_id == "ana"  # ben has been idle longer but does not serve Billing


def test_a_declined_ring_goes_to_the_next_agent_and_the_decliner_keeps_their_place() -> None:
    b = board()
    ready_agent(b, "ana", when=0)
    ready_agent(b, "ben", when=5)
    first = b.place_call(CALLER, at(10))
    b.press(first.id, "11234#", at(11))
    b.decline("ana", first.id, at(12))
    assert first.agent_id == "ben"
    assert b.agents["ana"].status is AgentStatus.AVAILABLE
    second = b.place_call("+15558675311", at(13))
    b.press(second.id, "21234#", at(14))
    assert second.agent_id == "ana"
    events = b.take_events()
    requeued = [e for e in events if e["kind"] == "offered" and "end_reason" in e]
    assert requeued[0]["end_reason"] == "declined"


def test_a_ring_nobody_answers_goes_back_to_the_queue_and_the_agent_becomes_not_ready() -> None:
    b = board(ring_seconds=15)
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    assert b.next_due() == at(16)
    b.advance(at(15))
    assert call.status is CallStatus.RINGING
    b.advance(at(16))
    assert call.status is CallStatus.QUEUED
    assert b.agents["ana"].status is AgentStatus.NOT_READY
    assert b.next_due() is None
    ready_agent(b, "ben", when=20)
    assert call.agent_id == "ben"
    events = b.take_events()
    assert [e.get("end_reason") for e in events if e["kind"] == "offered"][-1] == "no-answer"
    assert as_call(events, call.id).state is CallState.RINGING


def test_a_call_waits_while_no_agent_is_ready_and_rings_when_one_is() -> None:
    b = board()
    b.sign_in("ana", "Ana", at(0))
    call = b.place_call(CALLER, at(1))
    b.press(call.id, "21234#", at(2))
    assert call.status is CallStatus.QUEUED
    assert b.snapshot()["queues"][1] == {"name": "Support", "waiting": [call.id]}
    b.set_ready("ana", True, at(30))
    assert call.status is CallStatus.RINGING


def test_the_caller_hanging_up_in_the_queue_abandons_the_call() -> None:
    b = board()
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.caller_hang_up(call.id, at(40))
    events = b.take_events()
    folded = as_call(events, call.id)
    assert folded.state is CallState.CLOSED
    assert folded.outcome == "abandoned"
    assert events[-1]["kind"] == "transcript_available"


def test_the_caller_hanging_up_during_the_talk_sends_the_agent_to_wrap_up() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.accept("ana", call.id, at(2))
    b.caller_hang_up(call.id, at(30))
    assert b.agents["ana"].status is AgentStatus.WRAP_UP
    ended = [e for e in b.take_events() if e["kind"] == "ended"]
    assert ended[0]["end_reason"] == "customer_hangup"


def test_the_caller_hanging_up_while_ringing_frees_the_agent() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.caller_hang_up(call.id, at(5))
    assert b.agents["ana"].status is AgentStatus.AVAILABLE
    assert b.agents["ana"].call_id is None


def test_not_ready_during_a_call_applies_after_wrap_up() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.accept("ana", call.id, at(2))
    b.set_ready("ana", False, at(3))
    assert b.agents["ana"].status is AgentStatus.ON_CALL
    b.hang_up("ana", at(10))
    b.finish_wrap_up("ana", None, None, at(12))
    assert b.agents["ana"].status is AgentStatus.NOT_READY


def test_a_transfer_puts_the_call_in_another_queue_for_someone_else() -> None:
    b = board()
    ready_agent(b, "ana")
    ready_agent(b, "ben", when=1)
    call = b.place_call(CALLER, at(2))
    b.press(call.id, "11234#", at(3))
    b.accept("ana", call.id, at(4))
    b.transfer("ana", "Support", at(20))
    assert call.queue == "Support"
    assert call.agent_id == "ben"
    assert b.agents["ana"].status is AgentStatus.AVAILABLE
    b.accept("ben", call.id, at(22))
    folded = as_call(b.take_events(), call.id)
    assert folded.transfer_count == 1
    assert folded.agents == ("ana", "ben")


def test_click_to_dial_places_an_outbound_call_the_customer_answers() -> None:
    b = board()
    b.sign_in("ana", "Ana", at(0))
    call = b.dial("ana", "+44 20 7946 0018", at(1))
    assert call.status is CallStatus.DIALLING
    assert b.agents["ana"].status is AgentStatus.ON_CALL
    b.answer_outbound(call.id, at(6))
    b.hang_up("ana", at(30))
    b.finish_wrap_up("ana", "follow_up", None, at(31))
    folded = as_call(b.take_events(), call.id)
    assert folded.direction is not None
    assert folded.direction.value == "outbound"
    assert folded.to_number == "+442079460018"
    assert folded.state is CallState.CLOSED


def test_an_outbound_call_the_customer_refuses_ends_busy_without_wrap_up() -> None:
    b = board()
    b.sign_in("ana", "Ana", at(0))
    b.set_ready("ana", True, at(0))
    call = b.dial("ana", CALLER, at(1))
    b.caller_hang_up(call.id, at(4))
    assert call.end_reason == "busy"
    assert b.agents["ana"].status is AgentStatus.AVAILABLE


def test_commands_that_do_not_fit_the_state_are_refused_with_a_reason() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    with pytest.raises(Conflict, match="not ringing for Ana"):
        b.accept("ana", call.id, at(1))
    with pytest.raises(Conflict, match="not on a call"):
        b.hold("ana", at(1))
    with pytest.raises(Conflict, match="not in wrap-up"):
        b.finish_wrap_up("ana", None, None, at(1))
    with pytest.raises(InvalidInput, match="country code"):
        b.place_call("5551234", at(1))
    with pytest.raises(InvalidInput, match="unknown queue"):
        b.sign_in("ben", "Ben", at(1), ["Nowhere"])
    b.press(call.id, "11234#", at(2))
    with pytest.raises(Conflict, match="not in the IVR"):
        b.press(call.id, "1", at(3))
    b.accept("ana", call.id, at(4))
    b.accept("ana", call.id, at(5))  # a double click is harmless
    with pytest.raises(Conflict, match="finish it before signing out"):
        b.sign_out("ana", at(6))


def test_signing_in_again_keeps_the_agent_and_their_call() -> None:
    b = board()
    ready_agent(b, "ana")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.sign_in("ana", "Ana Again", at(2))
    view = b.agent_view("ana")
    assert view["agent"]["status"] == "ringing"
    assert view["agent"]["name"] == "Ana Again"
    assert view["call"]["from"] == CALLER


def routed_board(ring_seconds: float = 20) -> Switchboard:
    counter = itertools.count(1)
    return Switchboard(
        number="+15550100000",
        new_id=lambda: f"{next(counter):04d}",
        ring_seconds=ring_seconds,
        routed_by_omniroute=True,
    )


def test_routed_by_omniroute_a_queued_call_is_asked_about_once_and_rings_the_reserved_agent() -> None:
    b = routed_board()
    ready_agent(b, "ana", when=0)
    ready_agent(b, "ben", when=5)
    call = b.place_call(CALLER, at(10))
    b.press(call.id, "11234#", at(11))
    assert call.status is CallStatus.QUEUED  # the switchboard chose nobody
    assert [c.id for c in b.take_route_asks()] == [call.id]
    b.set_ready("ana", True, at(12))
    assert b.take_route_asks() == []  # asked once
    assert b.reserve(call.id, "ben", "res-1", at(13))
    assert (call.status, call.agent_id, b.agents["ben"].status) == (
        CallStatus.RINGING,
        "ben",
        AgentStatus.RINGING,
    )
    assert b.reserve(call.id, "ben", "res-1", at(13))  # the notice after the answer: no change
    assert b.take_rejects() == []
    b.accept("ben", call.id, at(14))
    assert as_call(b.take_events(), call.id).state is CallState.CONNECTED


def test_routed_by_omniroute_declines_and_missed_rings_give_the_reservation_back() -> None:
    b = routed_board(ring_seconds=15)
    ready_agent(b, "ana")
    ready_agent(b, "ben")
    call = b.place_call(CALLER, at(0))
    b.press(call.id, "11234#", at(1))
    b.take_route_asks()
    b.reserve(call.id, "ana", "res-1", at(2))
    b.decline("ana", call.id, at(3))
    assert b.take_rejects() == [(call.id, "res-1")]
    assert (call.status, b.agents["ana"].status) == (CallStatus.QUEUED, AgentStatus.AVAILABLE)
    assert not b.reserve(call.id, "ana", "res-1", at(4))  # a late notice for a spent reservation
    assert call.status is CallStatus.QUEUED
    b.reserve(call.id, "ben", "res-2", at(5))
    b.advance(at(21))  # nobody answered in time
    assert b.take_rejects() == [(call.id, "res-2")]
    assert call.status is CallStatus.QUEUED
    assert b.agents["ben"].ready  # Omniroute's presence decides, not the switchboard


def test_routed_by_omniroute_a_reservation_it_cannot_honour_goes_back_at_once() -> None:
    b = routed_board()
    ready_agent(b, "ana")
    first = b.place_call(CALLER, at(0))
    b.press(first.id, "11234#", at(1))
    b.reserve(first.id, "ana", "res-1", at(2))
    second = b.place_call("+15558675311", at(3))
    b.press(second.id, "11234#", at(4))
    assert not b.reserve(second.id, "ana", "res-2", at(5))  # Ana is ringing for the first call
    assert not b.reserve(second.id, "nobody", "res-3", at(5))  # no softphone signed in
    assert b.take_rejects() == [(second.id, "res-2"), (second.id, "res-3")]
    b.reservation_ended(first.id, "res-1", at(6))  # Omniroute timed it out
    assert (first.status, b.agents["ana"].call_id) == (CallStatus.QUEUED, None)
    assert b.take_rejects() == []  # Omniroute ended it: nothing to give back
    b.route_refused(second.id, at(7))  # Omniroute will not route it: the switchboard does
    assert (second.status, second.agent_id) == (CallStatus.RINGING, "ana")

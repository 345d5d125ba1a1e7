"""Stored call events read back equal: the call is re-folded from them on every delivery."""

from __future__ import annotations

from omniroute.core.clock import ManualClock
from omniroute.voice import codec
from omniroute.voice.adapters.generic import GenericVoiceAdapter
from omniroute.voice.model import Call
from tests.unit.voice.adapters.generic import golden
from tests.unit.voice.builders import ev, straight_call


def test_every_field_survives_a_round_trip_through_json() -> None:
    adapter = GenericVoiceAdapter(provider="sim", clock=ManualClock())
    events = adapter.parse(golden.body("full_call.json"), {})
    events += [
        *straight_call(),
        ev("transferred", 400, transfer_to="queue:retention", previous_call_id="c-0", initial_call_id="c-0"),
        ev("conference", 410, participant="sup", participant_joined=False),
    ]
    for event in events:
        assert codec.decode(codec.encode(event)) == event


def test_a_call_folded_from_stored_events_is_the_same_call() -> None:
    events = straight_call()
    stored = [codec.decode(codec.encode(e)) for e in reversed(events)]
    assert Call.from_events(stored) == Call.from_events(events)

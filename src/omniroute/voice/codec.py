"""Call events as stored JSON and back, exactly. Pure.

Stored events are re-folded into their call on every delivery (``Call.from_events``), so a round
trip must give back an equal ``CallEvent``: same instant, same kinds, same transcript turns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omniroute.voice.model import CallEvent, CallEventKind, Direction, TranscriptTurn


def encode(event: CallEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "call_id": event.call_id,
        "provider": event.provider,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at.isoformat(),
        "direction": event.direction.value if event.direction else None,
        "from_number": event.from_number,
        "to_number": event.to_number,
        "queue": event.queue,
        "ivr_data": dict(event.ivr_data),
        "agent_id": event.agent_id,
        "previous_call_id": event.previous_call_id,
        "initial_call_id": event.initial_call_id,
        "transfer_to": event.transfer_to,
        "participant": event.participant,
        "participant_joined": event.participant_joined,
        "recording_url": event.recording_url,
        "transcript": [
            {"speaker": t.speaker, "text": t.text, "start": t.start, "end": t.end} for t in event.transcript
        ],
        "disposition": event.disposition,
        "notes": event.notes,
        "end_reason": event.end_reason,
        "source_event": event.source_event,
    }


def decode(data: dict[str, Any]) -> CallEvent:
    direction = data.get("direction")
    return CallEvent(
        event_id=data["event_id"],
        call_id=data["call_id"],
        provider=data["provider"],
        kind=CallEventKind(data["kind"]),
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        direction=Direction(direction) if direction else None,
        from_number=data.get("from_number"),
        to_number=data.get("to_number"),
        queue=data.get("queue"),
        ivr_data=dict(data.get("ivr_data") or {}),
        agent_id=data.get("agent_id"),
        previous_call_id=data.get("previous_call_id"),
        initial_call_id=data.get("initial_call_id"),
        transfer_to=data.get("transfer_to"),
        participant=data.get("participant"),
        participant_joined=bool(data.get("participant_joined", True)),
        recording_url=data.get("recording_url"),
        transcript=tuple(
            TranscriptTurn(t["speaker"], t["text"], t.get("start"), t.get("end"))
            for t in data.get("transcript") or ()
        ),
        disposition=data.get("disposition"),
        notes=data.get("notes"),
        end_reason=data.get("end_reason"),
        source_event=data.get("source_event") or "",
    )

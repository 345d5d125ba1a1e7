"""Call events for the model's tests, stamped in seconds after T0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from omniroute.voice.model import CallEvent, CallEventKind

T0 = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
PROVIDER = "ccaas"
CALL = "call-1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(kind: CallEventKind | str, seconds: float, event_id: str | None = None, **fields: Any) -> CallEvent:
    kind = CallEventKind(kind)
    return CallEvent(
        event_id=event_id or f"{kind.value}@{seconds}",
        call_id=fields.pop("call_id", CALL),
        provider=PROVIDER,
        kind=kind,
        occurred_at=at(seconds),
        **fields,
    )


def straight_call() -> list[CallEvent]:
    """Offered, rung, answered by alice, one hold, hung up, wrapped up."""
    return [
        ev(
            "offered",
            0,
            direction="inbound",
            from_number="+15558675310",
            queue="billing",
            ivr_data={"acct": "4521"},
        ),
        ev("ringing", 40, agent_id="alice"),
        ev("answered", 45, agent_id="alice"),
        ev("held", 120),
        ev("resumed", 150),
        ev("ended", 300, end_reason="customer_hangup"),
        ev("wrapup_done", 360, disposition="resolved", notes="reshipped"),
    ]

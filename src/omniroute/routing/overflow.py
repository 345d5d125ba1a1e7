"""Overflow before queueing: out of hours, too many waiting, estimated wait too long. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omniroute.routing.config import OverflowRule, OverflowWhen, QueueSettings
from omniroute.routing.hours import is_open

#: Used for the estimate until a queue has handled enough work to measure its own.
DEFAULT_HANDLE_SECONDS = 300.0

BEFORE_QUEUEING = frozenset(
    {OverflowWhen.OUT_OF_HOURS, OverflowWhen.WAITING_OVER, OverflowWhen.ESTIMATED_WAIT_OVER}
)


@dataclass(frozen=True)
class QueueLoad:
    waiting: int
    staffed: int
    mean_handle_seconds: float | None


def estimated_wait_seconds(load: QueueLoad) -> float | None:
    """A new arrival waits for everyone ahead to be served by the staffed agents.

    None means unbounded: nobody who could take the work is signed in.
    """
    if load.staffed == 0:
        return None
    handle = load.mean_handle_seconds or DEFAULT_HANDLE_SECONDS
    return (load.waiting + 1) * handle / load.staffed


def condition_holds(rule: OverflowRule, settings: QueueSettings, load: QueueLoad, now: datetime) -> bool:
    match rule.when:
        case OverflowWhen.OUT_OF_HOURS:
            return not is_open(settings.operating_hours, now)
        case OverflowWhen.WAITING_OVER:
            return load.waiting > (rule.count or 0)
        case OverflowWhen.ESTIMATED_WAIT_OVER:
            estimate = estimated_wait_seconds(load)
            return estimate is None or estimate > (rule.seconds or 0)
        case _:
            return False  # while-queued conditions are timers, not arrival checks


def first_overflow(settings: QueueSettings, load: QueueLoad, now: datetime) -> OverflowRule | None:
    for rule in settings.overflow:
        if rule.when in BEFORE_QUEUEING and condition_holds(rule, settings, load, now):
            return rule
    return None

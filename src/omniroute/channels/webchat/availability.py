"""Is live chat open right now for a widget's queue? Pure.

A queue is closed while its operating hours (routing configuration) say so, unless an
out-of-hours overflow rule moves new work to another queue that is open: then chat goes on there.
While closed, the widget offers the offline message form instead of a live chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omniroute.routing.config import OverflowAction, OverflowWhen, RoutingConfig
from omniroute.routing.hours import is_open, next_opening


@dataclass(frozen=True)
class Availability:
    open: bool
    queue: str  # the queue that takes the chat (after out-of-hours transfers)
    next_opening: datetime | None = None  # when closed: when the first queue opens again


def availability(config: RoutingConfig, queue_name: str, now: datetime) -> Availability:
    first = config.settings_for(queue_name)
    seen = {queue_name}
    name = queue_name
    while True:
        settings = config.settings_for(name)
        if is_open(settings.operating_hours, now):
            return Availability(open=True, queue=name)
        moved = next(
            (
                r.queue
                for r in settings.overflow
                if r.when is OverflowWhen.OUT_OF_HOURS and r.action is OverflowAction.TRANSFER_TO_QUEUE
            ),
            None,
        )
        if moved is None or moved in seen:
            return Availability(
                open=False, queue=queue_name, next_opening=next_opening(first.operating_hours, now)
            )
        seen.add(moved)
        name = moved

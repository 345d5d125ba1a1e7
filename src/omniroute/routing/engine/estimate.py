"""Estimated wait for a customer in a queue, from what the queue did recently.

Throughput first: with enough recent answers, the time to serve everyone ahead is the position
divided by the recent answer rate (it already includes how many agents work the queue and how
long they take). Until then, or when the queue has been quiet, fall back to the staffing:
position x mean handle time / agents who could take the work.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

#: Answers remembered per queue, and how far back they count.
WINDOW = 50
HORIZON_SECONDS = 1800.0
#: Answers needed before the throughput is trusted.
MIN_ANSWERS = 5


class QueueHistory:
    __slots__ = ("answers", "handle_total", "handled")

    def __init__(self) -> None:
        self.answers: deque[float] = deque(maxlen=WINDOW)
        self.handled = 0
        self.handle_total = 0.0

    def answered(self, now: datetime) -> None:
        self.answers.append(now.timestamp())

    def ended(self, handle_seconds: float | None) -> None:
        if handle_seconds is not None:
            self.handled += 1
            self.handle_total += max(0.0, handle_seconds)

    @property
    def mean_handle_seconds(self) -> float | None:
        return self.handle_total / self.handled if self.handled else None


def estimate_wait(
    position: int, history: QueueHistory, staffed: int, default_handle_seconds: float, now: datetime
) -> float | None:
    """Seconds until the item at ``position`` (1 = next) is likely answered; None = unknown.

    None means nobody who could take the work is signed in and the queue has no recent history.
    """
    cutoff = now.timestamp() - HORIZON_SECONDS
    recent = [t for t in history.answers if t >= cutoff]
    if len(recent) >= MIN_ANSWERS and recent[-1] > recent[0]:
        rate = (len(recent) - 1) / (recent[-1] - recent[0])
        return position / rate
    if staffed == 0:
        return None
    handle = history.mean_handle_seconds or default_handle_seconds
    return position * handle / staffed

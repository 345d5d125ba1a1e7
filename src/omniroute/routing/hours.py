"""Operating hours: is a queue open at an instant, and when does it open next. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from omniroute.routing.config import WEEKDAYS, OperatingHours


def is_open(hours: OperatingHours | None, now: datetime) -> bool:
    """No hours configured means always open; an empty weekly plan means open except holidays."""
    if hours is None:
        return True
    local = now.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.holidays:
        return False
    if not hours.weekly:
        return True
    moment = local.time()
    return any(r.start <= moment < r.end for r in hours.weekly.get(WEEKDAYS[local.weekday()], []))


def next_opening(hours: OperatingHours | None, now: datetime, horizon_days: int = 14) -> datetime | None:
    """The next instant the queue opens (now if open), in UTC; None if closed for the horizon."""
    if is_open(hours, now):
        return now
    assert hours is not None
    zone = ZoneInfo(hours.timezone)
    local = now.astimezone(zone)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        if day in hours.holidays:
            continue
        ranges = hours.weekly.get(WEEKDAYS[day.weekday()], []) if hours.weekly else []
        for r in sorted(ranges, key=lambda r: r.start):
            start = datetime.combine(day, r.start, tzinfo=zone)
            if start > local:
                return start.astimezone(now.tzinfo)
        if not hours.weekly and offset > 0:
            return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(now.tzinfo)
    return None

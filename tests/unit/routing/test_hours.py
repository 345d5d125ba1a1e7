from datetime import UTC, datetime

from omniroute.routing.config import OperatingHours
from omniroute.routing.hours import is_open, next_opening

MADRID = OperatingHours.model_validate(
    {
        "timezone": "Europe/Madrid",
        "weekly": {
            d: [{"start": "09:00", "end": "14:00"}, {"start": "16:00", "end": "19:00"}]
            for d in ("mon", "tue", "wed", "thu", "fri")
        },
        "holidays": ["2026-12-25"],
    }
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_in_local_time_across_the_lunch_break() -> None:
    # Madrid is UTC+1 in winter: 09:00 local is 08:00 UTC.
    assert not is_open(MADRID, utc(2026, 11, 25, 7, 59))
    assert is_open(MADRID, utc(2026, 11, 25, 8, 0))
    assert not is_open(MADRID, utc(2026, 11, 25, 13, 30))  # 14:30 local
    assert is_open(MADRID, utc(2026, 11, 25, 15, 0))


def test_closed_at_weekends_and_holidays() -> None:
    assert not is_open(MADRID, utc(2026, 11, 28, 10, 0))  # Saturday
    assert not is_open(MADRID, utc(2026, 12, 25, 10, 0))  # Friday, but Christmas


def test_next_opening_skips_breaks_weekends_and_holidays() -> None:
    assert next_opening(MADRID, utc(2026, 11, 25, 13, 30)) == utc(2026, 11, 25, 15, 0)
    assert next_opening(MADRID, utc(2026, 11, 27, 19, 0)) == utc(2026, 11, 30, 8, 0)  # Fri → Mon
    assert next_opening(MADRID, utc(2026, 12, 24, 19, 0)) == utc(2026, 12, 28, 8, 0)  # past Christmas
    assert next_opening(MADRID, utc(2026, 11, 25, 9, 0)) == utc(2026, 11, 25, 9, 0)  # open now


def test_no_hours_means_always_open() -> None:
    assert is_open(None, utc(2026, 11, 28, 3, 0))
    holidays_only = OperatingHours.model_validate({"holidays": ["2026-01-01"]})
    assert not is_open(holidays_only, utc(2026, 1, 1, 12, 0))
    assert is_open(holidays_only, utc(2026, 1, 2, 12, 0))

"""The CSAT report's arithmetic (channels/webchat/csat_report.py): figures, days, periods, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from omniroute.channels.webchat.csat_report import (
    MAX_REPORT_DAYS,
    Names,
    check_period,
    csv_cell,
    csv_document,
    figures,
    report,
)
from omniroute.channels.webchat.model import CsatResponse
from omniroute.core.errors import InvalidInput

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(days: float, hours: float = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def test_figures_count_each_score_and_the_top_two_as_satisfied() -> None:
    f = figures([5, 4, 4, 2, 1, 5])
    assert f.responses == 6
    assert f.distribution == {1: 1, 2: 1, 3: 0, 4: 2, 5: 2}
    assert (f.satisfied, f.csat_rate, f.average) == (4, 0.6667, 3.5)


def test_no_ratings_have_no_average_and_no_rate() -> None:
    f = figures([])
    assert (f.responses, f.average, f.csat_rate, f.satisfied) == (0, None, None, 0)
    assert f.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


def test_report_fills_every_utc_day_and_ignores_what_is_outside() -> None:
    ratings = [
        (at(-1), 1),  # before since
        (at(0, 0), 5),  # since is inclusive
        (at(0, 23.99), 3),
        (at(2, 12), 4),
        (at(3), 1),  # until is exclusive
    ]
    r = report(ratings, at(0), at(3))
    assert (r.total.responses, r.total.average) == (3, 4.0)
    assert [(day, f.responses, f.average) for day, f in r.by_day] == [
        (date(2026, 3, 2), 2, 4.0),
        (date(2026, 3, 3), 0, None),
        (date(2026, 3, 4), 1, 4.0),
    ]


def test_a_period_that_does_not_start_at_midnight_names_the_days_it_touches() -> None:
    madrid_midnight = datetime(2026, 3, 1, 23, tzinfo=UTC)  # 00:00 in Madrid is 23:00 UTC
    r = report(
        [(madrid_midnight + timedelta(hours=2), 5)], madrid_midnight, madrid_midnight + timedelta(days=1)
    )
    assert [(day, f.responses) for day, f in r.by_day] == [(date(2026, 3, 1), 0), (date(2026, 3, 2), 1)]


@pytest.mark.parametrize(
    ("since", "until", "required", "reason"),
    [
        (None, at(1), True, "since is required"),
        (at(0), None, True, "until is required"),
        (at(0).replace(tzinfo=None), at(1), False, "since needs a time zone"),
        (at(0), at(1).replace(tzinfo=None), False, "until needs a time zone"),
        (at(1), at(1), False, "until must be after since"),
        (at(0), at(MAX_REPORT_DAYS, 1), False, f"the period is longer than {MAX_REPORT_DAYS} days"),
    ],
)
def test_bad_periods_are_refused_with_the_reason(
    since: datetime | None, until: datetime | None, required: bool, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=f"^{reason}"):
        check_period(since, until, required=required, max_days=MAX_REPORT_DAYS)


def test_a_good_period_passes_and_open_ends_are_fine_when_not_required() -> None:
    check_period(at(0), at(MAX_REPORT_DAYS), required=True, max_days=MAX_REPORT_DAYS)
    check_period(None, None)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_start_with_a_quote(text: str) -> None:
    assert csv_cell(text) == "'" + text


def test_plain_cells_stay_as_they_are() -> None:
    assert csv_cell("Great, thanks = good") == "Great, thanks = good"
    assert csv_cell("") == ""


def test_csv_document_has_a_header_names_and_utc_times() -> None:
    cest = datetime(2026, 6, 1, 11, 30, tzinfo=UTC).astimezone()
    rows = [
        CsatResponse("c-1", "w-1", "q-1", "u-1", 5, 'Said "thanks",\nthen left', cest),
        CsatResponse("c-2", "w-1", "q-2", None, 1, "=cmd|' /C calc'!A0", cest),
    ]
    names = Names(queues={"q-1": "Sales"}, agents={"u-1": "Ana García"}, widgets={"w-1": "Site"})
    text = csv_document(rows, names)
    assert text.startswith("submitted_at,conversation_id,rating,comment,queue_id,queue,agent_id,agent,")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0] == {
        "submitted_at": "2026-06-01T11:30:00Z",
        "conversation_id": "c-1",
        "rating": "5",
        "comment": 'Said "thanks",\nthen left',
        "queue_id": "q-1",
        "queue": "Sales",
        "agent_id": "u-1",
        "agent": "Ana García",
        "widget_id": "w-1",
        "widget": "Site",
    }
    assert (parsed[1]["comment"], parsed[1]["queue"], parsed[1]["agent"]) == ("'=cmd|' /C calc'!A0", "", "")

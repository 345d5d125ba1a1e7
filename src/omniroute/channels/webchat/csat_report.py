"""The CSAT report supervisors read (/admin/csat): which ratings a period and filters select, the
figures folded from them (responses, average, 1 to 5 distribution, CSAT % = share of 4 and 5, a
trend per UTC day), and the CSV export. Pure: the store hands in ratings, this decides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from omniroute.channels.webchat.model import CsatResponse
from omniroute.core.errors import InvalidInput

SCORES = (1, 2, 3, 4, 5)
#: 4 and 5 count as satisfied: the usual CSAT definition ("top two boxes").
SATISFIED = frozenset({4, 5})
#: The longest period one report folds: a year and a day, so a leap year's "last 365 days" fits.
#: It bounds how many ratings one request reads into memory.
MAX_REPORT_DAYS = 366


@dataclass(frozen=True)
class CsatFilter:
    """What a report, list or export counts. ``since`` is inclusive, ``until`` exclusive, so
    consecutive periods never count a rating twice; ``widget_id`` is the channel (only the web
    chat widget asks for ratings)."""

    since: datetime | None = None
    until: datetime | None = None
    queue_id: str | None = None
    agent_id: str | None = None
    widget_id: str | None = None


def check_period(
    since: datetime | None, until: datetime | None, *, required: bool = False, max_days: int | None = None
) -> None:
    """Times need a zone (a naive one would be read in the server's zone, not the caller's);
    ``until`` comes after ``since``; a report's period is bounded."""
    for name, value in (("since", since), ("until", until)):
        if value is None:
            if required:
                msg = f"{name} is required (for example 2026-01-31T00:00:00Z)"
                raise InvalidInput(msg)
            continue
        if value.tzinfo is None:
            msg = f"{name} needs a time zone (for example 2026-01-31T00:00:00Z)"
            raise InvalidInput(msg)
    if since is not None and until is not None:
        if until <= since:
            raise InvalidInput("until must be after since")
        if max_days is not None and until - since > timedelta(days=max_days):
            msg = f"the period is longer than {max_days} days"
            raise InvalidInput(msg)


@dataclass(frozen=True)
class CsatFigures:
    responses: int
    average: float | None
    distribution: dict[int, int]
    satisfied: int
    csat_rate: float | None


def figures(ratings: Iterable[int]) -> CsatFigures:
    counts = dict.fromkeys(SCORES, 0)
    for rating in ratings:
        counts[rating] += 1  # KeyError on 0 or 6: the table's check constraint makes it impossible
    responses = sum(counts.values())
    satisfied = sum(counts[s] for s in SATISFIED)
    points = sum(score * n for score, n in counts.items())
    return CsatFigures(
        responses=responses,
        average=round(points / responses, 2) if responses else None,
        distribution=counts,
        satisfied=satisfied,
        csat_rate=round(satisfied / responses, 4) if responses else None,
    )


@dataclass(frozen=True)
class CsatReport:
    since: datetime
    until: datetime
    total: CsatFigures
    #: Every UTC day the period touches, oldest first, days without ratings included (a trend
    #: with gaps left out would read as steady).
    by_day: tuple[tuple[date, CsatFigures], ...]


def _days(since: datetime, until: datetime) -> list[date]:
    first = since.astimezone(UTC).date()
    last = (until.astimezone(UTC) - timedelta(microseconds=1)).date()  # until is exclusive
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def report(ratings: Iterable[tuple[datetime, int]], since: datetime, until: datetime) -> CsatReport:
    """Fold ``(submitted_at, rating)`` pairs; pairs outside ``[since, until)`` are ignored."""
    check_period(since, until, required=True, max_days=MAX_REPORT_DAYS)
    per_day: dict[date, list[int]] = {day: [] for day in _days(since, until)}
    every: list[int] = []
    for submitted_at, rating in ratings:
        if not since <= submitted_at < until:
            continue
        every.append(rating)
        per_day[submitted_at.astimezone(UTC).date()].append(rating)
    return CsatReport(
        since=since,
        until=until,
        total=figures(every),
        by_day=tuple((day, figures(found)) for day, found in per_day.items()),
    )


# -- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "submitted_at",
    "conversation_id",
    "rating",
    "comment",
    "queue_id",
    "queue",
    "agent_id",
    "agent",
    "widget_id",
    "widget",
)
#: A cell starting with one of these is a formula to a spreadsheet; comments are the customer's
#: own text, so a leading quote keeps "=HYPERLINK(…)" as text (OWASP's CSV injection advice).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


@dataclass(frozen=True)
class Names:
    """Display names for the ids a rating carries (missing ones stay empty)."""

    queues: Mapping[str, str]
    agents: Mapping[str, str]
    widgets: Mapping[str, str]


def csv_document(responses: Sequence[CsatResponse], names: Names) -> str:
    """One row per rating, in the order given, with a header row; UTC ISO times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in responses:
        agent = names.agents.get(r.agent_id, "") if r.agent_id else ""
        writer.writerow(
            [
                r.submitted_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                r.conversation_id,
                str(r.rating),
                csv_cell(r.comment),
                r.queue_id,
                csv_cell(names.queues.get(r.queue_id, "")),
                r.agent_id or "",
                csv_cell(agent),
                r.widget_id,
                csv_cell(names.widgets.get(r.widget_id, "")),
            ]
        )
    return out.getvalue()

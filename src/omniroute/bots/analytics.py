"""Bot analytics: figures folded from the bot events in the event log. Pure arithmetic.

A session counts in the period its ``bot.session_started`` event falls in. Its outcome is its
first ``bot.handed_off`` (escalated, with the reason) or ``bot.session_ended`` (resolved or
abandoned); without one it is still active. CSAT counts the widget ratings
(``webchat.csat_submitted``) of conversations whose session ended without a hand-off: the bot
finished them on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STARTED = "bot.session_started"
HANDED_OFF = "bot.handed_off"
ENDED = "bot.session_ended"
CSAT = "webchat.csat_submitted"
OUTCOMES = ("resolved", "escalated", "abandoned")


@dataclass(frozen=True)
class Figures:
    sessions: int
    active: int
    resolved: int
    escalated: int
    abandoned: int
    containment_rate: float | None  # resolved / finished sessions: no person was needed
    escalation_rate: float | None
    abandon_rate: float | None
    escalation_reasons: dict[str, int]  # most frequent first
    csat_responses: int
    csat_average: float | None


@dataclass(frozen=True)
class Report:
    total: Figures
    by_bot: dict[str, Figures]
    by_day: dict[str, Figures]  # "YYYY-MM-DD" (UTC) of the session's start


@dataclass
class _Session:
    bot_id: str
    day: str
    outcome: str | None = None
    reason: str | None = None
    rating: int | None = None


@dataclass
class _Tally:
    sessions: list[_Session] = field(default_factory=list)

    def figures(self) -> Figures:
        counts = dict.fromkeys(OUTCOMES, 0)
        reasons: dict[str, int] = {}
        ratings: list[int] = []
        for s in self.sessions:
            if s.outcome in counts:
                counts[s.outcome] += 1
            if s.outcome == "escalated":
                key = s.reason or "unknown"
                reasons[key] = reasons.get(key, 0) + 1
            if s.rating is not None and s.outcome in ("resolved", "abandoned"):
                ratings.append(s.rating)
        finished = sum(counts.values())
        return Figures(
            sessions=len(self.sessions),
            active=len(self.sessions) - finished,
            resolved=counts["resolved"],
            escalated=counts["escalated"],
            abandoned=counts["abandoned"],
            containment_rate=_ratio(counts["resolved"], finished),
            escalation_rate=_ratio(counts["escalated"], finished),
            abandon_rate=_ratio(counts["abandoned"], finished),
            escalation_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            csat_responses=len(ratings),
            csat_average=round(sum(ratings) / len(ratings), 3) if ratings else None,
        )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarize(events: Iterable[Mapping[str, Any]], *, bot_id: str | None = None) -> Report:
    """Fold event envelopes (any order by position; other types ignored) into the report.

    ``events`` must hold the ``bot.session_started`` events of the period and every later bot
    outcome and CSAT event of those conversations."""
    sessions: dict[str, _Session] = {}
    by_conversation: dict[str, _Session] = {}
    later: list[Mapping[str, Any]] = []
    for event in events:
        if event.get("type") == STARTED:
            if bot_id is not None and event.get("bot_id") != bot_id:
                continue
            session = _Session(str(event["bot_id"]), str(event["occurred_at"])[:10])
            sessions[str(event["session_id"])] = session
            by_conversation[str(event["conversation_id"])] = session
        else:
            later.append(event)
    for event in later:
        kind = event.get("type")
        if kind in (HANDED_OFF, ENDED):
            found = sessions.get(str(event.get("session_id")))
            if found is None or found.outcome is not None:
                continue
            if kind == HANDED_OFF:
                found.outcome, found.reason = "escalated", event.get("reason")
            else:
                found.outcome, found.reason = event.get("outcome"), event.get("reason")
        elif kind == CSAT:
            target = by_conversation.get(str(event.get("conversation_id")))
            rating = event.get("rating")
            if target is not None and isinstance(rating, int) and target.rating is None:
                target.rating = rating
    total = _Tally()
    bots: dict[str, _Tally] = {}
    days: dict[str, _Tally] = {}
    for session in sessions.values():
        total.sessions.append(session)
        bots.setdefault(session.bot_id, _Tally()).sessions.append(session)
        days.setdefault(session.day, _Tally()).sessions.append(session)
    return Report(
        total=total.figures(),
        by_bot={k: v.figures() for k, v in sorted(bots.items())},
        by_day={k: v.figures() for k, v in sorted(days.items())},
    )

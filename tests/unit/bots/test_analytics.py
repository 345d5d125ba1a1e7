"""Bot analytics folded from event envelopes (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from omniroute.bots.analytics import summarize


def started(session: str, bot: str = "banking", day: str = "2026-03-02") -> dict[str, Any]:
    return {
        "type": "bot.session_started",
        "occurred_at": f"{day}T09:00:00Z",
        "conversation_id": f"c-{session}",
        "session_id": session,
        "bot_id": bot,
        "language": "en",
    }


def handed_off(session: str, reason: str, bot: str = "banking") -> dict[str, Any]:
    return {
        "type": "bot.handed_off",
        "conversation_id": f"c-{session}",
        "session_id": session,
        "bot_id": bot,
        "reason": reason,
        "queue_id": "q",
        "context": {},
    }


def ended(session: str, outcome: str, bot: str = "banking") -> dict[str, Any]:
    return {
        "type": "bot.session_ended",
        "conversation_id": f"c-{session}",
        "session_id": session,
        "bot_id": bot,
        "outcome": outcome,
        "reason": None,
    }


def rated(session: str, rating: int) -> dict[str, Any]:
    return {"type": "webchat.csat_submitted", "conversation_id": f"c-{session}", "rating": rating}


EVENTS = [
    started("s1"),
    started("s2"),
    started("s3", day="2026-03-03"),
    started("s4", bot="sales", day="2026-03-03"),
    started("s5", day="2026-03-03"),
    started("s6"),
    ended("s1", "resolved"),
    rated("s1", 5),
    rated("s1", 1),  # a second rating of the same chat does not count
    handed_off("s2", "requested"),
    rated("s2", 2),  # rated after a person took over: not bot-only
    ended("s2", "abandoned"),  # a late end after the hand-off changes nothing
    handed_off("s3", "negative_sentiment"),
    ended("s4", "abandoned"),
    rated("s4", 3),
    handed_off("s6", "requested"),
    {"type": "bot.topic_entered", "session_id": "s1"},  # other types are ignored
]


def test_outcomes_rates_reasons_and_bot_only_csat() -> None:
    total = summarize(EVENTS).total
    assert (total.sessions, total.active, total.resolved, total.escalated, total.abandoned) == (6, 1, 1, 3, 1)
    assert total.containment_rate == pytest.approx(1 / 5, abs=1e-4)
    assert total.escalation_rate == pytest.approx(3 / 5, abs=1e-4)
    assert total.abandon_rate == pytest.approx(1 / 5, abs=1e-4)
    assert total.escalation_reasons == {"requested": 2, "negative_sentiment": 1}
    assert list(total.escalation_reasons) == ["requested", "negative_sentiment"], "most frequent first"
    assert (total.csat_responses, total.csat_average) == (2, 4.0)


def test_per_bot_and_per_day_and_one_bot_only() -> None:
    report = summarize(EVENTS)
    assert list(report.by_bot) == ["banking", "sales"]
    assert (report.by_bot["sales"].sessions, report.by_bot["sales"].abandoned) == (1, 1)
    assert list(report.by_day) == ["2026-03-02", "2026-03-03"]
    assert report.by_day["2026-03-03"].sessions == 3
    assert report.by_day["2026-03-02"].escalation_reasons == {"requested": 2}
    banking = summarize(EVENTS, bot_id="banking")
    assert banking.total.sessions == 5
    assert list(banking.by_bot) == ["banking"]
    assert banking.total.csat_responses == 1, "the sales bot's rating is left out"


def test_outcomes_without_a_start_in_the_period_are_ignored_and_nothing_is_none() -> None:
    report = summarize([handed_off("old", "requested"), ended("older", "resolved"), rated("old", 5)])
    assert report.total.sessions == 0
    assert (report.total.containment_rate, report.total.csat_average) == (None, None)
    assert (report.by_bot, report.by_day) == ({}, {})

"""Messenger's messaging window: RESPONSE, the HUMAN_AGENT tag, or a refusal before calling Meta."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omniroute.channels.messenger.outbound import build
from omniroute.channels.messenger.window import (
    HUMAN_AGENT,
    RESPONSE,
    decide,
    enabled,
    validate_settings,
)
from omniroute.channels.port import Outbound, PermanentSendError

WROTE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def after(elapsed: timedelta, *, sender: str | None = "agent", tag: bool = True) -> object:
    """The decision, or the refusal's reason."""
    try:
        return decide(WROTE, WROTE + elapsed, sender_kind=sender, human_agent_tag=tag)
    except PermanentSendError as exc:
        return str(exc)


@pytest.mark.parametrize("sender", ["agent", "bot", None])
@pytest.mark.parametrize("tag", [True, False])
def test_within_a_day_everyone_sends_a_response(sender: str | None, tag: bool) -> None:
    for elapsed in (timedelta(0), 5 * HOUR, 23 * HOUR):
        assert after(elapsed, sender=sender, tag=tag) == RESPONSE
    if not tag or sender != "agent":
        assert after(24 * HOUR, sender=sender, tag=tag) == RESPONSE  # the last moment Meta allows


def test_an_agents_later_reply_carries_the_human_agent_tag_up_to_seven_days() -> None:
    for elapsed in (24 * HOUR + timedelta(seconds=1), 30 * HOUR, 6 * 24 * HOUR, 7 * 24 * HOUR):
        assert after(elapsed) == HUMAN_AGENT
    # Our "last wrote" is a little later than Meta's: the tag takes over before the 24 hours end.
    assert after(24 * HOUR - timedelta(minutes=5)) == HUMAN_AGENT
    assert after(24 * HOUR - timedelta(minutes=15)) == RESPONSE


def test_after_seven_days_nothing_goes_out() -> None:
    reason = after(7 * 24 * HOUR + timedelta(seconds=1))
    assert isinstance(reason, str)
    assert "more than 7 days" in reason
    assert WROTE.isoformat() in reason
    assert "until the customer writes again" in reason
    assert isinstance(after(30 * 24 * HOUR), str)


def test_without_the_setting_an_agent_is_refused_after_24_hours_with_what_to_do() -> None:
    reason = after(30 * HOUR, tag=False)
    assert isinstance(reason, str)
    assert "24-hour messaging window" in reason
    assert "human_agent_tag" in reason
    assert "Human Agent permission" in reason


@pytest.mark.parametrize("sender", ["bot", None, "system"])
def test_a_bot_never_gets_the_tag(sender: str | None) -> None:
    reason = after(30 * HOUR, sender=sender)
    assert isinstance(reason, str)
    assert "automated message" in reason
    assert "HUMAN_AGENT" in reason
    assert "an agent can take the conversation over" in reason


def test_an_unknown_last_message_leaves_the_check_to_meta() -> None:
    assert decide(None, WROTE, sender_kind="bot", human_agent_tag=False) == RESPONSE


def test_the_send_api_body_carries_the_type_and_tag() -> None:
    message = Outbound("o-1", "c-1", "6789012345678901", "Your refund went out today.")
    assert build(message, HUMAN_AGENT) == {
        "recipient": {"id": "6789012345678901"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Your refund went out today."},
    }
    assert "tag" not in build(message, RESPONSE)


def test_the_setting_is_a_boolean() -> None:
    assert enabled({"human_agent_tag": True}) is True
    assert enabled({"human_agent_tag": "true"}) is False
    assert enabled({}) is False
    assert validate_settings({"page_id": "1"}, {}) == []
    assert validate_settings({"human_agent_tag": False}, {}) == []
    [problem] = validate_settings({"human_agent_tag": "yes"}, {})
    assert "human_agent_tag must be true or false" in problem

"""Widget settings validation and the pre-chat survey's server-side checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from omniroute.channels.webchat.model import check_offline_message, check_rating, read_answers
from omniroute.channels.webchat.settings import WidgetSettings, localise
from omniroute.core.errors import InvalidInput

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "order",
        "type": "text",
        "label": {"en": "Order number", "es": "Número de pedido"},
        "required": True,
    },
    {"id": "details", "type": "multiline", "label": "Details", "max_length": 20},
    {
        "id": "topic",
        "type": "choice",
        "label": "Topic",
        "required": True,
        "options": [{"value": "returns", "label": "Returns"}, {"value": "billing", "label": "Billing"}],
    },
    {"id": "privacy", "type": "consent", "label": "I accept the privacy policy", "required": True},
    {"id": "news", "type": "consent", "label": "Send me news"},
]


def survey() -> WidgetSettings:
    return WidgetSettings.model_validate({"prechat": {"questions": QUESTIONS}})


def test_defaults_need_no_document() -> None:
    s = WidgetSettings()
    assert (s.language, s.theme.position, s.theme.primary_color) == ("auto", "right", "#0f766e")
    assert s.masking.card_numbers is True
    assert s.identity.mode == "off"
    assert (s.csat.enabled, s.offline.enabled, s.transcript.download) == (True, True, True)


def test_valid_answers_become_text_for_routing_rules() -> None:
    answers = read_answers(
        survey().prechat.questions,
        {"order": "  A-1 \n 2 ", "details": "two\nlines", "topic": "returns", "privacy": True, "news": False},
    )
    assert answers == {
        "order": "A-1 2",
        "details": "two\nlines",
        "topic": "returns",
        "privacy": "yes",
        "news": "no",
    }


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_answers(
            survey().prechat.questions,
            {"details": "x" * 21, "topic": "refunds", "privacy": False, "extra": "?"},
        )
    reason = caught.value.reason
    assert "answers.extra: no such question" in reason
    assert "answers.order: an answer is required" in reason
    assert "answers.details: longer than 20 characters" in reason
    assert "answers.topic: 'refunds' is not one of the options" in reason
    assert "answers.privacy: consent is required" in reason


def test_answers_have_the_right_types() -> None:
    with pytest.raises(
        InvalidInput, match=r"answers.order: the answer must be text.*answers.privacy: consent is"
    ):
        read_answers(survey().prechat.questions, {"order": 12, "topic": "billing", "privacy": "yes"})


def test_optional_questions_may_be_skipped() -> None:
    answers = read_answers(survey().prechat.questions, {"order": "1", "topic": "billing", "privacy": True})
    assert answers == {"order": "1", "topic": "billing", "privacy": "yes"}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"theme": {"primary_color": "teal"}}, "not a hex colour"),
        ({"theme": {"logo_url": "http://example.com/logo.png"}}, "https:// URL or a path"),
        ({"theme": {"logo_url": "javascript:alert(1)"}}, "https:// URL or a path"),
        ({"theme": {"logo_url": "//evil.example/logo.png"}}, "https:// URL or a path"),
        ({"theme": {"position": "top"}}, "position"),
        ({"theme": {"title": {"fr": "Bonjour"}}}, "unknown language"),
        ({"prechat": {"questions": [{"id": "name", "type": "text", "label": "x"}]}}, "reserved"),
        ({"prechat": {"questions": [{"id": "t", "type": "choice", "label": "x"}]}}, "at least two options"),
        (
            {
                "prechat": {
                    "questions": [
                        {
                            "id": "t",
                            "type": "text",
                            "label": "x",
                            "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
                        }
                    ]
                }
            },
            "only choice questions",
        ),
        (
            {"prechat": {"questions": [{"id": "t", "type": "consent", "label": "x", "max_length": 3}]}},
            "max_length applies",
        ),
        (
            {
                "prechat": {
                    "questions": [
                        {"id": "a", "type": "text", "label": "x"},
                        {"id": "a", "type": "text", "label": "y"},
                    ]
                }
            },
            "unique",
        ),
        ({"prechat": {"questions": [{"id": "Bad Id", "type": "text", "label": "x"}]}}, "pattern"),
        ({"masking": {"patterns": [{"name": "x", "pattern": "("}]}}, "invalid regular expression"),
        ({"masking": {"patterns": [{"name": "x", "pattern": "a*"}]}}, "matches empty text"),
        ({"identity": {"mode": "required", "algorithm": "RS256"}}, "need public_key"),
        ({"identity": {"mode": "required", "algorithm": "RS256", "public_key": "nope"}}, "not a PEM"),
        ({"texts": {"en": {"no_such_string": "x"}}}, "unknown string key"),
        ({"texts": {"de": {"title": "Hallo"}}}, "unknown language"),
        ({"proactive": [{"id": "a", "message": "Hi"}, {"id": "a", "message": "Ho"}]}, "unique"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        WidgetSettings.model_validate(document)


def test_colours_and_server_paths_are_accepted() -> None:
    s = WidgetSettings.model_validate(
        {"theme": {"primary_color": "#1D4ED8", "logo_url": "/static/widget/logo.svg", "position": "left"}}
    )
    assert (s.theme.primary_color, s.theme.logo_url) == ("#1d4ed8", "/static/widget/logo.svg")


def test_text_falls_back_to_english_then_anything() -> None:
    assert localise({"en": "Hi", "es": "Hola"}, "es") == "Hola"
    assert localise({"en": "Hi"}, "es") == "Hi"
    assert localise({"es": "Hola"}, "en") == "Hola"
    assert localise("Same", "es") == "Same"
    assert localise(None, "es", "default") == "default"


def test_ratings_and_offline_messages_are_checked() -> None:
    assert check_rating(5, "  great ") == "great"
    for bad in (0, 6):
        with pytest.raises(InvalidInput, match="between 1 and 5"):
            check_rating(bad, "")
    assert check_offline_message(" Lee ", " LEE@example.com ", " hi ", 100) == (
        "Lee",
        "lee@example.com",
        "hi",
    )
    with pytest.raises(InvalidInput, match=r"name is required; email is required.*message is required"):
        check_offline_message("", "", "", 100)
    with pytest.raises(InvalidInput, match="email is not valid; message is longer than 3"):
        check_offline_message("Lee", "nope", "long", 3)

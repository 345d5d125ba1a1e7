"""Bot settings validate like flows: every problem named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omniroute.bots.flows.bot import DEFAULT_REQUEST_PHRASES, BotSettings


def test_defaults_speak_both_languages_and_escalate_on_requests() -> None:
    settings = BotSettings(name="Helper")
    assert settings.languages == ["en", "es"]
    assert settings.escalation.request_phrases == DEFAULT_REQUEST_PHRASES
    assert "humano" in settings.escalation.request_phrases["es"]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"name": "x", "languages": ["en"], "default_language": "es"}, "default_language"),
        ({"name": "x", "kind": "external"}, "needs 'external'"),
        ({"name": "x", "kind": "external", "external": {"endpoint": "ftp://bot"}}, "http"),
        ({"name": "x", "escalation": {"rules": [{"name": "vip"}]}}, "needs 'when'"),
        ({"name": "x", "escalation": {"request_phrases": {"fr": ["agent"]}}}, "unknown languages"),
        ({"name": "x", "languages": ["en", "en"]}, "each language once"),
    ],
)
def test_incoherent_settings_are_refused(document: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        BotSettings.model_validate(document)

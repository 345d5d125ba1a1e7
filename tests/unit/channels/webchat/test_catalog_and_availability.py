"""Languages, the public config, operating hours and transcripts: the widget's pure parts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from omniroute.channels.webchat.availability import availability
from omniroute.channels.webchat.catalog import CATALOG, EN, ES, pick_language, strings_for
from omniroute.channels.webchat.model import Widget
from omniroute.channels.webchat.public_config import public_config
from omniroute.channels.webchat.settings import WidgetSettings
from omniroute.channels.webchat.transcript import transcript_file
from omniroute.conversations.model import SenderKind
from omniroute.conversations.store import Message
from omniroute.routing.config import RoutingConfig

MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WEEKDAYS = {d: [{"start": "08:00", "end": "18:00"}] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_both_languages_have_every_string_with_the_same_placeholders() -> None:
    assert set(ES) == set(EN)
    for key, text in EN.items():
        assert set(re.findall(r"\{\w+\}", ES[key])) == set(re.findall(r"\{\w+\}", text)), key
        assert ES[key] != text or key in {"transcript_started"}, key


def test_language_is_the_widget_setting_else_the_browser_else_english() -> None:
    assert pick_language("es", "en-GB") == "es"
    assert pick_language("auto", "es-MX,es;q=0.9,en;q=0.8") == "es"
    assert pick_language("auto", "fr-FR,en-US;q=0.5") == "en"
    assert pick_language("auto", "de") == "en"
    assert pick_language("auto", None) == "en"


def test_overrides_replace_catalogue_strings_per_language() -> None:
    strings = strings_for("es", {"es": {"title": "Hablemos"}, "en": {"title": "Talk"}})
    assert strings["title"] == "Hablemos"
    assert strings["start"] == CATALOG["es"]["start"]


def test_queues_are_open_without_hours_and_closed_outside_them() -> None:
    config = RoutingConfig.model_validate(
        {"queues": [{"queue": "Sales", "operating_hours": {"weekly": WEEKDAYS}}]}
    )
    assert availability(config, "Support", SUNDAY_NOON).open
    assert availability(config, "Sales", MONDAY_NOON).open
    closed = availability(config, "Sales", SUNDAY_NOON)
    assert not closed.open
    assert closed.next_opening == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_an_out_of_hours_transfer_to_an_open_queue_keeps_chat_open() -> None:
    config = RoutingConfig.model_validate(
        {
            "queues": [
                {
                    "queue": "Sales",
                    "operating_hours": {"weekly": WEEKDAYS},
                    "overflow": [{"when": "out_of_hours", "action": "transfer_to_queue", "queue": "Support"}],
                },
                {"queue": "Support", "operating_hours": {"holidays": ["2026-03-01"]}},
            ]
        }
    )
    assert availability(config, "Sales", datetime(2026, 3, 3, 20, 0, tzinfo=UTC)).open
    assert not availability(config, "Sales", SUNDAY_NOON).open


def test_public_config_is_localised_and_holds_no_secrets() -> None:
    settings = WidgetSettings.model_validate(
        {
            "theme": {"title": {"en": "Help", "es": "Ayuda"}},
            "prechat": {
                "questions": [
                    {
                        "id": "topic",
                        "type": "choice",
                        "label": {"en": "Topic", "es": "Tema"},
                        "options": [{"value": "a", "label": {"es": "Uno"}}, {"value": "b", "label": "Dos"}],
                    }
                ]
            },
            "masking": {"patterns": [{"name": "secret", "pattern": "s3cr3t-pattern"}]},
            "proactive": [{"id": "hi", "message": {"en": "Hi", "es": "Hola"}, "min_seconds_on_page": 5}],
        }
    )
    widget = Widget("w", "Shop", "pk", ("*",), None, settings, identity_secret="sealed-value")
    out = public_config(
        widget,
        language="es",
        queues=[],
        availability=availability(RoutingConfig(), "Sales", MONDAY_NOON),
        email_transcripts_possible=False,
    )
    assert out.theme.title == "Ayuda"
    assert out.strings["start"] == "Iniciar chat"
    assert [o.label for o in out.prechat.questions[0].options] == ["Uno", "Dos"]
    assert out.proactive[0].message == "Hola"
    assert out.transcript.email is False  # no email account: the widget offers no email button
    dumped = out.model_dump_json()
    assert "sealed-value" not in dumped
    assert "s3cr3t-pattern" not in dumped


def message(seq: int, kind: SenderKind, name: str, text: str) -> Message:
    return Message(
        id=f"m{seq}",
        conversation_id="c",
        seq=seq,
        sender_kind=kind,
        sender_id=None,
        sender_name=name,
        text=text,
        created_at=MONDAY_NOON,
    )


def test_transcripts_escape_what_people_wrote() -> None:
    messages = [
        message(1, SenderKind.CUSTOMER, "Lee <b>", "<script>alert(1)</script>"),
        message(2, SenderKind.SYSTEM, "Omniroute", "The customer ended the conversation."),
    ]
    common = {"title": "Chat transcript", "started": "Started", "conversation_id": "0000-abcdef12"}
    page = transcript_file("html", created_at=MONDAY_NOON, messages=messages, language="en", **common)
    assert page.filename == "chat-transcript-20260302-abcdef12.html"
    assert "<script>" not in page.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body
    assert "Lee &lt;b&gt;" in page.body
    text = transcript_file("text", created_at=MONDAY_NOON, messages=messages, language="en", **common)
    assert text.media_type.startswith("text/plain")
    assert "[2026-03-02 12:00 UTC] Lee <b>: <script>alert(1)</script>" in text.body
    assert "[2026-03-02 12:00 UTC] The customer ended the conversation." in text.body

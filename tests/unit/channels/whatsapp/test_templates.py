"""WhatsApp templates, pure: the account's setting, parameters, the transcript text, the Cloud API
payload, Meta's template list, and the window a conversation is in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from omniroute.channels.port import Outbound, PermanentSendError
from omniroute.channels.whatsapp import outbound, templates
from omniroute.channels.whatsapp.templates import Skipped, Template, TemplateRefused

ORDER = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "body": "Hi {{1}}, your order {{2}} has shipped.",
    "header": "Order update",
    "footer": "Acme Outfitters",
    "buttons": ["Track it", "Talk to us"],
}


def test_a_stored_template_round_trips_and_counts_its_parameters() -> None:
    template = templates.parse(ORDER)
    assert template.parameter_count == 2
    assert template.key == ("order_update", "en_US")
    assert templates.parse(template.as_setting()) == template
    plain = templates.parse({"name": "hello", "language": "es", "body": "Hola, ¿seguimos?"})
    assert (plain.category, plain.parameter_count, plain.as_setting().get("header")) == ("UTILITY", 0, None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"name": "Order Update"}, "lower-case letters"),
        ({"language": "english"}, "language code"),
        ({"category": "PROMO"}, "category must be one of"),
        ({"body": ""}, "body text is required"),
        ({"body": "x" * 1025}, "WhatsApp allows 1024"),
        ({"body": "Hi {{1}}, order {{3}}"}, "{{1}} to {{3}} without gaps"),
        ({"body": "Hi {{first_name}}"}, "named parameters are not supported"),
        ({"header": "Hello {{1}}"}, "header with a parameter is not supported"),
        ({"buttons": ["a button title that is far too long"]}, "1-25 characters"),
        ({"colour": "blue"}, "unknown field colour"),
    ],
)
def test_what_whatsapp_would_not_take_is_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(TemplateRefused, match=reason.replace("{", r"\{").replace("}", r"\}")):
        templates.parse(ORDER | change)


def test_the_account_settings_are_checked_as_a_whole() -> None:
    assert templates.validate_settings({"phone_number_id": "1", "templates": [ORDER]}, {}) == []
    assert templates.validate_settings({"phone_number_id": "1"}, {}) == []
    problems = templates.validate_settings({"waba_id": "acme", "templates": [ORDER, ORDER]}, {})
    assert problems == [
        "waba_id must be the WhatsApp Business Account ID (digits)",
        "template 'order_update' in en_US is listed twice",
    ]
    assert templates.validate_settings({"templates": {"name": "x"}}, {}) == ["templates must be a list"]


def test_finding_a_template_names_what_is_missing() -> None:
    listed = [templates.parse(ORDER), templates.parse(ORDER | {"language": "es_ES"})]
    assert templates.find(listed, "order_update", "es_ES").language == "es_ES"
    with pytest.raises(TemplateRefused, match=r"has no fr_FR version \(it has en_US, es_ES\)"):
        templates.find(listed, "order_update", "fr_FR")
    with pytest.raises(TemplateRefused, match="no template 'welcome'"):
        templates.find(listed, "welcome", "en_US")


def test_parameters_are_counted_and_checked_like_whatsapp_does() -> None:
    template = templates.parse(ORDER)
    assert templates.check_parameters(template, [" Kerry ", "#4417"]) == ("Kerry", "#4417")
    for given, reason in [
        (["Kerry"], "takes 2 parameter\\(s\\), 1 given"),
        (["Kerry", "#4417", "extra"], "takes 2 parameter\\(s\\), 3 given"),
        (["Kerry", "  "], "parameter \\{\\{2\\}\\} is empty"),
        (["Kerry\nFisher", "#4417"], "line break"),
        (["Kerry     Fisher", "#4417"], "more than four spaces"),
        (["Kerry", "x" * 1025], "longer than 1024"),
    ]:
        with pytest.raises(TemplateRefused, match=reason):
            templates.check_parameters(template, given)


def test_the_transcript_shows_what_the_customer_gets() -> None:
    template = templates.parse(ORDER)
    assert templates.render(template, ("Kerry", "#4417")) == (
        "Order update\n\nHi Kerry, your order #4417 has shipped.\n\n"
        "Acme Outfitters\n\n[Track it] [Talk to us]"
    )
    # A value that looks like a placeholder is not filled again.
    plain = Template("t", "en", "UTILITY", "{{1}} and {{2}}")
    assert templates.render(plain, ("{{2}}", "b")) == "{{2}} and b"


def test_the_cloud_api_payload_is_metas_template_shape() -> None:
    template = templates.parse(ORDER)
    reference = templates.reference(template, ("Kerry", "#4417"))
    message = Outbound("o1", "c1", "16505551234", "rendered text", template=reference)
    assert outbound.build(message) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "16505551234",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Kerry"}, {"type": "text", "text": "#4417"}],
                }
            ],
        },
    }
    # Without parameters there is nothing to fill: no components (as Meta's hello_world).
    hello = templates.reference(Template("hello_world", "en_US", "UTILITY", "Hello World"), ())
    assert templates.cloud_api_template(hello) == {
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    with pytest.raises(PermanentSendError, match="unreadable template"):
        outbound.build(Outbound("o2", "c1", "1", "x", template={"name": 3}))


def meta_item(**change: Any) -> dict[str, Any]:
    """One ``data[]`` entry as ``GET /{waba-id}/message_templates`` answers it."""
    item: dict[str, Any] = {
        "name": "order_update",
        "parameter_format": "POSITIONAL",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order update"},
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} has shipped.",
                "example": {"body_text": [["Pablo", "#1234"]]},
            },
            {"type": "FOOTER", "text": "Acme Outfitters"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Track it"},
                    {"type": "URL", "text": "Our shop", "url": "https://shop.example/"},
                ],
            },
        ],
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "1283462612358730",
    }
    return item | change


def test_metas_approved_templates_are_kept_and_the_rest_skipped_with_a_reason() -> None:
    kept = templates.from_graph(meta_item())
    assert isinstance(kept, Template)
    assert kept.as_setting() == ORDER | {"buttons": ["Track it", "Our shop"]}

    def reason(item: dict[str, Any]) -> str:
        found = templates.from_graph(item)
        assert isinstance(found, Skipped), found
        return found.reason

    assert reason(meta_item(status="PENDING")) == "status PENDING: only approved templates can be sent"
    assert reason(meta_item(status="REJECTED")).startswith("status REJECTED")
    assert reason(meta_item(parameter_format="NAMED")) == "named parameters are not supported"
    image = meta_item(components=[{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}])
    assert reason(image) == "image headers are not supported"
    dynamic = meta_item(
        components=[
            {"type": "BODY", "text": "Hi"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "URL", "text": "Track", "url": "https://x.example/{{1}}"}],
            },
        ]
    )
    assert reason(dynamic) == "a button of type url needs a parameter (not supported)"
    otp = meta_item(
        components=[{"type": "BODY", "text": "Hi"}, {"type": "BUTTONS", "buttons": [{"type": "OTP"}]}]
    )
    assert reason(otp) == "a button of type otp needs a parameter (not supported)"
    assert reason(meta_item(components=[{"type": "CAROUSEL"}])) == "carousel components are not supported"
    assert reason(meta_item(components=[])) == "the body text is required"


def test_the_window_says_when_it_closes() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    recent = templates.window_at(now - timedelta(hours=23), now)
    assert recent.open
    assert recent.closes_at == now + timedelta(hours=1)
    assert not templates.window_at(now - timedelta(hours=25), now).open
    never = templates.window_at(None, now)
    assert (never.open, never.closes_at) == (False, None)

"""Variables in texts and HTTP actions: references only, never code."""

from __future__ import annotations

from omniroute.bots.flows.templates import render, render_url, render_value

VARS = {
    "name": "Ana",
    "topic": {"card": "1234"},
    "amount": 12.0,
    "ok": True,
    "result": {"body": {"balance": 10.5}},
}


def test_render_reads_dotted_paths_and_leaves_missing_empty() -> None:
    assert (
        render("Hi {{ name }}, card {{topic.card}}: {{ amount }} {{ok}}", VARS) == "Hi Ana, card 1234: 12 yes"
    )
    assert render("{{result.body.balance}} / {{nothing.here}}.", VARS) == "10.5 / ."
    assert render("{{ __class__ }}{{ name.upper }}", VARS) == ""


def test_url_values_are_percent_encoded() -> None:
    found = render_url("https://api.example/c/{{name}}?q={{x}}", {"name": "a/b?c=d", "x": "1 2&y=3"})
    assert found == "https://api.example/c/a%2Fb%3Fc%3Dd?q=1%202%26y%3D3"


def test_render_value_keeps_types_for_whole_references() -> None:
    body = {"card": "{{topic.card}}", "amount": "{{amount}}", "note": "for {{name}}", "list": ["{{ok}}", 3]}
    assert render_value(body, VARS) == {"card": "1234", "amount": 12.0, "note": "for Ana", "list": [True, 3]}
    assert render_value("{{missing}}", VARS) is None

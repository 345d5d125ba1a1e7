"""Locations by email: our place is a line under the text with an OpenStreetMap link, in the plain
text and, escaped, as a link in the HTML twin."""

from __future__ import annotations

from datetime import UTC, datetime

from omniroute.channels.email.composing import compose, html_body, plain_body
from omniroute.channels.email.settings import EmailSettings
from omniroute.channels.port import Outbound
from omniroute.channels.registry import AccountConfig
from omniroute.conversations.model import Location

STORE = Location(40.4169, -3.7035, "Acme <Store> & Sol", "Calle Mayor 1, 28013 Madrid")
LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"


def reply(text: str = "Our store:") -> Outbound:
    return Outbound("o-1", "c-1", "lee@example.com", text, subject="Order 1042", location=STORE)


def test_the_plain_text_names_the_place_and_links_it() -> None:
    line = "📍 Acme <Store> & Sol, Calle Mayor 1, 28013 Madrid (40.4169, -3.7035)"
    assert plain_body(reply()) == f"Our store:\n\n{line}\n{LINK}\n"
    assert plain_body(reply("")) == f"{line}\n{LINK}\n"


def test_the_html_links_the_place_escaped() -> None:
    body = html_body(reply())
    href = LINK.replace("&", "&amp;")
    name = "Acme &lt;Store&gt; &amp; Sol, Calle Mayor 1, 28013 Madrid (40.4169, -3.7035)"
    assert f'<p><a href="{href}">📍 {name}</a></p>' in body
    assert "<Store>" not in body


def test_a_place_alone_is_a_whole_email() -> None:
    settings = EmailSettings.from_config(
        AccountConfig(
            "a",
            "email",
            "Acme",
            {"address": "support@acme.test", "smtp_host": "h"},
            {"webhook_secret": "s"},
            "u",
        )
    )
    mail = compose(reply(""), settings, now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    assert LINK in plain.get_content()

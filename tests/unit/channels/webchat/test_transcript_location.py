"""A shared place in the customer's transcript download: a line with its OpenStreetMap link in the
text file, an escaped link in the HTML page."""

from __future__ import annotations

from datetime import UTC, datetime

from omniroute.channels.webchat.transcript import transcript_file
from omniroute.conversations.model import Location, SenderKind
from omniroute.conversations.store import Message

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LINK = "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"
COMMON = {"title": "Chat transcript", "started": "Started", "conversation_id": "0000-abcdef12"}


def shared() -> list[Message]:
    place = Location(40.4169, -3.7035, "Acme <Store>", "Calle Mayor 1")
    return [Message("m1", "c1", 1, SenderKind.AGENT, "u1", "Ana", "", NOON, location=place)]


def test_the_text_file_names_the_place_and_its_link() -> None:
    text = transcript_file("text", created_at=NOON, messages=shared(), language="en", **COMMON)
    assert (
        f"[2026-03-02 12:00 UTC] Ana: 📍 Acme <Store>, Calle Mayor 1 (40.4169, -3.7035) {LINK}" in text.body
    )


def test_the_html_page_links_the_place_escaped() -> None:
    page = transcript_file("html", created_at=NOON, messages=shared(), language="en", **COMMON)
    href = LINK.replace("&", "&amp;")
    assert (
        f'<p class="place"><a href="{href}" rel="noopener noreferrer">'
        "📍 Acme &lt;Store&gt;, Calle Mayor 1 (40.4169, -3.7035)</a></p>"
    ) in page.body
    assert "<Store>" not in page.body

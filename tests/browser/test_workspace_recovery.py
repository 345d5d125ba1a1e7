"""The workspace survives a dropped socket: no reload, nothing lost, nothing shown twice.

Playwright stands between the page and ``/ws/agent`` (``page.route_web_socket``): while the link
is "up" every frame passes through to the real server; the test then cuts the socket and refuses
the page's reconnects while the customer writes and a supervisor adds an internal note over REST.
When the link comes back the page must resume each conversation from the last seq it saw and
re-read its notes, keeping the draft, the open session and the page itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.test_workspace_helpers import (
    SAM,
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
    signed_in_http,
    tab,
)

pytestmark = pytest.mark.browser

#: Reconnects back off up to a few seconds; this is a hang guard, not a timing assertion.
RECOVERY_WAIT_MS = 30_000


class Link:
    """A switch between the page and the server's agent socket."""

    def __init__(self) -> None:
        self.up = True
        self.open: list[WebSocketRoute] = []

    def handle(self, ws: WebSocketRoute) -> None:
        if not self.up:
            ws.close(code=1001, reason="link down")  # "going away": the page retries later
            return
        server = ws.connect_to_server()
        self.open.append(ws)
        ws.on_close(lambda code, reason: server.close())

    def cut(self) -> None:
        self.up = False
        for ws in self.open:
            ws.close(code=1001, reason="link down")
        self.open.clear()

    def restore(self) -> None:
        self.up = True


def transcript_texts(page: Page) -> list[str]:
    texts: list[str] = (
        open_conversation(page).get_by_test_id("transcript").get_by_test_id("message").all_inner_texts()
    )
    return texts


def positions(texts: list[str], wanted: list[str]) -> list[int]:
    """Where each wanted text appears: once each, else the test fails with what was shown."""
    found = []
    for text in wanted:
        hits = [i for i, shown in enumerate(texts) if text in shown]
        assert len(hits) == 1, f"{text!r} shown {len(hits)} times in {texts}"
        found.append(hits[0])
    return found


def test_socket_drop_and_recovery_keeps_everything(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new(width=1440, height=900)
    link = Link()
    agent.route_web_socket(re.compile(r"/ws/agent$"), link.handle)
    sign_in(agent, live_server)
    set_presence(agent, "available")
    chat = customers().start("Jane Doe", "Is the blanket available in grey?")
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)
    chat.say("Before the drop: I need it by Friday.")
    expect(message(conversation, "Before the drop")).to_have_count(1)

    # Things the page must keep: a draft, the open session, and the page itself (no reload).
    reply = conversation.get_by_test_id("reply-input")
    reply.fill("Let me check the stock for")
    agent.evaluate("() => { window.omnirouteRecoveryMarker = 'same page'; }")

    link.cut()
    expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "reconnecting")

    # While the page is cut off: the customer writes twice, a supervisor writes a note.
    chat.say("During the drop: one.")
    chat.say("During the drop: two.")
    sam = signed_in_http(live_server, SAM)
    try:
        r = sam.post(
            f"/api/v1/conversations/{chat.conversation_id}/notes",
            json={"text": "VIP customer, offer free delivery."},
        )
        assert r.status_code == 201, r.text
    finally:
        sam.close()
    expect(message(conversation, "During the drop")).to_have_count(0)  # nothing came in yet

    link.restore()
    expect(agent.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "live", timeout=RECOVERY_WAIT_MS
    )
    expect(message(conversation, "During the drop: two.")).to_have_count(1)
    chat.say("After the drop.")
    expect(message(conversation, "After the drop.")).to_have_count(1)

    # Every message once, in the order the customer sent them.
    order = positions(
        transcript_texts(agent),
        [
            "Is the blanket available in grey?",
            "Before the drop: I need it by Friday.",
            "During the drop: one.",
            "During the drop: two.",
            "After the drop.",
        ],
    )
    assert order == sorted(order), transcript_texts(agent)

    # The note written meanwhile shows once; draft, session and page are the same.
    expect(conversation.get_by_test_id("note").filter(has_text="VIP customer")).to_have_count(1)
    expect(conversation.get_by_test_id("reply-input")).to_have_value("Let me check the stock for")
    expect(tab(agent, "Jane Doe")).to_have_attribute("aria-selected", "true")
    assert agent.evaluate("() => window.omnirouteRecoveryMarker") == "same page"
    pages.assert_no_errors(agent)

""" "Save as quick reply" from the composer: the agent keeps the reply box's text (slugs and all) as
a quick reply of their own, by keyboard; ``/q`` finds it beside the shared ones, marked as theirs,
and fills its slugs in; the agent deletes it again from the same dialog."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_a11y import audit
from tests.browser.test_workspace_helpers import (
    SAM,
    Pages,
    agent_in_a_chat,
    customers_fixture,  # noqa: F401 - fixture
    message,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    signed_in_http,
)

pytestmark = pytest.mark.browser


def test_an_agent_saves_a_reply_from_the_composer_and_finds_it_with_q(
    live_server: str, pages: Pages, customers: Any
) -> None:
    sam = signed_in_http(live_server, SAM)
    try:
        r = sam.post(
            "/api/v1/quick-replies",
            json={"title": "Parcel tracking", "text": "Track it at {trackingUrl}.", "shared": True},
        )
        assert r.status_code == 201, r.text
    finally:
        sam.close()
    agent, _, conversation = agent_in_a_chat(pages, live_server, customers, "Jane Doe", "Where is my parcel?")
    reply = conversation.get_by_test_id("reply-input")
    dialog = agent.get_by_test_id("save-reply-dialog")

    # Nothing typed yet: there is nothing to keep, and the dialog says so.
    conversation.get_by_role("button", name="Save as quick reply").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill("Empty")
    dialog.get_by_test_id("save-reply-submit").click()
    expect(dialog.get_by_role("alert")).to_have_text("Write the reply in the reply box first, then save it.")
    agent.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # By keyboard: from the reply box, Tab reaches the button; Enter opens the form on the title.
    reply.fill("Hi {customerName}, your parcel ships today.")
    reply.focus()
    agent.keyboard.press("Tab")
    expect(conversation.get_by_test_id("save-quick-reply")).to_be_focused()
    agent.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Reply")).to_have_value("Hi {customerName}, your parcel ships today.")
    expect(dialog.get_by_label("Title")).to_be_focused()
    expect(dialog.get_by_label("Language (optional)")).to_have_value("")
    audit(agent)
    screenshot(agent, "save-quick-reply")
    agent.keyboard.type("Parcel today")
    agent.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(agent.locator("#announcer")).to_have_text(
        "Saved as your quick reply “Parcel today”. Find it with /q."
    )
    expect(reply).to_have_value("Hi {customerName}, your parcel ships today.")  # the draft stays

    # /q finds it beside the shared one, marked as hers, and fills in the customer's name.
    reply.fill("/q parcel")
    options = conversation.get_by_test_id("quick-reply")
    expect(options).to_have_count(2)
    expect(options.filter(has_text="Parcel today").locator(".qr-mine")).to_have_text("mine")
    expect(options.filter(has_text="Parcel tracking").locator(".qr-mine")).to_have_count(0)
    reply.fill("/q parcel today")
    expect(options).to_have_count(1)
    reply.press("Enter")
    expect(reply).to_have_value("Hi Jane Doe, your parcel ships today.")
    reply.press("Enter")
    expect(
        message(conversation, "Hi Jane Doe, your parcel ships today.").get_by_test_id("delivery-state")
    ).to_have_text("Sent")

    # Her own replies are listed in the same dialog, and she deletes this one.
    conversation.get_by_test_id("save-quick-reply").click()
    expect(dialog).to_be_visible()
    dialog.get_by_text("Your quick replies").click()
    own = dialog.get_by_test_id("own-reply")
    expect(own).to_have_count(1)
    expect(own).to_contain_text("Parcel today")
    audit(agent)
    dialog.get_by_role("button", name="Delete Parcel today").click()
    expect(own).to_have_count(0)
    expect(dialog.get_by_text("You have none yet.")).to_be_visible()
    expect(agent.locator("#announcer")).to_have_text("Quick reply deleted: Parcel today")
    agent.keyboard.press("Escape")
    reply.fill("/q parcel today")
    expect(conversation.get_by_test_id("quick-replies")).to_contain_text("No quick reply matches.")
    pages.assert_no_errors(agent)

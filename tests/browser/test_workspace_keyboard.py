"""Keyboard use: the shortcut help overlay, focus shortcuts, and the ARIA tabs keys."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    offer,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    tab,
)

pytestmark = pytest.mark.browser


def test_shortcut_help_and_focus_shortcuts(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    sign_in(agent, live_server)

    # "?" anywhere but in a text field opens the overlay, which lists every shortcut.
    agent.locator("body").press("?")
    help_dialog = agent.get_by_test_id("help-dialog")
    expect(help_dialog).to_be_visible()
    rows = help_dialog.get_by_test_id("shortcut-rows").locator("tr")
    for keys, action in (
        ("Alt+↓", "Next session"),
        ("Alt+↑", "Previous session"),
        ("Alt+A", "Accept the newest offer"),
        ("Alt+X", "Reject the newest offer"),
        ("Alt+R", "Go to the reply box"),
        ("Alt+T", "Transfer the conversation"),
        ("Alt+C", "Consult a colleague"),
        ("Alt+N", "Write an internal note"),
        ("Alt+P", "Change presence"),
        ("?", "Show keyboard shortcuts"),
    ):
        row = rows.filter(has=agent.get_by_role("cell", name=action, exact=True))
        expect(row).to_have_count(1)
        expect(row.locator("th")).to_have_text(keys)
    screenshot(agent, "shortcuts")
    agent.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    agent.keyboard.press("Alt+p")
    expect(agent.get_by_test_id("presence-select")).to_be_focused()
    set_presence(agent, "available")
    customers().start("Jane Doe", "Hi!")
    accept_offer_from(agent, "Jane Doe")
    customers().start("Omar Haddad", "Hello", queue="Support")
    accept_offer_from(agent, "Omar Haddad")

    # Typing "?" in the reply box is just text.
    reply = open_conversation(agent).get_by_test_id("reply-input")
    reply.press("?")
    expect(reply).to_have_value("?")
    expect(help_dialog).to_be_hidden()

    agent.keyboard.press("Alt+n")
    expect(open_conversation(agent).get_by_test_id("note-input")).to_be_focused()
    agent.keyboard.press("Alt+r")
    expect(reply).to_be_focused()
    agent.keyboard.press("Alt+u")  # the customer's 360, in the side panel
    expect(open_conversation(agent).get_by_test_id("side-tab-customer")).to_be_focused()
    expect(open_conversation(agent).get_by_test_id("side-tab-customer")).to_have_attribute(
        "aria-selected", "true"
    )
    agent.keyboard.press("Alt+c")  # consult a colleague: the dialog opens
    expect(agent.get_by_test_id("consult-dialog")).to_be_visible()
    agent.keyboard.press("Escape")
    expect(agent.get_by_test_id("consult-dialog")).to_be_hidden()

    # Alt+X rejects the newest offer (routing may offer the chat again later, as a new offer).
    customers().start("Kim Lo", "Anyone there?")
    expect(offer(agent, "Kim Lo")).to_have_count(1)
    session_id = offer(agent, "Kim Lo").get_attribute("data-session-id")
    agent.keyboard.press("Alt+x")
    expect(agent.locator(f'[data-session-id="{session_id}"]')).to_have_count(0)
    expect(tab(agent, "Kim Lo")).to_have_count(0)

    # The session list is one tab stop; arrows, Home and End move within it.
    tab(agent, "Omar Haddad").focus()
    agent.keyboard.press("ArrowUp")
    expect(tab(agent, "Jane Doe")).to_be_focused()
    expect(tab(agent, "Jane Doe")).to_have_attribute("aria-selected", "true")
    agent.keyboard.press("End")
    expect(tab(agent, "Omar Haddad")).to_be_focused()
    expect(tab(agent, "Jane Doe")).to_have_attribute("tabindex", "-1")
    pages.assert_no_errors(agent)

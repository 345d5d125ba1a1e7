"""Multi-session: two chats at once, drafts kept per session (also across a reload), unread
badges, timers, and the tab going away once its conversation is closed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    tab,
)

pytestmark = pytest.mark.browser

JANE, OMAR = "Jane Doe", "Omar Haddad"
JANE_DRAFT = "Grey is in stock; shall I reserve one for you?"
OMAR_DRAFT = "Your parcel left our warehouse this morning.\nTracking follows by email."


def test_two_chats_in_two_sessions_keep_their_drafts(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    sign_in(agent, live_server)
    set_presence(agent, "available")

    jane = customers().start(JANE, "Does the wool throw come in grey?")
    omar = customers().start(OMAR, "Where is my parcel?", queue="Support")
    accept_offer_from(agent, JANE)
    accept_offer_from(agent, OMAR)
    expect(agent.get_by_test_id("session-tab")).to_have_count(2)
    expect(agent.get_by_test_id("session-count")).to_have_text("2 of 10")
    expect(agent.get_by_test_id("agent-load")).to_contain_text("Open sessions: 2")

    # Omar's session is open (the last accepted); write a two-line draft with Shift+Enter.
    reply = open_conversation(agent).get_by_test_id("reply-input")
    expect(reply).to_be_focused()
    reply.type("Your parcel left our warehouse this morning.")
    reply.press("Shift+Enter")
    reply.type("Tracking follows by email.")
    expect(reply).to_have_value(OMAR_DRAFT)

    tab(agent, JANE).click()
    conversation = open_conversation(agent)
    expect(conversation.get_by_role("heading", name=JANE)).to_be_visible()
    conversation.get_by_test_id("reply-input").fill(JANE_DRAFT)

    # Alt+Down goes to the next session: Omar's draft is still there.
    agent.keyboard.press("Alt+ArrowDown")
    expect(tab(agent, OMAR)).to_have_attribute("aria-selected", "true")
    expect(open_conversation(agent).get_by_test_id("reply-input")).to_have_value(OMAR_DRAFT)
    agent.keyboard.press("Alt+ArrowUp")
    expect(tab(agent, JANE)).to_have_attribute("aria-selected", "true")
    expect(open_conversation(agent).get_by_test_id("reply-input")).to_have_value(JANE_DRAFT)

    # A message in the background session raises its unread badge, and it is announced politely.
    omar.say("Thanks! Is it insured?")
    expect(tab(agent, OMAR).get_by_test_id("tab-unread")).to_be_visible()
    expect(tab(agent, OMAR).get_by_test_id("tab-unread")).to_contain_text("1")
    expect(agent.locator("#messages-live")).to_contain_text("Thanks! Is it insured?")
    expect(tab(agent, OMAR).get_by_test_id("tab-sla")).to_have_text(re.compile(r"waiting \d+:\d\d"))
    screenshot(agent, "sessions")

    # Drafts and the open session survive a reload of the page.
    agent.reload()
    expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")
    expect(tab(agent, JANE)).to_have_attribute("aria-selected", "true")
    expect(open_conversation(agent).get_by_test_id("reply-input")).to_have_value(JANE_DRAFT)
    expect(tab(agent, OMAR).get_by_test_id("tab-unread")).to_contain_text("1")
    tab(agent, OMAR).click()
    expect(tab(agent, OMAR).get_by_test_id("tab-unread")).to_be_hidden()
    conversation = open_conversation(agent)
    expect(conversation.get_by_test_id("reply-input")).to_have_value(OMAR_DRAFT)
    expect(message(conversation, "Is it insured?")).to_have_count(1)

    # Sending clears only this session's draft; the reply shows its delivery state.
    conversation.get_by_test_id("reply-input").press("Enter")
    sent = message(conversation, "Tracking follows by email.")
    expect(sent).to_have_count(1)
    expect(sent.get_by_test_id("delivery-state")).to_have_text("Sent")
    expect(conversation.get_by_test_id("reply-input")).to_have_value("")
    expect(conversation.get_by_test_id("session-sla")).not_to_contain_text("waiting")
    tab(agent, JANE).click()
    expect(open_conversation(agent).get_by_test_id("reply-input")).to_have_value(JANE_DRAFT)

    # Ending and closing Omar's conversation removes his tab; Jane's session stays open.
    tab(agent, OMAR).click()
    conversation = open_conversation(agent)
    conversation.get_by_test_id("end-conversation").click()
    expect(conversation.get_by_test_id("conversation-state")).to_have_text("Wrap-up")
    conversation.get_by_test_id("close-conversation").click()
    expect(tab(agent, OMAR)).to_have_count(0)
    expect(agent.get_by_test_id("session-tab")).to_have_count(1)
    expect(tab(agent, JANE)).to_have_attribute("aria-selected", "true")
    expect(agent.get_by_test_id("session-count")).to_have_text("1 of 10")
    assert jane.conversation_id != omar.conversation_id
    pages.assert_no_errors(agent)

"""Customer 360 beside the conversation: the profile and its channel identities, an edit, a likely
duplicate merged with its reasons shown first, the customer's earlier conversation and its
transcript, the open case and the timeline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    agent_in_a_chat,
    customers_fixture,  # noqa: F401 - fixture
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    tab,
)

pytestmark = pytest.mark.browser


def test_customer_360_profile_merge_and_history(live_server: str, pages: Pages, customers: Any) -> None:
    # Jane's first chat, from another device: answered and closed.
    agent, first, conversation = agent_in_a_chat(
        pages, live_server, customers, "Jane Doe", "Do you ship to Mallorca?"
    )
    conversation.get_by_test_id("reply-input").fill("We ship to Mallorca in 3 days.")
    conversation.get_by_test_id("reply-input").press("Enter")
    reply = message(conversation, "We ship to Mallorca in 3 days.")
    expect(reply.get_by_test_id("delivery-state")).to_have_text("Sent")  # stored before End
    conversation.get_by_test_id("end-conversation").click()
    conversation.get_by_test_id("close-conversation").click()
    expect(tab(agent, "Jane Doe")).to_have_count(0)

    # Her second chat makes a second customer record (typed contacts never merge by themselves).
    second = customers().start("Jane Doe", "Any news about my parcel?")
    assert second.conversation_id != first.conversation_id
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)
    conversation.get_by_test_id("side-tab-customer").click()
    c360 = conversation.get_by_test_id("customer-360")
    expect(c360.get_by_test_id("c360-name")).to_have_text("Jane Doe")
    expect(c360.get_by_test_id("c360-email")).to_have_text("jane@example.com")
    expect(c360.get_by_test_id("c360-identity")).to_have_count(1)
    expect(c360.get_by_test_id("c360-identity")).to_contain_text("Web chat")
    expect(c360.get_by_test_id("c360-conversation")).to_have_count(1)
    expect(c360.get_by_test_id("c360-conversation")).to_contain_text("this conversation")

    # The likely duplicate, with why it is likely; merged after a confirmation.
    duplicate = c360.get_by_test_id("c360-duplicate")
    expect(duplicate).to_have_count(1)
    expect(duplicate.get_by_test_id("c360-reasons")).to_contain_text("same email")
    expect(duplicate.get_by_test_id("c360-reasons")).to_contain_text("same full name")
    screenshot(agent, "customer-duplicates")
    duplicate.get_by_test_id("c360-merge").click()
    with agent.expect_response(re.compile(r"/merge$")) as merged:
        duplicate.get_by_test_id("c360-merge-confirm").click()
    assert merged.value.ok, merged.value.text()
    expect(c360.get_by_test_id("c360-duplicates")).to_be_hidden()
    expect(c360.get_by_test_id("c360-identity")).to_have_count(2)

    # The first chat is now in her history, transcript and all.
    history = c360.get_by_test_id("c360-conversation")
    expect(history).to_have_count(2)
    earlier = history.filter(has_text="Do you ship to Mallorca?")
    earlier.get_by_test_id("c360-show-transcript").click()
    transcript = earlier.get_by_test_id("c360-transcript")
    expect(transcript).to_contain_text("Do you ship to Mallorca?")
    expect(transcript).to_contain_text("We ship to Mallorca in 3 days.")

    # An edit: a typed phone number is stored normalised and unverified.
    c360.get_by_test_id("c360-edit").click()
    c360.get_by_test_id("c360-input-phone").fill("+34 600 123 456")
    with agent.expect_response(re.compile(r"/api/v1/customers/[^/]+$")) as saved:
        c360.get_by_test_id("c360-save").click()
    assert saved.value.ok, saved.value.text()
    expect(c360.get_by_test_id("c360-phone")).to_have_text("+34600123456")

    # A case from this chat shows among her open cases and on the timeline.
    conversation.get_by_test_id("side-tab-cases").click()
    conversation.get_by_test_id("case-new").click()
    dialog = agent.get_by_test_id("case-dialog")
    dialog.get_by_test_id("case-title-input").fill("Parcel not delivered")
    dialog.get_by_test_id("case-create").click()
    expect(conversation.get_by_test_id("case-card")).to_have_count(1)
    conversation.get_by_test_id("side-tab-customer").click()
    expect(c360.get_by_test_id("c360-case")).to_contain_text("Parcel not delivered")
    timeline = c360.get_by_test_id("c360-event")
    expect(timeline).to_have_count(3)
    expect(timeline.first).to_contain_text("Parcel not delivered")
    expect(timeline.filter(has_text="Do you ship to Mallorca?")).to_have_count(1)
    earlier.get_by_test_id("c360-show-transcript").click()
    expect(earlier.get_by_test_id("c360-transcript")).to_contain_text("We ship to Mallorca in 3 days.")
    earlier.scroll_into_view_if_needed()
    screenshot(agent, "customer-360")
    pages.assert_no_errors(agent)

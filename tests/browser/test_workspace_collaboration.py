"""Working together on a conversation: transfer to a queue or to a colleague, consult a colleague
(read-only, notes), promote the consultant to holder. Agents pick colleagues from GET /api/v1/agents."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    BEN,
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    message,
    offer,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    tab,
)

pytestmark = pytest.mark.browser


def test_transfer_to_a_queue_from_the_keyboard(live_server: str, pages: Pages, customers: Any) -> None:
    ana, ben = pages.new(), pages.new()
    sign_in(ana, live_server)
    sign_in(ben, live_server, BEN)
    set_presence(ana, "available")
    customers().start("Jane Doe", "My invoice shows the wrong address.")
    accept_offer_from(ana, "Jane Doe")
    set_presence(ben, "available")

    # "/t note" in the reply box opens the transfer dialog with the note filled in.
    reply = open_conversation(ana).get_by_test_id("reply-input")
    reply.fill("/t billing address question")
    reply.press("Enter")
    dialog = ana.get_by_test_id("transfer-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Note for the record (the customer does not see it)")).to_have_value(
        "billing address question"
    )
    dialog.get_by_label("Queue", exact=True).select_option(label="Support")
    screenshot(ana, "transfer")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()
    expect(tab(ana, "Jane Doe")).to_have_count(0)
    expect(ana.locator("#announcer")).to_contain_text("Conversation transferred to Support.")

    # Ben (Support) gets it, with the transcript so far.
    accept_offer_from(ben, "Jane Doe")
    conversation = open_conversation(ben)
    expect(message(conversation, "My invoice shows the wrong address.")).to_have_count(1)
    expect(message(conversation, "transferred the conversation to Support")).to_have_count(1)

    # Alt+T opens the dialog for the open session; Escape closes it.
    ben.keyboard.press("Alt+t")
    expect(ben.get_by_test_id("transfer-dialog")).to_be_visible()
    ben.keyboard.press("Escape")
    expect(ben.get_by_test_id("transfer-dialog")).to_be_hidden()
    pages.assert_no_errors(ana)
    pages.assert_no_errors(ben)


def test_transfer_to_a_colleague(live_server: str, pages: Pages, customers: Any) -> None:
    ana, ben = pages.new(), pages.new()
    sign_in(ana, live_server)
    sign_in(ben, live_server, BEN)
    set_presence(ana, "available")
    customers().start("Jane Doe", "Where is my refund?", queue="Support")
    accept_offer_from(ana, "Jane Doe")
    set_presence(ben, "available")

    open_conversation(ana).get_by_test_id("transfer-conversation").click()
    dialog = ana.get_by_test_id("transfer-dialog")
    dialog.get_by_test_id("transfer-to-agent").check()
    dialog.get_by_test_id("transfer-agent").select_option(label="Ben Okafor (available)")
    dialog.get_by_test_id("transfer-note").fill("Refund specialist")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()
    expect(tab(ana, "Jane Doe")).to_have_count(0)

    accept_offer_from(ben, "Jane Doe")
    expect(message(open_conversation(ben), "Where is my refund?")).to_have_count(1)
    pages.assert_no_errors(ana)
    pages.assert_no_errors(ben)


def test_consult_a_colleague_share_notes_and_promote(live_server: str, pages: Pages, customers: Any) -> None:
    ana, ben = pages.new(), pages.new()
    sign_in(ana, live_server)  # an agent: GET /api/v1/agents lists colleagues for everybody
    sign_in(ben, live_server, BEN)
    set_presence(ana, "available")
    set_presence(ben, "busy")  # consultants must be signed in and not offline
    jane = customers().start("Jane Doe", "I was charged twice.", queue="Support")
    accept_offer_from(ana, "Jane Doe")
    held = open_conversation(ana)

    held.get_by_test_id("consult-conversation").click()
    dialog = ana.get_by_test_id("consult-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Colleague").select_option(label="Ben Okafor (busy)")  # with presence
    dialog.get_by_test_id("consult-submit").click()
    expect(dialog).to_be_hidden()
    expect(held.get_by_test_id("consultants")).to_contain_text("Ben Okafor")

    # Ben follows read-only: the transcript, live messages, no reply box; he writes a note.
    consulting = tab(ben, "Jane Doe")
    expect(consulting).to_contain_text("consulting")
    consulting.click()
    watched = open_conversation(ben)
    expect(watched.get_by_test_id("consult-badge")).to_be_visible()
    expect(watched.get_by_test_id("composer")).to_be_hidden()
    expect(message(watched, "I was charged twice.")).to_have_count(1)
    jane.say("The second charge is from Tuesday.")
    expect(message(watched, "from Tuesday")).to_have_count(1)
    watched.get_by_test_id("note-input").fill("Refunds for double charges need the last 4 digits.")
    watched.get_by_test_id("note-add").click()
    expect(watched.get_by_test_id("note")).to_have_count(1)

    # Ana sees the note arrive (the customer never does).
    expect(held.get_by_test_id("note").filter(has_text="last 4 digits")).to_have_count(1)
    expect(held.get_by_test_id("note")).to_contain_text("Ben Okafor")
    screenshot(ana, "consult")

    # Ana hands the conversation over: Ben (now available, so with free capacity) becomes the
    # holder in the same tab, and Ana's tab goes.
    set_presence(ben, "available")
    held.get_by_test_id("consult-promote").click()
    expect(tab(ana, "Jane Doe")).to_have_count(0)
    expect(watched.get_by_test_id("consult-badge")).to_be_hidden()
    expect(watched.get_by_test_id("composer")).to_be_visible()
    expect(offer(ben, "Jane Doe")).to_have_count(0)
    pages.assert_no_errors(ana)
    pages.assert_no_errors(ben)

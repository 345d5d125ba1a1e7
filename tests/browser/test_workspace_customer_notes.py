"""Notes about the customer in Customer 360: an agent adds one (markup stays text), sees it on the
timeline, pins, edits and deletes it after a confirmation; a colleague's note appears live, without
controls."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    Pages,
    agent_in_a_chat,
    customers_fixture,  # noqa: F401 - fixture
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    signed_in_http,
)

pytestmark = pytest.mark.browser


def test_customer_notes_in_customer_360(live_server: str, pages: Pages, customers: Any) -> None:
    agent, jane, conversation = agent_in_a_chat(
        pages, live_server, customers, "Jane Notes", "Where is my order?"
    )
    conversation.get_by_test_id("side-tab-customer").click()
    c360 = conversation.get_by_test_id("customer-360")
    notes = c360.get_by_test_id("c360-note")
    expect(c360.get_by_test_id("c360-notes-section")).to_contain_text("No notes yet.")

    # Empty text is refused inline, without a request.
    c360.get_by_test_id("c360-note-add").click()
    expect(c360.get_by_test_id("c360-note-error")).to_have_text("Write the note first.")

    # A colleague's note (written over the API) is shown without controls.
    sam = signed_in_http(live_server, "sam@demo.omniroute.dev")
    ben = signed_in_http(live_server, "ben@demo.omniroute.dev")
    try:
        customer_id = sam.get(f"/api/v1/conversations/{jane.conversation_id}").json()["customer_id"]
        r = ben.post(f"/api/v1/customers/{customer_id}/notes", json={"text": "Ben's note"})
        assert r.status_code == 201, r.text
    finally:
        sam.close()
        ben.close()
    # It appears live: the page follows the customers it shows, and re-reads one changed elsewhere.
    expect(notes).to_have_count(1)
    expect(notes.first).to_contain_text("Ben's note")

    text = "Prefers email.\n<script>alert('x')</script> <b>not bold</b>"
    c360.get_by_test_id("c360-note-input").fill(text)
    with agent.expect_response(re.compile(r"/notes$")) as added:
        c360.get_by_test_id("c360-note-add").click()
    assert added.value.status == 201, added.value.text()
    expect(notes).to_have_count(2)
    mine = notes.filter(has_text="Prefers email.")
    expect(mine.get_by_test_id("c360-note-text")).to_have_text(text)  # shown as text, not markup
    expect(mine.locator("b, script")).to_have_count(0)
    expect(mine).to_contain_text("Ana García")
    expect(c360.get_by_test_id("c360-note-error")).to_be_hidden()
    theirs = notes.filter(has_text="Ben's note")
    expect(theirs.get_by_test_id("c360-note-edit")).to_have_count(0)
    expect(theirs.get_by_test_id("c360-note-delete")).to_have_count(0)
    expect(c360.locator('[data-testid="c360-event"][data-kind="note"]')).to_have_count(2)

    # Pin: it moves to the top with a badge.
    mine.get_by_test_id("c360-note-pin").click()
    expect(notes.first.get_by_test_id("c360-note-pinned")).to_be_visible()
    expect(notes.first).to_contain_text("Prefers email.")

    # Edit in place.
    notes.first.get_by_test_id("c360-note-edit").click()
    notes.first.get_by_test_id("c360-note-edit-input").fill("Prefers email after 6 pm.")
    with agent.expect_response(re.compile(r"/notes/[^/]+$")) as saved:
        notes.first.get_by_test_id("c360-note-save").click()
    assert saved.value.ok, saved.value.text()
    expect(notes.first.get_by_test_id("c360-note-text")).to_have_text("Prefers email after 6 pm.")
    expect(notes.first).to_contain_text("edited")
    screenshot(agent, "customer-notes")

    # Delete, after a confirmation (cancel first keeps it).
    notes.first.get_by_test_id("c360-note-delete").click()
    notes.first.get_by_test_id("c360-note-delete-cancel").click()
    expect(notes).to_have_count(2)
    notes.first.get_by_test_id("c360-note-delete").click()
    with agent.expect_response(re.compile(r"/notes/[^/]+$")) as deleted:
        notes.first.get_by_test_id("c360-note-delete-confirm").click()
    assert deleted.value.status == 204
    expect(notes).to_have_count(1)
    expect(notes.first).to_contain_text("Ben's note")
    pages.assert_no_errors(agent)

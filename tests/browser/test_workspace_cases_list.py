"""Case work in the workspace: the case list with filters, a case opened as its own session, its
priority and owner changed, linked to a chat and unlinked again (from both sides), a refusal's
reason shown — by keyboard, with labelled controls."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_workspace_a11y import audit
from tests.browser.test_workspace_helpers import (
    ANA,
    SAM,
    Pages,
    agent_in_a_chat,
    customers_fixture,  # noqa: F401 - fixture
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    sign_in,
    signed_in_http,
)

pytestmark = pytest.mark.browser


def make_cases(base_url: str) -> dict[str, dict[str, Any]]:
    """Three cases of one customer: Ana's, Ben's (made by Ana) and Sam's."""
    ana, sam = signed_in_http(base_url, ANA), signed_in_http(base_url, SAM)
    try:
        customer = ana.post("/api/v1/customers", json={"display_name": "Rosa Kettle"})
        assert customer.status_code == 201, customer.text
        agents = {a["display_name"]: a["id"] for a in ana.get("/api/v1/agents").json()}

        def case(client: Any, **body: Any) -> dict[str, Any]:
            r = client.post("/api/v1/cases", json={"customer_id": customer.json()["id"], **body})
            assert r.status_code == 201, r.text
            made: dict[str, Any] = r.json()
            return made

        return {
            "ana": case(ana, title="Blender arrived broken", priority="high"),
            "ben": case(ana, title="Refund still missing", priority="low", owner_id=agents["Ben Okafor"]),
            "sam": case(sam, title="Escalated billing dispute", priority="urgent"),
        }
    finally:
        ana.close()
        sam.close()


def rows(page: Page) -> Locator:
    return page.get_by_test_id("case-list-session").get_by_test_id("case-row")


def test_case_list_case_session_edit_and_links(live_server: str, pages: Pages, customers: Any) -> None:
    cases = make_cases(live_server)
    agent, _chat, conversation = agent_in_a_chat(
        pages, live_server, customers, "Jane Doe", "Is my blender covered?"
    )

    # The case list opens from the sidebar, by keyboard, and lands in its search box.
    agent.get_by_test_id("open-case-list").focus()
    agent.keyboard.press("Enter")
    case_list = agent.get_by_test_id("case-list-session")
    expect(case_list).to_be_visible()
    expect(agent.get_by_test_id("case-list-tab")).to_have_attribute("aria-selected", "true")
    expect(case_list.get_by_label("Number or title")).to_be_focused()
    expect(rows(agent)).to_have_count(3)

    case_list.get_by_label("Owner").select_option("me")
    expect(rows(agent)).to_have_count(1)
    expect(rows(agent)).to_contain_text(cases["ana"]["number"])
    case_list.get_by_label("Owner").select_option("")
    case_list.get_by_label("Priority").select_option("urgent")
    expect(rows(agent)).to_have_count(1)
    expect(rows(agent)).to_contain_text("Escalated billing dispute")
    case_list.get_by_label("Priority").select_option("")
    case_list.get_by_label("Number or title").fill("refund")
    agent.keyboard.press("Enter")
    expect(rows(agent)).to_have_count(1)
    expect(rows(agent).get_by_test_id("case-row-owner")).to_have_text("Ben Okafor")
    case_list.get_by_label("Number or title").fill("")
    case_list.get_by_label("Sort by").select_option("priority")
    case_list.get_by_label("Order").select_option("asc")
    expect(rows(agent).first).to_contain_text("Refund still missing")  # low first
    expect(rows(agent).last).to_contain_text("Escalated billing dispute")
    screenshot(agent, "case-list")
    audit(agent)

    # Open Ana's case as its own session, by keyboard.
    number = cases["ana"]["number"]
    case_list.get_by_role("button", name=f"Open case {number}").focus()
    agent.keyboard.press("Enter")
    session = agent.get_by_test_id("case-session")
    expect(session).to_be_visible()
    expect(agent.get_by_test_id("case-session-tab")).to_have_attribute("aria-selected", "true")
    expect(session.get_by_test_id("case-title")).to_have_text(f"{number} Blender arrived broken")
    expect(session.get_by_test_id("case-session-priority")).to_have_text("High")
    expect(session.get_by_test_id("case-session-owner")).to_have_text("Me")

    # Priority and owner: Ana gives it to Ben, urgent.
    session.get_by_label("Priority").select_option("urgent")
    session.get_by_label("Owner").select_option(label="Ben Okafor")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-session-priority")).to_have_text("Urgent")
    expect(session.get_by_test_id("case-session-owner")).to_have_text("Ben Okafor")
    activity = session.get_by_test_id("case-activity")
    expect(activity).to_contain_text("priority: High → Urgent")
    expect(activity).to_contain_text("owner: Me → Ben Okafor")

    # Ben's now: Ana may not change it (the server's reason is shown)...
    session.get_by_label("Priority").select_option("low")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-session-error")).to_contain_text("belongs to someone else")
    expect(session.get_by_test_id("case-session-priority")).to_have_text("Urgent")

    # ...until she links it to the chat she holds (linking is about the conversation).
    session.get_by_label("Link to one of your conversations").select_option(label="Jane Doe")
    session.get_by_test_id("case-link-submit").click()
    links = session.get_by_test_id("case-link")
    expect(links).to_have_count(1)
    expect(links).to_contain_text("Jane Doe")
    # The link re-reads the case (its form included): choose only once the history shows it.
    expect(session.get_by_test_id("case-activity")).to_contain_text("Linked to a conversation")
    session.get_by_label("Priority").select_option("normal")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-session-priority")).to_have_text("Normal")
    expect(session.get_by_test_id("case-session-error")).to_be_hidden()

    # A change made on another desk appears live (the page follows the cases it shows).
    sam = signed_in_http(live_server, SAM)
    try:
        renamed = {"title": "Blender arrived in pieces"}
        changed = sam.patch(f"/api/v1/cases/{cases['ana']['id']}", json=renamed)
        assert changed.status_code == 200, changed.text
    finally:
        sam.close()
    expect(session.get_by_test_id("case-title")).to_have_text(f"{number} Blender arrived in pieces")
    screenshot(agent, "case-session")
    audit(agent)

    # The chat's case tab shows the link, and unlinks it.
    agent.get_by_test_id("session-tab").filter(has_text="Jane Doe").click()
    conversation.get_by_test_id("side-tab-cases").click()
    card = conversation.get_by_test_id("case-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("case-number")).to_have_text(number)
    card.get_by_role("button", name=f"Unlink case {number}").click()
    expect(card).to_have_count(0)
    expect(conversation.get_by_test_id("cases")).to_contain_text("No case is linked")

    # Found by number from the chat and linked again; the case session follows.
    conversation.get_by_label("Link an existing case (number or title)").fill(number)
    conversation.get_by_test_id("case-find-button").click()
    conversation.get_by_role("button", name=f"Link case {number} to this conversation").click()
    expect(card).to_have_count(1)
    card.get_by_role("button", name=f"Open case {number}").click()
    expect(session).to_be_visible()
    expect(links).to_have_count(1)

    # Unlinked from the case session; the chat's case tab follows.
    links.get_by_role("button", name="Unlink Jane Doe").click()
    expect(links).to_have_count(0)
    expect(session.get_by_test_id("case-activity")).to_contain_text("Unlinked from a conversation")
    agent.get_by_test_id("session-tab").filter(has_text="Jane Doe").click()
    expect(conversation.get_by_test_id("case-card")).to_have_count(0)

    # Arrow keys move between the chat, the case list and the case session.
    agent.get_by_test_id("session-tab").filter(has_text="Jane Doe").focus()
    agent.keyboard.press("ArrowDown")
    expect(agent.get_by_test_id("case-list-tab")).to_be_focused()
    agent.keyboard.press("ArrowDown")
    expect(agent.get_by_test_id("case-session-tab")).to_be_focused()
    expect(session).to_be_visible()

    # The case session comes back after a reload; closing it removes it.
    agent.reload()
    expect(agent.get_by_test_id("case-session-tab")).to_have_count(1)
    agent.get_by_test_id("case-session-tab").click()
    expect(agent.get_by_test_id("case-session").get_by_test_id("case-title")).to_contain_text(number)
    agent.get_by_test_id("case-close").click()
    expect(agent.get_by_test_id("case-session-tab")).to_have_count(0)
    pages.assert_no_errors(agent)


def test_case_list_pages_with_show_more(live_server: str, pages: Pages) -> None:
    ana = signed_in_http(live_server, ANA)
    try:
        customer = ana.post("/api/v1/customers", json={"display_name": "Paula Pager"}).json()
        for n in range(27):
            r = ana.post(
                "/api/v1/cases", json={"customer_id": customer["id"], "title": f"Paged case {n:02d}"}
            )
            assert r.status_code == 201, r.text
    finally:
        ana.close()
    agent = pages.new()
    sign_in(agent, live_server)
    agent.get_by_test_id("open-case-list").click()
    case_list = agent.get_by_test_id("case-list-session")
    case_list.get_by_label("Sort by").select_option("number")
    case_list.get_by_label("Order").select_option("asc")
    expect(rows(agent)).to_have_count(25)
    expect(rows(agent).first).to_contain_text("Paged case 00")
    expect(case_list.get_by_role("status")).to_have_text("25 cases shown")
    case_list.get_by_test_id("case-list-more").click()
    expect(rows(agent)).to_have_count(27)
    expect(rows(agent).last).to_contain_text("Paged case 26")
    expect(case_list.get_by_test_id("case-list-more")).to_be_hidden()
    # A new filter starts again from the first page.
    case_list.get_by_label("Number or title").fill("Paged case 1")
    agent.keyboard.press("Enter")
    expect(rows(agent)).to_have_count(10)
    pages.assert_no_errors(agent)


def test_case_session_title_notes_and_cancel(live_server: str, pages: Pages) -> None:
    ana = signed_in_http(live_server, ANA)
    try:
        customer = ana.post("/api/v1/customers", json={"display_name": "Nora Notes"}).json()
        made = ana.post("/api/v1/cases", json={"customer_id": customer["id"], "title": "Kettle leaks"})
        assert made.status_code == 201, made.text
        number = made.json()["number"]
    finally:
        ana.close()
    agent = pages.new()
    sign_in(agent, live_server)
    agent.get_by_test_id("open-case-list").click()
    case_list = agent.get_by_test_id("case-list-session")
    case_list.get_by_label("Number or title").fill(number)
    case_list.get_by_role("button", name=f"Open case {number}").click()
    session = agent.get_by_test_id("case-session")
    expect(session.get_by_test_id("case-title")).to_have_text(f"{number} Kettle leaks")

    # Title and description are edited in the same form as priority and owner.
    session.get_by_label("Title").fill("Kettle leaks at the base")
    session.get_by_label("Description").fill("Customer sent a photo of the puddle.")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-title")).to_have_text(f"{number} Kettle leaks at the base")
    expect(session.get_by_test_id("case-facts")).to_contain_text("Customer sent a photo of the puddle.")
    expect(session.get_by_test_id("case-activity")).to_contain_text("description edited")

    # Category and queue too (the case's customer changes only when customers are merged).
    session.get_by_label("Category").fill("Warranty")
    session.get_by_label("Queue", exact=True).select_option(label="Support")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-activity")).to_contain_text("category: none → Warranty")
    expect(session.get_by_test_id("case-activity")).to_contain_text("queue: none → Support")
    expect(session.get_by_test_id("case-facts")).to_contain_text("Support")
    session.get_by_label("Title").fill("   ")
    session.get_by_test_id("case-edit-save").click()
    expect(session.get_by_test_id("case-session-error")).to_have_text("A case needs a title.")

    # Notes: an empty one is refused in the page; a note is listed and on the activity.
    session.get_by_test_id("case-note-add").click()
    expect(session.get_by_test_id("case-session-error")).to_have_text("Write the note first.")
    session.get_by_label("New note on the case").fill("Replacement <b>ordered</b>.")
    session.get_by_test_id("case-note-add").click()
    notes = session.get_by_test_id("case-note")
    expect(notes).to_have_count(1)
    expect(notes.first).to_contain_text("Replacement <b>ordered</b>.")  # text, not markup
    expect(notes.first).to_contain_text("Ana García")
    expect(session.get_by_label("New note on the case")).to_have_value("")
    expect(session.get_by_test_id("case-session-error")).to_be_hidden()

    # Cancel, with a reason, after a second thought: the case is closed for edits.
    session.get_by_test_id("case-session-cancel").click()
    session.get_by_test_id("case-cancel-keep").click()
    expect(session.get_by_test_id("case-cancel-form")).to_be_hidden()
    session.get_by_test_id("case-session-cancel").click()
    expect(session.get_by_label("Why is it cancelled?")).to_be_focused()
    session.get_by_label("Why is it cancelled?").fill("Opened twice")
    session.get_by_test_id("case-cancel-confirm").click()
    expect(session.get_by_test_id("case-session-status")).to_have_text("Cancelled")
    expect(session.get_by_test_id("case-activity")).to_contain_text("Cancelled: Opened twice")
    expect(session.get_by_test_id("case-edit")).to_be_hidden()
    expect(session.get_by_test_id("case-session-cancel")).to_be_hidden()
    expect(session.get_by_test_id("case-session-reopen")).to_be_hidden()
    pages.assert_no_errors(agent)

"""The knowledge authors' page (/admin/knowledge): a supervisor writes a draft, previews it with
the server's rendering, meets a concurrent edit (409, text kept) and the unsaved-changes guard,
publishes it, and an agent then finds it in the workspace's knowledge search; archived, it is gone
from there again. Agents are kept out of the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.test_admin_pages import sign_in
from tests.browser.test_workspace_a11y import AUDIT
from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    SAM,
    Pages,
    agent_in_a_chat,
    customers_fixture,  # noqa: F401 - fixture
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    signed_in_http,
)
from tests.browser.test_workspace_helpers import sign_in as workspace_sign_in

pytestmark = pytest.mark.browser

# "Zephyr" keeps this article apart from the demo articles.
BODY = """# Freeze a Zephyr card

1. Open the **Zephyr** app.
2. Choose *Cards*, then Freeze.

<b>raw html</b> stays text.
"""


def open_page(page: Page, base_url: str, email: str) -> None:
    sign_in(page, base_url, email, landing="/admin/knowledge")


def audit(page: Page) -> None:
    """The workspace's accessibility audit, less its checks for the workspace's own live regions
    (this page announces through role="status" and role="alert")."""
    problems: list[str] = page.evaluate(AUDIT)
    assert [p for p in problems if "live region" not in p] == []


def agent_search(conversation: Any, text: str) -> None:
    query = conversation.get_by_test_id("kb-query")
    query.fill(text)
    query.press("Enter")


def test_a_supervisor_writes_previews_and_publishes_and_an_agent_finds_it(
    live_server: str, pages: Pages, customers: Any
) -> None:
    page = pages.new(width=1440, height=1000)
    open_page(page, live_server, SAM)
    expect(page.locator("#knowledge-admin")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("kb-editor-heading")).to_have_text("New article")
    audit(page)

    # Checked in the page before anything is sent.
    page.get_by_test_id("kb-save").click()
    expect(page.get_by_test_id("kb-title-error")).to_have_text("Give the article a title.")
    expect(page.get_by_test_id("kb-body-error")).to_have_text("Write the article.")
    expect(page.get_by_test_id("kb-title")).to_be_focused()

    page.get_by_test_id("kb-title").fill("Freeze a  Zephyr card")
    page.get_by_test_id("kb-tags").fill("Cards, lost card")
    page.get_by_test_id("kb-visibility").select_option("public")
    page.get_by_test_id("kb-body").fill(BODY)
    expect(page.get_by_test_id("kb-dirty")).to_be_visible()

    # The preview is the server's rendering: Markdown made HTML, raw HTML kept as text, the
    # article's headings moved below the preview's own.
    with page.expect_response(re.compile(r"/api/v1/knowledge/preview$")) as previewed:
        page.get_by_test_id("kb-preview").click()
    assert previewed.value.status == 200, previewed.value.text()
    preview = page.get_by_test_id("kb-preview-html")
    expect(preview.locator("h4")).to_have_text("Freeze a Zephyr card")
    expect(preview.locator("strong")).to_have_text("Zephyr")
    expect(preview.locator("ol > li")).to_have_count(2)
    expect(preview.locator("b")).to_have_count(0)
    expect(preview).to_contain_text("<b>raw html</b> stays text.")
    page.get_by_test_id("kb-body").press("End")
    page.get_by_test_id("kb-body").press_sequentially("More.")
    expect(page.get_by_test_id("kb-preview-note")).to_have_text(
        "The text changed since this preview. Choose Preview again."
    )

    with page.expect_response(re.compile(r"/api/v1/knowledge/articles$")) as created:
        page.get_by_test_id("kb-save").click()
    assert created.value.status == 201, created.value.text()
    article = created.value.json()
    expect(page.get_by_test_id("kb-editor-status")).to_have_text("Draft")
    expect(page.get_by_test_id("kb-dirty")).to_be_hidden()
    expect(page.get_by_test_id("kb-title")).to_have_value("Freeze a Zephyr card")  # as the server keeps it
    expect(page.get_by_test_id("kb-tags")).to_have_value("cards, lost-card")
    expect(page.get_by_test_id("kb-slug")).to_have_value("freeze-a-zephyr-card")
    expect(page.get_by_test_id("kb-slug")).to_have_attribute("readonly", "")
    row = page.get_by_test_id("kb-row").filter(has_text="Freeze a Zephyr card")
    expect(row.get_by_test_id("kb-row-status")).to_have_text("Draft")
    expect(row).to_have_attribute("aria-current", "true")
    assert f"article={article['id']}" in page.url

    # The status filter.
    page.get_by_test_id("kb-filter-status").select_option("published")
    page.get_by_test_id("kb-filter-submit").click()
    expect(row).to_have_count(0)
    page.get_by_test_id("kb-filter-status").select_option("draft")
    page.get_by_test_id("kb-filter-q").fill("zephyr")
    page.get_by_test_id("kb-filter-submit").click()
    expect(page.get_by_test_id("kb-row")).to_have_count(1)
    expect(row).to_have_count(1)

    # Someone else saves meanwhile: a clear 409, and the supervisor's text stays in the editor.
    other = signed_in_http(live_server, ADMIN)
    try:
        r = other.patch(
            f"/api/v1/knowledge/articles/{article['id']}",
            json={"expected_version": 1, "summary": "By the admin."},
        )
        assert r.status_code == 200, r.text
    finally:
        other.close()
    page.get_by_test_id("kb-body").fill(BODY + "\nMy own change.\n")
    with page.expect_response(re.compile(rf"/api/v1/knowledge/articles/{article['id']}$")) as refused:
        page.get_by_test_id("kb-save").click()
    assert refused.value.status == 409
    expect(page.get_by_test_id("kb-conflict")).to_be_visible()
    expect(page.get_by_test_id("kb-conflict-text")).to_contain_text("Your text is still in the editor")
    expect(page.get_by_test_id("kb-body")).to_have_value(re.compile("My own change."))
    expect(page.get_by_test_id("kb-dirty")).to_be_visible()

    # Unsaved changes are not dropped silently: declining the question keeps them.
    questions: list[str] = []

    def decline(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.get_by_test_id("kb-new").click()
    expect(page.get_by_test_id("kb-body")).to_have_value(re.compile("My own change."))
    assert questions == ["Discard your unsaved changes to this article?"]

    page.get_by_test_id("kb-conflict-reload").click()
    expect(page.get_by_test_id("kb-summary")).to_have_value("By the admin.")
    expect(page.get_by_test_id("kb-conflict")).to_be_hidden()
    expect(page.get_by_test_id("kb-dirty")).to_be_hidden()

    # Publishing saves the text first, then publishes that version.
    page.get_by_test_id("kb-body").fill(BODY + "\nCall us if the app is locked.\n")
    page.get_by_test_id("kb-publish").click()
    expect(page.get_by_test_id("kb-editor-status")).to_have_text("Published")
    expect(page.get_by_test_id("kb-publish")).to_be_hidden()
    expect(page.get_by_test_id("kb-archive")).to_have_text("Unpublish (archive)")
    expect(page.get_by_test_id("kb-published-note")).to_be_visible()
    expect(page.get_by_test_id("kb-public-link")).to_have_attribute("href", "/kb/freeze-a-zephyr-card")
    expect(page.get_by_test_id("kb-facts")).to_contain_text("Version 4")
    expect(page.get_by_test_id("kb-dirty")).to_be_hidden()
    page.get_by_test_id("kb-filter-status").select_option("published")
    page.get_by_test_id("kb-filter-submit").click()
    expect(row.get_by_test_id("kb-row-status")).to_have_text("Published")
    screenshot(page, "knowledge-admin")
    audit(page)

    # An agent finds it beside a chat.
    agent, _, conversation = agent_in_a_chat(pages, live_server, customers, "Jane Doe", "My card is lost")
    agent.keyboard.press("Alt+k")
    agent_search(conversation, "zephyr")
    result = conversation.get_by_test_id("kb-result").filter(has_text="Freeze a Zephyr card")
    expect(result).to_have_count(1)
    result.get_by_test_id("kb-open").click()
    expect(conversation.get_by_test_id("kb-preview")).to_contain_text("Call us if the app is locked.")
    conversation.get_by_role("button", name="Back to results").click()

    # Archived, it leaves the agents' search.
    page.get_by_test_id("kb-archive").click()
    expect(page.get_by_test_id("kb-editor-status")).to_have_text("Archived")
    expect(page.get_by_test_id("kb-publish")).to_have_text("Publish again")
    agent_search(conversation, "zephyr")
    expect(conversation.locator(".kb-status")).to_have_text("No article matches.")
    expect(conversation.get_by_test_id("kb-result")).to_have_count(0)

    pages.assert_no_errors(page)
    pages.assert_no_errors(agent)


def test_agents_are_kept_out_and_supervisors_find_the_page_from_the_workspace(
    live_server: str, pages: Pages
) -> None:
    agent = pages.new()
    open_page(agent, live_server, ANA)
    expect(agent.get_by_test_id("admin-forbidden")).to_contain_text(
        "Knowledge articles are written by supervisors and admins"
    )
    expect(agent.get_by_role("link", name="Back to the workspace")).to_be_visible()

    supervisor = pages.new()
    workspace_sign_in(supervisor, live_server, SAM)
    supervisor.get_by_test_id("knowledge-admin-link").click()
    expect(supervisor).to_have_url(f"{live_server}/admin/knowledge")
    expect(supervisor.locator("#knowledge-admin")).to_have_attribute("data-ready", "true")
    # Demo articles are published; the default list shows drafts and published ones.
    expect(supervisor.get_by_test_id("kb-row").first).to_be_visible()
    supervisor.get_by_test_id("kb-row").first.get_by_test_id("kb-edit").click()
    expect(supervisor.get_by_test_id("kb-editor-status")).to_have_text("Published")
    expect(supervisor.get_by_test_id("kb-preview-html")).not_to_be_empty()
    pages.assert_no_errors(supervisor)

"""Beside the conversation: a case made from the chat and resolved, and a knowledge article found,
previewed and sent to the customer."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    ADMIN,
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    signed_in_http,
)

pytestmark = pytest.mark.browser

# "Zephyr" keeps these articles apart from any demo articles the server may load.
RESET_BODY = """# Reset your password

## From the sign-in page

1. Choose **Forgot password** on the Zephyr sign-in page.
2. Enter the code we text you.

## If you have no phone

Call us; we check your identity first.
"""


def publish_article(base_url: str, **fields: Any) -> dict[str, Any]:
    admin = signed_in_http(base_url, ADMIN)
    try:
        created = admin.post("/api/v1/knowledge/articles", json=fields)
        assert created.status_code == 201, created.text
        article = created.json()
        done = admin.post(f"/api/v1/knowledge/articles/{article['id']}/publish", json={})
        assert done.status_code == 200, done.text
        published: dict[str, Any] = done.json()
        return published
    finally:
        admin.close()


def customer_sees(http: httpx.Client, key: str, token: str, origin: str) -> list[str]:
    r = http.get(
        f"/api/webchat/v1/widgets/{key}/conversation",
        headers={"Origin": origin, "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return [m["text"] for m in r.json()["messages"]]


def test_case_from_a_chat_resolved_in_the_workspace(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    sign_in(agent, live_server)
    set_presence(agent, "available")
    customers().start("Jane Doe", "My parcel CA-22 never arrived.")
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)

    conversation.get_by_test_id("side-tab-cases").click()
    expect(conversation.get_by_test_id("cases")).to_contain_text("No case is linked")
    conversation.get_by_test_id("case-new").click()
    dialog = agent.get_by_test_id("case-dialog")
    dialog.get_by_label("Priority").select_option("high")
    dialog.get_by_label("Category (optional)").fill("delivery")
    dialog.get_by_test_id("case-create").click()
    expect(dialog).to_be_hidden()

    card = conversation.get_by_test_id("case-card")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("case-number")).to_have_text(re.compile(r"^CAS-\d{6}$"))
    expect(card.get_by_test_id("case-title")).to_have_text("My parcel CA-22 never arrived.")  # prefilled
    expect(card.get_by_test_id("case-status")).to_have_text("New")
    expect(card.get_by_test_id("case-sla")).to_contain_text("due")
    card.get_by_role("button", name="Start work").click()
    expect(card.get_by_test_id("case-status")).to_have_text("In progress")

    card.get_by_test_id("case-resolve").click()
    resolve = agent.get_by_test_id("resolve-dialog")
    resolve.get_by_label("Outcome").select_option("solved")
    resolve.get_by_label("Resolution").fill("Reshipped with tracking CA-23.")
    resolve.get_by_test_id("resolve-submit").click()
    expect(resolve).to_be_hidden()
    expect(card.get_by_test_id("case-status")).to_have_text("Resolved")
    expect(card).to_contain_text("Reshipped with tracking CA-23.")
    expect(card.get_by_test_id("case-reopen")).to_be_visible()
    expect(card.get_by_test_id("case-resolve")).to_be_hidden()
    screenshot(agent, "cases")

    # After a reload the case is read back from the server.
    agent.reload()
    open_conversation(agent).get_by_test_id("side-tab-cases").click()
    expect(open_conversation(agent).get_by_test_id("case-status")).to_have_text("Resolved")
    pages.assert_no_errors(agent)


def test_knowledge_search_preview_and_send(live_server: str, pages: Pages, customers: Any) -> None:
    public = publish_article(
        live_server,
        title="Reset your Zephyr banking password",
        body=RESET_BODY,
        visibility="public",
        tags=["password"],
    )
    publish_article(
        live_server,
        title="Identity check before a Zephyr password reset",
        body="Ask two security questions about the Zephyr account.",
        visibility="internal",
    )
    agent = pages.new()
    sign_in(agent, live_server)
    set_presence(agent, "available")
    jane = customers().start("Jane Doe", "I forgot my password")
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)

    agent.keyboard.press("Alt+k")
    query = conversation.get_by_test_id("kb-query")
    expect(query).to_be_focused()
    query.fill("zephyr")
    query.press("Enter")
    results = conversation.get_by_test_id("kb-result")
    expect(results).to_have_count(2)
    expect(results.locator("mark").first).to_be_visible()  # the matched words are highlighted

    # The internal article can be previewed and quoted, but has no link for the customer.
    results.filter(has_text="Identity check").get_by_test_id("kb-open").click()
    preview = conversation.get_by_test_id("kb-preview")
    expect(preview).to_contain_text("Ask two security questions")
    expect(conversation.get_by_test_id("kb-send-link")).to_be_hidden()
    conversation.get_by_role("button", name="Back to results").click()

    results.filter(has_text="Zephyr banking").get_by_test_id("kb-open").click()
    expect(preview.get_by_role("heading", name="From the sign-in page")).to_be_visible()
    # Article headings sit below the panel's own (h4): h1 → h5, h2 → h6.
    expect(preview.locator("h5")).to_have_text("Reset your password")
    screenshot(agent, "knowledge")
    conversation.get_by_test_id("kb-send-link").click()
    link_line = f"Reset your Zephyr banking password: {live_server}"
    expect(message(conversation, link_line).get_by_test_id("delivery-state")).to_have_text("Sent")
    conversation.get_by_test_id("kb-send-excerpt").click()
    excerpt = message(conversation, "Choose Forgot password")
    expect(excerpt.get_by_test_id("delivery-state")).to_have_text("Sent")  # stored, not just shown

    seen = customer_sees(jane.http, jane.key, jane.token, jane.origin)
    assert any(text.endswith(f"/kb/{public['slug']}") for text in seen), seen
    assert any("Choose Forgot password" in text for text in seen), seen
    pages.assert_no_errors(agent)

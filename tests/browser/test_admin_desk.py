"""The desk administration page (/admin/desk): a supervisor writes, edits and deletes quick replies
(shared and personal) and configures disposition codes per queue, with validation shown inline and
deletes confirmed first; the page speaks Spanish when asked; agents are kept out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from omniroute.demo import DEMO_PASSWORD
from tests.browser.test_admin_pages import new_page, no_js_errors
from tests.browser.test_workspace_helpers import signed_in_http

pytestmark = pytest.mark.browser

SUPERVISOR = "sam@demo.omniroute.dev"
AGENT = "ana@demo.omniroute.dev"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_desk(page: Page, base_url: str, email: str, query: str = "") -> None:
    page.goto(f"{base_url}/admin/desk{query}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/admin/desk")
    if query:
        page.goto(f"{base_url}/admin/desk{query}")


def row(page: Page, title: str) -> Locator:
    return page.get_by_test_id("qr-row").filter(
        has=page.get_by_test_id("qr-row-title").get_by_text(title, exact=True)
    )


def test_a_supervisor_manages_quick_replies_and_disposition_codes(
    live_server: str, browser: Browser, contexts: list[BrowserContext], screenshot_dir: Path | None
) -> None:
    page = new_page(browser, contexts)
    open_desk(page, live_server, SUPERVISOR)
    expect(page.locator("#desk-admin")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("qr-empty")).to_be_visible()

    # Validation shows next to the fields, and nothing is sent.
    page.get_by_test_id("qr-tags").fill("ok, bad!tag")
    page.get_by_test_id("qr-submit").click()
    expect(page.get_by_test_id("qr-title-error")).to_have_text("Give the reply a title.")
    expect(page.get_by_test_id("qr-text-error")).to_have_text("Write the text agents will send.")
    expect(page.get_by_test_id("qr-tags-error")).to_contain_text('"bad!tag"')
    expect(page.get_by_test_id("qr-title")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("qr-title")).to_be_focused()

    # A shared reply with a slug, markup kept as text.
    page.get_by_test_id("qr-title").fill("Refunds <b>policy</b>")
    page.get_by_test_id("qr-text").fill("Hello {customerName}, refunds take 5 days.")
    page.get_by_test_id("qr-language").select_option("en")
    page.get_by_test_id("qr-tags").fill("Billing, refund")
    with page.expect_response(re.compile(r"/api/v1/quick-replies$")) as created:
        page.get_by_test_id("qr-submit").click()
    assert created.value.status == 201, created.value.text()
    shared = row(page, "Refunds <b>policy</b>")
    expect(shared).to_have_count(1)
    expect(shared.locator("b")).to_have_count(0)
    expect(shared.get_by_test_id("qr-row-owner")).to_have_text("Shared")
    expect(shared.get_by_test_id("qr-row-tags")).to_have_text("billing, refund")
    expect(page.get_by_test_id("qr-title-error")).to_be_hidden()

    # A personal one.
    page.get_by_test_id("qr-title").fill("My sign-off")
    page.get_by_test_id("qr-text").fill("Best, {agentName}")
    page.get_by_test_id("qr-owner-personal").check()
    page.get_by_test_id("qr-submit").click()
    expect(row(page, "My sign-off").get_by_test_id("qr-row-owner")).to_have_text("Personal")

    # Edit: the form fills in; the owner is fixed; the change is saved with its version.
    shared.get_by_test_id("qr-edit").click()
    expect(page.get_by_test_id("qr-form-heading")).to_contain_text("Edit")
    expect(page.get_by_test_id("qr-title")).to_have_value("Refunds <b>policy</b>")
    expect(page.get_by_test_id("qr-owner-shared")).to_be_disabled()
    page.get_by_test_id("qr-title").fill("Refund policy")
    page.get_by_test_id("qr-language").select_option("")
    page.get_by_test_id("qr-submit").click()
    edited = row(page, "Refund policy")
    expect(edited.get_by_test_id("qr-row-language")).to_have_text("Any language")
    expect(page.get_by_test_id("qr-form-heading")).to_have_text("New quick reply")

    # An edit that lost a race answers 409 with a way out.
    edited.get_by_test_id("qr-edit").click()
    with closing(signed_in_http(live_server, SUPERVISOR)) as other:
        reply_id = edited.get_attribute("data-reply-id")
        assert other.patch(f"/api/v1/quick-replies/{reply_id}", json={"text": "Changed elsewhere"}).is_success
    page.get_by_test_id("qr-text").fill("My version")
    page.get_by_test_id("qr-submit").click()
    expect(page.get_by_test_id("qr-error")).to_contain_text("changed this reply meanwhile")
    page.get_by_test_id("qr-cancel").click()

    # Delete asks first; keeping it changes nothing.
    mine = row(page, "My sign-off")
    mine.get_by_test_id("qr-delete").click()
    expect(mine.get_by_test_id("qr-delete-confirmation")).to_contain_text("Delete “My sign-off”?")
    mine.get_by_test_id("qr-delete-cancel").click()
    expect(mine).to_have_count(1)
    mine.get_by_test_id("qr-delete").click()
    with page.expect_response(re.compile(r"/api/v1/quick-replies/")) as deleted:
        mine.get_by_test_id("qr-delete-confirm").click()
    assert deleted.value.status == 204
    expect(row(page, "My sign-off")).to_have_count(0)

    # Disposition codes of the Support queue.
    page.get_by_test_id("dc-queue").select_option(label="Support")
    expect(page.get_by_test_id("dc-version")).to_have_text("Not configured")
    expect(page.get_by_test_id("dc-empty")).to_be_visible()
    page.get_by_test_id("dc-required").check()
    page.get_by_test_id("dc-save").click()
    expect(page.get_by_test_id("dc-error")).to_have_text(
        "A queue that requires a code needs at least one code."
    )
    page.get_by_test_id("dc-add").click()
    rows = page.get_by_test_id("dc-row")
    rows.nth(0).get_by_test_id("dc-code").fill("Resolved!")
    page.get_by_test_id("dc-save").click()
    expect(rows.nth(0).get_by_test_id("dc-code-error")).to_have_text(
        "Lower-case letters, digits, - and _ only."
    )
    expect(rows.nth(0).get_by_test_id("dc-label-error")).to_have_text("Give the label agents see.")
    rows.nth(0).get_by_test_id("dc-code").fill("resolved")
    rows.nth(0).get_by_test_id("dc-label").fill("Resolved")
    page.get_by_test_id("dc-add").click()
    rows.nth(1).get_by_test_id("dc-code").fill("callback")
    rows.nth(1).get_by_test_id("dc-label").fill("Callback <promised>")
    with page.expect_response(re.compile(r"/disposition-codes$")) as saved:
        page.get_by_test_id("dc-save").click()
    assert saved.value.ok, saved.value.text()
    expect(page.get_by_test_id("dc-version")).to_have_text("Version 1")
    with closing(signed_in_http(live_server, SUPERVISOR)) as check:
        queues = {q["name"]: q["id"] for q in check.get("/api/v1/queues").json()}
        stored = check.get(f"/api/v1/admin/queues/{queues['Support']}/disposition-codes").json()
    assert stored["required"] is True
    assert stored["codes"] == [
        {"code": "resolved", "label": "Resolved"},
        {"code": "callback", "label": "Callback <promised>"},
    ]

    # Removing a code asks first, then applies on save.
    rows.nth(1).get_by_test_id("dc-remove").click()
    rows.nth(1).get_by_test_id("dc-remove-confirm").click()
    expect(rows).to_have_count(1)
    page.get_by_test_id("dc-save").click()
    expect(page.get_by_test_id("dc-version")).to_have_text("Version 2")
    # Another queue has its own list.
    page.get_by_test_id("dc-queue").select_option(label="Sales")
    expect(page.get_by_test_id("dc-version")).to_have_text("Not configured")
    page.get_by_test_id("dc-queue").select_option(label="Support")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).get_by_test_id("dc-label")).to_have_value("Resolved")
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "admin-desk.png"), full_page=True)
    no_js_errors(page)


def test_the_page_speaks_spanish_and_keeps_agents_out(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts)
    open_desk(page, live_server, SUPERVISOR, "?lang=es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Administración del escritorio", level=1)).to_be_visible()
    expect(page.locator("#desk-admin")).to_have_attribute("data-ready", "true")
    page.get_by_test_id("qr-submit").click()
    expect(page.get_by_test_id("qr-title-error")).to_have_text("Ponle un título a la respuesta.")
    no_js_errors(page)

    agent = new_page(browser, contexts)
    agent.goto(f"{live_server}/admin/desk")
    agent.get_by_label("Email").fill(AGENT)
    agent.get_by_label("Password").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_test_id("admin-forbidden")).to_be_visible()
    expect(agent.locator("#desk-admin")).to_have_count(0)

"""The administration page's Channels section: the form comes from the channel catalog, so an admin
connects an SMS account with its sender and a default queue, edits a WhatsApp account (what the form
does not show, templates and secrets, is kept), sees the server's reason for a bad value, and reads the
fields in Spanish."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.test_admin_pages import ADMIN, new_page, no_js_errors, open_admin

pytestmark = pytest.mark.browser

BASE = "/api/v1/admin/channel-accounts"
TEMPLATE = {"name": "order_update", "language": "en_US", "category": "UTILITY", "body": "Order {{1}} shipped"}


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def channels_page(browser: Browser, contexts: list[BrowserContext], base_url: str) -> Page:
    page = new_page(browser, contexts)
    open_admin(page, base_url, ADMIN)
    expect(page.locator("#channels")).to_have_attribute("data-ready", "true")
    return page


def accounts(page: Page, base_url: str) -> dict[str, dict[str, Any]]:
    """The accounts as the API has them (the page's own session), by name."""
    listed: list[dict[str, Any]] = page.request.get(f"{base_url}{BASE}").json()
    return {a["name"]: a for a in listed}


def account_row(page: Page, name: str) -> Locator:
    return page.get_by_test_id("channel-account").filter(has=page.get_by_role("cell", name=name, exact=True))


def fill_whatsapp(page: Page, name: str) -> None:
    page.get_by_test_id("channel-kind").select_option("whatsapp")
    page.get_by_test_id("channel-name").fill(name)
    page.get_by_test_id("channel-settings-phone_number_id").fill("106540352242922")
    page.get_by_test_id("channel-secrets-app_secret").fill("app-secret")
    page.get_by_test_id("channel-secrets-verify_token").fill("verify-me")
    page.get_by_test_id("channel-secrets-access_token").fill("graph-token")


def test_admin_connects_an_sms_account_with_its_sender_and_a_default_queue(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = channels_page(browser, contexts, live_server)
    page.get_by_test_id("channel-kind").select_option("sms_twilio")
    # The optional sender settings are on the form, with their help; the API base is folded away.
    expect(page.get_by_label("From number")).to_be_visible()
    expect(page.get_by_label("Messaging Service SID")).to_be_visible()
    expect(page.get_by_test_id("channel-settings-api_base")).to_be_hidden()
    expect(page.get_by_test_id("channel-settings-from_number-help")).to_contain_text("E.164")

    page.get_by_test_id("channel-name").fill("Support SMS")
    page.get_by_label("Account SID (required)").fill("AC123")
    page.get_by_label("Auth Token (required)").fill("env:TWILIO_AUTH_TOKEN")
    page.get_by_test_id("channel-create").click()
    # Without a sender the server refuses, and its reason shows by the form.
    error = page.get_by_test_id("channel-create-error")
    expect(error).to_have_text("sms_twilio accounts need from_number or messaging_service_sid")
    expect(page.get_by_test_id("channel-account")).to_have_count(0)

    page.get_by_label("From number").fill("+15005550006")
    page.get_by_test_id("channel-queue").select_option(label="Support")
    page.get_by_test_id("channel-create").click()
    row = account_row(page, "Support SMS")
    expect(row.get_by_test_id("channel-queue-name")).to_have_text("Support")
    expect(row).to_contain_text("auth_token")
    expect(error).to_be_hidden()
    expect(page.get_by_test_id("channel-name")).to_have_value("")  # ready for the next one

    saved = accounts(page, live_server)["Support SMS"]
    queues = {q["name"]: q["id"] for q in page.request.get(f"{live_server}/api/v1/queues").json()}
    assert saved["settings"] == {"account_sid": "AC123", "from_number": "+15005550006"}
    assert saved["default_queue_id"] == queues["Support"]
    assert saved["secrets_set"] == ["auth_token"]
    no_js_errors(page)


def test_admin_edits_a_whatsapp_accounts_waba_id_and_what_the_form_does_not_show_is_kept(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = channels_page(browser, contexts, live_server)
    fill_whatsapp(page, "Support WhatsApp")
    page.get_by_test_id("channel-create").click()
    row = account_row(page, "Support WhatsApp")
    expect(row).to_contain_text("access_token, app_secret, verify_token")
    account_id = accounts(page, live_server)["Support WhatsApp"]["id"]
    # Templates are kept by their own endpoint (the sync), not the form.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    put = page.request.put(
        f"{live_server}{BASE}/{account_id}/whatsapp/templates",
        data={"templates": [TEMPLATE]},
        headers={"X-CSRF-Token": csrf},
    )
    assert put.ok, put.text()

    row.get_by_role("button", name="Edit Support WhatsApp").click()
    form = page.get_by_test_id("channel-create-form")
    expect(page.get_by_role("heading", name="Edit “Support WhatsApp”")).to_be_visible()
    expect(page.get_by_test_id("channel-kind")).to_be_disabled()
    expect(page.get_by_test_id("channel-settings-phone_number_id")).to_have_value("106540352242922")
    expect(page.get_by_test_id("channel-enabled")).to_be_checked()
    # Secrets are never shown back: empty, saying one is stored and may be left as it is.
    token = page.get_by_test_id("channel-secrets-access_token")
    expect(token).to_have_value("")
    expect(token).to_have_attribute("placeholder", "Stored: leave empty to keep")
    expect(form).to_contain_text("env:NAME")

    waba = page.get_by_label("WhatsApp Business Account ID")
    waba.fill("not digits")
    page.get_by_test_id("channel-create").click()  # "Save changes"
    expect(page.get_by_test_id("channel-create-error")).to_have_text(
        "waba_id must be the WhatsApp Business Account ID (digits)"
    )
    assert "waba_id" not in accounts(page, live_server)["Support WhatsApp"]["settings"]

    waba.fill("102290129340398")
    page.get_by_test_id("channel-queue").select_option(label="Sales")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Connect a channel")).to_be_visible()
    expect(row.get_by_test_id("channel-queue-name")).to_have_text("Sales")

    # Opened again, the form shows the kept value; the server kept everything else.
    row.get_by_role("button", name="Edit Support WhatsApp").click()
    expect(page.get_by_label("WhatsApp Business Account ID")).to_have_value("102290129340398")
    saved = accounts(page, live_server)["Support WhatsApp"]
    assert saved["settings"]["waba_id"] == "102290129340398"
    assert saved["settings"]["phone_number_id"] == "106540352242922"
    assert [t["name"] for t in saved["settings"]["templates"]] == ["order_update"]
    assert saved["secrets_set"] == ["access_token", "app_secret", "verify_token"]

    # A secret typed on edit replaces only that one; disabling from the form sticks.
    token.fill("rotated-token")
    page.get_by_test_id("channel-enabled").uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(row.get_by_test_id("channel-state")).to_have_text("disabled")
    assert accounts(page, live_server)["Support WhatsApp"]["secrets_set"] == [
        "access_token",
        "app_secret",
        "verify_token",
    ]
    # Cancel leaves the edit without saving.
    row.get_by_role("button", name="Edit Support WhatsApp").click()
    page.get_by_test_id("channel-cancel").click()
    expect(page.get_by_role("heading", name="Connect a channel")).to_be_visible()
    expect(page.get_by_test_id("channel-kind")).to_be_enabled()
    no_js_errors(page)


def test_booleans_go_out_as_json_booleans(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Messenger refuses anything but a JSON boolean for human_agent_tag: the checkbox sends one."""
    page = channels_page(browser, contexts, live_server)
    page.get_by_test_id("channel-kind").select_option("messenger")
    page.get_by_test_id("channel-name").fill("Acme on Messenger")
    page.get_by_test_id("channel-settings-page_id").fill("682498302938465")
    page.get_by_label("Reply up to 7 days later (HUMAN_AGENT tag)").check()
    page.get_by_test_id("channel-advanced").locator("summary").click()
    expect(page.get_by_label("Allow media on private addresses")).not_to_be_checked()
    for key in ("app_secret", "verify_token", "access_token"):
        page.get_by_test_id(f"channel-secrets-{key}").fill(f"{key}-value")
    page.get_by_test_id("channel-create").click()
    expect(account_row(page, "Acme on Messenger")).to_be_visible()
    # An unchecked box equal to its default is left out, not written as false.
    assert accounts(page, live_server)["Acme on Messenger"]["settings"] == {
        "page_id": "682498302938465",
        "human_agent_tag": True,
    }
    no_js_errors(page)


def test_the_channel_form_speaks_spanish(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = channels_page(browser, contexts, live_server)
    page.goto(f"{live_server}/admin?lang=es")
    section = page.locator("#channels")
    expect(section).to_have_attribute("data-ready", "true")
    expect(section).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Conectar un canal")).to_be_visible()
    page.get_by_test_id("channel-kind").select_option("sms_twilio")
    expect(page.get_by_label("Número remitente")).to_be_visible()
    expect(page.get_by_label("SID de la cuenta (obligatorio)")).to_be_visible()
    expect(page.get_by_test_id("channel-settings-from_number-help")).to_contain_text("E.164")
    expect(page.get_by_test_id("channel-create")).to_have_text(re.compile("Conectar"))
    no_js_errors(page)

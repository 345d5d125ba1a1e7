"""The workspace settings live on the user record: saved in one browser they are there in a fresh
one (new sign-in, empty localStorage) and shape its offers; settings a browser kept before they
moved to the record are brought over once; a save that cannot reach the server is kept in the
browser and sent on the next load."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_helpers import (
    BEN,
    Pages,
    customers_fixture,  # noqa: F401 - fixture
    offer,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
    signed_in_http,
)

pytestmark = pytest.mark.browser

PREFERENCES = re.compile(r"/api/v1/me/preferences$")


def open_settings(page: Page) -> Any:
    page.get_by_test_id("settings-button").click()
    dialog = page.get_by_test_id("settings-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_settings_saved_in_one_browser_are_there_in_a_fresh_one(
    live_server: str, pages: Pages, customers: Any
) -> None:
    first = pages.new()
    sign_in(first, live_server)
    dialog = open_settings(first)
    dialog.get_by_label("Sound").select_option("never")
    dialog.get_by_label("Desktop notification").select_option("never")
    dialog.get_by_label("Notification title").fill("{customerName} waits in {queue}")
    dialog.get_by_label("Notification text").fill("{channel}: {question}")
    with first.expect_response(PREFERENCES) as saved:
        dialog.get_by_test_id("settings-save").click()
    assert saved.value.ok, saved.value.text()
    expect(dialog).to_be_hidden()

    # Another browser: nothing in its storage, yet the same settings, and its offers use them.
    second = pages.new()
    sign_in(second, live_server)
    assert (
        second.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('omniroute.settings'))") != []
    )
    dialog = open_settings(second)
    expect(dialog.get_by_label("Sound")).to_have_value("never")
    expect(dialog.get_by_label("Desktop notification")).to_have_value("never")
    expect(dialog.get_by_label("Notification title")).to_have_value("{customerName} waits in {queue}")
    expect(dialog.get_by_label("Notification text")).to_have_value("{channel}: {question}")
    second.keyboard.press("Escape")
    set_presence(second, "available")
    customers().start("Jane Doe", "Is the oak table in stock?")
    expect(offer(second, "Jane Doe").get_by_test_id("offer-title")).to_have_text("Jane Doe waits in Sales")
    expect(offer(second, "Jane Doe").get_by_test_id("offer-preview")).to_have_text(
        "Web chat: Is the oak table in stock?"
    )
    pages.assert_no_errors(first)
    pages.assert_no_errors(second)


def test_settings_kept_in_a_browser_are_brought_over_once(live_server: str, pages: Pages) -> None:
    ben = signed_in_http(live_server, BEN)
    try:
        ben_id = ben.get("/api/v1/session").json()["user_id"]
        assert ben.get("/api/v1/me/preferences").json()["saved"] is False
    finally:
        ben.close()
    kept = {
        "sound": "always",
        "desktop": "never",
        "titleTemplate": "Chat: {customerName}",
        "bodyTemplate": "",
    }
    # What an older workspace left in this browser's localStorage.
    browser = pages.new()
    browser.add_init_script(
        f"if (location.pathname === '/login') localStorage.setItem('omniroute.settings.{ben_id}', "
        f"{json.dumps(json.dumps(kept))});"
    )
    with browser.expect_response(PREFERENCES) as brought:
        sign_in(browser, live_server, BEN)
    assert brought.value.request.method == "PUT"
    assert brought.value.ok, brought.value.text()

    fresh = pages.new()
    sign_in(fresh, live_server, BEN)
    dialog = open_settings(fresh)
    expect(dialog.get_by_label("Sound")).to_have_value("always")
    expect(dialog.get_by_label("Desktop notification")).to_have_value("never")
    expect(dialog.get_by_label("Notification title")).to_have_value("Chat: {customerName}")
    pages.assert_no_errors(browser)
    pages.assert_no_errors(fresh)


def test_a_save_without_the_server_is_sent_on_the_next_load(live_server: str, pages: Pages) -> None:
    agent = pages.new()
    sign_in(agent, live_server)
    agent.route(PREFERENCES, lambda route: route.abort())
    dialog = open_settings(agent)
    dialog.get_by_label("Sound").select_option("never")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    pages.assert_no_errors(agent)
    expect(agent.locator("#announcer")).to_have_text(
        "Your settings are kept in this browser until the server can be reached."
    )
    ana = signed_in_http(live_server, "ana@demo.omniroute.dev")
    try:
        assert ana.get("/api/v1/me/preferences").json()["saved"] is False

        agent.unroute(PREFERENCES)
        with agent.expect_response(PREFERENCES) as sent:
            agent.reload()
        assert sent.value.ok, sent.value.text()
        assert ana.get("/api/v1/me/preferences").json()["sound"] == "never"
    finally:
        ana.close()
    expect(open_settings(agent).get_by_label("Sound")).to_have_value("never")
    pages.assert_no_errors(agent)


def test_the_server_s_refusal_shows_in_the_dialog(live_server: str, pages: Pages) -> None:
    agent = pages.new()
    sign_in(agent, live_server)
    dialog = open_settings(agent)
    # The field's own limit stops typing; a pasted-in value past it is the server's to refuse.
    dialog.get_by_label("Notification title").evaluate(
        "(el) => { el.maxLength = 1000; el.value = 'x'.repeat(300); }"
    )
    dialog.get_by_test_id("settings-save").click()
    expect(dialog.get_by_test_id("settings-error")).to_contain_text("title_template")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Notification title").fill("Short")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()
    pages.assert_no_errors(agent)


STARTING = """
async () => {
  const storage = await import('/static/js/workspace/storage.js');
  const { startingSettings, settingsFromApi, settingsToApi } = storage;
  const local = { sound: 'always', desktop: 'never', titleTemplate: 'L', bodyTemplate: '' };
  const server = { sound: 'never', desktop: 'always', title_template: 'S', body_template: '{preview}' };
  const start = (server_, localSaved, localPending) =>
    startingSettings({ server: server_, local, localSaved, localPending });
  return {
    olderServer: start(undefined, true, false),
    recordWins: start(server, true, false),
    broughtOver: start(null, true, false),
    nothingAnywhere: start(null, false, false),
    offlineSave: start(server, true, true),
    roundTrip: settingsToApi(settingsFromApi(server)),
    badMode: settingsFromApi({ ...server, sound: 'loud' }).sound,
  };
}
"""


def test_which_settings_a_page_starts_with(live_server: str, pages: Pages) -> None:
    page = pages.new()
    sign_in(page, live_server)
    got: dict[str, Any] = page.evaluate(STARTING)
    local = {"sound": "always", "desktop": "never", "titleTemplate": "L", "bodyTemplate": ""}
    record = {"sound": "never", "desktop": "always", "titleTemplate": "S", "bodyTemplate": "{preview}"}
    defaults = {"sound": "background", "desktop": "background", "titleTemplate": "", "bodyTemplate": ""}
    assert got["olderServer"] == {"settings": local, "push": False}  # no endpoint: this browser only
    assert got["recordWins"] == {"settings": record, "push": False}
    assert got["broughtOver"] == {"settings": local, "push": True}  # the record has none yet
    assert got["nothingAnywhere"] == {"settings": defaults, "push": False}
    assert got["offlineSave"] == {"settings": local, "push": True}  # the last save never arrived
    assert got["roundTrip"] == {
        "sound": "never",
        "desktop": "always",
        "title_template": "S",
        "body_template": "{preview}",
    }
    assert got["badMode"] == "background"
    pages.assert_no_errors(page)

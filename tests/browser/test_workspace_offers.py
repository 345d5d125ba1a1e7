"""Offer toasts: countdown, accept and reject, Alt+A, notification templates with slugs, and the
sound and desktop notification the settings ask for."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_helpers import (
    Pages,
    customers_fixture,  # noqa: F401 - fixture
    offer,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    tab,
)

pytestmark = pytest.mark.browser

# Stand-ins that record what the workspace asks of the browser: headless Chromium has neither
# speakers nor a notification centre to look at.
RECORDERS = """
window.__notifications = [];
window.__tones = 0;
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notifications.push({ title, body: options.body }); }
  addEventListener() {}
  close() {}
};
window.AudioContext = class {
  constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; }
  resume() { return Promise.resolve(); }
  createGain() {
    const param = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
    return { gain: param, connect: (next) => next };
  }
  createOscillator() {
    return { frequency: {}, connect: (next) => next, start() { window.__tones += 1; }, stop() {} };
  }
};
"""


def configure_notifications(agent: Page) -> None:
    agent.get_by_test_id("settings-button").click()
    dialog = agent.get_by_test_id("settings-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Sound").select_option("always")
    dialog.get_by_label("Desktop notification").select_option("always")
    dialog.get_by_label("Notification title").fill("{customerName} · {queue} · {email}")
    dialog.get_by_label("Notification text").fill("{channel}: {question}")
    dialog.get_by_role("button", name="Try it").click()
    expect(dialog.get_by_test_id("settings-preview")).to_have_text(
        "Jane Doe · Sales · jane@example.com — Web chat: Does the wool throw come in grey?"
    )
    screenshot(agent, "settings")
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()


def notify_when(agent: Page, mode: str) -> None:
    """Sound and desktop notification both set to ``mode`` in the settings dialog."""
    agent.get_by_test_id("settings-button").click()
    dialog = agent.get_by_test_id("settings-dialog")
    dialog.get_by_label("Sound").select_option(mode)
    dialog.get_by_label("Desktop notification").select_option(mode)
    dialog.get_by_test_id("settings-save").click()
    expect(dialog).to_be_hidden()


def test_offer_toasts_notify_count_down_and_are_accepted(
    live_server: str, pages: Pages, customers: Any
) -> None:
    agent = pages.new()
    agent.add_init_script(RECORDERS)
    sign_in(agent, live_server)
    configure_notifications(agent)
    set_presence(agent, "available")
    agent.evaluate("window.__notifications = []; window.__tones = 0")

    customers().start("Jane Doe", "Is the oak table in stock?")
    card = offer(agent, "Jane Doe")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("offer-title")).to_have_text("Jane Doe · Sales · jane@example.com")
    expect(card.get_by_test_id("offer-preview")).to_have_text("Web chat: Is the oak table in stock?")
    expect(card.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+s left$"))
    expect(agent.locator("#announcer")).to_contain_text("New chat from Jane Doe in Sales")
    notes = agent.evaluate("window.__notifications")
    assert notes == [
        {"title": "Jane Doe · Sales · jane@example.com", "body": "Web chat: Is the oak table in stock?"}
    ]
    assert agent.evaluate("window.__tones") == 2  # two rising tones
    screenshot(agent, "offer")

    # A second offer stacks on top, and Alt+A accepts the newest one: Omar's.
    customers().start("Omar Haddad", "Where is my parcel?", queue="Support")
    expect(agent.get_by_test_id("offer-card")).to_have_count(2)
    expect(agent.get_by_test_id("offer-card").first).to_contain_text("Omar Haddad")
    agent.keyboard.press("Alt+a")
    expect(offer(agent, "Omar Haddad")).to_have_count(0)
    expect(tab(agent, "Omar Haddad")).to_have_attribute("aria-selected", "true")
    expect(agent.get_by_test_id("reply-input")).to_be_focused()

    # Jane's offer is rejected with its button (routing may offer it again later, as a new offer).
    session_id = offer(agent, "Jane Doe").get_attribute("data-session-id")
    offer(agent, "Jane Doe").get_by_test_id("offer-reject").click()
    expect(agent.locator(f'[data-session-id="{session_id}"]')).to_have_count(0)
    expect(tab(agent, "Jane Doe")).to_have_count(0)
    pages.assert_no_errors(agent)


def test_settings_never_means_silence(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    agent.add_init_script(RECORDERS)
    sign_in(agent, live_server)
    notify_when(agent, "never")
    set_presence(agent, "available")

    customers().start("Jane Doe", "Hello?")
    expect(offer(agent, "Jane Doe")).to_have_count(1)
    # The default title template, and nothing played or shown outside the page.
    expect(offer(agent, "Jane Doe").get_by_test_id("offer-title")).to_have_text("New chat from Jane Doe")
    assert agent.evaluate("window.__notifications") == []
    assert agent.evaluate("window.__tones") == 0
    # The settings are the agent's own and outlive the page.
    agent.reload()
    agent.get_by_test_id("settings-button").click()
    expect(agent.get_by_test_id("settings-dialog").get_by_label("Sound")).to_have_value("never")
    pages.assert_no_errors(agent)


# The page's view of whether it is in front, under the test's control (a headless browser has no
# windows to switch between).
FOREGROUND = """
window.__visibility = 'visible';
window.__focused = true;
Object.defineProperty(document, 'visibilityState', { get: () => window.__visibility });
document.hasFocus = () => window.__focused;
"""


def test_settings_in_background_notify_only_when_the_page_is_not_in_front(
    live_server: str, pages: Pages, customers: Any
) -> None:
    agent = pages.new()
    agent.add_init_script(RECORDERS)
    agent.add_init_script(FOREGROUND)
    sign_in(agent, live_server)
    notify_when(agent, "background")
    set_presence(agent, "available")

    # In front: the toast only.
    customers().start("Jane Doe", "Do you deliver on Sundays?")
    expect(offer(agent, "Jane Doe")).to_have_count(1)
    assert agent.evaluate("window.__notifications") == []
    assert agent.evaluate("window.__tones") == 0

    # Another window in front: the next offer also plays and shows outside the page.
    agent.evaluate("window.__focused = false; window.__visibility = 'hidden'")
    customers().start("Omar Haddad", "Can I change my address?", queue="Support")
    expect(offer(agent, "Omar Haddad")).to_have_count(1)
    notes = agent.evaluate("window.__notifications")
    assert [n["title"] for n in notes] == ["New chat from Omar Haddad"]
    assert agent.evaluate("window.__tones") == 2
    pages.assert_no_errors(agent)

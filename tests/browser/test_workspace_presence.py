"""The presence selector: base presences and the configured custom ones, always in view, with the
agent's load beside it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    pages_fixture,  # noqa: F401 - fixture
    save_routing_config,
    screenshot,
    set_presence,
    sign_in,
)

pytestmark = pytest.mark.browser

CUSTOM = [
    {"id": "lunch", "name": "Lunch break", "base": "away"},
    {"id": "training", "name": "In training", "base": "busy_dnd"},
]


def test_presence_lists_base_and_custom_presences(live_server: str, pages: Pages, customers: Any) -> None:
    save_routing_config(live_server, {"custom_presences": CUSTOM})
    agent = pages.new()
    sign_in(agent, live_server)
    select = agent.get_by_label("Presence")
    expect(select).to_have_value("offline")
    labels = select.locator("option:not([hidden])").all_text_contents()
    assert labels == ["Available", "Busy", "Do not disturb", "Away", "Offline", "Lunch break", "In training"]
    expect(select.locator('optgroup[label="Custom"] option')).to_have_count(2)

    # A custom presence is stored as itself and shown as itself; routing sees its base presence.
    set_presence(agent, "lunch")
    expect(agent.locator("#presence-dot")).to_have_attribute("data-presence", "away")
    agent.reload()
    expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")
    expect(agent.get_by_label("Presence")).to_have_value("lunch")

    # Away (through "Lunch break") means no offers; Available brings them.
    customers().start("Jane Doe", "Are you open on Sunday?")
    set_presence(agent, "available")
    expect(agent.locator("#presence-dot")).to_have_attribute("data-presence", "available")
    accept_offer_from(agent, "Jane Doe")
    expect(agent.get_by_test_id("agent-load")).to_have_text(re.compile(r"^Open sessions: 1 \(Web chat 1\)$"))
    screenshot(agent, "presence")
    set_presence(agent, "training")
    expect(agent.locator("#presence-dot")).to_have_attribute("data-presence", "busy_dnd")
    pages.assert_no_errors(agent)

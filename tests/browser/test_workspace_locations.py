"""Locations in the workspace and the widget: a WhatsApp customer's shared place shows as a
"📍 name, address (lat, lon)" line linked to OpenStreetMap (its text escaped); the agent's "Share a
location" dialog sends a place that reaches WhatsApp's Graph double as a ``type: location``
message; a web chat customer sees an agent's place as the same linked line in the widget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniroute.bootstrap import build_container
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import InboundMessage
from omniroute.conversations.model import Location
from omniroute.core.clock import ManualClock
from omniroute.web.container import Container
from tests.browser.conftest import demo_data
from tests.browser.test_voice_helpers import wait_for
from tests.browser.test_webchat_flow import AGENT_EMAIL
from tests.browser.test_widget_more import signed_in, start
from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
)
from tests.browser.test_workspace_whatsapp_templates import ACCESS_TOKEN, APP_SECRET, CUSTOMER, graph_and_app

pytestmark = pytest.mark.browser

PLACE = Location(37.483872693672, -122.14843308439, "Meta <b>HQ</b>", "1 Hacker Way, Menlo Park")


def prepare_location_chat(graph_base: str) -> Any:
    """The demo data and a WhatsApp account on which Kerry shared a place a few minutes ago."""

    async def prepare(container: Container, origin: str) -> None:
        await demo_data(container, origin)
        earlier = build_container(
            container.settings, clock=ManualClock(datetime.now(UTC) - timedelta(minutes=5))
        )
        try:
            channels = earlier.channels
            account = await channels.create_account(
                channel="whatsapp",
                name="Acme WhatsApp",
                settings={"phone_number_id": "106540352242922", "graph_base": graph_base},
                secrets={"app_secret": APP_SECRET, "verify_token": "verify", "access_token": ACCESS_TOKEN},
                default_queue_id=None,
            )
            shared = InboundMessage(
                "wamid.place", CUSTOMER, "Meta <b>HQ</b> — 1 Hacker Way", "Kerry Fisher", location=PLACE
            )
            await channels.ingest(account.id, [shared])
            assert await channels.process_receipts() == 1
        finally:
            await channels.stop()
            await earlier.db.dispose()

    return prepare


@pytest.fixture(name="stack")
def stack_fixture(tmp_path: Path) -> Iterator[tuple[str, GraphDouble]]:
    with graph_and_app(tmp_path, prepare_location_chat, window_open=True) as stack:  # window open
        yield stack


def test_a_shared_place_shows_its_map_link_and_the_agent_shares_one(
    stack: tuple[str, GraphDouble], pages: Pages
) -> None:
    base, double = stack
    agent = pages.new(width=1440, height=900)
    sign_in(agent, base)
    set_presence(agent, "available")
    accept_offer_from(agent, "Kerry Fisher")
    conversation = open_conversation(agent)

    place = conversation.get_by_test_id("transcript").get_by_test_id("message-location")
    expect(place).to_have_count(1)
    # Text, never markup: the name shows as typed.
    expect(place).to_have_text("📍 Meta <b>HQ</b>, 1 Hacker Way, Menlo Park (37.483873, -122.148433)")
    expect(place).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=37.483873&mlon=-122.148433#map=16/37.483873/-122.148433"
    )
    expect(place).to_have_attribute("rel", "noopener noreferrer")
    expect(conversation.locator(".msg-location b")).to_have_count(0)

    # The agent shares the store; a value out of range is refused in the dialog first.
    conversation.get_by_test_id("share-location").click()
    dialog = agent.get_by_test_id("location-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Latitude").fill("91")
    dialog.get_by_label("Longitude").fill("-3.7035")
    dialog.get_by_test_id("location-submit").click()
    expect(dialog).to_be_visible()
    assert dialog.get_by_label("Latitude").evaluate("el => el.validity.rangeOverflow") is True
    dialog.get_by_label("Latitude").fill("40.4169")
    dialog.get_by_label("Longitude").fill("-3.7035")
    dialog.get_by_label("Place name (optional)").fill("Acme Store Sol")
    dialog.get_by_label("Address (optional)").fill("Calle Mayor 1, Madrid")
    dialog.get_by_test_id("location-submit").click()
    expect(dialog).to_be_hidden()
    shared = place.filter(has_text="Acme Store Sol")
    expect(shared).to_have_text("📍 Acme Store Sol, Calle Mayor 1, Madrid (40.4169, -3.7035)")
    sent = wait_for(
        lambda: [r.body for r in double.requests if r.body.get("type") == "location"], "the location send"
    )
    assert sent[0]["location"] == {
        "latitude": 40.4169,
        "longitude": -3.7035,
        "name": "Acme Store Sol",
        "address": "Calle Mayor 1, Madrid",
    }
    pages.assert_no_errors(agent)


def test_the_widget_shows_an_agents_place_as_a_map_link(live_server: str, pages: Pages) -> None:
    customer = pages.new(width=1100, height=760)
    start(customer, live_server, "Lee", "Where is your shop?")
    http, csrf = signed_in(live_server, AGENT_EMAIL)
    try:
        headers = {"X-CSRF-Token": csrf}
        assert http.put("/api/v1/me/presence", json={"presence": "available"}, headers=headers).is_success
        offers = wait_for(lambda: http.get("/api/v1/offers").json(), "the offer")
        accepted = http.post(f"/api/v1/offers/{offers[0]['session_id']}/accept", headers=headers)
        assert accepted.is_success, accepted.text
        place = {"latitude": 40.4169, "longitude": -3.7035, "name": "Acme Store Sol", "address": None}
        posted = http.post(
            f"/api/v1/conversations/{accepted.json()['id']}/messages",
            json={"location": place},
            headers=headers,
        )
        assert posted.status_code == 201, posted.text
    finally:
        http.close()
    link = customer.get_by_test_id("widget-message-location")
    expect(link).to_have_text("📍 Acme Store Sol (40.4169, -3.7035)")
    expect(link).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=40.4169&mlon=-3.7035#map=16/40.4169/-3.7035"
    )
    expect(link).to_have_attribute("aria-label", "Acme Store Sol, on OpenStreetMap (opens in a new tab)")
    pages.assert_no_errors(customer)

"""The widget's free-text pre-chat questions in Chromium: a required one-line question with a
length limit and an optional multi-line one. The empty required answer is refused next to its
field, the limit holds as the customer types, and both answers reach the agent's conversation
header (the one-line answer on one line, the multi-line one with its line breaks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_webchat_flow import widget_message
from tests.browser.test_widget_features import AdminApi
from tests.browser.test_widget_more import open_widget
from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
)

pytestmark = pytest.mark.browser

ORDER_LIMIT = 12
TEXT_SURVEY: dict[str, Any] = {
    "prechat": {
        "questions": [
            {
                "id": "order_number",
                "type": "text",
                "label": {"en": "Order number", "es": "Número de pedido"},
                "required": True,
                "max_length": ORDER_LIMIT,
            },
            {
                "id": "details",
                "type": "multiline",
                "label": {"en": "Tell us more", "es": "Cuéntanos más"},
                "max_length": 500,
            },
        ]
    }
}
CUSTOMER = "Rosa Vidal"
QUESTION = "My parcel has not arrived"
DETAILS = "Blue wool jumper, size M.\nOrdered last Monday."


@pytest.fixture
def admin(live_server: str) -> Iterator[AdminApi]:
    api = AdminApi(live_server)
    try:
        yield api
    finally:
        api.http.close()


def test_text_and_multiline_answers_reach_the_agent(live_server: str, pages: Pages, admin: AdminApi) -> None:
    admin.settings(TEXT_SURVEY)
    agent = pages.new(width=1440, height=900)
    sign_in(agent, live_server)
    set_presence(agent, "available")

    customer = pages.new(width=1100, height=900)
    open_widget(customer, live_server)
    customer.get_by_label("Name", exact=True).fill(CUSTOMER)
    customer.get_by_label("How can we help?").fill(QUESTION)
    order = customer.get_by_label("Order number", exact=True)
    details = customer.get_by_label("Tell us more (optional)")
    expect(order).to_have_attribute("aria-required", "true")
    expect(order).to_have_attribute("maxlength", str(ORDER_LIMIT))
    assert details.evaluate("el => el.tagName") == "TEXTAREA"  # several lines, unlike the one-line answer
    details.fill(DETAILS)

    # The required answer left empty: refused in the browser, the reason next to the field.
    customer.get_by_test_id("widget-start").click()
    expect(order).to_be_focused()
    expect(order).to_have_attribute("aria-invalid", "true")
    expect(customer.get_by_text("Please answer: Order number")).to_be_visible()
    expect(details).not_to_have_attribute("aria-invalid", "true")
    expect(customer.get_by_test_id("widget-prechat")).to_be_visible()  # no chat started

    # The limit holds while typing: what does not fit is not taken.
    order.press_sequentially("A-1234567890-EXTRA")
    expect(order).to_have_value("A-1234567890")
    customer.get_by_test_id("widget-start").click()
    expect(widget_message(customer, QUESTION)).to_have_count(1)
    expect(customer.get_by_text("Please answer: Order number")).to_have_count(0)

    # The agent sees both answers in the conversation header, under their readable names.
    accept_offer_from(agent, CUSTOMER)
    prechat = open_conversation(agent).get_by_test_id("prechat")
    expect(prechat.locator('dd[data-field="name"]')).to_have_text(CUSTOMER)
    expect(prechat.locator('dd[data-field="question"]')).to_have_text(QUESTION)
    expect(prechat.locator('dd[data-field="order_number"]')).to_have_text("A-1234567890")
    expect(prechat.locator("dt").filter(has_text="Order number")).to_have_count(1)
    answer = prechat.locator('dd[data-field="details"]')
    expect(answer).to_have_text(DETAILS.replace("\n", " "))  # shown on the page…
    assert answer.evaluate("el => el.textContent") == DETAILS  # …and stored with its line break
    expect(prechat.locator("dt").filter(has_text="Details")).to_have_count(1)
    pages.assert_no_errors(agent)
    pages.assert_no_errors(customer)

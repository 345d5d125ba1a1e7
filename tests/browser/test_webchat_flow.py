"""End to end: a customer chats from the demo site's widget with an agent in the workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from omniroute.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

AGENT_EMAIL = "ana@demo.omniroute.dev"
CUSTOMER = "Jane Doe"
QUESTION = "Does the wool throw come in grey?"
CUSTOMER_LINE = "Also, how long does delivery take?"
AGENT_LINE = "Yes, grey is in stock. Delivery takes two days."


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(AGENT_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/workspace")
    expect(page.get_by_test_id("connection-status")).to_have_text("Live")


def go_available(page: Page) -> None:
    with page.expect_response(re.compile(r"/api/v1/me/presence$")) as response:
        page.get_by_label("Presence").select_option("available")
    assert response.value.ok
    expect(page.get_by_label("Presence")).to_have_value("available")


def start_chat(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/demo")
    page.get_by_test_id("widget-launcher").click()
    page.get_by_label("Name", exact=True).fill(CUSTOMER)
    page.get_by_label("Email (optional)").fill("jane@example.com")
    page.get_by_label("How can we help?").fill(QUESTION)
    page.get_by_test_id("widget-start").click()
    expect(page.get_by_test_id("widget-status")).to_contain_text("in the queue")
    expect(widget_message(page, QUESTION)).to_be_visible()


def widget_message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("widget-message").filter(has_text=text)


def open_conversation(page: Page) -> Locator:
    return page.locator('[data-testid="conversation"]:not([hidden])')


def test_customer_and_agent_chat_from_offer_to_close(
    live_server: str, browser: Browser, screenshot_dir: Path | None
) -> None:
    agent_context = browser.new_context(viewport={"width": 1280, "height": 800})
    customer_context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        agent = agent_context.new_page()
        customer = customer_context.new_page()
        sign_in(agent, live_server)
        go_available(agent)

        start_chat(customer, live_server)

        offer = agent.get_by_test_id("offer-card")
        expect(offer).to_have_count(1)
        expect(offer.get_by_test_id("offer-customer")).to_have_text(CUSTOMER)
        expect(offer.get_by_test_id("offer-queue")).to_have_text("Sales")
        expect(offer.get_by_test_id("offer-preview")).to_have_text(QUESTION)
        expect(offer.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^\d+s left$"))
        offer.get_by_test_id("offer-accept").click()
        expect(offer).to_have_count(0)

        conversation = open_conversation(agent)
        expect(agent.get_by_test_id("session-tab")).to_have_count(1)
        expect(agent.get_by_test_id("session-tab")).to_have_attribute("aria-selected", "true")
        prechat = conversation.get_by_test_id("prechat")
        expect(prechat.locator('[data-field="name"]')).to_have_text(CUSTOMER)
        expect(prechat.locator('[data-field="email"]')).to_have_text("jane@example.com")
        expect(prechat.locator('[data-field="question"]')).to_have_text(QUESTION)
        transcript = conversation.get_by_test_id("transcript")
        expect(transcript.get_by_test_id("message").filter(has_text=QUESTION)).to_have_count(1)
        expect(customer.get_by_test_id("widget-status")).to_contain_text("joined")

        # The customer types: the agent sees the typing indicator, then the message.
        widget_input = customer.get_by_test_id("widget-input")
        widget_input.fill(CUSTOMER_LINE)
        expect(conversation.get_by_test_id("customer-typing")).to_have_text(f"{CUSTOMER} is typing…")
        widget_input.press("Enter")
        expect(transcript.get_by_test_id("message").filter(has_text=CUSTOMER_LINE)).to_have_count(1)
        expect(conversation.get_by_test_id("customer-typing")).to_be_hidden()
        expect(widget_message(customer, CUSTOMER_LINE)).to_have_count(1)

        # The agent replies: the customer sees "Agent is typing…", then the reply.
        reply = conversation.get_by_test_id("reply-input")
        reply.fill(AGENT_LINE)
        expect(customer.get_by_test_id("widget-typing")).to_have_text("Agent is typing…")
        reply.press("Enter")
        expect(widget_message(customer, AGENT_LINE)).to_have_count(1)
        expect(customer.get_by_test_id("widget-typing")).to_be_hidden()
        expect(customer.get_by_test_id("widget-status")).to_contain_text("Ana García")
        expect(transcript.get_by_test_id("message").filter(has_text=AGENT_LINE)).to_have_count(1)

        if screenshot_dir is not None:
            agent.screenshot(path=screenshot_dir / "workspace.png")
            customer.screenshot(path=screenshot_dir / "widget.png")

        # Both sides reload mid-conversation: everything comes back once, and the chat goes on.
        customer.reload()
        expect(widget_message(customer, QUESTION)).to_have_count(1)
        expect(widget_message(customer, AGENT_LINE)).to_have_count(1)
        agent.reload()
        expect(agent.get_by_test_id("connection-status")).to_have_text("Live")
        conversation = open_conversation(agent)
        transcript = conversation.get_by_test_id("transcript")
        expect(transcript.get_by_test_id("message").filter(has_text=CUSTOMER_LINE)).to_have_count(1)
        expect(transcript.get_by_test_id("message").filter(has_text=AGENT_LINE)).to_have_count(1)
        after_reload = "Still there after the reload?"
        customer.get_by_test_id("widget-input").fill(after_reload)
        customer.get_by_test_id("widget-input").press("Enter")
        expect(transcript.get_by_test_id("message").filter(has_text=after_reload)).to_have_count(1)
        expect(widget_message(customer, after_reload)).to_have_count(1)

        # The agent ends the chat: the customer is told and may start another.
        conversation.get_by_test_id("end-conversation").click()
        expect(conversation.get_by_test_id("conversation-state")).to_have_text("Wrap-up")
        expect(customer.get_by_test_id("widget-status")).to_have_text("This chat has ended.")
        expect(customer.get_by_test_id("widget-ended")).to_be_visible()
        expect(customer.get_by_test_id("widget-new-chat")).to_be_visible()
        expect(customer.get_by_test_id("widget-input")).to_be_hidden()

        conversation.get_by_test_id("close-conversation").click()
        expect(agent.get_by_test_id("session-tab")).to_have_count(0)
        expect(agent.get_by_test_id("conversation")).to_have_count(0)
    finally:
        customer_context.close()
        agent_context.close()

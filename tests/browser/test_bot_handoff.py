"""Issue 7's browser test: a customer asks the bot in the widget, gets a knowledge answer quoting
and linking a help article, then asks for a person; the agent in the workspace receives the
conversation with the bot transcript and the hand-off context. Also the widget's quick replies.

The server is the real app with the demo data, the demo help articles and the demo bank's bot
answering web chats first. The bot uses the lexical embedder (no model to load, trains in
milliseconds); everything else is the product's own code path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from omniroute.web.container import Container
from tests.browser.conftest import STARTUP_TIMEOUT, demo_data, serve_app
from tests.browser.test_workspace_helpers import (
    ANA,
    SAM,
    Customer,
    Pages,
    accept_offer_from,
    open_conversation,
    pages_fixture,
    set_presence,
    sign_in,
    signed_in_http,
)
from tests.demo_bot import put_demo_bot_on_webchat

pytestmark = pytest.mark.browser
__all__ = ["pages_fixture"]

CUSTOMER = "Jane Doe"
QUESTION = "How do I reset my online banking password?"
ARTICLE = "Reset your online banking password"
ASK_PERSON = "I'd like to talk to a person please"


async def _demo_with_bot(container: Container, origin: str) -> None:
    await demo_data(container, origin)
    await put_demo_bot_on_webchat(container)


@pytest.fixture
def bot_server(tmp_path: Path) -> Iterator[str]:
    """The whole app with the demo bot in front of web chat; yields its base URL."""
    with serve_app(tmp_path, _demo_with_bot) as base_url:
        yield base_url


def widget_message(page: Page, text: str, kind: str | None = None) -> Locator:
    found = page.get_by_test_id("widget-message")
    if kind is not None:
        found = page.locator(f'[data-testid="widget-message"][data-sender-kind="{kind}"]')
    return found.filter(has_text=text)


#: The bot answers after the search and the intent model ran on the server; on a loaded two-core
#: machine that can take longer than Playwright's default five seconds.
BOT_REPLY_MS = 20_000


def start_chat(page: Page, base_url: str, question: str) -> None:
    page.goto(f"{base_url}/demo")
    page.get_by_test_id("widget-launcher").click()
    page.get_by_label("Name", exact=True).fill(CUSTOMER)
    page.get_by_label("Email (optional)").fill("jane@example.com")
    page.get_by_label("How can we help?").fill(question)
    page.get_by_test_id("widget-start").click()
    expect(widget_message(page, question, "customer")).to_be_visible()


def test_widget_bot_answers_from_knowledge_then_hands_off_with_context(bot_server: str, pages: Pages) -> None:
    agent, customer = pages.new(), pages.new(1100, 760)
    sign_in(agent, bot_server, ANA)
    set_presence(agent, "available")

    start_chat(customer, bot_server, QUESTION)
    status = customer.get_by_test_id("widget-status")
    expect(status).to_have_text(
        "You are chatting with Assistant, our virtual assistant. Ask for a person any time."
    )
    expect(status).to_have_attribute("data-tone", "bot")
    answer = widget_message(customer, ARTICLE, "bot")
    expect(answer).to_have_count(1, timeout=BOT_REPLY_MS)
    expect(answer).to_contain_text(f"Here is what our help article “{ARTICLE}” says:")
    expect(answer).to_contain_text(re.compile(rf"{re.escape(bot_server)}/kb/[a-z0-9-]+"))
    expect(answer.locator(".meta")).to_contain_text("Assistant")
    expect(agent.get_by_test_id("offer-card")).to_have_count(0)  # the bot holds it: nobody is offered it

    customer.get_by_test_id("widget-input").fill(ASK_PERSON)
    customer.get_by_test_id("widget-input").press("Enter")
    expect(widget_message(customer, "I'm passing you to a person now.", "bot")).to_have_count(
        1, timeout=BOT_REPLY_MS
    )
    expect(status).to_contain_text("in the queue")
    expect(customer.get_by_test_id("widget-quick-replies")).to_be_hidden()

    accept_offer_from(agent, CUSTOMER)
    expect(status).to_contain_text("joined")
    conversation = open_conversation(agent)
    transcript = conversation.get_by_test_id("transcript")
    # The whole bot transcript is in the agent's transcript, in order, with the bot's name.
    expect(transcript.locator('[data-sender-kind="bot"]').filter(has_text=ARTICLE)).to_have_count(1)
    kinds = transcript.get_by_test_id("message")
    expect(kinds.first).to_have_attribute("data-sender-kind", "customer")
    expect(kinds.first).to_contain_text(QUESTION)

    panel = conversation.get_by_test_id("bot-context")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("bot-context-title")).to_have_text("Handed off by the bot banking")
    expect(panel).to_have_attribute("aria-labelledby", re.compile(r"^bot-context-title-"))
    facts = panel.get_by_test_id("bot-facts")
    expect(facts.locator('[data-field="reason"]')).to_have_text("The customer asked for a person")
    expect(facts.locator('[data-field="language"]')).to_have_text("English")
    expect(facts.locator('[data-field="mood"]')).to_have_text(re.compile(r"^(Neutral|Positive|Negative)"))
    expect(facts.locator('[data-field="turns"]')).to_have_text("2")
    expect(panel.get_by_test_id("bot-summary")).to_contain_text("Bank assistant handed off")
    expect(panel.get_by_test_id("bot-summary")).to_contain_text(ASK_PERSON)
    expect(panel.get_by_test_id("bot-last-phrases").locator("li")).to_have_text([QUESTION, ASK_PERSON])

    # The bot transcript opens from the keyboard and lists the bot's part, escaped as text.
    bot_lines = panel.get_by_test_id("bot-transcript-list")
    expect(bot_lines).to_be_hidden()
    panel.get_by_test_id("bot-transcript").locator("summary").focus()
    agent.keyboard.press("Enter")
    expect(bot_lines).to_be_visible()
    expect(bot_lines.locator('[data-sender-kind="bot"]').filter(has_text=ARTICLE)).to_have_count(1)
    expect(bot_lines.locator('[data-sender-kind="customer"]').filter(has_text=ASK_PERSON)).to_have_count(1)
    expect(bot_lines.locator("li")).to_have_count(5)  # question, greeting, answer, request, hand-off
    expect(panel.locator(".bot-transcript-count")).to_have_text("5 messages")

    # The agent answers: the customer is now with a person.
    reply = conversation.get_by_test_id("reply-input")
    reply.fill("Hi Jane, I can help with the password.")
    reply.press("Enter")
    expect(widget_message(customer, "I can help with the password.", "agent")).to_have_count(1)
    expect(status).to_contain_text("Ana")
    pages.assert_no_errors(agent)
    pages.assert_no_errors(customer)


def test_widget_shows_the_bots_quick_replies_and_a_tap_answers(bot_server: str, pages: Pages) -> None:
    customer = pages.new(1100, 760)
    start_chat(customer, bot_server, "I lost my card")
    expect(widget_message(customer, "Was it your debit card or your credit card?", "bot")).to_have_count(1)
    choices = customer.get_by_test_id("widget-quick-replies")
    expect(choices).to_be_visible()
    expect(choices).to_have_attribute("aria-label", "Suggested answers")
    expect(choices.get_by_test_id("widget-quick-reply")).to_have_text(["debit", "credit"])
    choices.get_by_role("button", name="credit").focus()
    customer.keyboard.press("Enter")
    expect(widget_message(customer, "credit", "customer")).to_have_count(1)
    expect(widget_message(customer, "What are the last 4 digits of the credit card?", "bot")).to_have_count(1)
    expect(choices).to_be_hidden()  # free text now
    pages.assert_no_errors(customer)


def finished(base_url: str, conversations: set[str]) -> None:
    """Wait (with a guard) until the bot has finished these conversations' sessions."""
    sam = signed_in_http(base_url, SAM)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            sessions = sam.get("/api/v1/bots/sessions").json()
            if {s["conversation_id"] for s in sessions if s["status"] != "active"} >= conversations:
                return
            time.sleep(0.05)
        pytest.fail("the bot did not finish its sessions")
    finally:
        sam.close()


def test_supervisors_read_bot_analytics_for_a_period_and_a_bot(bot_server: str, pages: Pages) -> None:
    client = httpx.Client(base_url=bot_server)
    try:
        key = re.search(r'data-omniroute-key="([^"]+)"', client.get("/demo").text)
        assert key
        lee = Customer(client, bot_server, key.group(1)).start("Lee Park", "what are your opening hours")
        kim = Customer(client, bot_server, key.group(1)).start("Kim Ode", "I want to talk to an agent")
        lee.say("thanks, that's all")
        finished(bot_server, {lee.conversation_id, kim.conversation_id})
        supervisor = pages.new()
        sign_in(supervisor, bot_server, SAM)
        supervisor.goto(f"{bot_server}/admin")
        supervisor.get_by_test_id("bot-analytics-link").click()
        expect(supervisor).to_have_url(re.compile(r"/admin/bots"))
        totals = supervisor.get_by_test_id("bot-totals")
        expect(totals.locator('[data-field="sessions"]')).to_have_text("2")
        expect(totals.locator('[data-field="resolved"]')).to_have_text("1")
        expect(totals.locator('[data-field="escalated"]')).to_have_text("1")
        expect(totals.locator('[data-field="containment_rate"]')).to_have_text("50.0 %")
        reasons = supervisor.get_by_test_id("bot-reasons")
        expect(reasons.locator('tr[data-reason="requested"] td').first).to_have_text("1")
        expect(supervisor.get_by_test_id("bot-per-bot").locator('tr[data-key="banking"]')).to_have_count(1)
        sessions = supervisor.get_by_test_id("bot-sessions").locator("tbody tr")
        expect(sessions).to_have_count(2)
        expect(sessions.filter(has_text=kim.conversation_id)).to_contain_text("Escalated")
        expect(sessions.filter(has_text=lee.conversation_id)).to_contain_text("Resolved")

        # A period with nothing in it: the figures say so, and the address keeps the choice.
        supervisor.get_by_test_id("bot-from").fill("2020-01-01")
        supervisor.get_by_test_id("bot-to").fill("2020-01-31")
        supervisor.get_by_test_id("bot-select").select_option("banking")
        supervisor.get_by_test_id("bot-apply").click()
        expect(totals.locator('[data-field="sessions"]')).to_have_text("0")
        expect(supervisor.get_by_test_id("bot-per-day")).to_contain_text("No sessions in this period.")
        expect(supervisor).to_have_url(re.compile(r"bot=banking&from=2020-01-01&to=2020-01-31"))
        pages.assert_no_errors(supervisor)
    finally:
        client.close()

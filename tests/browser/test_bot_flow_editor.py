"""The bots' flow editor (/admin/bots/flows): an admin edits a flow, gets a located validation
error and jumps to its line, fixes it, saves, and the bot answers the customer with the new text;
a concurrent change shows a 409; a new flow is created and deleted (confirmed first). A
supervisor reads the flows without controls to change them; an agent is kept out.

The server is the real app with the demo data and the demo bot answering web chats first
(lexical embedder, see tests/demo_bot.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from omniroute.demo import DEMO_PASSWORD
from tests.browser.test_admin_pages import new_page, no_js_errors, sign_in
from tests.browser.test_bot_handoff import BOT_REPLY_MS, bot_server, start_chat, widget_message
from tests.browser.test_workspace_helpers import signed_in_http

pytestmark = pytest.mark.browser
__all__ = ["bot_server"]

ADMIN = "admin@demo.omniroute.dev"
SUPERVISOR = "sam@demo.omniroute.dev"
AGENT = "ana@demo.omniroute.dev"
FLOW = "opening_hours_en"
NEW_ANSWER = "We are open every day from 7:00 to 23:00, holidays included."
#: Line 9 has a step type that does not exist.
BROKEN = f"""\
id: opening_hours_en
language: en
name: Opening hours
trigger:
  intent: opening_hours
  phrases: [what are your opening hours, when are you open, opening times]
steps:
  - say: Let me check.
  - shout: {NEW_ANSWER}
"""
FIXED = BROKEN.replace("  - say: Let me check.\n", "").replace("shout:", "say:")


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_editor(page: Page, base_url: str, email: str) -> None:
    sign_in(page, base_url, email, landing="/admin/bots/flows")
    expect(page.locator("#bot-flows")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("flows-bot")).to_have_value("banking")


def caret_line(page: Page) -> int:
    line: int = page.get_by_test_id("flow-source").evaluate(
        "(area) => area.value.slice(0, area.selectionStart).split('\\n').length"
    )
    return line


def test_an_admin_edits_validates_saves_and_the_bot_uses_the_new_flow(
    bot_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts)
    open_editor(page, bot_server, ADMIN)
    page.get_by_test_id(f"flow-open-{FLOW}").click()
    expect(page.get_by_test_id("flow-editor-heading")).to_have_text(f"Flow {FLOW}")
    source = page.get_by_test_id("flow-source")
    expect(source).to_have_value(re.compile(r"^id: opening_hours_en\n"))
    expect(page.get_by_test_id("flow-id")).to_have_js_property("readOnly", True)
    expect(page).to_have_url(re.compile(r"\?bot=banking&flow=opening_hours_en$"))

    # Tab indents inside the text area instead of leaving it.
    source.fill("")
    source.press("Tab")
    expect(source).to_have_value("  ")
    expect(source).to_be_focused()

    # A located problem; choosing it puts the caret on its line.
    source.fill(BROKEN)
    with page.expect_response(re.compile(r"/flows/opening_hours_en/validate$")) as checked:
        page.get_by_test_id("flow-validate").click()
    assert checked.value.status == 422
    problem = page.get_by_test_id("flow-problem").filter(has_text="Line 9")
    expect(problem).to_have_count(1)
    expect(source).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("flow-id").focus()
    problem.click()
    expect(source).to_be_focused()
    assert caret_line(page) == 9

    # Fixed: validation passes, saving makes version 2, which the API returns.
    source.fill(FIXED)
    page.get_by_test_id("flow-validate").click()
    expect(page.get_by_test_id("flow-ok")).to_have_text("No problems found. The flow is not saved yet.")
    expect(page.get_by_test_id("flow-problems-box")).to_be_hidden()
    with page.expect_response(re.compile(r"/api/v1/bots/banking/flows/opening_hours_en$")) as saved:
        page.get_by_test_id("flow-save").click()
    assert saved.value.status == 200, saved.value.text()
    expect(page.get_by_test_id("flow-ok")).to_have_text("Saved: version 2.")
    expect(page.locator(f'tr[data-flow-id="{FLOW}"] td').nth(3)).to_have_text("2")
    with closing(signed_in_http(bot_server, ADMIN)) as api:
        stored = api.get(f"/api/v1/bots/banking/flows/{FLOW}").json()
        assert (stored["version"], stored["source"]) == (2, FIXED)

        # Someone else saves meanwhile: this page's save is refused with 409, not lost silently.
        other = FIXED.replace(NEW_ANSWER, "Open around the clock.")
        r = api.put(f"/api/v1/bots/banking/flows/{FLOW}", json={"source": other, "expected_version": 2})
        assert r.status_code == 200, r.text
    source.fill(FIXED.replace("holidays included", "even on holidays"))
    with page.expect_response(re.compile(r"/api/v1/bots/banking/flows/opening_hours_en$")) as refused:
        page.get_by_test_id("flow-save").click()
    assert refused.value.status == 409
    expect(page.get_by_test_id("flow-conflict")).to_contain_text("version 3")
    page.get_by_test_id("flow-conflict-reload").click()
    expect(source).to_have_value(re.compile("Open around the clock."))
    source.fill(FIXED)
    page.get_by_test_id("flow-save").click()
    expect(page.get_by_test_id("flow-ok")).to_have_text("Saved: version 4.")

    # The bot answers with the saved text.
    chat = new_page(browser, contexts)
    start_chat(chat, bot_server, "What are your opening hours?")
    expect(widget_message(chat, NEW_ANSWER, "bot")).to_be_visible(timeout=BOT_REPLY_MS)

    # A new flow, then deleted after a confirmation; markup in the document stays text.
    page.get_by_test_id("flow-new").click()
    expect(page.get_by_test_id("flow-editor-heading")).to_have_text("New flow")
    page.get_by_test_id("flow-id").fill("store_card_en")
    source.fill("id: store_card_en\nlanguage: en\n<b>x</b>: 1\nsystem: goodbye\nsteps:\n  - say: Bye\n")
    page.get_by_test_id("flow-save").click()
    expect(page.get_by_test_id("flow-error")).to_have_text(
        "The flow has 2 problem(s). Select one to go to its line."
    )
    expect(page.get_by_test_id("flow-problem").filter(has_text="Line 3")).to_contain_text(
        "<b>x</b>: Extra inputs are not permitted"
    )
    expect(page.get_by_test_id("flow-problems").locator("b")).to_have_count(0)
    source.fill(
        "id: store_card_en\nlanguage: en\nname: Store card\ntrigger:\n  intent: store_card\n"
        "  phrases: [store card offers, shop card]\nsteps:\n  - say: Ask us about our store card.\n"
    )
    with page.expect_response(re.compile(r"/flows/store_card_en$")) as created:
        page.get_by_test_id("flow-save").click()
    assert created.value.status == 200, created.value.text()
    expect(page.locator('tr[data-flow-id="store_card_en"]')).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id("flow-delete").click()
    expect(page.locator('tr[data-flow-id="store_card_en"]')).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(re.compile(r"/flows/store_card_en$")) as deleted:
        page.get_by_test_id("flow-delete").click()
    assert deleted.value.status == 204
    expect(page.locator('tr[data-flow-id="store_card_en"]')).to_have_count(0)
    expect(page.get_by_test_id("flow-editor-card")).to_be_hidden()
    no_js_errors(page)


def test_a_supervisor_reads_flows_and_an_agent_is_kept_out(
    bot_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts)
    open_editor(page, bot_server, SUPERVISOR)
    expect(page.get_by_test_id("flows-readonly-note")).to_be_visible()
    expect(page.get_by_test_id("flow-new")).to_have_count(0)
    page.get_by_test_id(f"flow-open-{FLOW}").click()
    source = page.get_by_test_id("flow-source")
    expect(source).to_have_value(re.compile(r"^id: opening_hours_en\n"))
    expect(source).to_have_attribute("readonly", "")
    for control in ("flow-save", "flow-validate", "flow-delete"):
        expect(page.get_by_test_id(control)).to_have_count(0)
    with closing(signed_in_http(bot_server, SUPERVISOR)) as api:
        r = api.put(f"/api/v1/bots/banking/flows/{FLOW}", json={"source": "id: x\n"})
        assert r.status_code == 403, "the API refuses what the page does not offer"
    page.goto(f"{bot_server}/admin/bots/flows?lang=es")
    expect(page.get_by_role("heading", name="Flujos de los bots", level=1)).to_be_visible()
    expect(page.get_by_test_id(f"flow-open-{FLOW}")).to_have_text("Ver")
    no_js_errors(page)

    agent = new_page(browser, contexts)
    agent.goto(f"{bot_server}/admin/bots/flows")
    agent.get_by_label("Email").fill(AGENT)
    agent.get_by_label("Password").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_test_id("admin-forbidden")).to_be_visible()
    expect(agent.locator("#bot-flows")).to_have_count(0)

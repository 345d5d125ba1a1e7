"""The supervisors' CSAT page (/admin/csat) in Chromium: figures computed from ratings customers
gave through the widget API, the queue and agent filters, a custom period, comments shown as
text, the CSV download, Spanish number formats, the accessibility audit, and agents kept out."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from omniroute.demo import DEMO_PASSWORD
from tests.browser.test_admin_pages import new_page, no_js_errors
from tests.browser.test_voice_helpers import wait_for
from tests.browser.test_workspace_a11y import AUDIT
from tests.browser.test_workspace_helpers import (
    ANA,
    SAM,
    Customer,
    customers_fixture,  # noqa: F401 - fixture
    signed_in_http,
)

pytestmark = pytest.mark.browser

SCRIPT_COMMENT = "Lovely <script>window.hacked = 1</script>"
WAIT = 15.0  # a hang guard, not a timing assertion


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def end_and_rate(customer: Customer, rating: int, comment: str = "") -> None:
    headers = {"Origin": customer.origin, "Authorization": f"Bearer {customer.token}"}
    prefix = f"/api/webchat/v1/widgets/{customer.key}/conversation"
    ended = customer.http.post(f"{prefix}/end", headers=headers)
    assert ended.status_code == 200, ended.text
    rated = customer.http.post(f"{prefix}/csat", json={"rating": rating, "comment": comment}, headers=headers)
    assert rated.status_code == 201, rated.text


def accept_offer(agent: httpx.Client, conversation_id: str) -> None:
    """Wait for the agent's offer of this chat and accept it."""

    def offered() -> list[dict[str, Any]]:
        return [o for o in agent.get("/api/v1/offers").json() if o["conversation_id"] == conversation_id]

    [offer] = wait_for(offered, "the chat to be offered to the agent")
    r = agent.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert r.status_code == 200, r.text


def rate_four_chats(base_url: str, customers: Any) -> None:
    """Sales 5 (a comment with markup), Sales 4 (no comment), Support 2, and Ana's chat 3."""
    end_and_rate(customers().start("Lee Park", "Hello?"), 5, SCRIPT_COMMENT)
    end_and_rate(customers().start("Mo Reyes", "Hi"), 4)
    end_and_rate(customers().start("Kim Lo", "Help", queue="Support"), 2, "Slow answer")
    ana = signed_in_http(base_url, ANA)
    try:
        r = ana.put("/api/v1/me/presence", json={"presence": "available"})
        assert r.status_code == 200, r.text
        chat = customers().start("Jo Diaz", "Where is my order?")
        accept_offer(ana, chat.conversation_id)
        end_and_rate(chat, 3, "OK in the end")
    finally:
        ana.close()


def open_csat(page: Page, base_url: str, email: str, query: str = "") -> None:
    page.goto(f"{base_url}/admin/csat{query}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/admin/csat")
    if query:
        page.goto(f"{base_url}/admin/csat{query}")


def figure(page: Page, field: str) -> Locator:
    return page.get_by_test_id("csat-totals").locator(f'dd[data-field="{field}"]')


def audit(page: Page) -> None:
    """The workspace's accessibility audit, less its checks for the workspace's own live regions
    (this page announces through role="status" and role="alert")."""
    problems: list[str] = page.evaluate(AUDIT)
    assert [p for p in problems if "live region" not in p] == []


def show(page: Page) -> None:
    with page.expect_response(re.compile(r"/api/v1/admin/csat/report\?")) as response:
        page.get_by_test_id("csat-apply").click()
    assert response.value.ok, response.value.text()


def test_a_supervisor_reads_filters_and_downloads_csat(
    live_server: str,
    browser: Browser,
    contexts: list[BrowserContext],
    customers: Any,
    tmp_path: Path,
    screenshot_dir: Path | None,
) -> None:
    rate_four_chats(live_server, customers)
    sam = signed_in_http(live_server, SAM)
    try:
        stored = sam.get("/api/v1/admin/csat").json()
    finally:
        sam.close()
    day = stored[0]["submitted_at"][:10]  # the UTC day the ratings fell on (today, or just before)

    page = new_page(browser, contexts)
    open_csat(page, live_server, SAM)
    expect(page.get_by_role("heading", name="Customer satisfaction", level=1)).to_be_visible()
    expect(page.locator("#csat-admin")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("csat-period")).to_have_value("7")

    # The figures: 4 ratings, (5 + 4 + 2 + 3) / 4 = 3.50, two of four gave 4 or 5.
    expect(figure(page, "responses")).to_have_text("4")
    expect(figure(page, "average")).to_have_text("3.50 / 5")
    expect(figure(page, "csat")).to_have_text("50.0%")
    expect(figure(page, "satisfied")).to_have_text("2")
    five = page.locator('[data-testid="csat-score-row"][data-score="5"]')
    expect(five.locator('[data-field="count"]')).to_have_text("1")
    expect(five.locator('[data-field="share"]')).to_have_text("25.0%")
    one = page.locator('[data-testid="csat-score-row"][data-score="1"]')
    expect(one.locator('[data-field="count"]')).to_have_text("0")
    days = page.get_by_test_id("csat-day-row")
    expect(days).to_have_count(7)  # the last 7 days, quiet ones included
    today = page.locator(f'[data-testid="csat-day-row"][data-day="{day}"]')
    expect(today.locator('[data-field="responses"]')).to_have_text("4")
    expect(today.locator('[data-field="csat"]')).to_have_text("50.0%")

    # The latest comments, newest first, as text: the customer's markup is not run.
    comments = page.get_by_test_id("csat-comment-row")
    expect(comments).to_have_count(3)
    expect(comments.first.locator('[data-field="comment"]')).to_have_text("OK in the end")
    expect(comments.first.locator('[data-field="agent"]')).to_have_text("Ana García")
    expect(comments.first.locator('[data-field="queue"]')).to_have_text("Sales")
    expect(comments.first.locator('[data-field="rating"]')).to_have_text("3 ★")
    marked_up = comments.filter(has_text="Lovely")
    expect(marked_up.locator('[data-field="comment"]')).to_have_text(SCRIPT_COMMENT)
    expect(marked_up.locator('[data-field="agent"]')).to_have_text("No agent")
    expect(page.locator("#csat-comments script")).to_have_count(0)
    assert page.evaluate("() => window.hacked") is None
    audit(page)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "admin-csat.png"), full_page=True)

    # The whole period as CSV.
    with page.expect_download() as download:
        page.get_by_test_id("csat-export").click()
    saved = tmp_path / "csat.csv"
    download.value.save_as(saved)
    assert re.fullmatch(
        r"csat-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename
    )
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["rating"]) for r in rows) == [2, 3, 4, 5]
    assert {r["comment"] for r in rows} >= {SCRIPT_COMMENT, "Slow answer"}

    # One queue: the figures, the comments and the download follow the filter (and the address).
    page.get_by_test_id("csat-queue").select_option(label="Support")
    show(page)
    expect(figure(page, "responses")).to_have_text("1")
    expect(figure(page, "average")).to_have_text("2.00 / 5")
    expect(figure(page, "csat")).to_have_text("0.0%")
    expect(comments).to_have_count(1)
    expect(comments.first.locator('[data-field="comment"]')).to_have_text("Slow answer")
    expect(page).to_have_url(re.compile(r"[?&]queue="))
    with page.expect_download() as download:
        page.get_by_test_id("csat-export").click()
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        assert [r["queue"] for r in csv.DictReader(f)] == ["Support"]

    # One agent, any queue.
    page.get_by_test_id("csat-queue").select_option("")
    page.get_by_test_id("csat-agent").select_option(label="Ana García")
    show(page)
    expect(figure(page, "responses")).to_have_text("1")
    expect(figure(page, "csat")).to_have_text("0.0%")
    expect(comments).to_have_count(1)
    page.reload()  # the address keeps the choice
    expect(page.locator("#csat-admin")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("csat-agent")).to_have_value(re.compile(r".+"))
    expect(figure(page, "responses")).to_have_text("1")

    # A custom period without ratings, then one the page refuses before asking.
    page.get_by_test_id("csat-agent").select_option("")
    page.get_by_test_id("csat-from").fill("2020-01-01")
    expect(page.get_by_test_id("csat-period")).to_have_value("custom")
    page.get_by_test_id("csat-to").fill("2020-01-03")
    show(page)
    expect(figure(page, "responses")).to_have_text("0")
    expect(figure(page, "average")).to_have_text("—")
    expect(days).to_have_count(3)
    expect(page.get_by_test_id("csat-comments")).to_contain_text("No comments in this period.")
    page.get_by_test_id("csat-to").fill("2019-12-31")
    page.get_by_test_id("csat-apply").click()
    expect(page.get_by_test_id("csat-error")).to_have_text("Choose a start day on or before the end day.")
    page.get_by_test_id("csat-period").select_option("30")
    show(page)
    expect(page.get_by_test_id("csat-error")).to_be_hidden()
    expect(days).to_have_count(30)
    expect(figure(page, "responses")).to_have_text("4")
    no_js_errors(page)

    # Spanish: the page's words and its number formats.
    spanish = new_page(browser, contexts)
    open_csat(spanish, live_server, SAM, "?lang=es")
    expect(spanish.get_by_role("heading", name="Satisfacción del cliente", level=1)).to_be_visible()
    expect(spanish.locator("#csat-admin")).to_have_attribute("data-ready", "true")
    expect(figure(spanish, "average")).to_have_text("3,50 / 5")
    expect(spanish.get_by_test_id("csat-totals")).to_contain_text("Puntuación media")
    no_js_errors(spanish)


def test_agents_are_kept_out(live_server: str, browser: Browser, contexts: list[BrowserContext]) -> None:
    page = new_page(browser, contexts)
    page.goto(f"{live_server}/admin/csat")
    page.get_by_label("Email").fill(ANA)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("admin-forbidden")).to_contain_text(
        "Customer satisfaction is for supervisors and admins"
    )
    expect(page.locator("#csat-admin")).to_have_count(0)

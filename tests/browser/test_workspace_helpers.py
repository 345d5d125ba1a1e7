"""Shared steps for the workspace browser tests (this module holds no tests of its own).

Test modules import the fixtures by their function names (``pages_fixture``, ``customers_fixture``)
and use them by their fixture names (``pages``, ``customers``).

Customers are driven through the web chat REST API (the same calls the widget makes), so each test
spends its time on the workspace, not on the widget's pre-chat form.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from omniroute.demo import DEMO_PASSWORD

ANA = "ana@demo.omniroute.dev"
BEN = "ben@demo.omniroute.dev"
SAM = "sam@demo.omniroute.dev"
ADMIN = "admin@demo.omniroute.dev"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def screenshot(page: Page, name: str) -> None:
    """Pictures for docs/WORKSPACE.md, taken from the real flows so they never go stale.

    Only when OMNIROUTE_SCREENSHOTS is set (to any value; the pictures go to docs/img), so a test
    run does not rewrite tracked files.
    """
    if not os.environ.get("OMNIROUTE_SCREENSHOTS"):
        return
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    # Let entrance animations (toasts) finish, so the picture shows what the agent sees.
    # (evaluate, not wait_for_function: the page's CSP forbids the eval that polling uses)
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)))")
    page.screenshot(path=DOCS_IMG / f"workspace-{name}.png")


@dataclass
class Pages:
    browser: Browser
    contexts: list[BrowserContext]
    errors: dict[int, list[str]]

    def new(self, width: int = 1360, height: int = 860) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = context.new_page()
        errors = self.errors.setdefault(id(page), [])
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def console(message: ConsoleMessage) -> None:
            # Refused requests (404 from feature probes, 409s) are logged by the browser.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                errors.append(message.text)

        page.on("console", console)
        return page

    def assert_no_errors(self, page: Page) -> None:
        assert self.errors.get(id(page), []) == []


@pytest.fixture(name="pages")
def pages_fixture(browser: Browser) -> Iterator[Pages]:
    made = Pages(browser, [], {})
    yield made
    for context in made.contexts:
        context.close()


def sign_in(page: Page, base_url: str, email: str = ANA, query: str = "") -> None:
    page.goto(f"{base_url}/login?next=/workspace{query}")
    page.locator("#login-email").fill(email)
    page.locator("#login-password").fill(DEMO_PASSWORD)
    page.locator("#login-submit").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/workspace"))
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")


def set_presence(page: Page, value: str) -> None:
    with page.expect_response(re.compile(r"/api/v1/me/presence$")) as response:
        page.get_by_test_id("presence-select").select_option(value)
    assert response.value.ok, response.value.text()
    expect(page.get_by_test_id("presence-select")).to_have_value(value)


def open_conversation(page: Page) -> Locator:
    return page.locator('[data-testid="conversation"]:not([hidden])')


def tab(page: Page, customer: str) -> Locator:
    return page.get_by_test_id("session-tab").filter(has_text=customer)


def offer(page: Page, customer: str) -> Locator:
    return page.get_by_test_id("offer-card").filter(has_text=customer)


@dataclass
class Customer:
    """A web chat visitor, through the widget's REST API."""

    http: httpx.Client
    origin: str
    key: str
    token: str = ""
    conversation_id: str = ""

    def start(self, name: str, question: str, **extra: Any) -> Customer:
        email = f"{name.split(maxsplit=1)[0].lower()}@example.com"
        body = {"name": name, "email": email, "question": question}
        body.update(extra)
        r = self.http.post(
            f"/api/webchat/v1/widgets/{self.key}/conversations", json=body, headers={"Origin": self.origin}
        )
        assert r.status_code == 201, r.text
        self.token, self.conversation_id = r.json()["token"], r.json()["conversation"]["id"]
        return self

    def say(self, text: str) -> None:
        r = self.http.post(
            f"/api/webchat/v1/widgets/{self.key}/conversation/messages",
            json={"text": text},
            headers={"Origin": self.origin, "Authorization": f"Bearer {self.token}"},
        )
        assert r.status_code in (200, 201), r.text


@pytest.fixture(name="customers")
def customers_fixture(live_server: str) -> Iterator[Any]:
    clients: list[httpx.Client] = []
    page = httpx.get(f"{live_server}/demo")
    match = re.search(r'data-omniroute-key="([^"]+)"', page.text)
    assert match, "the demo page embeds the widget"

    def make() -> Customer:
        client = httpx.Client(base_url=live_server)
        clients.append(client)
        return Customer(client, live_server, match.group(1))

    yield make
    for client in clients:
        client.close()


def signed_in_http(base_url: str, email: str) -> httpx.Client:
    """An API client with a browser-style session (cookie + CSRF header)."""
    client = httpx.Client(base_url=base_url)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    form_data = {"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
    done = client.post("/login", data=form_data)
    assert done.status_code == 303, done.text
    csrf = client.get("/api/v1/session").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return client


def save_routing_config(base_url: str, config: dict[str, Any]) -> None:
    admin = signed_in_http(base_url, ADMIN)
    try:
        current = admin.get("/api/v1/admin/routing-config").json()
        r = admin.put(
            "/api/v1/admin/routing-config",
            json={"config": config, "comment": "browser test", "expected_version": current["version"]},
        )
        assert r.status_code == 200, r.text
    finally:
        admin.close()


def accept_offer_from(page: Page, customer: str) -> None:
    card = offer(page, customer)
    expect(card).to_have_count(1)
    card.get_by_test_id("offer-accept").click()
    expect(card).to_have_count(0)
    expect(tab(page, customer)).to_have_attribute("aria-selected", "true")


def agent_in_a_chat(
    pages: Pages, base_url: str, customers: Any, customer: str, question: str
) -> tuple[Page, Customer, Locator]:
    """Ana on a wide page, signed in and available, accepts ``customer``'s new chat; returns her
    page, the customer and the open conversation."""
    agent = pages.new(width=1440, height=900)
    sign_in(agent, base_url)
    set_presence(agent, "available")
    chat = customers().start(customer, question)
    accept_offer_from(agent, customer)
    return agent, chat, open_conversation(agent)


def message(conversation: Locator, text: str) -> Locator:
    return conversation.get_by_test_id("transcript").get_by_test_id("message").filter(has_text=text)

"""The administration page: admins manage queues, skills and the routing configuration;
supervisors manage people and read the configuration; agents and visitors are kept out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from omniroute.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.omniroute.dev"
SUPERVISOR = "sam@demo.omniroute.dev"
AGENT = "ana@demo.omniroute.dev"
UUID = re.compile(r"^[0-9a-f-]{32,36}$")


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Make contexts with ``contexts.append(browser.new_context(...))``; all are closed after."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


JS_ERRORS: dict[int, list[str]] = {}


def new_page(browser: Browser, contexts: list[BrowserContext]) -> Page:
    """A page in a fresh context, recording script errors for ``no_js_errors``."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    contexts.append(context)
    page = context.new_page()
    errors = JS_ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        # Refused requests (403, 409, 422) are logged by the browser; they are expected here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", console)
    return page


def no_js_errors(page: Page) -> None:
    errors = JS_ERRORS.pop(id(page), [])
    assert errors == [], errors


def sign_in(page: Page, base_url: str, email: str, landing: str = "/admin") -> None:
    page.goto(f"{base_url}{landing}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}{landing}")


def open_admin(page: Page, base_url: str, email: str) -> None:
    sign_in(page, base_url, email)
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    expect(page.locator("#admin")).to_have_attribute("data-ready", "true")


def queue_card(page: Page, name: str) -> Locator:
    title = page.get_by_test_id("queue-name").get_by_text(name, exact=True)
    return page.get_by_test_id("queue-item").filter(has=title)


def editor_document(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(page.get_by_test_id("config-editor").input_value())
    return value


def save_document(page: Page, document: dict[str, Any], comment: str) -> None:
    page.get_by_test_id("config-editor").fill(json.dumps(document, indent=2))
    page.get_by_test_id("config-comment").fill(comment)
    page.get_by_test_id("config-save").click()


def version_row(page: Page, number: int) -> Locator:
    return page.locator(f'[data-testid="version-row"][data-version="{number}"]')


def test_admin_manages_queues_skills_and_configuration(
    live_server: str, browser: Browser, contexts: list[BrowserContext], screenshot_dir: Path | None
) -> None:
    page = new_page(browser, contexts)
    open_admin(page, live_server, ADMIN)
    expect(page.get_by_test_id("user-role")).to_have_text("admin")
    expect(page.get_by_test_id("users-notice")).to_be_hidden()
    expect(page.get_by_test_id("config-version")).to_have_text("No saved version (built-in defaults)")
    expect(page.get_by_test_id("versions-empty")).to_be_visible()
    expect(page.get_by_test_id("skills-empty")).to_be_visible()
    expect(queue_card(page, "Sales").get_by_label("Chloé Martin")).to_be_checked()

    # Create a queue, then give it members by name.
    page.get_by_label("Queue name").fill("Returns")
    page.get_by_label("Description (optional)").fill("Parcels coming back")
    page.get_by_test_id("queue-create").click()
    returns = queue_card(page, "Returns")
    expect(returns).to_be_visible()
    expect(returns.get_by_test_id("queue-description")).to_have_text("Parcels coming back")
    expect(returns.get_by_test_id("queue-member-count")).to_have_text("No members")
    expect(page.get_by_label("Queue name")).to_be_focused()
    page.get_by_label("Queue name").fill("Returns")
    page.get_by_test_id("queue-create").click()
    expect(page.get_by_test_id("queue-create-error")).to_contain_text("already exists")
    returns.get_by_label("Ana García").check()
    returns.get_by_label("Ben Okafor").check()
    returns.get_by_test_id("queue-save-members").click()
    expect(returns.get_by_test_id("queue-status")).to_have_text("Members saved.")
    expect(returns.get_by_test_id("queue-member-count")).to_have_text("2 members")

    # Save a configuration that adds a skill and settings for the new queue.
    document = editor_document(page)
    document["skills"].append({"id": "returns", "name": "Returns handling"})
    document["queues"].append({"queue": "Returns", "priority": 5})
    save_document(page, document, "Returns skill")
    expect(page.get_by_test_id("config-status")).to_have_text("Saved as version 1.")
    expect(page.get_by_test_id("config-version")).to_have_text("Version 1")
    expect(version_row(page, 1)).to_contain_text("Returns skill")
    expect(version_row(page, 1)).to_contain_text("Ada Admin")

    # The new skill can be given to an agent at once.
    skills = page.get_by_test_id("skills-form")
    page.get_by_label("Agent", exact=True).select_option(label="Ana García")
    skills.get_by_label("Returns handling").fill("7")
    page.get_by_test_id("skills-save").click()
    expect(page.get_by_test_id("skills-status")).to_have_text("Skills saved for Ana García.")
    page.get_by_label("Agent", exact=True).select_option(label="Ben Okafor")
    expect(skills.get_by_label("Returns handling")).to_have_value("")
    page.get_by_label("Agent", exact=True).select_option(label="Ana García")
    expect(skills.get_by_label("Returns handling")).to_have_value("7")
    skills.get_by_label("Returns handling").fill("11")
    page.get_by_test_id("skills-save").click()
    expect(page.get_by_test_id("skills-error")).to_contain_text("1 to 10")

    # Bad documents are explained next to the editor and nothing is saved.
    editor = page.get_by_test_id("config-editor")
    editor.fill("{ not json")
    page.get_by_test_id("config-save").click()
    expect(page.get_by_test_id("config-error")).to_contain_text("not valid JSON")
    bad = {**document, "route_to_queue": [{"name": "lost", "queue": "Nowhere"}]}
    save_document(page, bad, "should fail")
    expect(page.get_by_test_id("config-error")).to_contain_text("unknown queue(s) ['Nowhere']")
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("config-version")).to_have_text("Version 1")
    if screenshot_dir is not None:
        page.locator("#config").screenshot(path=screenshot_dir / "admin-config-error.png")

    # A second version, then back to the first: restoring adds version 3.
    document["skills"].append({"id": "vip", "name": "VIP customers"})
    save_document(page, document, "VIP skill")
    expect(page.get_by_test_id("config-version")).to_have_text("Version 2")
    expect(page.get_by_test_id("config-error")).to_be_hidden()
    expect(skills.get_by_label("VIP customers")).to_be_visible()
    version_row(page, 1).get_by_test_id("version-view").click()
    viewer = page.get_by_test_id("version-viewer")
    expect(viewer.get_by_role("heading")).to_have_text("Version 1 (read-only)")
    expect(viewer.get_by_role("heading")).to_be_focused()
    expect(page.get_by_test_id("version-viewer-text")).to_contain_text('"returns"')
    expect(page.get_by_test_id("version-viewer-text")).not_to_contain_text('"vip"')
    page.get_by_test_id("version-viewer-close").click()
    expect(viewer).to_be_hidden()
    version_row(page, 1).get_by_test_id("version-restore").click()
    expect(page.get_by_test_id("config-version")).to_have_text("Version 3")
    expect(page.get_by_test_id("config-status")).to_have_text("Restored version 1 as version 3.")
    expect(version_row(page, 3)).to_contain_text("roll back to version 1")
    assert [s["id"] for s in editor_document(page)["skills"]] == ["returns"]
    expect(skills.get_by_label("VIP customers")).to_have_count(0)

    if screenshot_dir is not None:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=screenshot_dir / "admin.png", full_page=True)

    # Someone else saves meanwhile: our save is refused and we may load theirs.
    other = page.context.new_page()
    other.goto(f"{live_server}/admin")
    expect(other.get_by_test_id("config-version")).to_have_text("Version 3")
    theirs = editor_document(other)
    theirs["fallback_queue"] = "Support"
    save_document(other, theirs, "fallback to Support")
    expect(other.get_by_test_id("config-version")).to_have_text("Version 4")
    mine = editor_document(page)
    mine["fallback_queue"] = "Sales"
    save_document(page, mine, "fallback to Sales")
    conflict = page.get_by_test_id("config-conflict")
    expect(conflict).to_contain_text("now version 4")
    expect(page.get_by_test_id("config-conflict-reload")).to_be_focused()
    page.get_by_test_id("config-conflict-reload").click()
    expect(page.get_by_test_id("config-version")).to_have_text("Version 4")
    expect(conflict).to_be_hidden()
    assert editor_document(page)["fallback_queue"] == "Support"

    # After a reload everything is still there.
    page.reload()
    expect(queue_card(page, "Returns").get_by_label("Ana García")).to_be_checked()
    expect(queue_card(page, "Returns").get_by_label("Chloé Martin")).not_to_be_checked()
    expect(page.get_by_test_id("version-row")).to_have_count(4)
    no_js_errors(page)


def test_supervisor_reads_the_configuration_and_manages_people(
    live_server: str, browser: Browser, contexts: list[BrowserContext], screenshot_dir: Path | None
) -> None:
    page = new_page(browser, contexts)
    open_admin(page, live_server, SUPERVISOR)
    expect(page.get_by_test_id("user-role")).to_have_text("supervisor")
    expect(page.get_by_test_id("supervisor-note")).to_be_visible()
    expect(page.get_by_test_id("queue-create-form")).to_have_count(0)

    # The configuration is readable but every editing control is off, with the reason shown.
    editor = page.get_by_test_id("config-editor")
    expect(editor).to_have_value(re.compile(r'"route_to_queue": \[\]'))
    expect(editor).not_to_be_editable()
    expect(page.get_by_test_id("config-save")).to_be_disabled()
    expect(page.get_by_test_id("config-comment")).to_be_disabled()
    expect(page.get_by_test_id("config-readonly-note")).to_contain_text("only admins")
    expect(editor).to_have_accessible_description(re.compile("only admins"))

    # People are theirs to manage.
    support = queue_card(page, "Support")
    expect(support.get_by_test_id("queue-member-count")).to_have_text("3 members")
    support.get_by_label("Chloé Martin").check()
    support.get_by_test_id("queue-save-members").click()
    expect(support.get_by_test_id("queue-status")).to_have_text("Members saved.")
    expect(support.get_by_test_id("queue-member-count")).to_have_text("4 members")

    if screenshot_dir is not None:
        page.screenshot(path=screenshot_dir / "admin-supervisor.png", full_page=True)
    no_js_errors(page)


def test_agents_and_visitors_are_kept_out(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    visitor = new_page(browser, contexts)
    visitor.goto(f"{live_server}/admin")
    expect(visitor).to_have_url(f"{live_server}/login?next=/admin")

    agent = new_page(browser, contexts)
    sign_in(agent, live_server, AGENT, landing="/workspace")
    expect(agent.get_by_test_id("admin-link")).to_have_count(0)
    response = agent.goto(f"{live_server}/admin")
    assert response is not None
    assert response.status == 403
    expect(agent.get_by_test_id("admin-forbidden")).to_contain_text("for supervisors and admins")
    expect(agent.get_by_test_id("config-editor")).to_have_count(0)

    supervisor = new_page(browser, contexts)
    sign_in(supervisor, live_server, SUPERVISOR, landing="/workspace")
    supervisor.get_by_test_id("admin-link").click()
    expect(supervisor).to_have_url(f"{live_server}/admin")
    expect(supervisor.get_by_role("heading", name="Routing configuration")).to_be_visible()


def test_routing_trace_shows_steps_and_offers(
    live_server: str, browser: Browser, contexts: list[BrowserContext], screenshot_dir: Path | None
) -> None:
    page = new_page(browser, contexts)
    open_admin(page, live_server, ADMIN)

    # Ana goes available, then a customer asks for a refund through the widget's API.
    ana = new_page(browser, contexts)
    sign_in(ana, live_server, AGENT, landing="/workspace")
    expect(ana.get_by_test_id("connection-status")).to_have_text("Live")
    ana.get_by_label("Presence").select_option("available")
    expect(ana.get_by_label("Presence")).to_have_value("available")
    demo = page.request.get(f"{live_server}/demo").text()
    found = re.search(r'data-omniroute-key="([^"]+)"', demo)
    assert found is not None
    started = page.request.post(
        f"{live_server}/api/webchat/v1/widgets/{found.group(1)}/conversations",
        data={"name": "Jo Traced", "question": "Where is my parcel?"},
        headers={"Origin": live_server},
    )
    assert started.status == 201, started.text()
    conversation_id = started.json()["conversation"]["id"]
    expect(ana.get_by_test_id("offer-card")).to_have_count(1)

    page.get_by_label("Conversation id").fill("no-such-conversation")
    page.get_by_test_id("trace-submit").click()
    expect(page.get_by_test_id("trace-error")).to_have_text("No conversation with id no-such-conversation.")
    expect(page.get_by_test_id("trace-result")).to_be_hidden()

    page.get_by_label("Conversation id").fill(conversation_id)
    page.get_by_test_id("trace-submit").click()
    expect(page.get_by_test_id("trace-error")).to_be_hidden()
    steps = page.get_by_test_id("trace-step")
    expect(steps.filter(has_text="queued in 'Sales'")).to_have_count(1)
    expect(steps.filter(has_text="offered Ana García")).to_have_count(1)
    expect(page.get_by_test_id("trace-config-version")).to_have_text("built-in defaults")
    offer = page.get_by_test_id("trace-session")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text("Ana García")
    expect(offer).to_contain_text("offered")
    if screenshot_dir is not None:
        page.locator("#trace").screenshot(path=screenshot_dir / "admin-trace.png")
    no_js_errors(page)


def test_people_are_shown_by_id_without_the_users_list(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """Against a server without GET /api/v1/admin/users the page still works, with ids."""
    page = new_page(browser, contexts)
    page.route(
        "**/api/v1/admin/users",
        lambda route: route.fulfill(status=404, json={"detail": "Not Found"}),
    )
    open_admin(page, live_server, ADMIN)
    expect(page.get_by_test_id("users-notice")).to_be_visible()
    sales = queue_card(page, "Sales")
    members = sales.get_by_test_id("member-checkbox")
    expect(members).to_have_count(5)  # the four queue members and the admin herself
    labels = sales.locator(".admin-person").all_inner_texts()
    assert all(UUID.match(text) for text in labels), labels

    page.get_by_label("Add a person by user id").fill("0000-not-a-user")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(members).to_have_count(6)
    expect(page.get_by_test_id("skills-agent").locator("option")).to_have_count(6)
    no_js_errors(page)


def test_admin_connects_a_channel_and_disables_it(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts)
    open_admin(page, live_server, ADMIN)
    section = page.locator("#channels")
    expect(section).to_have_attribute("data-ready", "true")
    page.get_by_test_id("channel-kind").select_option("custom")
    page.get_by_test_id("channel-name").fill("Acme chat")
    page.get_by_test_id("channel-settings-outbound_url").fill("http://127.0.0.1:9/outbound")
    page.get_by_test_id("channel-secrets-inbound_secret").fill("in-secret")
    page.get_by_test_id("channel-secrets-outbound_secret").fill("out-secret")
    page.get_by_test_id("channel-create").click()
    account = page.get_by_test_id("channel-account").filter(has_text="Acme chat")
    expect(account).to_contain_text("inbound_secret, outbound_secret")
    expect(account).to_contain_text("/webhooks/")
    expect(account).not_to_contain_text("in-secret")
    expect(account.get_by_test_id("channel-state")).to_have_text("enabled")
    account.get_by_role("button", name="Disable Acme chat").click()
    expect(account.get_by_test_id("channel-state")).to_have_text("disabled")
    # A bad account is refused with the server's reason and nothing is added.
    page.get_by_test_id("channel-kind").select_option("custom")
    page.get_by_test_id("channel-name").fill("Acme chat")
    page.get_by_test_id("channel-settings-outbound_url").fill("http://127.0.0.1:9/outbound")
    page.get_by_test_id("channel-secrets-inbound_secret").fill("x")
    page.get_by_test_id("channel-secrets-outbound_secret").fill("y")
    page.get_by_test_id("channel-create").click()
    expect(page.get_by_test_id("channel-create-error")).to_contain_text("exists already")
    expect(page.get_by_test_id("channel-account")).to_have_count(1)
    no_js_errors(page)

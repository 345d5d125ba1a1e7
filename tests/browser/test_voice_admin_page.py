"""The voice providers page (/admin/voice): an administrator creates a provider (validation inline
and from the server), copies the API token and webhook secret shown once, edits it (order, enabled,
custom parameters), rotates its token, and maps an agent; text is escaped, the page speaks
Spanish when asked, and supervisors are kept out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from omniroute.demo import DEMO_PASSWORD
from tests.browser.test_admin_pages import new_page, no_js_errors, sign_in
from tests.browser.test_workspace_helpers import signed_in_http

pytestmark = pytest.mark.browser

ADMIN = "admin@demo.omniroute.dev"
SUPERVISOR = "sam@demo.omniroute.dev"
ANA = "ana@demo.omniroute.dev"
NAME = "Acme <b>Phones</b>"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_voice(page: Page, base_url: str, email: str) -> None:
    sign_in(page, base_url, email, landing="/admin/voice")


def presence_with(base_url: str, token: str, user_id: str) -> int:
    """What the provider API says to this bearer token (401: not a valid token)."""
    r = httpx.put(
        f"{base_url}/api/v1/voice/agents/{user_id}/presence",
        json={"presence": "available"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return r.status_code


def test_an_admin_creates_edits_rotates_and_maps_a_voice_provider(
    live_server: str, browser: Browser, contexts: list[BrowserContext], screenshot_dir: Path | None
) -> None:
    admin = signed_in_http(live_server, ADMIN)
    ana_id = next(u["id"] for u in admin.get("/api/v1/admin/users").json() if u["email"] == ANA)
    page = new_page(browser, contexts)
    open_voice(page, live_server, ADMIN)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("voice-empty")).to_be_visible()

    # Custom parameters must be a JSON object: said next to the field, nothing sent.
    page.get_by_test_id("vp-name").fill(NAME)
    page.get_by_test_id("vp-softphone").fill("https://phone.acme.example/agent")
    page.get_by_test_id("vp-custom").fill("[1, 2]")
    page.get_by_test_id("vp-submit").click()
    expect(page.get_by_test_id("vp-custom-error")).to_be_visible()
    expect(page.get_by_test_id("vp-custom")).to_have_attribute("aria-invalid", "true")
    assert admin.get("/api/v1/admin/voice-providers").json() == []

    # The server's rules come back with their reason: presence sync needs a presence URL.
    page.get_by_test_id("vp-custom").fill('{"region": "eu-west-1", "dialer": {"prefix": "9"}}')
    page.locator('input[name="features"][value="screen_pop"]').check()
    page.locator('input[name="features"][value="presence_sync"]').check()
    page.get_by_test_id("vp-submit").click()
    expect(page.get_by_test_id("vp-error")).to_contain_text("presence_url")
    page.get_by_test_id("vp-presence").fill("https://phone.acme.example/omniroute/presence")
    page.get_by_test_id("vp-order").fill("4")
    page.get_by_test_id("vp-submit").click()

    # Created: the API token and the generated webhook secret, shown this once.
    secrets = page.get_by_test_id("voice-secrets")
    expect(secrets).to_be_visible()
    token = page.get_by_test_id("secret-api-token").inner_text()
    secret = page.get_by_test_id("secret-webhook-secret").inner_text()
    assert token.startswith("omv_")
    assert secret.startswith("whsec_")
    listed = admin.get("/api/v1/admin/voice-providers").json()
    assert len(listed) == 1
    provider = listed[0]
    expect(page.get_by_test_id("secret-webhook-url")).to_have_text(provider["webhook_url"])
    assert provider["custom_parameters"] == {"region": "eu-west-1", "dialer": {"prefix": "9"}}
    assert provider["features"] == ["presence_sync", "screen_pop"]
    assert token not in str(listed)
    assert presence_with(live_server, token, ana_id) == 403  # a valid token; Ana is not its agent yet

    row = page.get_by_test_id("voice-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("voice-row-name")).to_have_text(NAME)  # as text, not markup
    assert row.locator("b").count() == 0
    expect(row.get_by_test_id("voice-row-status")).to_have_text("Enabled")
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "admin-voice.png"), full_page=True)
    page.get_by_test_id("secrets-done").click()
    expect(secrets).to_be_hidden()
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert token not in page.content()
    assert secret not in page.content()

    # Edit: the form holds the provider; a new order, disabled, other custom parameters.
    page.get_by_test_id("voice-edit").click()
    expect(page.get_by_test_id("vp-name")).to_have_value(NAME)
    expect(page.get_by_test_id("vp-kind")).to_be_disabled()
    expect(page.locator('input[name="features"][value="screen_pop"]')).to_be_checked()
    page.get_by_test_id("vp-order").fill("7")
    page.get_by_test_id("vp-enabled").uncheck()
    page.get_by_test_id("vp-custom").fill('{"region": "us-east-1"}')
    page.get_by_test_id("vp-submit").click()
    expect(row.get_by_test_id("voice-row-status")).to_have_text("Disabled")
    expect(row.get_by_test_id("voice-row-order")).to_have_text("7")
    saved = admin.get(f"/api/v1/admin/voice-providers/{provider['id']}").json()
    assert (saved["enabled"], saved["sort_order"], saved["custom_parameters"]) == (
        False,
        7,
        {"region": "us-east-1"},
    )
    assert saved["presence_url"] == "https://phone.acme.example/omniroute/presence"
    page.get_by_test_id("voice-edit").click()
    page.get_by_test_id("vp-enabled").check()
    page.get_by_test_id("vp-submit").click()
    expect(row.get_by_test_id("voice-row-status")).to_have_text("Enabled")

    # A new API token: shown once; the old one stops working at once.
    page.get_by_test_id("voice-rotate").click()
    expect(secrets).to_be_visible()
    expect(page.get_by_test_id("secret-webhook-secret")).to_be_hidden()  # the secret did not change
    rotated = page.get_by_test_id("secret-api-token").inner_text()
    assert rotated.startswith("omv_")
    assert rotated != token
    assert presence_with(live_server, token, ana_id) == 401
    assert presence_with(live_server, rotated, ana_id) == 403

    # Agent mapping: Ana is "agent-ana" at this provider; then the provider may set her presence.
    page.get_by_test_id("map-user").select_option(ana_id)
    page.get_by_test_id("map-external").fill("agent-ana")
    page.get_by_test_id("map-submit").click()
    mapped = page.get_by_test_id("map-row")
    expect(mapped).to_have_count(1)
    expect(mapped.get_by_test_id("map-row-external")).to_have_text("agent-ana")
    assert presence_with(live_server, rotated, ana_id) == 200
    mapped.get_by_test_id("map-remove").click()
    expect(page.get_by_test_id("map-row")).to_have_count(0)
    assert presence_with(live_server, rotated, ana_id) == 403
    no_js_errors(page)
    admin.close()


def test_the_page_speaks_spanish_and_is_for_admins_only(
    live_server: str, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = new_page(browser, contexts)
    open_voice(page, live_server, ADMIN)
    page.goto(f"{live_server}/admin/voice?lang=es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Proveedores de voz")
    expect(page.get_by_test_id("vp-submit")).to_have_text("Crear proveedor")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    no_js_errors(page)

    supervisor = new_page(browser, contexts)
    supervisor.goto(f"{live_server}/admin/voice")
    supervisor.get_by_label("Email").fill(SUPERVISOR)
    supervisor.get_by_label("Password").fill(DEMO_PASSWORD)
    supervisor.get_by_role("button", name="Sign in").click()
    expect(supervisor.get_by_test_id("admin-forbidden")).to_be_visible()
    sam = signed_in_http(live_server, SUPERVISOR)
    assert sam.get("/admin/voice").status_code == 403
    assert sam.get("/api/v1/admin/voice-providers").status_code == 403
    sam.close()
    assert httpx.get(f"{live_server}/admin/voice", follow_redirects=False).status_code == 303

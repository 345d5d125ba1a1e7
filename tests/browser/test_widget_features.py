"""The complete widget in Chromium: pre-chat survey → chat → CSAT, transcript download, Spanish,
theming, the offline form, proactive invitations and authenticated chat."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from omniroute.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

CARD = "4111 1111 1111 1111"
SURVEY = {
    "prechat": {
        "questions": [
            {
                "id": "topic",
                "type": "choice",
                "label": {"en": "What is it about?", "es": "¿De qué se trata?"},
                "required": True,
                "options": [
                    {"value": "returns", "label": {"en": "A return", "es": "Una devolución"}},
                    {"value": "buying", "label": {"en": "Buying", "es": "Comprar"}},
                ],
            },
            {
                "id": "privacy",
                "type": "consent",
                "label": {"en": "I accept the privacy policy", "es": "Acepto la política de privacidad"},
                "required": True,
            },
        ]
    }
}


class AdminApi:
    """The admin REST API as the lead's scripts would use it (session cookie + CSRF header)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url)
        page = self.http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        self.http.post(
            "/login",
            data={
                "email": "admin@demo.omniroute.dev",
                "password": DEMO_PASSWORD,
                "csrf_token": token.group(1),
            },
        )
        self.csrf = self.http.get("/api/v1/session").json()["csrf_token"]
        self.widget = self.http.get("/api/v1/admin/widgets").json()[0]

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.put(path, json=body, headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def settings(self, settings: dict[str, Any]) -> None:
        self.put(f"/api/v1/admin/widgets/{self.widget['id']}/settings", {"settings": settings})

    def routing(self, config: dict[str, Any]) -> None:
        self.put("/api/v1/admin/routing-config", {"config": config})

    def identity_secret(self) -> str:
        r = self.http.post(
            f"/api/v1/admin/widgets/{self.widget['id']}/identity-secret",
            json={},
            headers={"X-CSRF-Token": self.csrf},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["secret"])

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, params=params).json()


@pytest.fixture
def admin(live_server: str) -> Iterator[AdminApi]:
    api = AdminApi(live_server)
    try:
        yield api
    finally:
        api.http.close()


def widget(page: Page) -> Any:
    return page.get_by_test_id("omniroute-widget")


def test_prechat_survey_chat_transcript_and_csat(
    live_server: str, browser: Browser, admin: AdminApi, tmp_path: Path, screenshot_dir: Path | None
) -> None:
    admin.settings(SURVEY)
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        page.get_by_test_id("widget-launcher").click()
        name = page.get_by_label("Name", exact=True)
        expect(name).to_be_focused()  # the panel opened by a click takes the focus
        name.fill("Jane Doe")
        page.get_by_label("How can we help?").fill(f"Refund to card {CARD}")
        page.get_by_test_id("widget-start").click()
        # Required answers are checked in the browser first, with the reason next to the field.
        topic = page.get_by_label("What is it about?")
        expect(topic).to_be_focused()
        expect(topic).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_text("Please answer: What is it about?")).to_be_visible()
        topic.select_option("returns")
        page.get_by_label("I accept the privacy policy").check()
        page.get_by_test_id("widget-start").click()

        log = page.get_by_test_id("widget-messages")
        expect(log).to_have_attribute("aria-live", "polite")
        expect(page.get_by_test_id("widget-input")).to_be_focused()
        expect(page.get_by_test_id("widget-message").first).to_have_text(
            re.compile(r"\*{4} \*{4} \*{4} 1111")
        )
        page.get_by_test_id("widget-input").fill("My order is 1042")
        page.get_by_test_id("widget-input").press("Enter")
        expect(page.get_by_test_id("widget-message").filter(has_text="My order is 1042")).to_have_count(1)

        with page.expect_download() as download:
            page.get_by_test_id("widget-transcript-download").click()
        saved = tmp_path / "transcript.html"
        download.value.save_as(saved)
        html = saved.read_text()
        assert download.value.suggested_filename.endswith(".html")
        assert "My order is 1042" in html
        assert CARD not in html

        page.get_by_test_id("widget-end").click()
        expect(page.get_by_test_id("widget-status")).to_have_text("This chat has ended.")
        expect(page.get_by_test_id("widget-csat")).to_be_visible()
        if screenshot_dir is not None:
            page.screenshot(path=screenshot_dir / "widget-csat.png")
        page.get_by_test_id("widget-csat-submit").click()
        expect(page.get_by_text("Please choose a rating.")).to_be_visible()
        page.get_by_label("4 stars, good").check(force=True)
        page.get_by_label("Anything you would like to add? (optional)").fill("Quick and kind")
        page.get_by_test_id("widget-csat-submit").click()
        expect(page.get_by_test_id("widget-csat-thanks")).to_have_text("Thank you for your feedback!")
        expect(page.get_by_test_id("widget-csat-thanks")).to_be_focused()

        page.reload()  # the rating is remembered: no second form
        expect(page.get_by_test_id("widget-csat-thanks")).to_be_visible()
        expect(page.get_by_test_id("widget-csat")).to_be_hidden()
    finally:
        context.close()
    responses = admin.get("/api/v1/admin/csat")
    assert [(r["rating"], r["comment"]) for r in responses] == [(4, "Quick and kind")]


def test_spanish_ui_and_theme(
    live_server: str, browser: Browser, admin: AdminApi, screenshot_dir: Path | None
) -> None:
    admin.settings(
        {
            **SURVEY,
            "theme": {
                "primary_color": "#7c3aed",
                "on_primary_color": "#ffffff",
                "title": {"en": "Contoso help", "es": "Ayuda de Contoso"},
                "logo_url": "/static/widget/demo-logo.svg",
                "position": "left",
            },
        }
    )
    context = browser.new_context(locale="es-ES", viewport={"width": 1100, "height": 760})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        launcher = page.get_by_test_id("widget-launcher")
        expect(launcher).to_have_text("Chatea con nosotros")
        expect(launcher).to_have_accessible_name("Chatea con nosotros")
        expect(launcher).to_have_css("background-color", "rgb(124, 58, 237)")
        box = launcher.bounding_box()
        assert box is not None
        assert box["x"] < 100  # on the left
        launcher.click()
        expect(page.get_by_test_id("widget-title")).to_have_text("Ayuda de Contoso")
        logo = page.get_by_test_id("widget-logo")
        expect(logo).to_be_visible()
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
        expect(page.get_by_role("dialog", name="Ayuda de Contoso")).to_be_visible()
        page.get_by_label("Nombre", exact=True).fill("Juana")
        page.get_by_label("¿De qué se trata?").select_option("returns")
        expect(page.get_by_label("¿De qué se trata?")).to_have_value("returns")
        page.get_by_label("Acepto la política de privacidad").check()
        page.get_by_label("¿En qué podemos ayudarte?").fill("Hola")
        if screenshot_dir is not None:
            page.screenshot(path=screenshot_dir / "widget-spanish-theme.png")
        page.get_by_test_id("widget-start").click()
        expect(page.get_by_test_id("widget-status")).to_contain_text("en la cola")
        expect(page.get_by_test_id("widget-send")).to_have_text("Enviar")
        expect(page.get_by_test_id("widget-end")).to_have_text("Terminar chat")
        page.get_by_test_id("widget-end").click()
        expect(page.get_by_test_id("widget-status")).to_have_text("El chat ha terminado.")
        expect(page.get_by_test_id("widget-csat-submit")).to_have_text("Enviar valoración")
    finally:
        context.close()


def test_offline_form_when_the_queue_is_closed(
    live_server: str, browser: Browser, admin: AdminApi, screenshot_dir: Path | None
) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    admin.routing(
        {
            "queues": [
                {
                    "queue": "Sales",
                    "operating_hours": {"timezone": "UTC", "holidays": [yesterday, today, tomorrow]},
                }
            ]
        }
    )
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        page.get_by_test_id("widget-launcher").click()
        offline = page.get_by_test_id("widget-offline")
        expect(offline).to_be_visible()
        expect(offline.get_by_role("heading")).to_have_text("We are away right now")
        expect(page.get_by_test_id("widget-prechat")).to_have_count(0)
        expect(offline.get_by_label("Name")).to_be_focused()
        page.get_by_test_id("widget-offline-send").click()
        expect(offline.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
        if screenshot_dir is not None:
            page.screenshot(path=screenshot_dir / "widget-offline.png")
        offline.get_by_label("Name").fill("Night Owl")
        offline.get_by_label("Email").fill("owl@example.com")
        offline.get_by_label("Your message").fill(f"Please call me back. Card {CARD}")
        page.get_by_test_id("widget-offline-send").click()
        expect(page.get_by_test_id("widget-offline-thanks")).to_have_text(
            "Thank you! We have your message and will reply by email."
        )
    finally:
        context.close()


def test_proactive_invitation_once_per_session(live_server: str, browser: Browser, admin: AdminApi) -> None:
    admin.settings(
        {
            "proactive": [
                {
                    "id": "demo",
                    "message": "Questions about the wool throw?",
                    "min_seconds_on_page": 1,
                    "url_pattern": "/demo*",
                },
                {"id": "never", "message": "Not on this page", "url_pattern": "/checkout/*"},
            ]
        }
    )
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        invite = page.get_by_test_id("widget-invite")
        expect(invite).to_be_visible()
        expect(page.get_by_test_id("widget-invite-text")).to_have_text("Questions about the wool throw?")
        expect(page.get_by_text("Not on this page")).to_have_count(0)
        expect(page.get_by_test_id("widget-launcher")).not_to_be_focused()  # no focus stealing
        page.get_by_test_id("widget-invite-accept").click()
        expect(page.get_by_test_id("widget-panel")).to_be_visible()
        expect(page.get_by_label("Name", exact=True)).to_be_focused()
        page.get_by_test_id("widget-launcher").click()
        page.reload()
        page.wait_for_timeout(1500)  # longer than the rule's delay: it must stay quiet now
        expect(page.get_by_test_id("widget-invite")).to_be_hidden()
    finally:
        context.close()


def test_authenticated_chat_with_a_host_signed_token(
    live_server: str, browser: Browser, admin: AdminApi
) -> None:
    admin.settings({"identity": {"mode": "required"}})
    secret = admin.identity_secret()
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": "crm-77",
            "name": "Vera Verified",
            "email": "vera@example.com",
            "aud": admin.widget["public_key"],
            "iat": now,
            "exp": now + 600,
        },
        secret,
        algorithm="HS256",
    )
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        page.get_by_test_id("widget-launcher").wait_for()
        page.evaluate("token => window.OmnirouteWidget.setIdentityToken(token)", token)
        page.get_by_test_id("widget-launcher").click()
        expect(page.get_by_test_id("widget-signed-in")).to_have_text("Signed in as Vera Verified")
        expect(page.get_by_label("Name", exact=True)).to_be_hidden()
        expect(page.get_by_label("Email (optional)")).to_be_hidden()
        page.get_by_label("How can we help?").fill("Where is my refund?")
        page.get_by_test_id("widget-start").click()
        expect(page.get_by_test_id("widget-status")).to_contain_text("in the queue")
        expect(page.get_by_test_id("widget-message").first).to_contain_text("Where is my refund?")
    finally:
        context.close()

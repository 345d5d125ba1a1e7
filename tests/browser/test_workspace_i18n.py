"""The workspace in Spanish: server-rendered text and script text from the same gettext catalogue,
chosen per user: stored on the user record (``PUT /api/v1/me/locale``, sent by the page when a
``lang`` parameter or the settings change it), so it follows the agent to any browser; a cookie
only covers pages before sign-in. Switchable in the settings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    BEN,
    Pages,
    customers_fixture,  # noqa: F401 - fixture
    offer,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    signed_in_http,
    tab,
)

pytestmark = pytest.mark.browser


def test_spanish_workspace(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    sign_in(agent, live_server, query="?lang=es")
    expect(agent.locator("html")).to_have_attribute("lang", "es")
    expect(agent).to_have_title("Espacio de trabajo · Omniroute")
    expect(agent.get_by_test_id("connection-status")).to_have_text("Conectado")  # from the JS catalogue
    expect(agent.get_by_label("Presencia")).to_be_visible()
    expect(agent.get_by_role("heading", name="Hola, Ana García")).to_be_visible()
    expect(agent.get_by_test_id("session-count")).to_have_text("0 de 10")
    expect(agent.get_by_test_id("agent-load")).to_have_text("Sesiones abiertas: 0")
    assert "lang=" not in agent.url  # the choice is kept on the user (and a cookie), not in the address

    set_presence(agent, "available")
    customers().start("Jane Doe", "¿Tienen la manta en gris?")
    card = offer(agent, "Jane Doe")
    expect(card.get_by_test_id("offer-title")).to_have_text("Nuevo chat de Jane Doe")
    expect(card.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"^quedan \d+ s$"))
    expect(card.get_by_role("button", name="Aceptar")).to_be_visible()
    screenshot(agent, "offer-es")
    card.get_by_role("button", name="Aceptar").click()

    conversation = open_conversation(agent)
    expect(conversation.get_by_test_id("conversation-state")).to_have_text("Activa")
    expect(conversation.get_by_role("button", name="Finalizar")).to_be_visible()
    expect(conversation.get_by_test_id("prechat")).to_contain_text("Pregunta")
    expect(conversation.get_by_label("Respuesta", exact=True)).to_have_attribute(
        "placeholder",
        "Escribe una respuesta: Intro envía, Mayús+Intro añade una línea, /q para respuestas rápidas",
    )
    expect(tab(agent, "Jane Doe")).to_contain_text("Chat web")
    screenshot(agent, "spanish")

    # Still Spanish after a reload, without the parameter.
    agent.reload()
    expect(agent.get_by_test_id("connection-status")).to_have_text("Conectado")
    expect(open_conversation(agent).get_by_test_id("conversation-state")).to_have_text("Activa")

    # The help overlay's text comes from the catalogue too.
    agent.get_by_role("button", name="Atajos").click()
    expect(agent.get_by_test_id("shortcut-rows")).to_contain_text("Sesión siguiente")
    agent.keyboard.press("Escape")

    # Back to English from the settings.
    agent.get_by_role("button", name="Ajustes").click()
    settings = agent.get_by_test_id("settings-dialog")
    settings.get_by_label("Idioma").select_option("en")
    settings.get_by_role("button", name="Guardar").click()
    expect(agent.locator("html")).to_have_attribute("lang", "en")
    expect(agent.get_by_test_id("connection-status")).to_have_text("Live")
    expect(open_conversation(agent).get_by_test_id("conversation-state")).to_have_text("Active")
    pages.assert_no_errors(agent)


def test_unknown_language_falls_back_to_english(live_server: str, pages: Pages) -> None:
    agent = pages.new()
    sign_in(agent, live_server, query="?lang=xx")
    expect(agent.locator("html")).to_have_attribute("lang", "en")
    expect(agent.get_by_test_id("connection-status")).to_have_text("Live")


def test_the_language_is_stored_on_the_user(live_server: str, pages: Pages) -> None:
    """Chosen over the API, the language follows the agent into a fresh browser (new context, no
    cookie, no parameter): it comes from the user record."""
    api = signed_in_http(live_server, BEN)
    try:
        assert api.get("/api/v1/me").json()["locale"] == "en"
        r = api.put("/api/v1/me/locale", json={"locale": "es"})
        assert r.status_code == 204, r.text
        assert api.put("/api/v1/me/locale", json={"locale": "xx"}).status_code == 422
        assert api.get("/api/v1/me").json()["locale"] == "es"
    finally:
        api.close()

    agent = pages.new()  # its own context: no cookie from any earlier page
    assert agent.context.cookies() == []
    sign_in(agent, live_server, BEN)
    expect(agent.locator("html")).to_have_attribute("lang", "es")
    expect(agent.get_by_test_id("connection-status")).to_have_text("Conectado")
    expect(agent.get_by_role("heading", name="Hola, Ben Okafor")).to_be_visible()
    pages.assert_no_errors(agent)

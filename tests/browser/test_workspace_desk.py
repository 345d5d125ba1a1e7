"""The agent's desk in the workspace: every pre-chat answer in the conversation header, quick
replies found with ``/q`` and filled with the conversation's slugs, and the disposition code a
queue requires at wrap-up."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    SAM,
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
    signed_in_http,
    tab,
)

pytestmark = pytest.mark.browser


def ask_for_an_order_number(base_url: str) -> None:
    """A pre-chat survey question on the demo widget, so chats carry an ``order_ref`` answer."""
    admin = signed_in_http(base_url, ADMIN)
    try:
        widget = admin.get("/api/v1/admin/widgets").json()[0]
        question = {"id": "order_ref", "type": "text", "label": "Order number", "required": False}
        r = admin.put(
            f"/api/v1/admin/widgets/{widget['id']}/settings",
            json={"settings": {"prechat": {"questions": [question]}}},
        )
        assert r.status_code == 200, r.text
    finally:
        admin.close()


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def test_prechat_header_and_quick_replies_with_slugs(live_server: str, pages: Pages, customers: Any) -> None:
    ask_for_an_order_number(live_server)
    sam = signed_in_http(live_server, SAM)
    ana = signed_in_http(live_server, ANA)
    try:
        post(sam, "/api/v1/quick-replies", {
            "title": "Shipping times",
            "text": "Hola {customerName}, soy {agentName} de {queue}. Tu pedido {order_ref} sale en 2 días "
                    "por {carrier}.",
            "tags": ["shipping"],
            "shared": True,
        })  # fmt: skip
        post(
            sam,
            "/api/v1/quick-replies",
            {"title": "Greeting", "text": "Hello!", "language": "en", "shared": True},
        )
        post(ana, "/api/v1/quick-replies", {"title": "My sign-off", "text": "Un saludo, {agentName}"})
    finally:
        sam.close()
        ana.close()

    agent = pages.new()
    sign_in(agent, live_server)
    set_presence(agent, "available")
    jane = customers().start("Jane Doe", "¿Cuándo llega?", answers={"order_ref": "A-17"}, language="es")
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)

    # The header shows every pre-chat key: the survey's answer and the language too.
    prechat = conversation.get_by_test_id("prechat")
    expect(prechat.locator('dd[data-field="order_ref"]')).to_have_text("A-17")
    expect(prechat.locator("dt").filter(has_text="Order ref")).to_have_count(1)
    expect(prechat.locator('dd[data-field="language"]')).to_have_text("Spanish")

    # "/q" searches: Spanish and language-neutral replies, shared and her own.
    reply = conversation.get_by_test_id("reply-input")
    reply.fill("/q")
    options = conversation.get_by_test_id("quick-reply")
    expect(options).to_have_count(2)  # the English greeting is left out of a Spanish chat
    reply.press_sequentially(" ship")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Shipping times")
    screenshot(agent, "quick-replies")
    reply.press("Enter")

    # Slugs filled from the conversation; the unknown one is selected for Ana to type over.
    expect(reply).to_have_value(
        "Hola Jane Doe, soy Ana García de Sales. Tu pedido A-17 sale en 2 días por {carrier}."
    )
    expect(conversation.get_by_test_id("quick-replies")).to_be_hidden()
    selected = agent.evaluate(
        "() => { const box = document.activeElement;"
        " return box.value.substring(box.selectionStart, box.selectionEnd); }"
    )
    assert selected == "{carrier}"
    agent.keyboard.type("SEUR")
    reply.press("Enter")
    sent = "Hola Jane Doe, soy Ana García de Sales. Tu pedido A-17 sale en 2 días por SEUR."
    expect(message(conversation, sent).get_by_test_id("delivery-state")).to_have_text("Sent")  # stored
    r = httpx.get(
        f"{live_server}/api/webchat/v1/widgets/{jane.key}/conversation",
        headers={"Origin": live_server, "Authorization": f"Bearer {jane.token}"},
    )
    assert sent in [m["text"] for m in r.json()["messages"]]

    # Alt+Q opens the picker too; Esc closes it and nothing is sent.
    agent.keyboard.press("Alt+KeyQ")
    expect(reply).to_have_value("/q ")
    expect(options.filter(has_text="My sign-off")).to_have_count(1)
    reply.press("Escape")
    expect(conversation.get_by_test_id("quick-replies")).to_be_hidden()
    reply.press("Enter")
    expect(conversation.get_by_test_id("transcript").get_by_test_id("message")).to_have_count(3)
    pages.assert_no_errors(agent)


def test_disposition_code_at_wrap_up(live_server: str, pages: Pages, customers: Any) -> None:
    sam = signed_in_http(live_server, SAM)
    try:
        sales = next(q["id"] for q in sam.get("/api/v1/queues").json() if q["name"] == "Sales")
        r = sam.put(
            f"/api/v1/admin/queues/{sales}/disposition-codes",
            json={
                "required": True,
                "codes": [
                    {"code": "resolved", "label": "Resolved"},
                    {"code": "callback", "label": "Callback promised"},
                ],
            },
        )
        assert r.status_code == 200, r.text
    finally:
        sam.close()

    agent = pages.new()
    sign_in(agent, live_server)
    set_presence(agent, "available")
    jane = customers().start("Jane Doe", "Can you call me back tomorrow?")
    accept_offer_from(agent, "Jane Doe")
    conversation = open_conversation(agent)
    expect(conversation.get_by_test_id("disposition")).to_be_hidden()
    conversation.get_by_test_id("end-conversation").click()

    form = conversation.get_by_test_id("disposition")
    expect(form).to_be_visible()
    expect(form).to_contain_text("(required)")
    code = form.get_by_label(re.compile("Disposition code"))
    expect(code.locator("option")).to_have_text(["Choose a code", "Resolved", "Callback promised"])
    conversation.get_by_test_id("close-conversation").click()
    expect(conversation.locator(".conversation-error")).to_have_text(
        "Choose a disposition code before closing."
    )
    expect(tab(agent, "Jane Doe")).to_have_count(1)

    form.get_by_label("Disposition notes (optional)").fill("Tomorrow at 10")
    with agent.expect_response(re.compile(r"/disposition$")) as saved:
        code.select_option("callback")
    assert saved.value.ok, saved.value.text()
    screenshot(agent, "disposition")
    conversation.get_by_test_id("close-conversation").click()
    expect(tab(agent, "Jane Doe")).to_have_count(0)

    ana = signed_in_http(live_server, ANA)
    try:
        chosen = ana.get(f"/api/v1/conversations/{jane.conversation_id}/disposition").json()["chosen"]
        assert (chosen["code"], chosen["notes"]) == ("callback", "Tomorrow at 10")
    finally:
        ana.close()
    pages.assert_no_errors(agent)

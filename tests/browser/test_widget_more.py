"""More of the widget in Chromium: the place in the queue and the wait estimate, the transcript by
email, a network loss and its recovery, file limits checked before upload, an accessibility audit
of the widget's shadow DOM, and Escape closing the panel."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from omniroute.demo import DEMO_PASSWORD
from tests.browser.test_webchat_flow import (
    AGENT_LINE,
    QUESTION,
    go_available,
    open_conversation,
    sign_in,
    start_chat,
    widget_message,
)
from tests.browser.test_widget_features import SURVEY, AdminApi
from tests.browser.test_workspace_a11y import AUDIT
from tests.e2e.channels.email.conftest import (
    WEBHOOK_SECRET,
    SmtpPeer,
    SmtpSink,
    account_settings,
    smtp_controller,
)

pytestmark = pytest.mark.browser

#: A pick-mode workstream: chats wait in the queue even while an agent is available, so the
#: widget shows a real place and a real estimate (no history yet: 300 s per chat ahead of you).
PICK_MODE = {"workstreams": [{"id": "chat", "name": "Chat", "channels": ["webchat"], "mode": "pick"}]}


@pytest.fixture
def admin(live_server: str) -> Iterator[AdminApi]:
    api = AdminApi(live_server)
    try:
        yield api
    finally:
        api.http.close()


def signed_in(base_url: str, email: str) -> tuple[httpx.Client, str]:
    """An httpx client with a staff session cookie, and its CSRF token."""
    http = httpx.Client(base_url=base_url)
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    http.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)})
    csrf = str(http.get("/api/v1/session").json()["csrf_token"])
    return http, csrf


def open_widget(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/demo")
    page.get_by_test_id("widget-launcher").click()
    expect(page.get_by_test_id("widget-panel")).to_be_visible()


def start(page: Page, base_url: str, name: str, question: str, email: str = "") -> None:
    open_widget(page, base_url)
    page.get_by_label("Name", exact=True).fill(name)
    if email:
        page.get_by_label("Email (optional)").fill(email)
    page.get_by_label("How can we help?").fill(question)
    page.get_by_test_id("widget-start").click()
    expect(widget_message(page, question)).to_have_count(1)


def saved_chat(page: Page) -> dict[str, Any]:
    """What the widget keeps in localStorage about the chat (token, conversation, cursor)."""
    chat: dict[str, Any] = page.evaluate(
        """() => {
          const key = Object.keys(localStorage).find((k) => k.startsWith('omniroute.widget.'));
          return JSON.parse(localStorage.getItem(key)).chat;
        }"""
    )
    return chat


# -- the place in the queue ---------------------------------------------------------------------


def test_queue_position_and_estimated_wait(live_server: str, browser: Browser, admin: AdminApi) -> None:
    admin.routing(PICK_MODE)
    first_context = browser.new_context(locale="en-GB")
    second_context = browser.new_context(locale="en-GB")
    ana, csrf = signed_in(live_server, "ana@demo.omniroute.dev")
    try:
        first = first_context.new_page()
        start(first, live_server, "Lee First", "Is the throw washable?")
        # Nobody is signed in: a place, but no estimate.
        expect(first.get_by_test_id("widget-status")).to_have_text(
            "You are next in the queue. Waiting for an agent to sign in…"
        )

        r = ana.put("/api/v1/me/presence", json={"presence": "available"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        second = second_context.new_page()
        start(second, live_server, "Max Second", "Do you ship to Ireland?")
        # One agent, no history: each chat ahead takes the default five minutes.
        expect(second.get_by_test_id("widget-status")).to_have_text(
            "You are number 2 in the queue. Estimated wait: about 10 minutes."
        )
        first.reload()  # asks again at once (otherwise every 15 s)
        expect(first.get_by_test_id("widget-status")).to_have_text(
            "You are next in the queue. Estimated wait: about 5 minutes."
        )

        # The first chat is picked: the second moves up.
        conversation_id = saved_chat(first)["conversationId"]
        picked = ana.post(f"/api/v1/conversations/{conversation_id}/pick", headers={"X-CSRF-Token": csrf})
        assert picked.status_code == 200, picked.text
        expect(first.get_by_test_id("widget-status")).to_have_text("An agent has joined the chat.")
        second.reload()
        expect(second.get_by_test_id("widget-status")).to_have_text(
            "You are next in the queue. Estimated wait: about 5 minutes."
        )
    finally:
        ana.close()
        first_context.close()
        second_context.close()


# -- the transcript by email ---------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    yield from smtp_controller(SmtpSink())


def test_transcript_by_email(live_server: str, browser: Browser, admin: AdminApi, smtp: SmtpPeer) -> None:
    r = admin.http.post(
        "/api/v1/admin/channel-accounts",
        json={
            "channel": "email",
            "name": "Transcripts",
            "settings": account_settings(smtp.port),
            "secrets": {"webhook_secret": WEBHOOK_SECRET},
        },
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert r.status_code == 201, r.text
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        start(page, live_server, "Lee Mail", "Where is order 1042?", email="lee@example.com")
        toggle = page.get_by_test_id("widget-transcript-email")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        address = page.get_by_label("Email address for the transcript")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(address).to_be_focused()
        expect(address).to_have_value("lee@example.com")  # the pre-chat email

        # A bad address: the server's reason next to the field, nothing sent.
        address.fill("not-an-address")
        page.get_by_test_id("widget-transcript-email-send").click()
        expect(address).to_have_attribute("aria-invalid", "true")
        error = page.locator(f"#{address.get_attribute('aria-describedby')}")
        expect(error).to_be_visible()
        expect(error).not_to_be_empty()

        address.fill("other@example.com")
        page.get_by_test_id("widget-transcript-email-send").click()
        expect(page.get_by_test_id("widget-transcript-email-status")).to_have_text(
            "We are sending the transcript to other@example.com."
        )
        expect(toggle).to_be_focused()
        expect(address).to_be_hidden()
        # The system note joins the conversation, once.
        expect(widget_message(page, "We are sending the transcript")).to_have_count(1)

        deadline = time.monotonic() + 15  # a hang guard: the outbox worker sends it
        while not smtp.sink.messages and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert len(smtp.sink.messages) == 1
        mail = smtp.sink.parsed()
        assert mail["To"] == "other@example.com"
        assert "Chat transcript" in str(mail["Subject"])
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        assert "Lee Mail: Where is order 1042?" in body.get_content()
    finally:
        context.close()


def test_no_email_offer_without_an_email_account(live_server: str, browser: Browser) -> None:
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        start(page, live_server, "Lee Nomail", "Hello")
        expect(page.get_by_test_id("widget-transcript-download")).to_be_visible()
        expect(page.get_by_test_id("widget-transcript-email")).to_have_count(0)
    finally:
        context.close()


# -- network loss --------------------------------------------------------------------------------


def test_reconnect_after_network_loss_loses_and_repeats_nothing(live_server: str, browser: Browser) -> None:
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
        offer.get_by_test_id("offer-accept").click()
        expect(offer).to_have_count(0)
        expect(agent.get_by_test_id("session-tab")).to_have_count(1)
        conversation = open_conversation(agent)
        reply = conversation.get_by_test_id("reply-input")
        reply.fill(AGENT_LINE)
        reply.press("Enter")
        expect(widget_message(customer, AGENT_LINE)).to_have_count(1)
        before = saved_chat(customer)

        customer_context.set_offline(True)
        status = customer.get_by_test_id("widget-status")
        expect(status).to_have_text("Connection lost — reconnecting…")
        missed = ["First while you were away", "Second while you were away"]
        for line in missed:
            reply.fill(line)
            reply.press("Enter")
            expect(
                conversation.get_by_test_id("transcript").get_by_test_id("message").filter(has_text=line)
            ).to_have_count(1)
        for line in missed:
            expect(widget_message(customer, line)).to_have_count(0)

        customer_context.set_offline(False)
        expect(status).to_contain_text("Ana García")
        for line in [QUESTION, AGENT_LINE, *missed]:
            expect(widget_message(customer, line)).to_have_count(1)
        texts = customer.get_by_test_id("widget-message").all_inner_texts()
        assert texts.index(next(t for t in texts if missed[0] in t)) < texts.index(
            next(t for t in texts if missed[1] in t)
        )
        after = saved_chat(customer)
        assert after["conversationId"] == before["conversationId"]  # the same conversation
        assert after["token"] == before["token"]
        assert after["lastSeq"] == before["lastSeq"] + 2
        seqs = customer.get_by_test_id("widget-message").evaluate_all("els => els.map((e) => e.dataset.seq)")
        assert len(seqs) == len(set(seqs))

        # And the chat goes on both ways.
        back = "Back online, thanks"
        customer.get_by_test_id("widget-input").fill(back)
        customer.get_by_test_id("widget-input").press("Enter")
        transcript = conversation.get_by_test_id("transcript")
        expect(transcript.get_by_test_id("message").filter(has_text=back)).to_have_count(1)
        expect(widget_message(customer, back)).to_have_count(1)
        expect(agent.get_by_test_id("session-tab")).to_have_count(1)
    finally:
        customer_context.close()
        agent_context.close()


# -- files: limits shown before upload -----------------------------------------------------------


def test_file_limits_are_shown_before_any_upload(
    live_server: str, browser: Browser, admin: AdminApi, tmp_path: Path
) -> None:
    admin.settings({"attachments": {"max_bytes": 2048}})
    big = tmp_path / "photo album.txt"
    big.write_bytes(b"x" * 4096)
    blocked = tmp_path / "setup.exe"
    blocked.write_bytes(b"MZ tiny")
    fine = tmp_path / "receipt.txt"
    fine.write_bytes(b"paid in full")
    context = browser.new_context(locale="en-GB")
    uploads: list[str] = []
    try:
        page = context.new_page()

        def on_request(request: Request) -> None:
            if request.method == "POST" and request.url.endswith("/conversation/attachments"):
                uploads.append(request.url)

        page.on("request", on_request)
        start(page, live_server, "Lee Files", "I have a receipt")
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Attach a file").click()
        chooser.value.set_files([str(big), str(blocked)])
        rows = page.get_by_test_id("widget-file")
        expect(rows).to_have_count(2)
        expect(rows.nth(0).get_by_test_id("widget-file-state")).to_have_text(
            "photo album.txt is larger than 2 KB."
        )
        expect(rows.nth(0)).to_have_attribute("data-state", "failed")
        expect(rows.nth(1).get_by_test_id("widget-file-state")).to_have_text(
            "setup.exe: this type of file is not accepted."
        )
        expect(rows.nth(1)).to_have_attribute("data-state", "failed")
        assert uploads == []  # refused in the widget, before any upload

        # Refused files are not sent: with only those, Enter sends nothing.
        page.get_by_test_id("widget-input").press("Enter")
        expect(page.get_by_test_id("widget-message")).to_have_count(1)

        page.get_by_role("button", name="Remove photo album.txt").click()
        page.get_by_role("button", name="Remove setup.exe").click()
        expect(rows).to_have_count(0)
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Attach a file").click()
        chooser.value.set_files(str(fine))
        expect(rows.get_by_test_id("widget-file-state")).to_have_text("Ready")
        assert len(uploads) == 1
        page.get_by_test_id("widget-send").click()
        mine = page.get_by_test_id("widget-message").filter(has_text="receipt.txt")
        expect(mine.get_by_test_id("widget-file-link")).to_have_count(1)
    finally:
        context.close()


# -- accessibility -------------------------------------------------------------------------------

#: The workspace's audit, run inside the widget's shadow root: ``document`` is the shadow root
#: (the host element gives the language), and the open panel counts as the modal dialog (so the
#: launcher is audited with the panel closed). Page-level rules (one h1, banner, main, navigation,
#: an assertive region) belong to the host page, not to an embedded widget.
WIDGET_AUDIT = (
    "(host) => {\n"
    "  const root = host.shadowRoot;\n"
    "  const document = {\n"
    "    querySelectorAll: (s) => root.querySelectorAll(s),\n"
    "    querySelector: (s) => root.querySelector(s === 'dialog[open]'\n"
    "      ? '[role=\"dialog\"]:not([hidden])' : s),\n"
    "    getElementById: (id) => root.getElementById(id),\n"
    "    documentElement: host,\n"
    "  };\n"
    f"  return ({AUDIT.strip()})();\n"
    "}"
)
PAGE_ONLY = {
    "not exactly one h1",
    "no single banner",
    "no single main",
    "no navigation",
    "no assertive live region",
}


def audit_widget(page: Page) -> None:
    problems: list[str] = page.get_by_test_id("omniroute-widget").evaluate(WIDGET_AUDIT)
    assert [p for p in problems if p not in PAGE_ONLY] == []


def test_widget_passes_the_accessibility_audit(live_server: str, browser: Browser, admin: AdminApi) -> None:
    admin.settings(
        {**SURVEY, "proactive": [{"id": "hello", "message": "Need a hand?", "min_seconds_on_page": 0}]}
    )
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        expect(page.get_by_test_id("widget-invite")).to_be_visible()
        audit_widget(page)  # the launcher and an invitation

        page.get_by_test_id("widget-invite-dismiss").click()
        page.get_by_test_id("widget-launcher").click()
        expect(page.get_by_role("dialog", name="Chat with us")).to_be_visible()
        audit_widget(page)  # the pre-chat form with a survey
        page.get_by_test_id("widget-start").click()
        expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
        audit_widget(page)  # errors next to their fields

        page.get_by_label("Name", exact=True).fill("Ada Audit")
        page.get_by_label("What is it about?").select_option("buying")
        page.get_by_label("I accept the privacy policy").check()
        page.get_by_label("How can we help?").fill("Is the throw machine washable?")
        page.get_by_test_id("widget-start").click()
        expect(widget_message(page, "machine washable")).to_have_count(1)
        audit_widget(page)  # the chat

        page.get_by_test_id("widget-end").click()
        expect(page.get_by_test_id("widget-csat")).to_be_visible()
        audit_widget(page)  # the end of the chat and the CSAT form

        page.get_by_test_id("widget-launcher").click()
        expect(page.get_by_test_id("widget-panel")).to_be_hidden()
        audit_widget(page)  # closed again
    finally:
        context.close()


def test_the_audit_finds_problems(live_server: str, browser: Browser) -> None:
    """The audit is not blind in a shadow root: break the widget and it says so."""
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        open_widget(page, live_server)
        page.get_by_test_id("omniroute-widget").evaluate(
            """(host) => {
              const root = host.shadowRoot;
              root.querySelector('[data-testid="widget-start"]').textContent = '';
              root.querySelector('label[for]').htmlFor = 'nowhere';
            }"""
        )
        problems: list[str] = page.get_by_test_id("omniroute-widget").evaluate(WIDGET_AUDIT)
        assert any(p.startswith("control without a name") and "widget-start" in p for p in problems)
        assert any(p.startswith("for points nowhere") for p in problems)
    finally:
        context.close()


# -- the keyboard ----------------------------------------------------------------------------------


def test_escape_closes_the_panel_and_focus_returns_to_the_launcher(
    live_server: str, browser: Browser
) -> None:
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/demo")
        launcher = page.get_by_test_id("widget-launcher")
        launcher.focus()
        page.keyboard.press("Enter")  # opened from the keyboard
        panel = page.get_by_test_id("widget-panel")
        expect(panel).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        name = page.get_by_label("Name", exact=True)
        expect(name).to_be_focused()
        name.fill("Kim Keys")
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "false")

        # Reopened, the draft is still there; Escape from the chat closes it too.
        page.keyboard.press("Enter")
        expect(name).to_have_value("Kim Keys")
        page.get_by_label("How can we help?").fill("Just testing the keys")
        page.get_by_test_id("widget-start").click()
        message_box = page.get_by_test_id("widget-input")
        expect(message_box).to_be_focused()
        message_box.fill("half-typed")
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(launcher).to_be_focused()
        page.reload()  # the closed state is remembered
        expect(page.get_by_test_id("widget-launcher")).to_be_visible()
        expect(page.get_by_test_id("widget-panel")).to_be_hidden()
        page.get_by_test_id("widget-launcher").click()
        expect(page.get_by_test_id("widget-input")).to_be_focused()
    finally:
        context.close()

"""The real workspace lends the SDK its sessions and tabs (the reference CCaaS's softphone creates a
session and a tab, titles, focuses and closes them, and hears the switch and the close), and the
providers' tabs follow the ARIA tabs pattern (tab panels, one tab stop, arrow keys)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_voice_helpers import (
    VoiceStack,
    provider_frame,
    sdk,
    voice_stack_fixture,  # noqa: F401 - fixture
)
from tests.browser.test_workspace_a11y import audit
from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    Pages,
    pages_fixture,  # noqa: F401 - fixture
    sign_in,
    signed_in_http,
)

pytestmark = pytest.mark.browser

KNOWN = "+15558675331"
CASE_CUSTOMER = "+15558675332"


def test_the_softphone_creates_sessions_and_tabs_in_the_workspace(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    try:
        known = admin.post("/api/v1/customers", json={"display_name": "Sofia Session", "phone": KNOWN}).json()
        other = admin.post(
            "/api/v1/customers", json={"display_name": "Tomas Tab", "phone": CASE_CUSTOMER}
        ).json()
        case = admin.post("/api/v1/cases", json={"title": "Broken router", "customer_id": other["id"]})
        assert case.status_code == 201, case.text

        page = pages.new(width=1500, height=900)
        sign_in(page, voice_stack.base_url, ANA)
        frame = provider_frame(page, voice_stack.sim_provider)
        env = sdk(frame, "return await CIF.ready;")
        assert sorted(env["capabilities"]["sessions"]) == [
            "canCreate",
            "create",
            "focus",
            "get",
            "getAll",
            "getFocused",
            "setTitle",
        ]
        assert sorted(env["capabilities"]["tabs"]) == ["close", "create", "focus", "getFocused"]
        sdk(
            frame,
            """window.heard = [];
               CIF.onSessionSwitched((e) => window.heard.push(['switched', e.current]));
               CIF.onSessionClosed((e) => window.heard.push(['closed', e.sessionId]));
               return true;""",
        )

        # A session from the call's context: the caller's number finds Sofia's record.
        session_id = sdk(
            frame,
            "return await CIF.createSession({ template: 'voice-call', context: { phone: arg } });",
            KNOWN,
        )
        assert isinstance(session_id, str), session_id
        tab = page.get_by_test_id("customer-session-tab").filter(has_text="Sofia Session")
        expect(tab).to_have_attribute("aria-selected", "true")
        described = sdk(frame, "return await CIF.getSession(arg);", session_id)
        assert (described["kind"], described["customerId"], described["focused"]) == (
            "customer",
            known["id"],
            True,
        )
        assert sdk(frame, "return await CIF.getFocusedSession();") == session_id
        assert session_id in sdk(frame, "return await CIF.getAllSessions();")
        assert sdk(frame, "return await CIF.canCreateSession();") is True

        # A tab on a case opens its customer; titles and focus move as asked.
        tab_id = sdk(frame, "return await CIF.createTab({ entity: 'case', id: arg });", case.json()["id"])
        expect(page.get_by_test_id("customer-session-tab").filter(has_text="Tomas Tab")).to_have_attribute(
            "aria-selected", "true"
        )
        assert sdk(frame, "return await CIF.getFocusedTab();") == tab_id
        sdk(frame, "return await CIF.setSessionTitle(arg, 'Caller on line 2');", tab_id)
        expect(page.get_by_test_id("customer-session-tab").filter(has_text="Caller on line 2")).to_have_count(
            1
        )
        sdk(frame, "return await CIF.focusSession(arg);", session_id)
        expect(tab).to_have_attribute("aria-selected", "true")

        # Closing a tab closes that customer session; the softphone hears both changes.
        assert sdk(frame, "return await CIF.closeTab(arg);", tab_id) is True
        expect(page.get_by_test_id("customer-session-tab").filter(has_text="Caller on line 2")).to_have_count(
            0
        )
        heard = sdk(frame, "return window.heard;")
        assert ["switched", tab_id] in heard
        assert ["switched", session_id] in heard
        assert ["closed", tab_id] in heard
        unknown = sdk(frame, "return await CIF.focusSession('no-such-session');")
        assert unknown["error"] == "failed"
        bad_tab = sdk(frame, "return await CIF.createTab({ entity: 'invoice', id: 'x' });")
        assert "error" in bad_tab
        pages.assert_no_errors(page)
    finally:
        admin.close()


def test_the_providers_tabs_are_tab_panels_with_arrow_keys(voice_stack: VoiceStack, pages: Pages) -> None:
    page = pages.new(width=1500, height=900)
    sign_in(page, voice_stack.base_url, ANA)
    tabs = page.get_by_test_id("voice-tab")
    expect(tabs).to_have_count(4)
    expect(page.get_by_test_id("voice-panel").get_by_role("tablist")).to_be_visible()
    audit(page)  # tabs and panels wired both ways, one selected tab, names

    first = tabs.nth(0)
    expect(first).to_have_attribute("aria-selected", "true")
    assert [tabs.nth(i).get_attribute("tabindex") for i in range(4)] == ["0", "-1", "-1", "-1"]
    panel_id = first.get_attribute("aria-controls")
    expect(page.locator(f"#{panel_id}")).to_be_visible()

    first.focus()
    page.keyboard.press("ArrowRight")
    second = tabs.nth(1)
    expect(second).to_be_focused()
    expect(second).to_have_attribute("aria-selected", "true")
    expect(first).to_have_attribute("aria-selected", "false")
    expect(page.locator(f"#{second.get_attribute('aria-controls')}")).to_be_visible()
    expect(page.locator(f"#{panel_id}")).to_be_hidden()
    page.keyboard.press("End")
    expect(tabs.nth(3)).to_be_focused()
    page.keyboard.press("ArrowRight")  # wraps round
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowLeft")
    expect(tabs.nth(3)).to_have_attribute("aria-selected", "true")
    audit(page)
    pages.assert_no_errors(page)

"""The voice panel in the real workspace: every enabled provider's softphone is framed (and only
their origins, by the page's CSP), a provider's screen pop opens the caller's Customer 360 in a
customer session (or a quick-create form for a number nobody has, or the choice when several
customers have it), a call the reference CCaaS rings becomes a voice session with its call
details, followed live to its wrap-up, and — with the demo's rule that a call fills the agent's
capacity — a waiting chat's offer appears in the workspace only once the call is wrapped up."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import FrameLocator, Page, expect

from omniroute.voice.capacity_rule import calls_fill_capacity
from tests.browser.test_voice_helpers import (
    CUSTOM_PARAMETERS,
    VoiceStack,
    provider_frame,
    sdk,
    voice_stack_fixture,  # noqa: F401 - fixture
    wait_for,
)
from tests.browser.test_voice_softphone import held_back, start_chat
from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    Pages,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    sign_in,
    signed_in_http,
)

pytestmark = pytest.mark.browser

KNOWN = "+15558675321"
STRANGER = "+15558675322"
CALLER = "+15558675323"
TWINS = "+15558675324"
ON_HOLD_CALLER = "+15558675325"


def lookup(admin: httpx.Client, phone: str) -> dict[str, Any]:
    r = admin.get("/api/v1/voice/lookup", params={"phone": phone})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_the_voice_panel_frames_the_providers_and_a_screen_pop_opens_the_customer(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    try:
        r = admin.post("/api/v1/customers", json={"display_name": "Jane Known", "phone": KNOWN})
        assert r.status_code == 201, r.text
        policy = admin.get("/workspace").headers["content-security-policy"]
        frame_src = re.search(r"frame-src ([^;]+)", policy)
        assert frame_src
        assert set(frame_src.group(1).split()) == {
            voice_stack.sim_url,
            voice_stack.pages_url,
            voice_stack.stranger_url,
        }

        page = pages.new(width=1500, height=900)
        sign_in(page, voice_stack.base_url, ANA)
        expect(page.get_by_test_id("voice-panel")).to_be_visible()
        expect(page.get_by_test_id("voice-softphone")).to_have_count(4)
        frame = provider_frame(page, voice_stack.provider_a)
        env = sdk(frame, "return await CIF.ready;")
        assert env["agent"]["name"] == "Ana García"
        assert env["provider"]["custom_parameters"] == CUSTOM_PARAMETERS  # from the provider registry
        no_features = sdk(provider_frame(page, voice_stack.provider_c), "return await CIF.ready;")
        assert no_features["provider"]["custom_parameters"] == {}
        assert sorted(env["capabilities"]["sessions"]) == [
            "canCreate",
            "create",
            "focus",
            "get",
            "getAll",
            "getFocused",
            "setTitle",
        ]

        # One match: the caller's Customer 360 opens in a customer session.
        found = sdk(frame, "return await CIF.searchAndOpenRecords('customer', { phone: arg });", KNOWN)
        assert (found["outcome"], found["opened"]) == ("open", True)
        session = page.locator('[data-testid="customer-session"]:not([hidden])')
        expect(session.get_by_test_id("customer-session-title")).to_have_text("Jane Known")
        expect(session.get_by_test_id("c360-phone")).to_have_text(KNOWN)
        expect(page.get_by_test_id("customer-session-tab")).to_have_count(1)
        focused = sdk(frame, "return await CIF.getFocusedSession();")
        assert focused in sdk(frame, "return await CIF.getAllSessions();")

        # Nobody has this number: a quick-create form, pre-filled; the new customer then opens.
        found = sdk(frame, "return await CIF.searchAndOpenRecords('customer', { phone: arg });", STRANGER)
        assert found["outcome"] == "quick_create"
        form = page.get_by_test_id("record-create")
        expect(form.get_by_test_id("record-create-phone")).to_have_value(STRANGER)
        form.get_by_test_id("record-create-display_name").fill("Pat Newcaller")
        form.get_by_test_id("record-create-submit").click()
        session = page.locator('[data-testid="customer-session"]:not([hidden])')
        expect(session.get_by_test_id("customer-session-title")).to_have_text("Pat Newcaller")
        expect(page.get_by_test_id("customer-session-tab")).to_have_count(2)
        assert [m["display_name"] for m in lookup(admin, STRANGER)["matches"]] == ["Pat Newcaller"]

        # Customer sessions survive a reload of the page, and close with their button.
        page.reload()
        expect(page.get_by_test_id("customer-session-tab")).to_have_count(2)
        page.get_by_test_id("customer-session-tab").filter(has_text="Jane Known").click()
        screenshot(page, "screen-pop")
        page.locator('[data-testid="customer-session"]:not([hidden])').get_by_test_id(
            "customer-session-close"
        ).click()
        expect(page.get_by_test_id("customer-session-tab")).to_have_count(1)
        pages.assert_no_errors(page)
    finally:
        admin.close()


def ring_ana(
    voice_stack: VoiceStack,
    pages: Pages,
    admin: httpx.Client,
    sim: httpx.Client,
    number: str,
    name: str,
    menu: str,
    account: str,
) -> tuple[Page, FrameLocator]:
    """A known caller rings Ana: an earlier call they gave up on made them a customer (the voice
    channel proves the number) and an agent named them since; Ana signs in, is ready in the
    reference CCaaS's softphone, and the new call (IVR ``menu`` choice, ``account`` keyed in)
    rings in her workspace. Returns her page and the softphone."""
    first = sim.post("/api/calls", json={"from": number, "keys": "2"}).json()
    sim.post(f"/api/calls/{first['id']}/hangup", json={})
    known = wait_for(lambda: lookup(admin, number)["customer"], "the caller to become a customer")
    renamed = admin.patch(f"/api/v1/customers/{known['id']}", json={"display_name": name})
    assert renamed.status_code == 200, renamed.text

    page = pages.new(width=1500, height=900)
    sign_in(page, voice_stack.base_url, ANA)
    page.locator(".ocif-tabs button", has_text="Reference CCaaS").click()
    softphone = page.frame_locator(f'iframe[data-provider-id="{voice_stack.sim_provider}"]')
    softphone.get_by_test_id("sim-ready").click()
    expect(softphone.get_by_test_id("sim-agent-state")).to_have_text(
        "ready for calls", timeout=CALL_EVENTS_MS
    )
    expect(page.get_by_test_id("presence-select")).to_have_value("available")

    placed = sim.post("/api/calls", json={"from": number, "keys": menu})
    assert placed.status_code == 201, placed.text
    sim.post(f"/api/calls/{placed.json()['id']}/dtmf", json={"keys": account})
    expect(page.get_by_test_id("voice-notification")).to_contain_text(name)
    return page, softphone


def test_a_call_becomes_a_voice_session_with_its_call_details(voice_stack: VoiceStack, pages: Pages) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    sim = httpx.Client(base_url=voice_stack.sim_url)
    try:
        page, softphone = ring_ana(voice_stack, pages, admin, sim, CALLER, "Carla Caller", "1", "4521#")
        softphone.get_by_test_id("sim-accept").click()

        # The screen pop opens Carla's record; the call arrives as a voice session beside it, and
        # the softphone's call session (CIF createSession with the call id) is that voice session.
        expect(page.get_by_test_id("customer-session-tab")).to_contain_text("Carla Caller")
        voice_tab = page.get_by_test_id("session-tab").filter(has_text="Voice call")
        expect(voice_tab).to_have_count(1)
        expect(voice_tab).to_contain_text("Carla Caller")
        expect(voice_tab).to_have_attribute("aria-selected", "true", timeout=CALL_EVENTS_MS)
        conversation = open_conversation(page)
        details = conversation.get_by_test_id("call-details")
        # The call's details are re-drawn as the provider's events arrive: wait through them.
        expect(details).to_contain_text("Connected", timeout=CALL_EVENTS_MS)
        expect(details).to_contain_text("4521", timeout=CALL_EVENTS_MS)
        expect(details).to_contain_text(CALLER, timeout=CALL_EVENTS_MS)
        expect(conversation.get_by_test_id("composer")).to_be_hidden()
        expect(conversation.get_by_test_id("call-note")).to_be_visible()
        expect(conversation.get_by_test_id("prechat")).to_contain_text("Reference CCaaS")
        screenshot(page, "voice")

        # Hung up and wrapped up in the softphone: followed live, then the session closes.
        softphone.get_by_test_id("sim-hangup").click()
        expect(details).to_contain_text("Wrap-up")
        expect(conversation.get_by_test_id("conversation-state")).to_have_text("Wrap-up")
        softphone.get_by_test_id("sim-disposition").select_option("resolved")
        softphone.get_by_test_id("sim-wrapup-done").click()
        expect(voice_tab).to_have_count(0)
        pages.assert_no_errors(page)
    finally:
        sim.close()
        admin.close()


def test_several_customers_with_the_number_give_the_agent_a_choice(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    try:
        for name in ("Tom Twin", "Tim Twin"):
            r = admin.post("/api/v1/customers", json={"display_name": name, "phone": TWINS})
            assert r.status_code == 201, r.text
        page = pages.new(width=1500, height=900)
        sign_in(page, voice_stack.base_url, ANA)
        frame = provider_frame(page, voice_stack.provider_a)
        sdk(frame, "return await CIF.ready;")
        found = sdk(frame, "return await CIF.searchAndOpenRecords('customer', { phone: arg });", TWINS)
        assert found["outcome"] == "search"
        assert sorted(r["display_name"] for r in found["records"]) == ["Tim Twin", "Tom Twin"]

        # The workspace shows the matches in a customer session; the agent picks Tim.
        session = page.locator('[data-testid="customer-session"]:not([hidden])')
        choices = session.get_by_test_id("record-choice")
        expect(choices).to_have_count(2)
        expect(session.get_by_test_id("record-choices")).to_contain_text(TWINS)
        choices.filter(has_text="Tim Twin").click()
        expect(session.get_by_test_id("customer-session-title")).to_have_text("Tim Twin")
        expect(session.get_by_test_id("c360-phone")).to_have_text(TWINS)
        pages.assert_no_errors(page)
    finally:
        admin.close()


#: Call events travel CCaaS → webhook → store → socket → page; on a loaded machine that can take
#: longer than Playwright's default five seconds.
CALL_EVENTS_MS = 20_000


def apply_calls_fill_capacity(admin: httpx.Client) -> None:
    """The demo's rule (``omniroute demo``, ``ccaas-sim --configure``), saved as an admin would."""
    current = admin.get("/api/v1/admin/routing-config").json()
    changed = calls_fill_capacity(current["config"])
    if changed is None:
        return
    saved = admin.put(
        "/api/v1/admin/routing-config",
        json={
            "config": changed,
            "comment": "calls fill capacity",
            "expected_version": current["version"] or 0,
        },
    )
    assert saved.status_code == 200, saved.text


def test_a_chat_waits_for_the_call_to_be_wrapped_up_before_the_workspace_offers_it(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    sim = httpx.Client(base_url=voice_stack.sim_url)
    try:
        apply_calls_fill_capacity(admin)
        # The reference CCaaS rings Ana in the workspace; she accepts in the embedded softphone.
        page, softphone = ring_ana(
            voice_stack, pages, admin, sim, ON_HOLD_CALLER, "Olga Onhold", "2", "7788#"
        )
        softphone.get_by_test_id("sim-accept").click()
        expect(softphone.get_by_test_id("sim-status")).to_have_text("On a call")
        # The caller's record opens, and the call is Ana's voice session.
        expect(page.get_by_test_id("customer-session-tab").filter(has_text="Olga Onhold")).to_have_count(1)
        voice_tab = page.get_by_test_id("session-tab").filter(has_text="Voice call")
        expect(voice_tab).to_have_count(1)

        # A chat arrives: routing looks at it and holds it back (the call fills Ana's capacity),
        # so no offer shows in her workspace while she talks.
        chat = start_chat(voice_stack, "Wendy Waiting")
        wait_for(lambda: held_back(admin, chat), "routing to hold the chat back during the call")
        offer_card = page.get_by_test_id("offer-card").filter(has_text="Wendy Waiting")
        expect(page.get_by_test_id("offer-card")).to_have_count(0)

        # Hung up: the call is in wrap-up, which holds the capacity too (wrap-up rule "always").
        softphone.get_by_test_id("sim-hangup").click()
        voice_tab.click()
        expect(open_conversation(page).get_by_test_id("conversation-state")).to_have_text("Wrap-up")
        wait_for(lambda: held_back(admin, chat), "the chat to still wait during wrap-up")
        expect(page.get_by_test_id("offer-card")).to_have_count(0)

        # Wrap-up done in the softphone: the call closes, and the chat is offered at last.
        softphone.get_by_test_id("sim-disposition").select_option("resolved")
        softphone.get_by_test_id("sim-wrapup-done").click()
        expect(voice_tab).to_have_count(0)
        expect(offer_card).to_have_count(1)
        offer_card.get_by_test_id("offer-accept").click()
        expect(page.get_by_test_id("session-tab").filter(has_text="Wendy Waiting")).to_have_count(1)
        pages.assert_no_errors(page)
    finally:
        sim.close()
        admin.close()

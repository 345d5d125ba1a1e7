"""The browser SDK (omniroute-cif.js) against the workspace host (cif-host.js), across origins:
a provider's page on one port, the workspace on another, talking only through postMessage."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_voice_helpers import (
    CUSTOM_PARAMETERS,
    VoiceStack,
    provider_frame,
    sdk,
    sign_in_to_host,
    voice_stack_fixture,  # noqa: F401 - fixture
)
from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    Pages,
    pages_fixture,  # noqa: F401 - fixture
    signed_in_http,
)

pytestmark = pytest.mark.browser


def host(pages: Pages, stack: VoiceStack, *providers: str, extra: str = "") -> Page:
    page = pages.new()
    sign_in_to_host(page, stack, ANA, f"?only={','.join(providers)}{extra}")
    return page


def test_the_handshake_gives_the_environment_and_the_panel_obeys(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    page = host(pages, voice_stack, voice_stack.provider_a)
    frame = provider_frame(page, voice_stack.provider_a)
    env: dict[str, Any] = sdk(frame, "return await CIF.ready;")
    assert env["provider"]["id"] == voice_stack.provider_a
    assert env["provider"]["features"] == ["click_to_dial", "screen_pop", "transcripts"]
    assert env["agent"]["email"] == ANA
    assert env["agent"]["provider_agent_id"] == env["agent"]["id"]  # agents_by_user_id
    assert env["locale"] == "en"
    assert env["workspace_origin"] == voice_stack.base_url
    assert env["panel"] == {"mode": "docked", "width": 360}
    assert env["provider"]["custom_parameters"] == CUSTOM_PARAMETERS  # the provider registry's field
    assert sdk(frame, "return await CIF.getEnvironment();") == env

    panel = page.get_by_test_id("voice-panel")
    expect(panel).to_have_attribute("data-mode", "docked")
    seen = sdk(
        frame,
        """const modes = [];
        CIF.onModeChanged((e) => modes.push(e.mode));
        await CIF.setMode('minimised');
        const minimised = await CIF.getMode();
        await CIF.setMode(1);  // CIF's number for docked
        return { minimised, modes, mode: await CIF.getMode() };""",
    )
    assert seen == {"minimised": "minimised", "modes": ["minimised", "docked"], "mode": "docked"}
    assert sdk(frame, "return await CIF.setWidth(5000);") == 720  # clamped
    assert sdk(frame, "return await CIF.getWidth();") == 720
    assert sdk(frame, "return await CIF.setMode('sideways');")["error"] == "invalid"
    assert sdk(frame, "return await CIF.setMode('hidden');") == "hidden"
    expect(panel).to_be_hidden()
    page.evaluate("window.voice.setMode('docked')")
    expect(panel).to_be_visible()
    assert sdk(frame, "return await CIF.getMode();") == "docked"
    assert sdk(frame, "return await CIF.nothingLikeThis?.();") is None  # not an SDK method
    pages.assert_no_errors(page)


def test_notifications_resolve_with_the_agents_answer_and_the_reason(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    page = host(pages, voice_stack, voice_stack.provider_a)
    frame = provider_frame(page, voice_stack.provider_a)
    notes = page.get_by_test_id("voice-notification")

    sdk(
        frame,
        """window.n1 = CIF.notifyEvent({ template: 'incoming-call', cancellationToken: 't1',
             params: { from: '+15558675310', queue: 'Billing', ivr: { account_number: '4521' } } });""",
    )
    expect(notes).to_have_count(1)
    expect(notes).to_contain_text("Incoming call")
    expect(notes).to_contain_text("+15558675310")
    expect(notes).to_contain_text("account_number: 4521")
    notes.locator('[data-action="accept"]').click()
    assert sdk(frame, "return await window.n1;") == {"action": "Accept", "reason": "accepted"}
    expect(notes).to_have_count(0)

    sdk(frame, "window.n2 = CIF.notifyEvent({ template: 'incoming-call', params: { from: '+1555' } });")
    notes.locator('[data-action="reject"]').click()
    assert sdk(frame, "return await window.n2;") == {"action": "Reject", "reason": "declined"}

    timed_out = sdk(frame, "return await CIF.notifyEvent({ template: 'message', timeoutSeconds: 1 });")
    assert timed_out == {"action": "Timeout", "reason": "display_timeout"}
    auto = sdk(frame, "return await CIF.notifyEvent({ template: 'incoming-call', autoAccept: true });")
    assert auto == {"action": "Accept", "reason": "auto_accepted"}

    sdk(frame, "window.n4 = CIF.notifyEvent({ template: 'incoming-call', cancellationToken: 't4' });")
    expect(notes).to_have_count(1)
    assert sdk(frame, "return await CIF.cancelEvent('t4');") is True
    assert sdk(frame, "return await window.n4;") == {"action": "Cancel", "reason": "cancelled"}
    assert sdk(frame, "return await CIF.cancelEvent('t4');") is False

    # Ten waiting notifications are the limit, as in CIF: the eleventh is refused at once.
    sdk(
        frame,
        """for (let i = 0; i < 10; i += 1) {
             CIF.notifyEvent({ template: { title: `Custom ${i}`, fields: { who: 'Who' } },
                               params: { who: `caller ${i}` }, cancellationToken: `q${i}` });
           }""",
    )
    expect(notes).to_have_count(10)
    expect(notes.first).to_contain_text("Custom 0")
    expect(notes.first).to_contain_text("caller 0")
    full = sdk(frame, "return await CIF.notifyEvent({ template: 'incoming-call' });")
    assert full == {"action": "Reject", "reason": "queue_limit"}
    sdk(frame, "for (let i = 0; i < 10; i += 1) await CIF.cancelEvent(`q${i}`); return true;")
    expect(notes).to_have_count(0)
    unknown = sdk(frame, "return await CIF.notifyEvent({ template: 'no-such-template' });")
    assert unknown["error"] == "template_not_found"
    pages.assert_no_errors(page)


def test_sessions_and_tabs_are_the_workspaces_to_give(voice_stack: VoiceStack, pages: Pages) -> None:
    bare = host(pages, voice_stack, voice_stack.provider_a)
    frame = provider_frame(bare, voice_stack.provider_a)
    refused = sdk(frame, "return await CIF.createSession({ template: 'voice-call', context: {} });")
    assert refused == {
        "error": "not_supported",
        "message": "Creating a session is not supported by this workspace.",
    }
    assert sdk(frame, "return await CIF.canCreateSession();") is False
    assert sdk(frame, "return await CIF.createTab({ title: 'x' });")["error"] == "not_supported"
    assert sdk(frame, "return await CIF.closeTab('t');")["error"] == "not_supported"

    lent = host(pages, voice_stack, voice_stack.provider_a, extra="&sessions=1")
    frame = provider_frame(lent, voice_stack.provider_a)
    made = sdk(
        frame,
        """return await CIF.createSession({ template: 'voice-call', title: '+15558675310',
                                             context: { call_id: 'c1' } });""",
    )
    assert made == "session-1"
    assert sdk(frame, "return await CIF.canCreateSession();") is True
    assert sdk(frame, "return await CIF.getAllSessions();") == ["session-1"]
    assert sdk(frame, "return await CIF.focusSession('session-1');") is True
    assert sdk(frame, "return await CIF.setSessionTitle('session-1', 'x');")["error"] == "not_supported"
    log = lent.evaluate("window.hostLog")
    assert log == [
        ["createSession", {"template": "voice-call", "title": "+15558675310", "context": {"call_id": "c1"}}],
        ["focusSession", "session-1"],
    ]

    sdk(
        frame,
        """window.seen = [];
           CIF.onSessionSwitched((e) => window.seen.push(['switched', e]));
           CIF.addHandler('onSessionClosed', (e) => window.seen.push(['closed', e]));""",
    )
    lent.evaluate("window.voice.sessionSwitched({ previous: null, current: 'session-1' })")
    lent.evaluate("window.voice.sessionClosed('session-1')")
    frame.wait_for_function("window.seen.length === 2")
    assert frame.evaluate("window.seen") == [
        ["switched", {"previous": None, "current": "session-1"}],
        ["closed", {"sessionId": "session-1"}],
    ]
    pages.assert_no_errors(lent)


def make_customer(stack: VoiceStack, admin: httpx.Client, name: str, phone: str) -> str:
    """A web chat visitor (through the widget's REST API) whose phone an agent then recorded."""
    key = re.search(r'data-omniroute-key="([^"]+)"', httpx.get(f"{stack.base_url}/demo").text)
    assert key
    email = f"{name.lower().replace(' ', '.')}@example.com"
    started = httpx.post(
        f"{stack.base_url}/api/webchat/v1/widgets/{key.group(1)}/conversations",
        json={"name": name, "email": email, "question": "Hello"},
        headers={"Origin": stack.base_url},
    )
    assert started.status_code == 201, started.text
    [found] = admin.get("/api/v1/customers", params={"q": email}).json()
    assert admin.patch(f"/api/v1/customers/{found['id']}", json={"phone": phone}).status_code == 200
    return str(found["id"])


def test_screen_pop_opens_one_offers_quick_create_for_none_and_lists_several(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    uma = make_customer(voice_stack, admin, "Uma One", "+15550002002")
    make_customer(voice_stack, admin, "Mia Many", "+15550003003")
    max_ = make_customer(voice_stack, admin, "Max Many", "+15550003003")
    admin.close()
    page = host(pages, voice_stack, voice_stack.provider_a, voice_stack.provider_c)
    frame = provider_frame(page, voice_stack.provider_a)
    record = page.get_by_test_id("voice-record")

    # No one: a quick-create form, pre-filled with the number.
    none = sdk(frame, "return await CIF.searchRecords('customer', { phone: '+1 555 000 1001' });")
    assert none == {"outcome": "quick_create", "records": [], "phone": "+15550001001", "opened": False}
    expect(record).to_be_hidden()
    sdk(frame, "return await CIF.searchAndOpenRecords('customer', '?phone=%2B15550001001');")
    form = record.get_by_test_id("voice-quick-create")
    expect(form.locator('input[name="phone"]')).to_have_value("+15550001001")
    expect(form.locator('input[name="display_name"]')).to_have_value("")

    # One: the customer opens.
    one = sdk(frame, "return await CIF.searchAndOpenRecords('customer', { phone: '+15550002002' });")
    assert one["outcome"] == "open"
    assert one["opened"] is True
    assert [r["id"] for r in one["records"]] == [uma]
    pop = record.get_by_test_id("voice-screen-pop")
    expect(pop).to_have_attribute("data-record-id", uma)
    expect(pop).to_contain_text("Uma One")

    # Several: the search page, from which the agent opens the right one.
    many = sdk(frame, "return await CIF.searchAndOpenRecords('customer', '+15550003003');")
    assert many["outcome"] == "search"
    assert sorted(r["display_name"] for r in many["records"]) == ["Max Many", "Mia Many"]
    results = record.get_by_test_id("voice-search-results")
    expect(results).to_contain_text("2 matching records")
    results.get_by_role("button", name="Max Many").click()
    expect(record.get_by_test_id("voice-screen-pop")).to_have_attribute("data-record-id", max_)
    sdk(frame, "return await CIF.renderSearchPage('customer', 'Many');")
    expect(record.get_by_test_id("voice-search-results")).to_contain_text("2 matching records")

    # Opening needs the screen_pop feature; searching does not.
    other = provider_frame(page, voice_stack.provider_c)
    refused = sdk(other, "return await CIF.searchAndOpenRecords('customer', { phone: '+15550002002' });")
    assert refused["error"] == "not_enabled"
    assert (
        sdk(other, "return (await CIF.searchRecords('customer', { phone: '+15550002002' })).outcome;")
        == "open"
    )
    pages.assert_no_errors(page)


def test_records_are_read_and_written_through_the_agents_rest_api(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    cy = make_customer(voice_stack, admin, "Cy Cases", "+15550004004")
    admin.close()
    page = host(pages, voice_stack, voice_stack.provider_a)
    frame = provider_frame(page, voice_stack.provider_a)

    case = sdk(
        frame,
        "return await CIF.createRecord('incident', { title: 'Billing question', customer_id: arg });",
        cy,
    )
    assert case["customer_id"] == cy
    assert case["number"].startswith("CAS-")
    assert (
        sdk(frame, "return (await CIF.retrieveRecord('case', arg)).title;", case["number"])
        == "Billing question"
    )
    updated = sdk(
        frame,
        "return await CIF.updateRecord('case', arg, { title: 'Billing question (by phone)' });",
        case["id"],
    )
    assert updated["title"] == "Billing question (by phone)"
    found = sdk(frame, "return await CIF.searchRecords('case', { customer_id: arg });", cy)
    assert found["outcome"] == "open"
    assert sdk(frame, "return (await CIF.retrieveRecord('contact', arg)).display_name;", cy) == "Cy Cases"
    renamed = sdk(frame, "return await CIF.updateRecord('customer', arg, { display_name: 'Cy C.' });", cy)
    assert renamed["display_name"] == "Cy C."
    sdk(frame, "return await CIF.openForm('customer', { id: arg });", cy)
    expect(page.get_by_test_id("voice-screen-pop")).to_contain_text("Cy C.")

    missing = sdk(frame, "return await CIF.retrieveRecord('customer', 'no-such-customer');")
    assert missing["error"] == "not_found"
    call = sdk(frame, "return await CIF.createRecord('phonecall', { to: '+15550004004' });")
    assert call["error"] == "not_supported"
    # A caller nobody knew: the quick-create path makes a customer (unverified contacts).
    customer = sdk(frame, "return await CIF.createRecord('customer', { display_name: 'New' });")
    assert customer["display_name"] == "New"
    assert customer["id"]
    assert sdk(frame, "return await CIF.retrieveRecord('invoice', 'x');")["error"] == "invalid"
    pages.assert_no_errors(page)


def test_presence_both_ways_and_click_to_act(voice_stack: VoiceStack, pages: Pages) -> None:
    page = host(pages, voice_stack, voice_stack.provider_a, voice_stack.provider_c)
    frame = provider_frame(page, voice_stack.provider_a)
    set_to = sdk(frame, "return await CIF.setPresence('available');")
    assert set_to == {"presence": "available", "custom_presence": None}
    assert sdk(frame, "return (await CIF.getPresence()).presence;") == "available"
    assert sdk(frame, "return await CIF.setPresence('sleeping');")["error"] == "invalid"

    # A change made elsewhere (another tab, a supervisor, the provider's back end) reaches the
    # softphone through the agent socket.
    sdk(frame, "window.presences = []; CIF.onPresenceChange((p) => window.presences.push(p.presence));")
    ana = signed_in_http(voice_stack.base_url, ANA)
    assert ana.put("/api/v1/me/presence", json={"presence": "away"}).status_code == 200
    ana.close()
    frame.wait_for_function("window.presences.includes('away')")

    assert sdk(frame, "return await CIF.getClickToAct();") is False
    assert sdk(frame, "return await CIF.setClickToAct(true);") is True
    sdk(frame, "window.acts = []; CIF.addHandler('onclicktoact', (e) => window.acts.push(e));")
    page.evaluate("window.voice.setMode('minimised')")
    before = page.url
    page.get_by_test_id("tel-link").click()
    frame.wait_for_function("window.acts.length === 1")
    act = frame.evaluate("window.acts[0]")
    assert act == {
        "value": "+15558675310",
        "name": "+1 555 867 5310",
        "entity": {"type": "customer", "id": "cust-1"},
    }
    assert page.url == before  # the workspace did not follow the tel: link itself
    expect(page.get_by_test_id("voice-panel")).to_have_attribute("data-mode", "docked")  # shown to dial

    other = provider_frame(page, voice_stack.provider_c)
    assert sdk(other, "return await CIF.setClickToAct(true);")["error"] == "not_enabled"
    pages.assert_no_errors(page)


def test_messages_from_anyone_but_the_providers_frame_and_origin_are_ignored(
    voice_stack: VoiceStack, pages: Pages
) -> None:
    page = host(pages, voice_stack, voice_stack.provider_a, voice_stack.provider_b)
    trusted = provider_frame(page, voice_stack.provider_a)
    assert sdk(trusted, "return (await CIF.ready).provider.id;") == voice_stack.provider_a

    # Provider B's page is served from another origin than the one it is trusted for: the host
    # never answers it, so its SDK never becomes ready.
    stranger = provider_frame(page, voice_stack.provider_b)
    page.wait_for_function("window.voice.ignoredMessages > 0")
    assert stranger.evaluate("window.OmnirouteCIF.isReady") is False

    # The workspace page itself is not a provider either.
    assert sdk(trusted, "return (await CIF.setPresence('busy')).presence;") == "busy"
    ignored = page.evaluate("window.voice.ignoredMessages")
    page.evaluate(
        """window.postMessage({ protocol: 'omniroute-cif', kind: 'request', id: 'x', method: 'setPresence',
                                params: { presence: 'offline' } }, '*')"""
    )
    page.wait_for_function("(n) => window.voice.ignoredMessages > n", arg=ignored)

    # And the SDK hears only its parent, at the workspace origin: a forged handshake from inside
    # the frame changes nothing (the probe after it proves the forgery was delivered first).
    forged = stranger.evaluate(
        """() => new Promise((resolve) => {
             window.addEventListener('message', (e) => {
               if (e.data === 'probe') resolve(window.OmnirouteCIF.isReady);
             });
             const forgery = { protocol: 'omniroute-cif', version: 1, kind: 'ready', environment: {} };
             window.postMessage(forgery, '*');
             window.postMessage('probe', '*');
           })"""
    )
    assert forged is False
    assert sdk(trusted, "return (await CIF.getPresence()).presence;") == "busy"
    pages.assert_no_errors(page)

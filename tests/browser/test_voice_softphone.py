"""The reference CCaaS end to end: a caller goes through its IVR, the CCaaS rings the agent, the
agent accepts in the softphone embedded in the workspace (a cross-origin iframe, talking to the
workspace through omniroute-cif.js), the caller's record opens, the call is on the customer's
timeline, a chat waits while the call takes the agent's capacity, and wrap-up with a disposition
reaches Omniroute through the signed webhooks, after which the chat is offered.

The agent's page is the minimal workspace of ``test_voice_helpers`` (``cif-host.js`` mounted with
the agent's session), until the real workspace mounts the voice panel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_voice_helpers import (
    CALLER,
    VoiceStack,
    sign_in_to_host,
    voice_stack_fixture,  # noqa: F401 - fixture
    wait_for,
)
from tests.browser.test_workspace_helpers import (
    ADMIN,
    ANA,
    Pages,
    pages_fixture,  # noqa: F401 - fixture
    signed_in_http,
)

pytestmark = pytest.mark.browser


def lookup(admin: httpx.Client, phone: str) -> dict[str, Any]:
    r = admin.get("/api/v1/voice/lookup", params={"phone": phone})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def conversation_of(admin: httpx.Client, customer_id: str, call_id: str) -> str | None:
    """The voice conversation on the customer's timeline that mirrors the CCaaS's call."""
    timeline = admin.get(f"/api/v1/customers/{customer_id}/timeline").json()
    for entry in timeline:
        if entry["kind"] == "conversation" and entry["channel"] == "voice":
            call = admin.get(f"/api/v1/voice/conversations/{entry['ref_id']}/call").json()
            if call.get("call_id") == call_id:
                return str(entry["ref_id"])
    return None


def phone_first(admin: httpx.Client) -> None:
    """Agents' capacity: a call takes all of it, a chat one unit of three."""
    current = admin.get("/api/v1/admin/routing-config").json()
    config = {
        **current["config"],
        "capacity_profiles": [
            {"id": "phone-first", "name": "Phone first", "total_units": 3, "channel_units": {"voice": 3}}
        ],
        "default_capacity_profile": "phone-first",
    }
    saved = admin.put(
        "/api/v1/admin/routing-config",
        json={"config": config, "comment": "voice test", "expected_version": current["version"]},
    )
    assert saved.status_code == 200, saved.text


def start_chat(stack: VoiceStack, name: str) -> str:
    key = re.search(r'data-omniroute-key="([^"]+)"', httpx.get(f"{stack.base_url}/demo").text)
    assert key
    started = httpx.post(
        f"{stack.base_url}/api/webchat/v1/widgets/{key.group(1)}/conversations",
        json={"name": name, "email": "carl@example.com", "question": "Is my order on its way?"},
        headers={"Origin": stack.base_url},
    )
    assert started.status_code == 201, started.text
    return str(started.json()["conversation"]["id"])


def held_back(admin: httpx.Client, conversation_id: str) -> bool:
    """Routing looked at the chat and left it waiting, offering it to nobody."""
    trace = admin.get(f"/api/v1/admin/conversations/{conversation_id}/routing-trace").json()
    return bool(trace["steps"]) and "waiting:" in trace["steps"][-1] and trace["sessions"] == []


def test_the_ccaas_rings_the_agent_who_accepts_in_the_softphone_and_the_caller_pops(
    voice_stack: VoiceStack, pages: Pages, screenshot_dir: Path | None
) -> None:
    admin = signed_in_http(voice_stack.base_url, ADMIN)
    ana_http = signed_in_http(voice_stack.base_url, ANA)
    sim = httpx.Client(base_url=voice_stack.sim_url)
    try:
        phone_first(admin)
        # An earlier call the caller gave up on made them a customer; an agent named them since.
        first = sim.post("/api/calls", json={"from": CALLER, "keys": "2"}).json()
        sim.post(f"/api/calls/{first['id']}/hangup", json={})
        known = wait_for(lambda: lookup(admin, CALLER)["customer"], "the caller to become a customer")
        customer_id = known["id"]
        renamed = admin.patch(f"/api/v1/customers/{customer_id}", json={"display_name": "Jane Caller"})
        assert renamed.status_code == 200, renamed.text

        page = pages.new(width=1400, height=900)
        sign_in_to_host(page, voice_stack, ANA, f"?only={voice_stack.sim_provider}")
        softphone = page.frame_locator(f'iframe[data-provider-id="{voice_stack.sim_provider}"]')
        expect(softphone.get_by_test_id("sim-agent")).to_contain_text("Reference CCaaS")
        softphone.get_by_test_id("sim-ready").click()
        expect(softphone.get_by_test_id("sim-presence")).to_have_text("available")
        expect(softphone.get_by_test_id("sim-agent-state")).to_have_text("ready for calls")

        # The caller picks billing and types their account number; the CCaaS rings Ana.
        placed = sim.post("/api/calls", json={"from": CALLER, "keys": "1"})
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["id"]
        sim.post(f"/api/calls/{call_id}/dtmf", json={"keys": "4521#"})
        expect(softphone.get_by_test_id("sim-call-title")).to_have_text(f"Call from {CALLER}")
        expect(softphone.get_by_test_id("sim-call")).to_contain_text("4521")
        toast = page.get_by_test_id("voice-notification")
        expect(toast).to_contain_text("Incoming call")
        expect(toast).to_contain_text("Jane Caller")  # the softphone looked the number up first
        if screenshot_dir:
            page.screenshot(path=screenshot_dir / "voice-ringing.png")

        # Ana answers in the softphone itself: the workspace's toast goes, the caller pops.
        softphone.get_by_test_id("sim-accept").click()
        expect(softphone.get_by_test_id("sim-status")).to_have_text("On a call")
        expect(toast).to_have_count(0)
        pop = page.get_by_test_id("voice-screen-pop")
        expect(pop).to_have_attribute("data-record-id", customer_id)
        expect(pop).to_contain_text("Jane Caller")
        expect(pop).to_contain_text(CALLER)
        if screenshot_dir:
            page.screenshot(path=screenshot_dir / "voice-screen-pop.png")

        # Omniroute heard it all through the signed webhooks: the call is on Jane's timeline.
        conversation_id = wait_for(
            lambda: conversation_of(admin, customer_id, call_id), "the call on the timeline"
        )
        call = admin.get(f"/api/v1/voice/conversations/{conversation_id}/call").json()
        assert call["ivr_data"] == {"menu": "billing", "account_number": "4521", "ivr_result": "completed"}
        assert call["customer_id"] == customer_id
        assert call["state"] == "connected"

        # While Ana talks, a chat waits: the call uses her whole capacity ("phone first").
        chat = start_chat(voice_stack, "Carl Chat")
        wait_for(lambda: held_back(admin, chat), "routing to hold the chat back for lack of capacity")
        assert ana_http.get("/api/v1/offers").json() == []

        # Hang up, wrap up with a disposition: the CCaaS reports it, the call closes, and the
        # chat that waited is offered to Ana at last.
        softphone.get_by_test_id("sim-hangup").click()
        softphone.get_by_test_id("sim-disposition").select_option("resolved")
        softphone.get_by_test_id("sim-wrapup-done").click()
        expect(softphone.get_by_test_id("sim-agent-state")).to_have_text("ready for calls")
        closed = wait_for(
            lambda: (
                (c := admin.get(f"/api/v1/voice/conversations/{conversation_id}/call").json())["state"]
                == "closed"
                and c
            ),
            "the call to close in Omniroute",
        )
        assert closed["disposition"] == "resolved"
        offers = wait_for(
            lambda: ana_http.get("/api/v1/offers").json(), "the chat to be offered after the call"
        )
        assert [o["conversation_id"] for o in offers] == [chat]
        assert closed["agent_id"] is not None
        state = sim.get("/api/state").json()
        assert all(r["status"] == 200 for r in state["reporting"]["recent"]), state["reporting"]
        pages.assert_no_errors(page)
    finally:
        sim.close()
        ana_http.close()
        admin.close()

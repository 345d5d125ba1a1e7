"""A WhatsApp conversation whose 24-hour window closed: the workspace says so, puts a template
picker in place of the reply box, previews the filled template and sends it; the Graph double
receives the Cloud API's template payload.

The customer wrote 25 hours ago: the data is prepared through a second container whose clock is a
day behind (the server itself runs on the system clock), so the window is closed for real.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniroute.bootstrap import build_container
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.port import InboundMessage
from omniroute.core.clock import ManualClock
from omniroute.web.container import Container
from tests.browser.conftest import _free_port, demo_data, serve_app
from tests.browser.test_voice_helpers import Served, wait_for
from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    screenshot,
    set_presence,
    sign_in,
)

pytestmark = pytest.mark.browser

ACCESS_TOKEN = "EAAJtest-whatsapp-access-token"
APP_SECRET = "wa-app-secret-for-tests"
WABA = "102290129340398"
CUSTOMER = "16505551234"
ORDER = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "body": "Hi {{1}}, your order {{2}} has shipped.",
    "buttons": ["Track it"],
}


def prepare_whatsapp_chat(graph_base: str, hours_ago: float = 25) -> Any:
    """The demo data and a WhatsApp account whose customer Kerry wrote ``hours_ago`` (stored
    through a second container whose clock is that far behind)."""

    async def prepare(container: Container, origin: str) -> None:
        await demo_data(container, origin)
        yesterday = build_container(
            container.settings, clock=ManualClock(datetime.now(UTC) - timedelta(hours=hours_ago))
        )
        try:
            channels = yesterday.channels
            account = await channels.create_account(
                channel="whatsapp",
                name="Acme WhatsApp",
                settings={
                    "phone_number_id": "106540352242922",
                    "graph_base": graph_base,
                    "waba_id": WABA,
                    "templates": [ORDER],
                },
                secrets={"app_secret": APP_SECRET, "verify_token": "verify", "access_token": ACCESS_TOKEN},
                default_queue_id=None,
            )
            hello = InboundMessage("wamid.yesterday", CUSTOMER, "Is my order on its way?", "Kerry Fisher")
            await channels.ingest(account.id, [hello])
            assert await channels.process_receipts() == 1
        finally:
            await channels.stop()
            await yesterday.db.dispose()

    return prepare


@contextlib.contextmanager
def graph_and_app(
    tmp_path: Path, prepare: Callable[[str], Any], *, window_open: bool
) -> Iterator[tuple[str, GraphDouble]]:
    """The Graph double and the app, ``prepare(graph_base)`` run before the browser's event loop
    starts; with ``window_open`` the double knows Kerry wrote a moment ago."""
    double = GraphDouble(access_token=ACCESS_TOKEN, app_secret=APP_SECRET, now=lambda: datetime.now(UTC))
    if window_open:
        double.customer_wrote(CUSTOMER)
    port = _free_port()
    with (
        Served(double.app(), port, "graph-double"),
        serve_app(tmp_path, prepare(f"http://127.0.0.1:{port}")) as base,
    ):
        yield base, double


@pytest.fixture(name="stack")
def stack_fixture(tmp_path: Path) -> Iterator[tuple[str, GraphDouble]]:
    with graph_and_app(tmp_path, prepare_whatsapp_chat, window_open=False) as (base, double):
        double.add_template(WABA, "order_update", "en_US", ORDER["body"], buttons=("Track it",))
        yield base, double


def test_an_agent_sends_a_template_when_the_window_is_closed(
    stack: tuple[str, GraphDouble], pages: Pages
) -> None:
    base, double = stack
    agent = pages.new(width=1440, height=900)
    sign_in(agent, base)
    set_presence(agent, "available")
    accept_offer_from(agent, "Kerry Fisher")
    conversation = open_conversation(agent)
    expect(message(conversation, "Is my order on its way?")).to_be_visible()

    # The window is closed: a notice and the picker instead of the reply box.
    picker = conversation.get_by_test_id("wa-templates")
    expect(picker).to_be_visible()
    expect(picker.get_by_test_id("wa-window")).to_contain_text("24-hour window closed")
    expect(conversation.get_by_test_id("composer")).to_be_hidden()
    send = picker.get_by_test_id("wa-template-send")
    expect(send).to_be_disabled()

    picker.get_by_label("Template").select_option(label="order_update (en_US)")
    params = picker.get_by_test_id("wa-template-param")
    expect(params).to_have_count(2)
    preview = picker.get_by_test_id("wa-template-preview")
    expect(preview).to_have_text("Hi {{1}}, your order {{2}} has shipped.\n\n[Track it]")
    picker.get_by_label("Parameter 1").fill("Kerry")
    send.click()  # the second parameter is still empty: refused here, nothing sent
    expect(picker.get_by_test_id("wa-template-error")).to_have_text("Fill in parameter 2.")
    expect(picker.get_by_label("Parameter 2")).to_be_focused()
    picker.get_by_label("Parameter 2").fill("#4417")
    expect(preview).to_have_text("Hi Kerry, your order #4417 has shipped.\n\n[Track it]")
    expect(picker.get_by_test_id("wa-template-error")).to_be_hidden()
    screenshot(agent, "whatsapp-template")
    send.click()

    # The transcript shows what the customer got; WhatsApp got the template itself.
    sent = message(conversation, "Hi Kerry, your order #4417 has shipped.")
    expect(sent).to_be_visible()
    expect(sent.locator(".msg-delivery")).to_have_attribute("data-status", "sent")
    body = wait_for(lambda: next(iter(double.accepted.values()), None), "the template at the double")
    assert body["to"] == CUSTOMER
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Kerry"}, {"type": "text", "text": "#4417"}],
            }
        ],
    }
    # The picker is ready for another one; the window stays closed.
    expect(picker.get_by_label("Template")).to_have_value("")
    expect(conversation.get_by_test_id("composer")).to_be_hidden()
    pages.assert_no_errors(agent)

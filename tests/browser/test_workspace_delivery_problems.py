"""What the agent sees when a channel cannot take a reply: during a provider outage the reply says
it waits and retries (and why), then shows as sent once the provider is back; a reply the provider
refuses for good says "Not delivered" with the provider's reason — under the reply, not only in a
tooltip. WhatsApp's Graph double plays the provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from omniroute.channels.meta_common.double import GraphDouble
from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    message,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
)
from tests.browser.test_workspace_whatsapp_templates import (
    graph_and_app,
    prepare_whatsapp_chat,
)

pytestmark = pytest.mark.browser

#: The channel worker retries after 2 s, doubling: allow a retry on a loaded machine.
RETRY_MS = 30_000


@pytest.fixture(name="stack")
def stack_fixture(tmp_path: Path) -> Iterator[tuple[str, GraphDouble]]:
    def recent(graph_base: str) -> Any:
        return prepare_whatsapp_chat(graph_base, hours_ago=0.1)  # WhatsApp's window is open

    with graph_and_app(tmp_path, recent, window_open=True) as stack:
        yield stack


def test_an_outage_and_a_refusal_are_spelled_out_under_the_reply(
    stack: tuple[str, GraphDouble], pages: Pages
) -> None:
    base, double = stack
    agent = pages.new(width=1440, height=900)
    sign_in(agent, base)
    set_presence(agent, "available")
    accept_offer_from(agent, "Kerry Fisher")
    conversation = open_conversation(agent)
    expect(message(conversation, "Is my order on its way?")).to_be_visible()

    # Meta is down for one request: the reply waits, says why, then goes out on the retry.
    double.outage = 1
    conversation.get_by_test_id("reply-input").fill("It left the warehouse this morning.")
    conversation.get_by_test_id("reply-input").press("Enter")
    reply = message(conversation, "It left the warehouse this morning.")
    problem = reply.get_by_test_id("delivery-problem")
    expect(problem).to_contain_text("Not sent yet, trying again:")
    expect(problem).to_contain_text("Service temporarily unavailable")
    expect(reply.get_by_test_id("delivery-state")).to_have_text("Queued")
    expect(reply.get_by_test_id("delivery-state")).to_have_text("Sent", timeout=RETRY_MS)
    expect(problem).to_have_count(0)

    # The page token was revoked: Meta refuses for good, and the reply says so with Meta's reason.
    double.access_token = "EAAJrevoked"
    conversation.get_by_test_id("reply-input").fill("Tracking: 1Z999.")
    conversation.get_by_test_id("reply-input").press("Enter")
    refused = message(conversation, "Tracking: 1Z999.")
    expect(refused.get_by_test_id("delivery-state")).to_have_text("Not delivered")
    expect(refused.get_by_test_id("delivery-problem")).to_contain_text("Not delivered:")
    expect(refused.get_by_test_id("delivery-problem")).to_contain_text("access token")
    pages.assert_no_errors(agent)

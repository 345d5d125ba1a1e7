"""The Messenger adapter against the Graph double: the HUMAN_AGENT tag by the messaging window and
who wrote, the double refusing what Meta refuses, and customers' names from the User Profile API."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.channels.messenger import SPEC, window
from omniroute.channels.messenger.adapter import MessengerAdapter
from omniroute.channels.meta_common import double as meta_double
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.meta_common.signature import HEADER, sign
from omniroute.channels.port import InboundMessage, Outbound, PermanentSendError, WebhookRequest
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).resolve().parents[3] / "e2e" / "channels" / "messenger" / "fixtures"
PAGE = "682498302938465"
PSID = "6789012345678901"
OTHER = "7012345678901234"
SECRETS = {"app_secret": "app-secret", "verify_token": "verify", "access_token": "page-token"}
HOUR = 3600.0


class Rig:
    def __init__(self, clock: ManualClock, double: GraphDouble, http: httpx.AsyncClient) -> None:
        self.clock, self.double, self.http = clock, double, http
        self.wrote = clock.now()

    def customer_writes(self) -> None:
        """As a delivered webhook does: the double and our store both note the time."""
        self.wrote = self.clock.now()
        self.double.customer_wrote(PSID, self.wrote)

    def adapter(self, **settings: Any) -> MessengerAdapter:
        config = AccountConfig(
            id="acc-1",
            channel="messenger",
            name="Page",
            settings={"page_id": PAGE, "graph_base": "http://graph.test", **settings},
            secrets=SECRETS,
            webhook_url="http://omniroute.test/webhooks/acc-1",
        )
        return MessengerAdapter(AdapterContext(config=config, http=self.http, clock=self.clock))

    def reply(self, sender_kind: str | None = "agent", text: str = "Your refund went out today.") -> Outbound:
        """A reply to a customer whose last message is the one the double delivered."""
        return Outbound(
            "o-1",
            "c-1",
            PSID,
            text,
            customer_last_message_at=self.wrote,
            sender_kind=sender_kind,
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ManualClock()
    double = GraphDouble(access_token="page-token", app_secret="app-secret", now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app())) as http:
        rig = Rig(clock, double, http)
        rig.customer_writes()
        yield rig


def webhook(name: str, mutate: Any = None) -> WebhookRequest:
    document = json.loads((FIXTURES / name).read_text())
    if mutate is not None:
        mutate(document["entry"][0]["messaging"][0])
    body = json.dumps(document).encode()
    return WebhookRequest(
        "POST", "http://omniroute.test/webhooks/acc-1", {HEADER: sign("app-secret", body)}, {}, body
    )


def from_other(event: dict[str, Any]) -> None:
    event["sender"]["id"] = OTHER
    event["message"]["mid"] += "-other"


# -- the messaging window ---------------------------------------------------------------------------


async def test_an_agents_reply_after_a_day_goes_out_tagged_and_meta_takes_it(rig: Rig) -> None:
    messenger = rig.adapter(human_agent_tag=True)
    await rig.clock.advance(30 * HOUR)
    sent = await messenger.send(rig.reply())
    body = rig.double.accepted[sent.provider_message_id]
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    # Inside the day the same agent sends an ordinary response.
    rig.customer_writes()
    sent = await messenger.send(rig.reply())
    assert rig.double.accepted[sent.provider_message_id]["messaging_type"] == "RESPONSE"
    assert "tag" not in rig.double.accepted[sent.provider_message_id]


async def test_refusals_happen_before_any_graph_call(rig: Rig) -> None:
    tagged, plain = rig.adapter(human_agent_tag=True), rig.adapter()
    await rig.clock.advance(30 * HOUR)
    with pytest.raises(PermanentSendError, match="human_agent_tag setting"):
        await plain.send(rig.reply())
    with pytest.raises(PermanentSendError, match="automated message"):
        await tagged.send(rig.reply(sender_kind="bot"))
    with pytest.raises(PermanentSendError, match="automated message"):
        await tagged.send(rig.reply(sender_kind=None))  # not known to be a person: no tag
    await rig.clock.advance(7 * 24 * HOUR)
    with pytest.raises(PermanentSendError, match="more than 7 days"):
        await tagged.send(rig.reply())
    assert rig.double.requests == []


async def test_the_double_refuses_what_meta_refuses(rig: Rig) -> None:
    """Send API bodies straight to the double: RESPONSE after 24 hours and HUMAN_AGENT after 7 days
    are refused with Meta's error 10/2018278."""

    async def post(messaging: dict[str, str]) -> httpx.Response:
        body = {"recipient": {"id": PSID}, **messaging, "message": {"text": "Hello again"}}
        return await rig.http.post(
            f"http://graph.test/v23.0/{PAGE}/messages",
            json=body,
            headers={"authorization": "Bearer page-token"},
        )

    response = {"messaging_type": "RESPONSE"}
    human_agent = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    await rig.clock.advance(24 * HOUR)
    assert (await post(response)).status_code == 200
    await rig.clock.advance(1)
    late = await post(response)
    assert late.status_code == 400
    assert late.json()["error"] | {"fbtrace_id": None} == {
        "message": "(#10) This message is sent outside of allowed window.",
        "type": "OAuthException",
        "code": 10,
        "error_subcode": 2018278,
        "fbtrace_id": None,
    }
    assert (await post(human_agent)).status_code == 200
    await rig.clock.advance(6 * 24 * HOUR - 1)  # exactly 7 days
    assert (await post(human_agent)).status_code == 200
    await rig.clock.advance(1)
    too_late = await post(human_agent)
    assert too_late.status_code == 400
    assert (too_late.json()["error"]["code"], too_late.json()["error"]["error_subcode"]) == (10, 2018278)
    # A new message from the customer opens both windows again.
    rig.customer_writes()
    assert (await post(response)).status_code == 200


# -- customers' names ------------------------------------------------------------------------------


async def test_the_webhook_answers_without_asking_for_names(rig: Rig) -> None:
    rig.double.add_profile(PSID, "Peter", "Chang")
    result = await rig.adapter().handle_webhook(webhook("text_message.json"))
    [message] = result.items
    assert isinstance(message, InboundMessage)
    assert message.sender_name is None  # the worker asks (sender_name), after Meta had its 200
    assert rig.double.profile_requests == []


async def test_a_new_customer_gets_the_profile_name_once(rig: Rig) -> None:
    rig.double.add_profile(PSID, "Peter", "Chang")
    messenger = rig.adapter()
    assert await messenger.sender_name(PSID) == "Peter Chang"
    assert await messenger.sender_name(PSID) == "Peter Chang"
    [(psid, query)] = rig.double.profile_requests
    assert psid == PSID
    assert query["fields"] == "first_name,last_name,profile_pic"
    assert query["appsecret_proof"]
    assert rig.double.media_requests == []


async def test_a_failed_lookup_leaves_the_name_empty_is_logged_and_retried_an_hour_later(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    messenger = rig.adapter()
    with caplog.at_level(logging.WARNING, logger="omniroute.channels.messenger.adapter"):
        assert await messenger.sender_name(PSID) is None
    assert "Graph error 100/2018218: (#100) No profile available for this user." in caplog.text
    assert "page-token" not in caplog.text

    rig.double.add_profile(PSID, "Peter", "Chang")
    assert await messenger.sender_name(PSID) is None
    assert len(rig.double.profile_requests) == 1  # the failure is remembered
    await rig.clock.advance(HOUR)
    assert await messenger.sender_name(PSID) == "Peter Chang"
    assert len(rig.double.profile_requests) == 2


async def test_an_outage_or_an_unreachable_graph_gives_no_name(rig: Rig) -> None:
    rig.double.add_profile(PSID, "Peter", "Chang")
    rig.double.profile_outage = 1
    assert await rig.adapter().sender_name(PSID) is None

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as offline:
        assert await Rig(rig.clock, rig.double, offline).adapter().sender_name(PSID) is None


async def test_each_customer_is_looked_up_once(rig: Rig) -> None:
    rig.double.add_profile(PSID, "Peter", "Chang")
    rig.double.add_profile(OTHER, "Ana", "Souza")
    messenger = rig.adapter()
    names = [await messenger.sender_name(psid) for psid in (PSID, PSID, OTHER)]
    assert names == ["Peter Chang", "Peter Chang", "Ana Souza"]
    assert sorted(psid for psid, _ in rig.double.profile_requests) == [PSID, OTHER]


async def test_receipts_need_no_profile(rig: Rig) -> None:
    result = await rig.adapter().handle_webhook(webhook("delivery.json"))
    assert result.items
    assert rig.double.profile_requests == []


def test_the_account_setting_is_checked() -> None:
    assert SPEC.validate is not None
    assert SPEC.validate({"page_id": PAGE, "human_agent_tag": True}, SECRETS) == []
    assert SPEC.validate({"page_id": PAGE, "human_agent_tag": "on"}, SECRETS)


def test_window_constants_match_the_double() -> None:
    assert (window.STANDARD_WINDOW, window.HUMAN_AGENT_WINDOW) == (
        meta_double.WINDOW,
        meta_double.HUMAN_AGENT_WINDOW,
    )

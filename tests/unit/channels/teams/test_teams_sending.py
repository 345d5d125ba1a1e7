"""The Teams adapter's outbound side against the Bot Framework double (ASGI transport): the activity
we build, token caching and renewal, and how Bot Connector and Entra ID errors map."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from omniroute.channels.port import (
    Attachment,
    Outbound,
    PermanentSendError,
    QuickReply,
    TransientSendError,
)
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.teams import SPEC
from omniroute.channels.teams.activities import Route, context_of, route_key, scoped_id
from omniroute.channels.teams.adapter import TeamsAdapter
from omniroute.channels.teams.connector import build_activity, failure
from omniroute.channels.teams.double import APP_ID, APP_PASSWORD, BotFrameworkDouble
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "teams" / "fixtures"
SERVICE = "http://connector.test/emea/"
CHAT = "a:1kxB6lB0yP8Ez2m0f5QwX4rT9cVnHj3uLs7AdGqWe1ZoY8KpMiN2bRtUv5SxCyDh6FgJ0aEwIlOq"
ROUTE = Route(SERVICE, "1767603600123", "2026-01-05T09:00:00.000000Z")
CONTEXT = context_of(ROUTE)
LEGACY_ROUTE = route_key(ROUTE)


@dataclass
class Rig:
    clock: ManualClock
    double: BotFrameworkDouble
    adapter: TeamsAdapter


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        config = AccountConfig(
            id="acc-1",
            channel="teams",
            name="IT help desk",
            settings={"app_id": APP_ID, "token_url": "http://login.test/botframework.com/oauth2/v2.0/token"},
            secrets={"app_password": APP_PASSWORD},
            webhook_url="https://omniroute.test/webhooks/acc-1",
        )
        adapter = SPEC.factory(AdapterContext(config=config, http=http, clock=clock))
        assert isinstance(adapter, TeamsAdapter)
        yield Rig(clock, double, adapter)


def outbound(
    text: str = "Hello",
    keys: tuple[str, ...] = (),
    quick_replies: tuple[QuickReply, ...] = (),
    attachments: tuple[Attachment, ...] = (),
    reply_context: dict[str, str] | None = CONTEXT,
) -> Outbound:
    return Outbound(
        outbound_id="out-1",
        conversation_id="conv-1",
        to_address=CHAT,
        text=text,
        thread_keys=keys,
        quick_replies=quick_replies,
        attachments=attachments,
        reply_context=reply_context,
    )


async def test_a_reply_answers_the_latest_activity_at_its_service_url(rig: Rig) -> None:
    sent = await rig.adapter.send(outbound())
    assert sent.provider_message_id == scoped_id("1767603900000", CHAT)
    [call] = rig.double.received
    assert (call["conversation_id"], call["reply_to_id"]) == (CHAT, "1767603600123")


async def test_a_conversation_stored_with_a_legacy_route_key_still_gets_its_reply(rig: Rig) -> None:
    await rig.adapter.send(outbound(keys=("1767603600123@abc", LEGACY_ROUTE), reply_context=None))
    [call] = rig.double.received
    assert (call["conversation_id"], call["reply_to_id"]) == (CHAT, "1767603600123")


def test_quick_replies_become_hero_cards_and_files_become_links() -> None:
    replies = tuple(QuickReply(f"o{i}", f"Option {i}") for i in range(8))
    activity = build_activity(
        outbound(
            "Pick one",
            quick_replies=replies,
            attachments=(
                Attachment("https://files.test/screen.png", "image/png", "screen.png"),
                Attachment("https://files.test/guide.pdf", "application/pdf", "guide.pdf"),
            ),
        ),
        None,
    )
    assert activity["text"] == "Pick one\n\nguide.pdf: https://files.test/guide.pdf"
    assert "replyToId" not in activity
    image, first_card, second_card = activity["attachments"]
    assert image == {
        "contentType": "image/png",
        "contentUrl": "https://files.test/screen.png",
        "name": "screen.png",
    }
    assert first_card["contentType"] == "application/vnd.microsoft.card.hero"
    assert [b["value"] for b in first_card["content"]["buttons"]] == [f"Option {i}" for i in range(6)]
    assert second_card["content"]["buttons"] == [
        {"type": "imBack", "title": "Option 6", "value": "Option 6"},
        {"type": "imBack", "title": "Option 7", "value": "Option 7"},
    ]
    assert activity["attachmentLayout"] == "list"


async def test_the_token_is_cached_until_shortly_before_it_expires(rig: Rig) -> None:
    await rig.adapter.send(outbound())
    await rig.clock.advance(3599 - 301)
    await rig.adapter.send(outbound())
    assert len(rig.double.issued) == 1
    await rig.clock.advance(2)  # inside the five-minute margin: renewed before it can die in flight
    await rig.adapter.send(outbound())
    assert len(rig.double.issued) == 2


async def test_a_refused_token_is_renewed_once(rig: Rig) -> None:
    await rig.adapter.send(outbound())
    rig.double.issued.clear()  # the connector forgets the token (a revoked or rotated secret)
    await rig.adapter.send(outbound())
    assert len(rig.double.received) == 2
    assert len(rig.double.issued) == 1


async def test_throttling_waits_for_retry_after(rig: Rig) -> None:
    rig.double.throttled, rig.double.retry_after = 1, 12
    with pytest.raises(TransientSendError) as throttled:
        await rig.adapter.send(outbound())
    assert throttled.value.retry_after_seconds == 12.0
    assert "429: Throttled" in str(throttled.value)


async def test_no_known_service_url_fails_unless_a_default_is_set(rig: Rig) -> None:
    with pytest.raises(PermanentSendError, match="no serviceUrl"):
        await rig.adapter.send(outbound(keys=("1767603600123@abc",), reply_context=None))


async def test_the_default_service_url_reaches_conversations_without_a_route() -> None:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        config = AccountConfig(
            "acc-1",
            "teams",
            "IT",
            {
                "app_id": APP_ID,
                "token_url": "http://login.test/botframework.com/oauth2/v2.0/token",
                "default_service_url": SERVICE,
            },
            {"app_password": APP_PASSWORD},
            "https://x",
        )
        adapter = TeamsAdapter(AdapterContext(config=config, http=http, clock=clock))
        await adapter.send(outbound(keys=(), reply_context=None))
    [call] = double.received
    assert call["reply_to_id"] is None


def test_connector_errors_map_to_retry_or_fail() -> None:
    blocked = httpx.Response(403, content=(FIXTURES / "connector_error_blocked.json").read_bytes())
    assert isinstance(failure(blocked), PermanentSendError)
    assert str(failure(blocked)) == (
        "Bot Connector HTTP 403: ConversationBlockedByUser: User blocked the conversation with the bot."
    )
    gone = httpx.Response(
        404, json={"error": {"code": "ConversationNotFound", "message": "Conversation not found."}}
    )
    assert isinstance(failure(gone), PermanentSendError)
    outage = httpx.Response(502, text="<html>Bad Gateway</html>", headers={"retry-after": "30"})
    transient = failure(outage)
    assert isinstance(transient, TransientSendError)
    assert transient.retry_after_seconds == 30.0


async def test_a_wrong_password_is_a_permanent_failure_with_entra_ids_reason() -> None:
    clock = ManualClock()
    double = BotFrameworkDouble(now=clock.now)
    expected = json.loads((FIXTURES / "token_error_invalid_client.json").read_text())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        config = AccountConfig(
            "acc-1",
            "teams",
            "IT",
            {"app_id": APP_ID, "token_url": "http://login.test/botframework.com/oauth2/v2.0/token"},
            {"app_password": "wrong"},
            "https://x",
        )
        adapter = TeamsAdapter(AdapterContext(config=config, http=http, clock=clock))
        with pytest.raises(PermanentSendError) as refused:
            await adapter.send(outbound())
    assert expected["error"] in str(refused.value)
    assert "AADSTS7000215" in str(refused.value)
    assert "Trace ID" not in str(refused.value)

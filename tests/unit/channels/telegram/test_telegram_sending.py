"""The Telegram adapter against the Bot API double (mounted on an ASGI transport, no sockets):
secret token checks, keyboards, media, long texts, errors and file downloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omniroute.channels.port import (
    Attachment,
    Outbound,
    PermanentSendError,
    QuickReply,
    SignatureError,
    TransientSendError,
    WebhookRequest,
)
from omniroute.channels.registry import AccountConfig, AdapterContext
from omniroute.channels.telegram import SPEC
from omniroute.channels.telegram.adapter import TelegramAdapter
from omniroute.channels.telegram.bot_api import callback_data, failure, split_text
from omniroute.channels.telegram.double import BOT_TOKEN, TelegramDouble
from omniroute.core.clock import ManualClock

FIXTURES = Path(__file__).parents[3] / "e2e" / "channels" / "telegram" / "fixtures"
SECRET = "s3cret-token_for-unit-tests"
CHAT = 5120843977


@pytest.fixture
async def rig() -> AsyncIterator[tuple[TelegramAdapter, TelegramDouble]]:
    clock = ManualClock()
    double = TelegramDouble(now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=double.app)) as http:
        config = AccountConfig(
            id="acc-1",
            channel="telegram",
            name="Acme",
            settings={"api_base": "http://telegram.test"},
            secrets={"bot_token": BOT_TOKEN, "secret_token": SECRET},
            webhook_url="https://omniroute.test/webhooks/acc-1",
        )
        adapter = SPEC.factory(AdapterContext(config=config, http=http, clock=clock))
        assert isinstance(adapter, TelegramAdapter)
        yield adapter, double


def outbound(text: str = "Hello", **fields: Any) -> Outbound:
    return Outbound(outbound_id="out-1", conversation_id="conv-1", to_address=str(CHAT), text=text, **fields)


def webhook(body: bytes, secret: str | None) -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return WebhookRequest("POST", "https://omniroute.test/webhooks/acc-1", headers, {}, body)


async def test_the_secret_token_must_match_exactly(rig: tuple[TelegramAdapter, TelegramDouble]) -> None:
    adapter, _ = rig
    body = (FIXTURES / "update_text.json").read_bytes()
    for wrong in (None, "", SECRET[:-1], SECRET + "x", SECRET.upper()):
        with pytest.raises(SignatureError) as refused:
            await adapter.handle_webhook(webhook(body, wrong))
        assert refused.value.status == 401
    result = await adapter.handle_webhook(webhook(body, SECRET))
    assert len(result.items) == 1


async def test_quick_replies_become_an_inline_keyboard_under_the_text(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    long_id = "choice-" + "x" * 80
    sent = await adapter.send(
        outbound(
            "Shall I send a replacement?",
            quick_replies=(QuickReply("replace-yes", "Yes, please"), QuickReply(long_id, "No, refund me")),
        )
    )
    assert sent.provider_message_id == f"{CHAT}:57"
    [call] = double.calls
    assert call["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes, please", "callback_data": "replace-yes"}],
            [{"text": "No, refund me", "callback_data": callback_data(QuickReply(long_id, ""))}],
        ]
    }
    assert len(callback_data(QuickReply(long_id, "")).encode()) <= 64


async def test_attachments_go_first_by_url_or_by_the_customers_file_id(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    sent = await adapter.send(
        outbound(
            "Here are the labels",
            attachments=(
                Attachment("https://files.acme.test/label.png", "image/png", "label.png"),
                Attachment("telegram-file:BQACAgQAAxkBAAM2aXinvoiceAQ", "application/pdf", "invoice.pdf"),
            ),
        )
    )
    assert [c["method"] for c in double.calls] == ["sendPhoto", "sendDocument", "sendMessage"]
    assert double.calls[0]["photo"] == "https://files.acme.test/label.png"
    assert double.calls[0]["caption"] == "label.png"
    assert double.calls[1]["document"] == "BQACAgQAAxkBAAM2aXinvoiceAQ"
    assert sent.provider_message_id == f"{CHAT}:59"  # the text, which carries any keyboard


async def test_a_text_longer_than_telegram_allows_goes_in_several_messages(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    text = ("word " * 1000).strip() + " end"
    await adapter.send(outbound(text, quick_replies=(QuickReply("ok", "OK"),)))
    chunks = [c["text"] for c in double.messages]
    assert len(chunks) == 2
    assert " ".join(chunks) == text
    assert "reply_markup" not in double.messages[0]
    assert "reply_markup" in double.messages[1]


def test_split_text_counts_utf16_units_and_prefers_word_breaks() -> None:
    assert split_text("short") == ["short"]
    assert split_text("") == [""]
    emoji = "😀" * 3000  # 2 UTF-16 units each: 6000 units
    parts = split_text(emoji)
    assert [len(p) for p in parts] == [2048, 952]
    assert split_text("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]


@pytest.mark.parametrize(
    ("fixture", "status", "expected", "retry_after"),
    [
        ("error_too_many_requests", 429, TransientSendError, 7.0),
        ("error_bot_blocked", 403, PermanentSendError, None),
        ("error_group_migrated", 400, PermanentSendError, None),
    ],
)
def test_error_answers_map_to_retry_or_fail(
    fixture: str, status: int, expected: type[Exception], retry_after: float | None
) -> None:
    answer = json.loads((FIXTURES / f"{fixture}.json").read_text())
    outcome = failure("sendMessage", status, answer, None)
    assert isinstance(outcome, expected)
    if isinstance(outcome, TransientSendError):
        assert outcome.retry_after_seconds == retry_after
    if fixture == "error_group_migrated":
        assert "moved to -1001234567890" in str(outcome)


def test_server_errors_without_a_json_body_are_retried() -> None:
    outcome = failure("sendMessage", 502, None, "3")
    assert isinstance(outcome, TransientSendError)
    assert outcome.retry_after_seconds == 3.0


async def test_a_refused_token_fails_and_never_shows_the_token(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    double.token = "123:another"
    with pytest.raises(PermanentSendError) as refused:
        await adapter.send(outbound())
    assert "bot token was refused" in str(refused.value)
    assert BOT_TOKEN not in str(refused.value)


async def test_network_errors_are_retried_and_redacted() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    clock = ManualClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http:
        config = AccountConfig(
            "acc-1", "telegram", "Acme", {}, {"bot_token": BOT_TOKEN, "secret_token": SECRET}, "https://x"
        )
        adapter = TelegramAdapter(AdapterContext(config=config, http=http, clock=clock))
        with pytest.raises(TransientSendError) as failed:
            await adapter.send(outbound())
    assert "api.telegram.org/bot<token>/sendMessage" in str(failed.value)  # the default API base
    assert BOT_TOKEN not in str(failed.value)


async def test_file_references_resolve_server_side_through_get_file(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    double.files["AgACAgQAAxkBAAM1aXlargeAAQ"] = ("photos/file_3.jpg", b"\xff\xd8jpeg")
    url = await adapter.file_url("telegram-file:AgACAgQAAxkBAAM1aXlargeAAQ")
    assert url == f"http://telegram.test/file/bot{BOT_TOKEN}/photos/file_3.jpg"
    with pytest.raises(PermanentSendError, match="invalid file_id"):
        await adapter.file_url("telegram-file:unknown")
    with pytest.raises(ValueError, match="not a Telegram file reference"):
        await adapter.file_url("https://example.test/x.png")


async def test_a_send_that_fails_half_way_resumes_after_the_parts_telegram_accepted(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    text = " ".join(f"word{i:04d}" for i in range(1200))  # 10,799 units: three messages
    parts = split_text(text)
    assert len(parts) == 3
    double.fail_requests = {2}
    with pytest.raises(TransientSendError) as failed:
        await adapter.send(outbound(text, quick_replies=(QuickReply("ok", "OK"),)))
    assert "part 2 of 3; 1 sent" in str(failed.value)
    assert failed.value.progress == {"telegram_sent_parts": [f"{CHAT}:57"]}
    assert [c["text"] for c in double.messages] == parts[:1]

    # The retry (the outbox hands the progress back) sends parts 2 and 3 only; if part 3 fails
    # too, what the retry achieved is added to what the first attempt did.
    double.fail_requests = {4}
    with pytest.raises(TransientSendError) as again:
        await adapter.send(
            outbound(text, progress=failed.value.progress, quick_replies=(QuickReply("ok", "OK"),))
        )
    assert again.value.progress == {"telegram_sent_parts": [f"{CHAT}:57", f"{CHAT}:58"]}
    sent = await adapter.send(
        outbound(text, progress=again.value.progress, quick_replies=(QuickReply("ok", "OK"),))
    )
    assert [c["text"] for c in double.messages] == parts  # each part once, in order
    assert "reply_markup" in double.messages[2]
    assert sent.provider_message_id == f"{CHAT}:59"


async def test_a_file_that_went_out_is_not_sent_again_when_the_text_is_retried(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    label = (Attachment("https://files.acme.test/label.png", "image/png", "label.png"),)
    double.fail_requests = {2}  # the photo goes out, the text does not
    with pytest.raises(TransientSendError) as failed:
        await adapter.send(outbound("Your label", attachments=label))
    sent = await adapter.send(outbound("Your label", attachments=label, progress=failed.value.progress))
    assert [c["method"] for c in double.calls] == ["sendPhoto", "sendMessage"]
    assert sent.provider_message_id == f"{CHAT}:58"


async def test_a_first_part_that_fails_records_no_progress(
    rig: tuple[TelegramAdapter, TelegramDouble],
) -> None:
    adapter, double = rig
    double.refusals = 1
    with pytest.raises(TransientSendError) as failed:
        await adapter.send(outbound("Hello"))
    assert failed.value.progress is None
    assert (await adapter.send(outbound("Hello"))).provider_message_id == f"{CHAT}:57"

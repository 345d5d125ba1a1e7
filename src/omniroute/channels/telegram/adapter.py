"""A Telegram bot as a channel account: webhook updates in, Bot API calls out.

Inbound: Telegram POSTs each ``Update`` to the account's webhook URL with the ``secret_token`` given
to ``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token``. Outbound: ``sendMessage`` (plus
``sendPhoto`` / ``sendDocument`` for attachments) to the chat the customer wrote from.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from omniroute.channels import media
from omniroute.channels.port import (
    Attachment,
    MalformedPayload,
    Media,
    MediaFetchFailed,
    Outbound,
    PermanentSendError,
    Sent,
    SignatureError,
    TransientSendError,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext
from omniroute.channels.telegram import bot_api, updates

CHANNEL = "telegram"
#: In a retried send's progress: the provider ids of the parts Telegram accepted, in order.
SENT_PARTS = "telegram_sent_parts"
SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name, not a secret


class TelegramAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        self._secret = context.config.secrets["secret_token"].encode()
        self._http = context.http
        self._token = context.config.secrets["bot_token"]
        self._api = bot_api.BotApi(
            context.http,
            str(context.config.settings.get("api_base") or bot_api.DEFAULT_API_BASE),
            self._token,
        )

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token header")
        if not hmac.compare_digest(given.encode(), self._secret):
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token does not match")
        if request.method != "POST":
            raise MalformedPayload("Telegram delivers updates with POST")
        parsed = updates.parse(request.body)
        if parsed.webhook_reply is None:
            return WebhookResult(items=parsed.items)
        # The answer rides on our 2xx, which the service sends only after the items are stored.
        return WebhookResult(
            items=parsed.items,
            response_body=json.dumps(parsed.webhook_reply).encode(),
            response_type="application/json",
        )

    async def send(self, message: Outbound) -> Sent:
        """One Bot API call per part (each attachment, the text in chunks of 4096, then the
        location as ``sendVenue`` or ``sendLocation``). A part
        that fails transiently raises with the ids of the parts Telegram accepted so far
        (``progress``); the retry starts after them, so the customer never sees a part twice."""
        to = bot_api.chat_id(message.to_address)
        calls = [bot_api.media_call(to, attachment) for attachment in message.attachments]
        alone = message.attachments or message.location is not None
        chunks = bot_api.split_text(message.text) if message.text or not alone else []
        calls += [("sendMessage", {"chat_id": to, "text": chunk}) for chunk in chunks]
        if message.location is not None:
            # After the text ("Here is our shop:"), as a person would send it.
            calls.append(bot_api.location_call(to, message.location))
        if message.quick_replies and calls[-1][0] in bot_api.KEYBOARD_METHODS:
            # The buttons go under the last part, where the customer reads last.
            calls[-1][1]["reply_markup"] = bot_api.inline_keyboard(message.quick_replies)
        done = _sent_parts(message.progress)
        last: object = None
        for method, payload in calls[len(done) :]:
            try:
                last = await self._api.call(method, payload)
            except TransientSendError as exc:
                if not done:
                    raise
                raise TransientSendError(
                    f"{exc} (part {len(done) + 1} of {len(calls)}; {len(done)} sent)",
                    exc.retry_after_seconds,
                    progress={SENT_PARTS: done},
                ) from None
            done = [*done, _provider_id(last, to)]
        if last is None and len(done) >= len(calls) and done and done[-1]:
            return Sent(done[-1])  # every part went out on an earlier attempt
        if not isinstance(last, dict) or not isinstance(last.get("message_id"), int):
            raise PermanentSendError("Telegram accepted the message but returned no message_id")
        # A callback or reply to this message carries "<chat>:<message_id>": the same thread key.
        return Sent(_provider_id(last, to))

    async def file_url(self, url: str) -> str:
        """The download URL of an attachment we stored as ``telegram-file:<file_id>``.

        It contains the bot token: fetch it server-side, never hand it to a browser.
        """
        if not url.startswith(updates.FILE_SCHEME):
            msg = f"not a Telegram file reference: {url!r}"
            raise ValueError(msg)
        return await self._api.file_url(url.removeprefix(updates.FILE_SCHEME))

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """``getFile`` for the file_id, then ``GET {api_base}/file/bot<token>/<file_path>``."""
        if not attachment.url.startswith(updates.FILE_SCHEME):
            msg = "not a Telegram file reference"
            raise MediaFetchFailed(msg, transient=False)
        try:
            url = await self.file_url(attachment.url)
        except TransientSendError as exc:
            raise MediaFetchFailed(str(exc)) from None
        except PermanentSendError as exc:
            raise MediaFetchFailed(str(exc), transient=False) from None
        got = await media.download(self._http, url, max_bytes=max_bytes, redact=self._token)
        kind = attachment.content_type if got.content_type == "application/octet-stream" else got.content_type
        return Media(got.data, kind, attachment.filename)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service


def _provider_id(result: object, to: int | str) -> str:
    """``<chat id>:<message_id>`` of an accepted part ("" when Telegram named no message)."""
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        return ""
    chat = result.get("chat")
    chat_part = chat["id"] if isinstance(chat, dict) and "id" in chat else to
    return f"{chat_part}:{result['message_id']}"


def _sent_parts(progress: Mapping[str, Any] | None) -> list[str]:
    """The parts an earlier attempt got accepted (none when it recorded nothing readable)."""
    parts = (progress or {}).get(SENT_PARTS)
    return [str(p) for p in parts] if isinstance(parts, list) else []

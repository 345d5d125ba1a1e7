"""A local Telegram for development and tests, speaking the real Bot API's wire format.

Telegram's API side: ``POST /bot<token>/<method>`` with Telegram's JSON answers and errors, and
``GET /file/bot<token>/<file_path>`` for downloads. It checks what the real API checks for the calls
we make (token, chat, text length, the 64-byte ``callback_data`` limit) and can simulate an outage
(503, also on chosen requests: ``fail_requests``), rate limiting (429 with ``retry_after``) and a
user who blocked the bot (403).

Telegram's webhook side: :meth:`TelegramDouble.text_update` builds the ``Update`` a customer's text
becomes and :meth:`TelegramDouble.post_update` POSTs it with the ``X-Telegram-Bot-Api-Secret-Token``
header given to ``setWebhook``, as Telegram does.

Served on 127.0.0.1 by the e2e tests and by ``omniroute demo`` (under ``/__doubles/telegram``); unit
tests mount the same app on an ASGI transport. Point an account's ``api_base`` at it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from omniroute.channels.webhook_poster import WebhookPoster

BOT_TOKEN = "7011223344:AAFakeTokenForTests_abcdefghijklmnop"  # noqa: S105 - the double's own, fixed
BOT_USER = {"id": 7011223344, "is_bot": True, "first_name": "Acme Support", "username": "acme_support_bot"}


def _error(code: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


@dataclass
class TelegramDouble(WebhookPoster):
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    token: str = BOT_TOKEN
    #: Every accepted call, as {"method": …, **parameters}.
    calls: list[dict[str, Any]] = field(default_factory=list)
    refusals: int = 0  # answer this many calls with 503 (an outage)
    #: Answer these Bot API requests with 503, counted from 1 over every request with the right
    #: token (a failure half-way through a message sent in several parts).
    fail_requests: set[int] = field(default_factory=set)
    requests: int = 0
    rate_limited: int = 0  # answer this many calls with 429
    retry_after: int = 7
    blocked_chats: set[int] = field(default_factory=set)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, content)
    next_message_id: int = 57
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    next_update_id: int = 731284501
    next_customer_message_id: int = 52

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self.method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self.download, methods=["GET"]),
            ]
        )

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == "sendMessage"]

    # -- Telegram's webhook side ------------------------------------------------------------------

    def text_update(
        self, chat_id: int, text: str, *, first_name: str, last_name: str | None = None
    ) -> dict[str, Any]:
        """The ``Update`` Telegram posts when a user texts the bot in a private chat."""
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        update_id, self.next_update_id = self.next_update_id, self.next_update_id + 1
        message_id, self.next_customer_message_id = (
            self.next_customer_message_id,
            self.next_customer_message_id + 1,
        )
        chat = {k: v for k, v in user.items() if k != "is_bot"} | {"type": "private"}
        return {
            "update_id": update_id,
            "message": {
                "message_id": message_id,
                "from": {**user, "language_code": "en"},
                "chat": chat,
                "date": int(self.now().timestamp()),
                "text": text,
            },
        }

    async def post_update(self, url: str, update: dict[str, Any], secret_token: str) -> httpx.Response:
        """POST an ``Update`` to a webhook as Telegram does: JSON, with the secret token header."""
        return await self.http.post(
            url,
            content=json.dumps(update).encode(),
            headers={"content-type": "application/json", "x-telegram-bot-api-secret-token": secret_token},
        )

    # -- the Bot API -------------------------------------------------------------------------------

    async def method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        self.requests += 1
        outage = self.requests in self.fail_requests or self.refusals > 0
        if outage and self.requests not in self.fail_requests:
            self.refusals -= 1
        if outage:
            return HTMLResponse(
                "<html><center><h1>503 Service Temporarily Unavailable</h1></center></html>", 503
            )
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return _error(
                429, f"Too Many Requests: retry after {self.retry_after}", retry_after=self.retry_after
            )
        params = await _parameters(request)
        name = request.path_params["method"]
        handler = {
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media,
            "sendDocument": self._send_media,
            "sendLocation": self._send_location,
            "sendVenue": self._send_location,
            "getFile": self._get_file,
            "answerCallbackQuery": self._answer_callback,
        }.get(name)
        if handler is None:
            return _error(404, "Not Found")
        response = handler(name, params)
        if response.status_code == 200:
            self.calls.append({"method": name, **params})
            self.arrived.set()
        return response

    async def download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        for path, content in self.files.values():
            if path == request.path_params["path"]:
                return Response(content, media_type="application/octet-stream")
        return _error(404, "Not Found")

    def _chat(self, params: dict[str, Any]) -> tuple[int | str, JSONResponse | None]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return 0, _error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return chat_id, _error(403, "Forbidden: bot was blocked by the user")
        return chat_id, None

    def _sent(self, chat_id: int | str, **content: Any) -> JSONResponse:
        message_id, self.next_message_id = self.next_message_id, self.next_message_id + 1
        result = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(self.now().timestamp()),
            **content,
        }
        return JSONResponse({"ok": True, "result": result})

    def _send_message(self, _: str, params: dict[str, Any]) -> JSONResponse:
        chat_id, refused = self._chat(params)
        if refused is not None:
            return refused
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if not 1 <= len(data.encode()) <= 64:
                        return _error(400, "Bad Request: BUTTON_DATA_INVALID")
                    if not button.get("text"):
                        return _error(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        content: dict[str, Any] = {"text": text}
        if markup is not None:
            content["reply_markup"] = markup
        return self._sent(chat_id, **content)

    def _send_media(self, method: str, params: dict[str, Any]) -> JSONResponse:
        chat_id, refused = self._chat(params)
        if refused is not None:
            return refused
        field_name = "photo" if method == "sendPhoto" else "document"
        source = params.get(field_name)
        if not isinstance(source, str) or not source:
            return _error(400, f"Bad Request: there is no {field_name} in the request")
        file_id = f"double-{field_name}-{len(self.calls)}"
        media: dict[str, Any] = (
            {"photo": [{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600}]}
            if field_name == "photo"
            else {"document": {"file_id": file_id, "file_unique_id": file_id}}
        )
        if params.get("caption"):
            media["caption"] = params["caption"]
        return self._sent(chat_id, **media)

    def _send_location(self, method: str, params: dict[str, Any]) -> JSONResponse:
        """``sendLocation`` (latitude, longitude) and ``sendVenue`` (also title and address); the
        answer carries the ``location`` (and ``venue``) as a customer's client receives it."""
        chat_id, refused = self._chat(params)
        if refused is not None:
            return refused
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "Bad Request: wrong latitude or longitude specified")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return _error(400, "Bad Request: wrong latitude or longitude specified")
        location = {"latitude": latitude, "longitude": longitude}
        if method == "sendLocation":
            return self._sent(chat_id, location=location)
        title, address = params.get("title"), params.get("address")
        if not isinstance(title, str) or not title or not isinstance(address, str) or not address:
            return _error(400, "Bad Request: venue title and address must be non-empty")
        return self._sent(
            chat_id, location=location, venue={"location": location, "title": title, "address": address}
        )

    def _get_file(self, _: str, params: dict[str, Any]) -> JSONResponse:
        file_id = params.get("file_id")
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        result = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(content)}
        return JSONResponse({"ok": True, "result": {**result, "file_path": path}})

    def _answer_callback(self, _: str, params: dict[str, Any]) -> JSONResponse:
        if not params.get("callback_query_id"):
            return _error(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        return JSONResponse({"ok": True, "result": True})


async def _parameters(request: Request) -> dict[str, Any]:
    """The Bot API takes JSON, form-encoded or query parameters alike."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    if request.method == "POST":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return dict(request.query_params)

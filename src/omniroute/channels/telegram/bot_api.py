"""The Bot API calls we make, and how its answers map onto our send outcomes.

Every call is ``POST {api_base}/bot<token>/<method>`` with a JSON body; the answer is
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code", "description", "parameters"}``.
The token is part of the URL, so nothing that could carry a URL leaves this module unredacted.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from omniroute.channels.port import Attachment, PermanentSendError, QuickReply, TransientSendError
from omniroute.channels.telegram.updates import FILE_SCHEME
from omniroute.conversations.model import Location

DEFAULT_API_BASE = "https://api.telegram.org"
#: sendMessage's limit, counted in UTF-16 code units after entity parsing (we send no entities).
MAX_TEXT = 4096
MAX_CALLBACK_DATA_BYTES = 64
#: The calls that take an inline keyboard as ``reply_markup`` among those we make.
KEYBOARD_METHODS = frozenset({"sendMessage", "sendLocation", "sendVenue"})


class BotApi:
    def __init__(self, http: httpx.AsyncClient, api_base: str, token: str) -> None:
        self._http = http
        self._base = api_base.rstrip("/")
        self._token = token

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        """The call's ``result``; raises TransientSendError or PermanentSendError."""
        try:
            response = await self._http.post(f"{self._base}/bot{self._token}/{method}", json=payload)
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"{method}: timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            # httpx messages can quote the URL, and the URL holds the token.
            raise TransientSendError(f"{method}: network error ({self._redact(str(exc))})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict) and answer.get("ok") is True:
            return answer.get("result")
        raise failure(method, response.status_code, answer, response.headers.get("retry-after"))

    async def file_url(self, file_id: str) -> str:
        """Where a file can be downloaded; the URL contains the bot token, so keep it server-side."""
        result = await self.call("getFile", {"file_id": file_id})
        path = result.get("file_path") if isinstance(result, dict) else None
        if not isinstance(path, str):
            raise PermanentSendError("getFile: no file_path (files over 20 MB cannot be downloaded by bots)")
        return f"{self._base}/file/bot{self._token}/{path}"

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<token>")


def failure(method: str, status: int, answer: Any, retry_after_header: str | None) -> Exception:
    """Telegram's error answer as a send outcome: 429 and 5xx wait and retry, the rest will not heal."""
    body: dict[str, Any] = answer if isinstance(answer, dict) else {}
    raw_code = body.get("error_code")
    code = raw_code if isinstance(raw_code, int) else status
    description = str(body.get("description") or f"HTTP {status}")[:300]
    raw_parameters = body.get("parameters")
    parameters: dict[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    retry_after: float | None = None
    if isinstance(parameters.get("retry_after"), int | float):
        retry_after = float(parameters["retry_after"])
    elif retry_after_header and retry_after_header.isdigit():
        retry_after = float(retry_after_header)
    reason = f"{method}: {code} {description}"
    if 429 in (code, status) or status >= 500 or code >= 500:
        return TransientSendError(reason, retry_after)
    migrated = parameters.get("migrate_to_chat_id")
    if isinstance(migrated, int):
        # A group became a supergroup with a new id; the conversation must be restarted from there.
        return PermanentSendError(f"{reason} (the chat moved to {migrated})")
    if code in (401, 404):
        return PermanentSendError(f"{method}: the bot token was refused ({code} {description})")
    return PermanentSendError(reason)  # 400 bad request, 403 bot blocked / kicked


def chat_id(address: str) -> int | str:
    """Chat ids are integers; ``@channelusername`` stays a string."""
    try:
        return int(address)
    except ValueError:
        return address


def callback_data(reply: QuickReply) -> str:
    """Telegram allows 1-64 bytes; longer ids are hashed (the label still comes back, see updates)."""
    data = reply.id or reply.title
    if 0 < len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
        return data
    return "qr:" + hashlib.sha256(data.encode()).hexdigest()[:40]


def inline_keyboard(replies: tuple[QuickReply, ...]) -> dict[str, Any]:
    """One button per row: labels stay readable on a phone whatever their length."""
    return {
        "inline_keyboard": [[{"text": r.title or r.id, "callback_data": callback_data(r)}] for r in replies]
    }


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most ``limit`` UTF-16 units, broken at a newline or space where there is one."""
    chunks: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        cut = _fit(rest, limit)
        space = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        if space > cut // 2:
            cut = space + 1
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:]
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def media_call(to: int | str, attachment: Attachment) -> tuple[str, dict[str, Any]]:
    """Telegram fetches media by URL itself; a file a customer sent us goes back by its file_id."""
    source = attachment.url.removeprefix(FILE_SCHEME)
    if attachment.content_type.startswith("image/"):
        method, field = "sendPhoto", "photo"
    else:
        method, field = "sendDocument", "document"
    payload: dict[str, Any] = {"chat_id": to, field: source}
    if attachment.filename:
        payload["caption"] = attachment.filename[:1024]
    return method, payload


def location_call(to: int | str, location: Location) -> tuple[str, dict[str, Any]]:
    """A named place is a venue (a pin with its title and address); a bare one a location. A
    venue needs both texts: a place known by one of them is titled by it, over its coordinates."""
    where: dict[str, Any] = {"chat_id": to, "latitude": location.latitude, "longitude": location.longitude}
    title = location.name or location.address
    if not title:
        return "sendLocation", where
    address = location.address if location.name and location.address else location.coordinates
    return "sendVenue", {**where, "title": title, "address": address}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)

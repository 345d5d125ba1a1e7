"""Sending to Teams: a client-credentials token from Microsoft Entra ID, then the Bot Connector REST
API at the conversation's ``serviceUrl``:
``POST {serviceUrl}/v3/conversations/{conversationId}/activities[/{replyToId}]`` → ``{"id": …}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from omniroute.channels.codec import with_location
from omniroute.channels.port import Outbound, PermanentSendError, QuickReply, TransientSendError
from omniroute.core.clock import Clock

TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"  # noqa: S105 - a URL
TOKEN_SCOPE = "https://api.botframework.com/.default"  # noqa: S105 - an OAuth scope, not a secret
#: Renew a little before Entra ID's expiry, so a token never dies in flight.
TOKEN_MARGIN = timedelta(minutes=5)
HERO_CARD = "application/vnd.microsoft.card.hero"
#: Buttons per hero card: more stay readable as further cards in a list.
BUTTONS_PER_CARD = 6


@dataclass(frozen=True)
class Credentials:
    app_id: str
    app_password: str
    token_url: str = TOKEN_URL
    scope: str = TOKEN_SCOPE


class TokenSource:
    """The bot's access token for the Bot Connector, cached until shortly before it expires."""

    def __init__(self, http: httpx.AsyncClient, clock: Clock, credentials: Credentials) -> None:
        self._http = http
        self._clock = clock
        self._credentials = credentials
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            now = self._clock.now()
            if self._token is None or self._expires_at is None or now >= self._expires_at:
                self._token, lifetime = await self._request()
                keep = lifetime - TOKEN_MARGIN if lifetime > 2 * TOKEN_MARGIN else lifetime / 2
                self._expires_at = now + keep
            return self._token

    def forget(self) -> None:
        """The connector refused the token (revoked, rotated secret): fetch a new one next time."""
        self._token = None

    async def _request(self) -> tuple[str, timedelta]:
        c = self._credentials
        try:
            response = await self._http.post(
                c.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": c.app_id,
                    "client_secret": c.app_password,
                    "scope": c.scope,
                },
            )
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"token request timed out ({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(
                f"token endpoint answered HTTP {response.status_code}", _retry_after(response)
            )
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            # invalid_client (wrong app password), unauthorized_client (wrong tenant)…: fix the settings.
            error = body.get("error") or f"HTTP {response.status_code}"
            description = str(body.get("error_description") or "").split("\r\n")[0][:200]
            raise PermanentSendError(f"the app id or password was refused: {error} {description}".strip())
        seconds = int(lifetime) if isinstance(lifetime, int | str) and str(lifetime).isdigit() else 3600
        return token, timedelta(seconds=seconds)


class Connector:
    def __init__(self, http: httpx.AsyncClient, tokens: TokenSource) -> None:
        self._http = http
        self._tokens = tokens

    async def post_activity(
        self, service_url: str, conversation_id: str, reply_to_id: str | None, activity: dict[str, Any]
    ) -> str:
        """Send one activity; its id on success. A refused token is renewed and tried once more."""
        url = f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        if reply_to_id:
            url += f"/{quote(reply_to_id, safe='')}"
        for attempt in (1, 2):
            token = await self._tokens.token()
            try:
                response = await self._http.post(
                    url, json=activity, headers={"authorization": f"Bearer {token}"}
                )
            except httpx.TimeoutException as exc:
                raise TransientSendError(f"Bot Connector timed out ({type(exc).__name__})") from None
            if response.status_code == 401 and attempt == 1:
                self._tokens.forget()
                continue
            break
        if response.is_success:
            try:
                body = response.json()
            except ValueError:
                body = None
            activity_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(activity_id, str) or not activity_id:
                raise PermanentSendError("the Bot Connector accepted the activity but returned no id")
            return activity_id
        raise failure(response)


def failure(response: httpx.Response) -> Exception:
    """Bot Connector errors: ``{"error": {"code", "message"}}`` (or ``{"message"}`` for 401)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        detail = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    elif isinstance(body, dict) and body.get("message"):
        detail = str(body["message"])
    else:
        detail = response.reason_phrase
    reason = f"Bot Connector HTTP {status}: {detail}"[:500]
    if status in (408, 429) or status >= 500:
        return TransientSendError(reason, _retry_after(response))
    # 400 bad activity, 401 token still refused, 403 blocked / bot not in the conversation, 404 gone.
    return PermanentSendError(reason)


def build_activity(message: Outbound, reply_to_id: str | None) -> dict[str, Any]:
    """A message activity: plain text, images inline, other files as links, buttons as hero cards,
    a location as a line with an OpenStreetMap link (a bot cannot post Teams' own location card)."""
    text = with_location(message.text, message.location)
    attachments: list[dict[str, Any]] = []
    links: list[str] = []
    for a in message.attachments:
        if a.content_type.startswith("image/"):
            attachments.append(
                {"contentType": a.content_type, "contentUrl": a.url, "name": a.filename or "image"}
            )
        else:
            # Bots can only post files through SharePoint / the file consent flow; a link always works.
            links.append(f"{a.filename or 'attachment'}: {a.url}")
    if links:
        text = "\n\n".join([text, *links]) if text else "\n\n".join(links)
    attachments.extend(hero_cards(message.quick_replies))
    activity: dict[str, Any] = {
        "type": "message",
        "conversation": {"id": message.to_address},
        # Plain, so an agent's "*" or "_" is shown as typed rather than as Markdown.
        "textFormat": "plain",
        "text": text,
    }
    if attachments:
        activity["attachments"] = attachments
        activity["attachmentLayout"] = "list"
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def hero_cards(replies: tuple[QuickReply, ...]) -> list[dict[str, Any]]:
    """imBack buttons post their value back as the user's own message: the label is what we read."""
    buttons = [{"type": "imBack", "title": r.title or r.id, "value": r.title or r.id} for r in replies]
    return [
        {"contentType": HERO_CARD, "content": {"buttons": buttons[i : i + BUTTONS_PER_CARD]}}
        for i in range(0, len(buttons), BUTTONS_PER_CARD)
    ]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None

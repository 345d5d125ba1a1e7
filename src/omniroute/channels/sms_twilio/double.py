"""A local Twilio for development and tests, speaking Twilio's real wire format.

It serves the Messages API (``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP
Basic auth and a form body; 201 with the Message resource, or Twilio's error document) and it
plays Twilio's side of the webhooks: incoming messages and status callbacks, form-encoded and
signed with ``X-Twilio-Signature`` exactly as Twilio signs them. Point an account's ``api_base``
at it and the whole round trip runs without the internet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from omniroute.channels.sms_twilio.outbound import API_VERSION, MAX_BODY_CHARS
from omniroute.channels.webhook_poster import WebhookPoster
from omniroute.core.clock import Clock
from omniroute.core.twilio_signature import compute_signature

E164 = re.compile(r"^(?:[a-z]+:)?\+[1-9]\d{6,14}$")  # "+14155550100", "whatsapp:+14155550100"
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
HTTP_ERROR_CODES = {429: 20429, 500: 20500, 503: 20503}


def sid(prefix: str, seed: str) -> str:
    """A Twilio-shaped id (two letters, 32 hex digits), stable for the same seed."""
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:32]


@dataclass
class SentMessage:
    """One message our side created through the API, as Twilio would keep it."""

    sid: str
    form: list[tuple[str, str]]
    resource: dict[str, Any]

    def field(self, name: str) -> str | None:
        return next((v for k, v in self.form if k == name), None)

    def fields(self, name: str) -> list[str]:
        return [v for k, v in self.form if k == name]


@dataclass
class TwilioDouble(WebhookPoster):
    account_sid: str
    auth_token: str
    clock: Clock
    sent: list[SentMessage] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)  # numbers that replied STOP (error 21610)
    #: The next API requests are answered with these HTTP statuses (an outage, rate limiting).
    failures: list[int] = field(default_factory=list)
    retry_after: str | None = None  # sent with 429/503 answers
    #: Media of incoming MMS by media sid (``ME…``): (content type, bytes), served at
    #: ``/2010-04-01/Accounts/{sid}/Messages/{MM…}/Media/{ME…}`` behind Basic auth.
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: The next media downloads are answered with these HTTP statuses.
    media_failures: list[int] = field(default_factory=list)
    media_requests: int = 0

    # -- the Messages API --------------------------------------------------------------------

    def app(self) -> Starlette:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages"
        return Starlette(
            routes=[
                Route(f"{base}.json", self._create, methods=["POST"]),
                Route(f"{base}/{{message_sid}}.json", self._fetch, methods=["GET"]),
                Route(f"{base}/{{message_sid}}/Media/{{media_sid}}", self._media, methods=["GET"]),
                Route("/cdn/media/{media_sid}", self._media_content, methods=["GET"]),
            ]
        )

    async def _create(self, request: Request) -> JSONResponse:
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if self.failures:
            status = self.failures.pop(0)
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return _error(status, HTTP_ERROR_CODES.get(status, 20500), headers=headers)
        form = parse_qsl((await request.body()).decode(errors="replace"), keep_blank_values=True)
        first = dict(reversed(form))  # each name's first value
        to, body = first.get("To", ""), first.get("Body", "")
        media = [v for k, v in form if k == "MediaUrl"]
        if not to:
            return _error(400, 21604)
        if not first.get("From") and not first.get("MessagingServiceSid"):
            return _error(400, 21603)
        if not body and not media:
            return _error(400, 21602)
        if not E164.match(to):
            return _error(400, 21211, to=to)
        if len(body) > MAX_BODY_CHARS:
            return _error(400, 21617)
        if to in self.unsubscribed:
            return _error(400, 21610)
        message_sid = sid("MM" if media else "SM", f"{self.account_sid}:{len(self.sent)}")
        resource = self._resource(message_sid, first, len(media))
        self.sent.append(SentMessage(message_sid, form, resource))
        return JSONResponse(resource, status_code=201)

    async def _fetch(self, request: Request) -> JSONResponse:
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        wanted = request.path_params["message_sid"]
        found = next((m for m in self.sent if m.sid == wanted), None)
        return JSONResponse(found.resource) if found else _error(404, 20404)

    async def _media(self, request: Request) -> Response:
        """Twilio answers a media URL with a redirect to its CDN (which needs no credentials)."""
        self.media_requests += 1
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if self.media_failures:
            status = self.media_failures.pop(0)
            return _error(status, HTTP_ERROR_CODES.get(status, 20500))
        media_sid = request.path_params["media_sid"]
        if media_sid not in self.media:
            return _error(404, 20404)
        return RedirectResponse(f"/cdn/media/{media_sid}", status_code=307)

    async def _media_content(self, request: Request) -> Response:
        found = self.media.get(request.path_params["media_sid"])
        if found is None:
            return Response(status_code=404)
        content_type, data = found
        return Response(data, media_type=content_type)

    def _authenticate(self, request: Request) -> JSONResponse | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        if scheme.lower() != "basic" or (user, password) != (self.account_sid, self.auth_token):
            return _error(401, 20003, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.path_params["account_sid"] != self.account_sid:
            return _error(404, 20404)
        return None

    def _resource(self, message_sid: str, form: dict[str, str], num_media: int) -> dict[str, Any]:
        now = format_datetime(self.clock.now())
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message_sid}"
        service = form.get("MessagingServiceSid")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": service,
            "num_media": str(num_media),
            "num_segments": "0" if service else str(max(1, -(-len(form.get("Body", "")) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": form["To"],
            "uri": f"{uri}.json",
        }

    # -- Twilio's webhooks -------------------------------------------------------------------

    def incoming(
        self,
        *,
        message_sid: str,
        sender: str,
        to: str,
        body: str,
        media: Sequence[tuple[str, str]] = (),
        profile_name: str | None = None,
    ) -> list[tuple[str, str]]:
        """The form Twilio posts for an incoming SMS/MMS; ``media`` is (content type, URL) pairs."""
        form = [
            ("ToCountry", "US"),
            ("SmsMessageSid", message_sid),
            ("NumMedia", str(len(media))),
            ("SmsSid", message_sid),
            ("SmsStatus", "received"),
            ("Body", body),
            ("To", to),
            ("NumSegments", "1"),
            ("MessageSid", message_sid),
            ("AccountSid", self.account_sid),
            ("From", sender),
            ("ApiVersion", API_VERSION),
        ]
        for index, (content_type, url) in enumerate(media):
            form += [(f"MediaContentType{index}", content_type), (f"MediaUrl{index}", url)]
        if profile_name:
            form.append(("ProfileName", profile_name))
        return form

    def sign(self, url: str, form: Sequence[tuple[str, str]]) -> str:
        return compute_signature(self.auth_token, url, form)

    async def post_webhook(
        self, url: str, form: Sequence[tuple[str, str]] | str, *, signature: str | None = None
    ) -> httpx.Response:
        """POST a form as Twilio does; ``form`` may be a raw body (a golden fixture)."""
        body = form if isinstance(form, str) else urlencode(list(form))
        if signature is None:
            signature = self.sign(url, parse_qsl(body, keep_blank_values=True))
        return await self.http.post(
            url,
            content=body.encode(),
            headers={
                "content-type": "application/x-www-form-urlencoded; charset=utf-8",
                "x-twilio-signature": signature,
                "user-agent": "TwilioProxy/1.1",
            },
        )

    def status_form(
        self, message_sid: str, status: str, error_code: int | None = None
    ) -> list[tuple[str, str]]:
        """The form of a status callback for a message sent through the API."""
        message = next(m for m in self.sent if m.sid == message_sid)
        form = [
            ("SmsSid", message_sid),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("To", message.resource["to"]),
            ("MessageSid", message_sid),
            ("AccountSid", self.account_sid),
            ("From", message.resource["from"] or ""),
            ("ApiVersion", API_VERSION),
        ]
        if message.resource["messaging_service_sid"]:
            form.append(("MessagingServiceSid", message.resource["messaging_service_sid"]))
        if error_code is not None:
            form.append(("ErrorCode", str(error_code)))
        if status == "delivered":
            form.append(("RawDlrDoneDate", self.clock.now().strftime("%y%m%d%H%M")))
        return form

    async def report_status(
        self, message_sid: str, status: str, error_code: int | None = None
    ) -> httpx.Response:
        """Send a status callback to the URL the message named, as Twilio does."""
        message = next(m for m in self.sent if m.sid == message_sid)
        callback = message.field("StatusCallback")
        if not callback:
            msg = f"{message_sid} was sent without a StatusCallback"
            raise LookupError(msg)
        return await self.post_webhook(callback, self.status_form(message_sid, status, error_code))


def _error(status: int, code: int, *, headers: dict[str, str] | None = None, **values: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": ERROR_MESSAGES.get(code, "Error").format(**values),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
        headers=headers,
    )

"""A local double of Meta's Graph API for tests and the demo: the WhatsApp Cloud API
``POST /{version}/{phone_number_id}/messages`` and the Messenger Send API
``POST /{version}/{page_id|me}/messages``, with Graph's auth (Bearer header or ``access_token``),
``appsecret_proof``, answers, error objects, the products' length limits and the 24-hour
customer-service windows. WhatsApp message templates too: ``GET /{version}/{waba-id}/
message_templates`` lists the configured ones (Meta's shape, cursor paging), and a ``type:
template`` send is checked against the approved ones as Meta does (error 132001 for an unknown name
or language, 132000 for the wrong number of parameters, 132018 for a parameter with a line break).
It also plays Meta's webhook side: :meth:`GraphDouble.deliver` signs a
webhook document with ``X-Hub-Signature-256`` and posts it, remembering which customers wrote when
(that is what opens their window).

Messenger's windows as Meta enforces them, counted from the customer's last message the double
delivered: ``RESPONSE`` within 24 hours, ``MESSAGE_TAG`` + ``HUMAN_AGENT`` within 7 days, both
refused later with error 10/2018278 ("This message is sent outside of allowed window"). And the User
Profile API: ``GET /{version}/{psid}?fields=first_name,last_name,profile_pic`` answers the profile
added with :meth:`GraphDouble.add_profile`, or error 2018218 "No profile available for this user".

Served on loopback by any ASGI server (``GraphDouble(...).app()``); nothing here is imported by the
adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniroute.channels.meta_common.signature import HEADER, sign

WINDOW = timedelta(hours=24)
#: How long after the customer's last message Messenger accepts a ``HUMAN_AGENT``-tagged message.
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: Where the double serves media downloads (Meta's are ``lookaside.fbsbx.com/whatsapp_business/…``).
MEDIA_DOWNLOAD_PATH = "/whatsapp_business/attachments/"
#: Where it serves Messenger attachments (Meta's are ``scontent.xx.fbcdn.net/v/t1.15752-9/…``).
MESSENGER_CDN_PREFIX = "/v/t1.15752-9/"
MESSENGER_ATTACHMENT_TYPES = ("image", "video", "audio", "file", "template")
VERSION = re.compile(r"v\d+\.\d+")
TEMPLATE_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: Graph's page size for the template list when the caller does not say (``limit``).
TEMPLATE_PAGE_SIZE = 25


@dataclass(frozen=True)
class GraphRequest:
    """One call as the double saw it."""

    version: str
    node: str
    body: dict[str, Any]
    authorization: str | None
    query: dict[str, str]


class GraphRefusal(Exception):
    """An error answer in Graph's shape."""

    def __init__(
        self, status: int, code: int, message: str, *, subcode: int | None = None, details: str = ""
    ) -> None:
        super().__init__(message)
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if status >= 500:
            error["is_transient"] = True
        error["fbtrace_id"] = "AbCdEfGhIjKlMnOpQrStUv"
        self.status = status
        self.body = {"error": error}


@dataclass
class GraphDouble:
    access_token: str
    app_secret: str
    now: Callable[[], datetime]
    requests: list[GraphRequest] = field(default_factory=list)
    #: Answer this many sends with 503 "service temporarily unavailable" first (a Meta outage).
    outage: int = 0
    #: Accepted messages by the id the double gave them, for tests to match receipts.
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: WhatsApp media customers sent, by media id: (MIME type, bytes).
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: Answer this many media lookups with 503 first.
    media_outage: int = 0
    #: Paths of the media calls (lookups and downloads), in order.
    media_requests: list[str] = field(default_factory=list)
    #: Messenger attachments customers sent, by file name on the CDN: (MIME type, bytes).
    messenger_media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: WhatsApp message templates by WhatsApp Business Account id, as Meta lists them (``name``,
    #: ``language``, ``status``, ``category``, ``components``…); see :meth:`add_template`.
    message_templates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The query of each template-list call, in order.
    template_requests: list[dict[str, str]] = field(default_factory=list)
    #: Messenger profiles by PSID, as the User Profile API answers them; see :meth:`add_profile`.
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The PSID and query of each profile lookup, in order.
    profile_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: Answer this many profile lookups with 503 first.
    profile_outage: int = 0
    _last_inbound: dict[str, datetime] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/{node}/messages", self._messages, methods=["POST"]),
                Route("/{version}/{waba_id}/message_templates", self._template_list, methods=["GET"]),
                Route(MEDIA_DOWNLOAD_PATH, self._media_download, methods=["GET"]),
                Route(MESSENGER_CDN_PREFIX + "{name}", self._messenger_cdn, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_node, methods=["GET"]),
            ]
        )

    # -- WhatsApp media ---------------------------------------------------------------------------

    def add_media(self, media_id: str, mime_type: str, data: bytes) -> None:
        """A customer's upload: its id goes in a webhook, the Graph media node resolves it."""
        self.media[media_id] = (mime_type, data)

    async def _media_node(self, request: Request) -> JSONResponse:
        """``GET /{version}/{media-id}``: the media's metadata and a short-lived download URL.
        The same Graph path with ``?fields=`` is a Messenger profile lookup."""
        if "fields" in request.query_params:
            return await self._profile(request)
        self.media_requests.append(request.url.path)
        try:
            self._check_token(request)
            if self.media_outage > 0:
                self.media_outage -= 1
                raise GraphRefusal(503, 2, "Service temporarily unavailable")
            media_id = request.path_params["media_id"]
            if media_id not in self.media:
                raise GraphRefusal(
                    400, 100, f"Unsupported get request. Object with ID '{media_id}' does not exist"
                )
        except GraphRefusal as refusal:
            return JSONResponse(refusal.body, status_code=refusal.status)
        mime_type, data = self.media[media_id]
        query = urlencode({"mid": media_id, "ext": "1700000000", "hash": "ATu" + media_id[-8:]})
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{str(request.base_url).rstrip('/')}{MEDIA_DOWNLOAD_PATH}?{query}",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _media_download(self, request: Request) -> Response:
        """The download URL: the bytes, for the same access token only (as Meta's CDN requires)."""
        self.media_requests.append(request.url.path)
        header = request.headers.get("authorization", "")
        if not hmac.compare_digest(header.removeprefix("Bearer ").strip(), self.access_token):
            return Response(status_code=404)
        found = self.media.get(request.query_params.get("mid", ""))
        if found is None:
            return Response(status_code=404)
        mime_type, data = found
        return Response(data, media_type=mime_type)

    # -- Messenger User Profile API ---------------------------------------------------------------

    def add_profile(
        self, psid: str, first_name: str, last_name: str, picture: str | None = None
    ) -> dict[str, Any]:
        """A Messenger user's public profile, as ``GET /{psid}`` answers it."""
        found = {
            "first_name": first_name,
            "last_name": last_name,
            "profile_pic": picture
            or f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={psid}",
            "id": psid,
        }
        self.profiles[psid] = found
        return found

    async def _profile(self, request: Request) -> JSONResponse:
        """``GET /{version}/{psid}?fields=first_name,last_name,profile_pic``: the requested fields
        and ``id``."""
        psid = request.path_params["media_id"]
        self.profile_requests.append((psid, dict(request.query_params)))
        try:
            self._check_token(request)
            if self.profile_outage > 0:
                self.profile_outage -= 1
                raise GraphRefusal(503, 2, "Service temporarily unavailable")
            if psid not in self.profiles:
                raise GraphRefusal(400, 100, "(#100) No profile available for this user.", subcode=2018218)
        except GraphRefusal as refusal:
            return JSONResponse(refusal.body, status_code=refusal.status)
        fields = [f for f in request.query_params["fields"].split(",") if f]
        found = self.profiles[psid]
        return JSONResponse({f: found[f] for f in fields if f in found} | {"id": psid})

    # -- WhatsApp message templates ---------------------------------------------------------------

    def add_template(
        self,
        waba_id: str,
        name: str,
        language: str,
        body: str,
        *,
        status: str = "APPROVED",
        category: str = "UTILITY",
        header: str | None = None,
        footer: str | None = None,
        buttons: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A template of the business account, in Meta's list shape (quick-reply buttons)."""
        components: list[dict[str, Any]] = []
        if header:
            components.append({"type": "HEADER", "format": "TEXT", "text": header})
        body_part: dict[str, Any] = {"type": "BODY", "text": body}
        count = len(set(TEMPLATE_PLACEHOLDER.findall(body)))
        if count:
            body_part["example"] = {"body_text": [[f"example {i}" for i in range(1, count + 1)]]}
        components.append(body_part)
        if footer:
            components.append({"type": "FOOTER", "text": footer})
        if buttons:
            components.append(
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": b} for b in buttons]}
            )
        item = {
            "name": name,
            "parameter_format": "POSITIONAL",
            "components": components,
            "language": language,
            "status": status,
            "category": category,
            "id": str(1_000_000_000_000 + next(self._ids)),
        }
        self.message_templates.setdefault(waba_id, []).append(item)
        return item

    async def _template_list(self, request: Request) -> JSONResponse:
        """``GET /{version}/{waba-id}/message_templates?fields=…&limit=…&after=…``."""
        try:
            self._check_token(request)
            self.template_requests.append(dict(request.query_params))
            waba_id = request.path_params["waba_id"]
            if waba_id not in self.message_templates:
                raise GraphRefusal(
                    400,
                    100,
                    f"Unsupported get request. Object with ID '{waba_id}' does not exist, cannot be "
                    "loaded due to missing permissions, or does not support this operation.",
                    subcode=33,
                )
            limit_text = request.query_params.get("limit", str(TEMPLATE_PAGE_SIZE))
            start_text = _uncursor(request.query_params.get("after"))
            if not limit_text.isdigit() or int(limit_text) < 1 or start_text is None:
                raise GraphRefusal(400, 100, "(#100) Invalid parameter")
        except GraphRefusal as refusal:
            return JSONResponse(refusal.body, status_code=refusal.status)
        items = self.message_templates[waba_id]
        start, limit = start_text, int(limit_text)
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        page = [
            {k: v for k, v in item.items() if not fields or k in fields or k == "id"}
            for item in items[start : start + limit]
        ]
        answer: dict[str, Any] = {"data": page}
        if page:
            end = start + len(page)
            answer["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
            if end < len(items):
                query = dict(request.query_params) | {"after": _cursor(end)}
                answer["paging"]["next"] = f"{str(request.url).split('?')[0]}?{urlencode(query)}"
        return JSONResponse(answer)

    def _check_template(self, content: dict[str, Any]) -> None:
        """A ``type: template`` message as the Cloud API checks it against the approved templates."""
        name, language = content.get("name"), content.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not name:
            raise GraphRefusal(400, 100, "(#100) The parameter template['name'] is required.")
        if not isinstance(code, str) or not code:
            raise GraphRefusal(400, 100, "(#100) The parameter template['language']['code'] is required.")
        found = [
            item
            for items in self.message_templates.values()
            for item in items
            if item.get("name") == name and item.get("language") == code and item.get("status") == "APPROVED"
        ]
        if not found:
            raise GraphRefusal(
                404,
                132001,
                "(#132001) Template name does not exist in the translation",
                details=f"template name ({name}) does not exist in {code}",
            )
        components = content.get("components") or []
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise GraphRefusal(400, 100, "(#100) Param template['components'] must be an array of objects")
        for part in ("HEADER", "BODY"):
            text = next(
                (str(c.get("text") or "") for c in found[0]["components"] if c.get("type") == part), ""
            )
            expected = len(set(TEMPLATE_PLACEHOLDER.findall(text)))
            given = [
                parameter
                for c in components
                if str(c.get("type") or "").upper() == part
                for parameter in (c.get("parameters") or [])
            ]
            if len(given) != expected:
                raise GraphRefusal(
                    400,
                    132000,
                    "(#132000) Number of parameters does not match the expected number of params",
                    details=f"{part.lower()}: number of localizable_params ({len(given)}) does not match "
                    f"the expected number of params ({expected})",
                )
            for parameter in given:
                value = parameter.get("text") if isinstance(parameter, dict) else None
                if not isinstance(value, str) or not value.strip():
                    raise GraphRefusal(
                        400, 131008, "(#131008) Required parameter is missing", details="parameter text"
                    )
                if re.search(r"[\n\t]| {5,}", value):
                    raise GraphRefusal(
                        400,
                        132018,
                        "(#132018) There was an issue with the parameters in your template.",
                        details="Param text cannot have new-line/tab characters or more than 4 "
                        "consecutive spaces",
                    )

    # -- Messenger attachments ------------------------------------------------------------------

    def add_messenger_media(self, base_url: str, name: str, mime_type: str, data: bytes) -> str:
        """A customer's upload as Messenger links it in a webhook (``payload.url``): a CDN URL
        whose ``oh`` parameter signs it; no token needed, but a changed URL is refused."""
        self.messenger_media[name] = (mime_type, data)
        query = urlencode({"_nc_cat": "1", "oh": self._cdn_signature(name), "oe": "6789ABCD"})
        return f"{base_url.rstrip('/')}{MESSENGER_CDN_PREFIX}{name}?{query}"

    def _cdn_signature(self, name: str) -> str:
        return "00_" + hmac.new(self.app_secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:16]

    async def _messenger_cdn(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.media_requests.append(request.url.path)
        found = self.messenger_media.get(name)
        if not hmac.compare_digest(request.query_params.get("oh", ""), self._cdn_signature(name)):
            return Response(b"URL signature mismatch", status_code=403, media_type="text/plain")
        if found is None:
            return Response(status_code=404)
        mime_type, data = found
        return Response(data, media_type=mime_type)

    # -- Meta's webhook side ----------------------------------------------------------------------

    def customer_wrote(self, address: str, at: datetime | None = None) -> None:
        """Open (or refresh) a customer's 24-hour window, as an inbound message does."""
        self._last_inbound[address] = at or self.now()

    def sign(self, body: bytes) -> str:
        return sign(self.app_secret, body)

    async def deliver(self, http: httpx.AsyncClient, url: str, document: dict[str, Any]) -> httpx.Response:
        """Post a webhook as Meta does: compact JSON, signed; customers who write open their window."""
        body = json.dumps(document, separators=(",", ":")).encode()
        for address in _customers_in(document):
            self.customer_wrote(address)
        return await http.post(
            url, content=body, headers={"content-type": "application/json", HEADER: self.sign(body)}
        )

    # -- the Graph API ----------------------------------------------------------------------------

    async def _messages(self, request: Request) -> JSONResponse:
        try:
            call = await self._authorised(request)
            self.requests.append(call)
            if self.outage > 0:
                self.outage -= 1
                raise GraphRefusal(503, 2, "Service temporarily unavailable")
            if call.body.get("messaging_product") == "whatsapp":
                answer = self._whatsapp(call.body)
            else:
                answer = self._messenger(call.body)
        except GraphRefusal as refusal:
            return JSONResponse(refusal.body, status_code=refusal.status)
        return JSONResponse(answer)

    def _check_token(self, request: Request) -> str | None:
        version = request.path_params["version"]
        if not VERSION.fullmatch(version):
            raise GraphRefusal(400, 2500, f"Unknown path components: /{version}")
        header = request.headers.get("authorization")
        token = header.removeprefix("Bearer ").strip() if header else request.query_params.get("access_token")
        if not token or not hmac.compare_digest(token, self.access_token):
            raise GraphRefusal(401, 190, "Invalid OAuth access token - Cannot parse access token")
        proof = request.query_params.get("appsecret_proof")
        expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if proof is not None and not hmac.compare_digest(proof, expected):
            raise GraphRefusal(400, 100, "Invalid appsecret_proof provided in the API argument")
        return header

    async def _authorised(self, request: Request) -> GraphRequest:
        version = request.path_params["version"]
        header = self._check_token(request)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise GraphRefusal(400, 100, "(#100) The parameter body must be JSON") from exc
        if not isinstance(body, dict):
            raise GraphRefusal(400, 100, "(#100) The request body must be an object")
        return GraphRequest(version, request.path_params["node"], body, header, dict(request.query_params))

    def _window_open(self, address: str, span: timedelta = WINDOW) -> bool:
        last = self._last_inbound.get(address)
        return last is not None and self.now() - last <= span

    def _whatsapp(self, body: dict[str, Any]) -> dict[str, Any]:
        to = body.get("to")
        if not isinstance(to, str) or not to:
            raise GraphRefusal(400, 100, "(#100) The parameter to is required.")
        kind = body.get("type", "text")
        _check_whatsapp_content(kind, body.get(kind))
        if kind == "template":
            self._check_template(body[kind])
        if kind != "template" and not self._window_open(to):
            raise GraphRefusal(
                400,
                131047,
                "(#131047) Re-engagement message",
                details="Message failed to send because more than 24 hours have passed since the customer "
                "last replied to this number.",
            )
        wamid = f"wamid.HBgLMTU1NTAxMDAwMDEVAgARGBI{next(self._ids):012d}AA=="
        self.accepted[wamid] = body
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        }

    def _messenger(self, body: dict[str, Any]) -> dict[str, Any]:
        recipient = body.get("recipient")
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if not isinstance(psid, str) or not psid:
            raise GraphRefusal(400, 100, "(#100) The parameter recipient is required")
        if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise GraphRefusal(
                400, 100, "(#100) Param messaging_type must be one of RESPONSE, UPDATE, MESSAGE_TAG"
            )
        _check_messenger_content(body.get("message"))
        if body["messaging_type"] != "MESSAGE_TAG" and not self._window_open(psid):
            raise GraphRefusal(
                400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278
            )
        # HUMAN_AGENT stretches the window to 7 days, and no further.
        human_agent = body["messaging_type"] == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        if human_agent and not self._window_open(psid, HUMAN_AGENT_WINDOW):
            raise GraphRefusal(
                400, 10, "(#10) This message is sent outside of allowed window.", subcode=2018278
            )
        mid = f"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_{next(self._ids):08d}"
        self.accepted[mid] = body
        return {"recipient_id": psid, "message_id": mid}


def _cursor(index: int) -> str:
    """Graph's cursors are opaque base64 strings; these encode the list position."""
    return base64.urlsafe_b64encode(f"offset:{index}".encode()).decode().rstrip("=")


def _uncursor(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        return None
    number = text.removeprefix("offset:")
    return int(number) if text.startswith("offset:") and number.isdigit() else None


def _customers_in(document: dict[str, Any]) -> list[str]:
    """Who writes in a webhook document (WhatsApp ``messages[].from``, Messenger non-echo senders).
    Tolerant: tests also deliver deliberately broken documents."""
    found: list[str] = []
    for entry in _dicts(document.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            messages = _dicts(value.get("messages")) if isinstance(value, dict) else []
            found += [str(m["from"]) for m in messages if m.get("from")]
        for event in _dicts(entry.get("messaging")):
            message, sender = event.get("message"), event.get("sender")
            if isinstance(message, dict) and message.get("is_echo"):
                continue
            wrote = isinstance(message, dict) or isinstance(event.get("postback"), dict)
            if wrote and isinstance(sender, dict) and sender.get("id"):
                found.append(str(sender["id"]))
    return found


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _check_whatsapp_content(kind: Any, content: Any) -> None:
    """The Cloud API's own validation of what we send (limits as documented by Meta)."""
    if not isinstance(content, dict):
        raise GraphRefusal(400, 100, f"(#100) Param {kind} is required for type {kind}")
    if kind == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text or len(text) > 4096:
            raise GraphRefusal(400, 100, "(#100) Param text['body'] must be 1-4096 characters")
    elif kind in ("image", "video", "audio", "document", "sticker"):
        if not content.get("link") and not content.get("id"):
            raise GraphRefusal(400, 100, f"(#100) Param {kind} must have a link or an id")
        if len(content.get("caption") or "") > 1024:
            raise GraphRefusal(400, 100, "(#100) Param caption must be at most 1024 characters")
    elif kind == "interactive":
        _check_interactive(content)
    elif kind == "location":
        _check_location(content)
    elif kind != "template":
        raise GraphRefusal(
            400, 131009, "(#131009) Parameter value is not valid", details=f"unknown type {kind}"
        )


def _check_location(content: dict[str, Any]) -> None:
    """``{"latitude", "longitude", "name"?, "address"?}``: numbers in range, optional texts."""
    for key, limit in (("latitude", 90), ("longitude", 180)):
        value = content.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
            raise GraphRefusal(
                400, 100, f"(#100) Param location['{key}'] must be a number from -{limit} to {limit}"
            )
    for key in ("name", "address"):
        if key in content and not isinstance(content[key], str):
            raise GraphRefusal(400, 100, f"(#100) Param location['{key}'] must be a string")


def _check_interactive(content: dict[str, Any]) -> None:
    action = content.get("action") or {}
    body = (content.get("body") or {}).get("text") or ""
    if content.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3 or len(body) > 1024:
            raise GraphRefusal(400, 131009, "(#131009) Parameter value is not valid", details="1-3 buttons")
        for button in buttons:
            reply = button.get("reply") or {}
            if not 1 <= len(reply.get("title") or "") <= 20 or not 1 <= len(reply.get("id") or "") <= 256:
                raise GraphRefusal(
                    400, 131009, "(#131009) Parameter value is not valid", details="button title"
                )
    elif content.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10 or not 1 <= len(action.get("button") or "") <= 20 or len(body) > 4096:
            raise GraphRefusal(400, 131009, "(#131009) Parameter value is not valid", details="list")
        if any(not 1 <= len(row.get("title") or "") <= 24 or len(row.get("id") or "") > 200 for row in rows):
            raise GraphRefusal(400, 131009, "(#131009) Parameter value is not valid", details="row title")
    else:
        raise GraphRefusal(400, 131009, "(#131009) Parameter value is not valid", details="interactive type")


def _check_messenger_content(message: Any) -> None:
    if not isinstance(message, dict) or ("text" in message) == ("attachment" in message):
        raise GraphRefusal(400, 100, "(#100) Must send either text or attachment")
    if "attachment" in message:
        _check_messenger_attachment(message["attachment"])
    if "text" in message and not 1 <= len(message.get("text") or "") <= 2000:
        raise GraphRefusal(
            400, 100, "(#100) Length of param message[text] must be less than or equal to 2000"
        )
    replies = message.get("quick_replies") or []
    if len(replies) > 13:
        raise GraphRefusal(400, 100, "(#100) param message[quick_replies] must have at most 13 elements")
    for reply in replies:
        if reply.get("content_type") == "text" and (
            not 1 <= len(reply.get("title") or "") <= 20 or not 1 <= len(reply.get("payload") or "") <= 1000
        ):
            raise GraphRefusal(400, 100, "(#100) Invalid quick reply title or payload")


def _check_messenger_attachment(attachment: Any) -> None:
    """``{"type": "image"|"video"|"audio"|"file", "payload": {"url", "is_reusable"}}`` (or a saved
    ``attachment_id``), as the Send API validates it."""
    if not isinstance(attachment, dict) or attachment.get("type") not in MESSENGER_ATTACHMENT_TYPES:
        kinds = ", ".join(MESSENGER_ATTACHMENT_TYPES)
        raise GraphRefusal(400, 100, f"(#100) param message[attachment][type] must be one of {{{kinds}}}")
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        raise GraphRefusal(400, 100, "(#100) param message[attachment][payload] must be an object")
    if attachment["type"] == "template":
        return
    url = payload.get("url")
    if payload.get("attachment_id"):
        return
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise GraphRefusal(400, 100, "(#100) param message[attachment][payload][url] must be a valid URL")
    if "is_reusable" in payload and not isinstance(payload["is_reusable"], bool):
        raise GraphRefusal(400, 100, "(#100) param message[attachment][payload][is_reusable] must be a bool")

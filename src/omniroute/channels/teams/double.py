"""A local Bot Framework for development and tests: the parts of Microsoft's services a Teams bot
talks to, speaking their real wire format.

- ``GET /v1/.well-known/openidconfiguration`` and ``GET /v1/.well-known/keys``: the OpenID metadata
  and key set (RSA keys generated here, with Bot Framework's ``endorsements`` extension).
- ``POST /botframework.com/oauth2/v2.0/token``: Entra ID's client-credentials token endpoint.
- ``POST /v3/conversations/{id}/activities[/{replyToId}]``: the Bot Connector, which checks the
  bearer token it issued and answers ``{"id": …}`` or Bot Framework's error bodies.
- ``GET /{region}/v3/attachments/{id}/views/original``: an inline image's ``contentUrl``, served
  only with a bearer token the double issued (as the real Bot Connector does).

:class:`SharePointDouble` serves files' ``downloadUrl``s (pre-authenticated by ``tempauth``).

The Bot Connector's side of the bot's messaging endpoint: ``channel_token`` signs the JWT it sends
with each activity (RS256, with the locally generated key the key set publishes),
``message_activity`` builds a personal-chat message as Teams sends it, and ``post_activity`` POSTs
one with its token. Served on 127.0.0.1 by the e2e tests and by ``omniroute demo`` (under
``/__doubles/teams``): point an account's ``openid_metadata_url`` and ``token_url`` at it, and the
activities' ``serviceUrl`` at its Bot Connector.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from omniroute.channels.webhook_poster import WebhookPoster

APP_ID = "c9e3a6f1-4d2b-4f7a-9b1e-3a5d7c9e1f20"
APP_PASSWORD = "Xq28Q~help-desk-client-secret-for-tests"  # noqa: S105 - the double's own, fixed
ISSUER = "https://api.botframework.com"
SCOPE = "https://api.botframework.com/.default"
ENDORSEMENTS = ["msteams", "webchat", "directline", "emulator"]
TENANT_ID = "5f2b8c1d-3e4a-4b6c-9d7e-1a2b3c4d5e6f"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str] | None) -> dict[str, Any]:
    jwk: dict[str, Any] = dict(RSAAlgorithm.to_jwk(key.public_key(), as_dict=True))
    jwk.update({"kid": kid, "use": "sig", "x5t": kid})
    if endorsements is not None:
        jwk["endorsements"] = endorsements
    return jwk


@dataclass
class Issued:
    token: str
    expires_at: datetime


@dataclass
class BotFrameworkDouble(WebhookPoster):
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    app_id: str = APP_ID
    app_password: str = APP_PASSWORD
    token_lifetime: int = 3599
    kid: str = "bf-key-2026-01"
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    endorsements: list[str] | None = field(default_factory=lambda: list(ENDORSEMENTS))
    #: Further published keys: kid -> (private key, endorsements).
    other_keys: dict[str, tuple[rsa.RSAPrivateKey, list[str] | None]] = field(default_factory=dict)
    #: Every accepted activity: {"conversation_id", "reply_to_id", "activity", "authorization"}.
    received: list[dict[str, Any]] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    key_fetches: int = 0
    metadata_fetches: int = 0
    refusals: int = 0  # answer this many connector calls with 503
    throttled: int = 0  # answer this many connector calls with 429
    retry_after: int = 7
    blocked_conversations: set[str] = field(default_factory=set)
    keys_down: bool = False
    next_id: int = 1767603900000
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    #: Inline images by attachment id: (MIME type, bytes); and the Authorization of each download.
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    attachment_requests: list[str | None] = field(default_factory=list)
    tenant_id: str = TENANT_ID
    next_activity_id: int = 1767603600123

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/.well-known/openidconfiguration", self.openid_configuration, methods=["GET"]),
                Route("/v1/.well-known/keys", self.keys, methods=["GET"]),
                Route("/botframework.com/oauth2/v2.0/token", self.token, methods=["POST"]),
                # Real serviceUrls carry a region prefix (https://smba.trafficmanager.net/emea/).
                *(
                    Route(
                        f"{region}/v3/conversations/{{conversation_id}}/activities{reply}",
                        self.activity,
                        methods=["POST"],
                    )
                    for region in ("", "/{region}")
                    for reply in ("", "/{activity_id}")
                ),
                Route(
                    "/{region}/v3/attachments/{attachment_id}/views/{view}",
                    self.attachment,
                    methods=["GET"],
                ),
            ]
        )

    async def attachment(self, request: Request) -> Response:
        authorization = request.headers.get("authorization")
        self.attachment_requests.append(authorization)
        valid = {i.token for i in self.issued if i.expires_at > self.now()}
        if (authorization or "").removeprefix("Bearer ") not in valid:
            return JSONResponse(
                {"message": "Authorization has been denied for this request."}, status_code=401
            )
        found = self.attachments.get(request.path_params["attachment_id"])
        if found is None:
            return _connector_error(404, "NotFound", "The attachment was not found.")
        return Response(found[1], media_type=found[0])

    # -- what the Bot Connector sends to bots ----------------------------------------------------

    def channel_token(
        self,
        service_url: str,
        *,
        audience: str | None = None,
        issuer: str = ISSUER,
        kid: str | None = None,
        signing_key: rsa.RSAPrivateKey | None = None,
        lifetime: int = 3600,
        issued_ago: int = 0,
    ) -> str:
        """A JWT as the Bot Connector attaches to each activity it posts to the bot."""
        issued_at = int(self.now().timestamp()) - issued_ago
        claims = {
            "serviceurl": service_url,
            "nbf": issued_at,
            "exp": issued_at + lifetime,
            "iss": issuer,
            "aud": audience or self.app_id,
        }
        chosen = kid or self.kid
        key = signing_key or (self.other_keys[chosen][0] if chosen in self.other_keys else self.key)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": chosen})

    def message_activity(self, service_url: str, *, user_name: str, text: str) -> dict[str, Any]:
        """A message in the user's personal chat with the bot, as the Bot Connector posts it. The
        user's ids (and so the chat's) are derived from the name: the same name, the same chat."""
        seed = hashlib.sha256(f"{self.tenant_id}:{user_name}".encode()).hexdigest()
        activity_id, self.next_activity_id = str(self.next_activity_id), self.next_activity_id + 1
        now = self.now().astimezone(UTC)
        return {
            "text": text,
            "textFormat": "plain",
            "type": "message",
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
            "id": activity_id,
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {
                "id": f"29:1{seed[:48]}",
                "name": user_name,
                "aadObjectId": f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-8{seed[17:20]}-{seed[20:32]}",
            },
            "conversation": {
                "conversationType": "personal",
                "tenantId": self.tenant_id,
                "id": f"a:1{seed[:60]}",
            },
            "recipient": {"id": f"28:{self.app_id}", "name": "Help Desk"},
            "entities": [{"locale": "en-US", "type": "clientInfo"}],
            "channelData": {"tenant": {"id": self.tenant_id}},
            "locale": "en-US",
        }

    async def post_activity(self, url: str, activity: dict[str, Any]) -> httpx.Response:
        """POST an activity to a bot's messaging endpoint with the Bot Connector's bearer token."""
        return await self.http.post(
            url,
            content=json.dumps(activity).encode(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {self.channel_token(activity['serviceUrl'])}",
            },
        )

    # -- login.botframework.com ------------------------------------------------------------------

    async def openid_configuration(self, request: Request) -> Response:
        self.metadata_fetches += 1
        # The key set is this document's sibling, wherever the double is served (also mounted
        # under a prefix, where ``request.base_url`` would name the outer app's root).
        here = str(request.url.replace(query=""))
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": here.removesuffix("openidconfiguration") + "keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def keys(self, _: Request) -> Response:
        self.key_fetches += 1
        if self.keys_down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        published = [public_jwk(self.key, self.kid, self.endorsements)]
        published += [public_jwk(k, kid, e) for kid, (k, e) in self.other_keys.items()]
        return JSONResponse({"keys": published})

    # -- login.microsoftonline.com ---------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."
            )
        if form.get("client_id") != self.app_id:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found.",
            )
        if form.get("client_secret") != self.app_password:
            return _aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if form.get("scope") != SCOPE:
            return _aad_error(
                400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid."
            )
        token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(24)
        self.issued.append(Issued(token, self.now() + timedelta(seconds=self.token_lifetime)))
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    # -- smba.trafficmanager.net (the Bot Connector) ---------------------------------------------

    async def activity(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        valid = {i.token for i in self.issued if i.expires_at > self.now()}
        if authorization.removeprefix("Bearer ") not in valid:
            return JSONResponse(
                {"message": "Authorization has been denied for this request."}, status_code=401
            )
        if self.refusals > 0:
            self.refusals -= 1
            return _connector_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        if self.throttled > 0:
            self.throttled -= 1
            response = _connector_error(429, "Throttled", "Too many requests.")
            response.headers["retry-after"] = str(self.retry_after)
            return response
        conversation_id = request.path_params["conversation_id"]
        if conversation_id in self.blocked_conversations:
            return _connector_error(
                403, "ConversationBlockedByUser", "User blocked the conversation with the bot."
            )
        body = await request.json()
        if not isinstance(body, dict) or body.get("type") != "message":
            return _connector_error(400, "BadArgument", "Unknown activity type")
        if not body.get("text") and not body.get("attachments"):
            return _connector_error(400, "BadArgument", "Activity must have text or attachments")
        self.received.append(
            {
                "conversation_id": conversation_id,
                "reply_to_id": request.path_params.get("activity_id"),
                "activity": body,
                "authorization": authorization,
            }
        )
        self.arrived.set()
        activity_id, self.next_id = str(self.next_id), self.next_id + 1
        return JSONResponse({"id": activity_id}, status_code=201)


def _aad_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "error_description": f"{description}\r\nTrace ID: 0f1e2d3c\r\nCorrelation ID: 4b5a6978\r\n",
            "error_codes": [int(description.split(":", maxsplit=1)[0].removeprefix("AADSTS"))],
            "trace_id": "0f1e2d3c-0000-4000-8000-000000000000",
            "correlation_id": "4b5a6978-0000-4000-8000-000000000000",
        },
        status_code=status,
    )


def _connector_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@dataclass
class SharePointDouble:
    """OneDrive/SharePoint as a file's ``downloadUrl`` reaches it: ``/personal/{user}/_layouts/15/
    download.aspx?UniqueId=…&tempauth=…``, answered for the right ``tempauth`` only."""

    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # id -> (tempauth, type, bytes)
    #: The Authorization header of each download (a bot token must never reach SharePoint).
    requests: list[str | None] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/personal/{user}/_layouts/15/download.aspx", self.download, methods=["GET"])]
        )

    def add(self, base: str, unique_id: str, mime_type: str, data: bytes) -> str:
        tempauth = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(12)
        self.files[unique_id] = (tempauth, mime_type, data)
        return (
            f"{base}/personal/megan_contoso_com/_layouts/15/download.aspx"
            f"?UniqueId={unique_id}&Translate=false&tempauth={tempauth}"
        )

    async def download(self, request: Request) -> Response:
        self.requests.append(request.headers.get("authorization"))
        found = self.files.get(request.query_params.get("UniqueId", ""))
        if found is None or request.query_params.get("tempauth") != found[0]:
            return JSONResponse({"error": {"code": "accessDenied"}}, status_code=401)
        return Response(found[2], media_type=found[1])

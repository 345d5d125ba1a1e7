"""A Teams bot (Azure Bot / Bot Framework registration) as a channel account: the internal help desk.

Inbound: the Bot Connector POSTs activities to the bot's messaging endpoint (the account's webhook
URL) with a JWT we verify against Microsoft's published keys. Outbound: the Bot Connector REST API at
the conversation's ``serviceUrl``, authenticated with the bot's own client-credentials token.

Customers' files: an inline image (pasted or a screenshot) has a ``contentUrl`` on the Bot
Connector (``smba.trafficmanager.net/…/v3/attachments/…`` or ``*.asm.skype.com/v1/objects/…``) that
needs the bot's bearer token; a file is a ``file.download.info`` attachment whose
``content.downloadUrl`` is a pre-authenticated SharePoint link (no token). The token goes only to
Microsoft's Bot Framework hosts (:data:`TOKEN_HOSTS`) and to the origins the account configures
(``default_service_url``, ``token_url``, ``openid_metadata_url``: the local Bot Framework of tests);
any other host is fetched without it and must pass the media SSRF guard (``channels.media``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from omniroute.channels import media
from omniroute.channels.port import (
    Attachment,
    MalformedPayload,
    Media,
    MediaFetchFailed,
    Outbound,
    PermanentSendError,
    Sent,
    TransientSendError,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext
from omniroute.channels.teams import activities, auth, connector

CHANNEL = "teams"
#: Microsoft's hosts that serve Teams attachments to bots with the bot's token (public and
#: sovereign clouds): an exact host, or a suffix starting with a dot.
TOKEN_HOSTS = (
    "smba.trafficmanager.net",
    ".botframework.com",
    ".botframework.us",
    ".botframework.azure.us",
    ".asm.skype.com",
    ".teams.microsoft.com",
)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), parts.port


def _microsoft_host(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and any(
        host == name or (name.startswith(".") and host.endswith(name)) for name in TOKEN_HOSTS
    )


class TeamsAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        settings = context.config.settings
        app_id = str(settings["app_id"])
        keys = auth.KeySet(
            context.http,
            context.clock,
            openid_metadata_url=str(settings.get("openid_metadata_url") or auth.OPENID_METADATA_URL),
            jwks_url=str(settings["jwks_url"]) if settings.get("jwks_url") else None,
        )
        self._auth = auth.ChannelAuthenticator(
            keys, context.clock, app_id=app_id, issuer=str(settings.get("issuer") or auth.ISSUER)
        )
        tokens = connector.TokenSource(
            context.http,
            context.clock,
            connector.Credentials(
                app_id=app_id,
                app_password=context.config.secrets["app_password"],
                token_url=str(settings.get("token_url") or connector.TOKEN_URL),
                scope=str(settings.get("token_scope") or connector.TOKEN_SCOPE),
            ),
        )
        self._connector = connector.Connector(context.http, tokens)
        self._tokens = tokens
        self._default_service_url = str(settings.get("default_service_url") or "") or None
        configured = (settings.get(k) for k in ("default_service_url", "token_url", "openid_metadata_url"))
        self._provider_origins = {o for u in configured if u and (o := _origin(str(u))) is not None}
        self._ctx = context

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        token = await self._auth.verify(request.headers.get("authorization"))
        if request.method != "POST":
            raise MalformedPayload("the Bot Connector delivers activities with POST")
        activity = activities.load(request.body)
        self._auth.check_activity(token, activity.get("serviceUrl"), activity.get("channelId"))
        return WebhookResult(items=activities.parse(activity))

    async def send(self, message: Outbound) -> Sent:
        route = activities.route_of(message.reply_context, message.thread_keys)
        if route is not None:
            service_url, reply_to = route.service_url, route.activity_id or None
        elif self._default_service_url:
            service_url, reply_to = self._default_service_url, None
        else:
            raise PermanentSendError(
                "no serviceUrl is known for this Teams conversation (set default_service_url to reach it)"
            )
        activity_id = await self._connector.post_activity(
            service_url, message.to_address, reply_to, connector.build_activity(message, reply_to)
        )
        # Read receipts name this id; scoped like inbound ids, since Teams ids repeat across chats.
        return Sent(activities.scoped_id(activity_id, message.to_address))

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """The file with the bot's token where Microsoft requires it (see the module docs)."""
        configured = _origin(attachment.url) in self._provider_origins
        guard = None if configured else media.HostGuard.for_settings(self._ctx.config.settings)
        if not (configured or _microsoft_host(attachment.url)):
            got = await media.download(self._ctx.http, attachment.url, max_bytes=max_bytes, guard=guard)
            return self._described(got, attachment)
        for attempt in (1, 2):
            try:
                token = await self._tokens.token()
            except (TransientSendError, PermanentSendError) as exc:
                transient = isinstance(exc, TransientSendError)
                raise MediaFetchFailed(f"no bot token: {exc}", transient=transient) from None
            try:
                got = await media.download(
                    self._ctx.http,
                    attachment.url,
                    max_bytes=max_bytes,
                    headers={"authorization": f"Bearer {token}"},
                    guard=guard,
                )
            except MediaFetchFailed as exc:
                if exc.reason == "HTTP 401" and attempt == 1:
                    self._tokens.forget()  # revoked or rotated: one more try with a new token
                    continue
                raise
            return self._described(got, attachment)
        raise MediaFetchFailed("the bot token was refused twice", transient=False)

    @staticmethod
    def _described(got: Media, attachment: Attachment) -> Media:
        content_type = got.content_type
        if content_type == "application/octet-stream" and not attachment.content_type.endswith("/*"):
            content_type = attachment.content_type
        return Media(got.data, content_type, attachment.filename)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

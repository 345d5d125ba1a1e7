"""A Teams bot (Azure Bot / Bot Framework registration) as a channel account: the internal help desk.

Inbound: the Bot Connector POSTs activities to the bot's messaging endpoint (the account's webhook
URL) with a JWT we verify against Microsoft's published keys. Outbound: the Bot Connector REST API at
the conversation's ``serviceUrl``, authenticated with the bot's own client-credentials token.
"""

from __future__ import annotations

from omniroute.channels.port import (
    MalformedPayload,
    Outbound,
    PermanentSendError,
    Sent,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext
from omniroute.channels.teams import activities, auth, connector

CHANNEL = "teams"


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
        self._default_service_url = str(settings.get("default_service_url") or "") or None

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        token = await self._auth.verify(request.headers.get("authorization"))
        if request.method != "POST":
            raise MalformedPayload("the Bot Connector delivers activities with POST")
        activity = activities.load(request.body)
        self._auth.check_activity(token, activity.get("serviceUrl"), activity.get("channelId"))
        return WebhookResult(items=activities.parse(activity))

    async def send(self, message: Outbound) -> Sent:
        route = activities.latest_route(message.thread_keys)
        if route is not None:
            service_url, reply_to = route.service_url, route.activity_id
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

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

"""The Facebook Messenger adapter: Meta's signed Page webhooks in, Send API calls out.

Read receipts (and deliveries without ``mids``) name no message, only a time: they become
:class:`ReceiptWatermark` items, which the channel service resolves against the stored outbox
(every node's sends, across restarts). Echoes of our messages become :class:`SentTimestamp`
items, so the outbox compares watermarks with Meta's own time for each message.

Customers' files arrive as ``attachments[].payload.url``: signed, expiring links on Meta's CDN
(``scontent.xx.fbcdn.net``, ``cdn.fbsbx.com``, ``lookaside.fbsbx.com``) that need no token.
``fetch_media`` downloads them without credentials; a host that is not the configured
``graph_base`` must pass the media SSRF guard (``channels.media.HostGuard``).

Webhooks name a customer only by PSID: for a PSID it has not seen, ``sender_name`` asks the User
Profile API for the name (best effort, bounded by :data:`PROFILE_TIMEOUT`, remembered per PSID);
the channel worker calls it after Meta had its answer, so the webhook stays fast. Replies pick
``RESPONSE`` or the ``HUMAN_AGENT`` tag, or fail before calling Meta, by the messaging window
(:mod:`.window`)."""

from __future__ import annotations

import logging
from posixpath import basename
from urllib.parse import unquote, urlsplit

import httpx

from omniroute.channels import media
from omniroute.channels.messenger import errors, inbound, outbound, profile, window
from omniroute.channels.meta_common import envelope, graph, handshake
from omniroute.channels.meta_common.graph import GraphAccount, GraphCallFailed, GraphError
from omniroute.channels.port import (
    Attachment,
    Inbound,
    Media,
    Outbound,
    ReceiptWatermark,
    Sent,
    SentTimestamp,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext

log = logging.getLogger(__name__)

CHANNEL = "messenger"
WEBHOOK_OBJECT = "page"
#: The profile lookup holds back this customer's message (not the webhook's answer, not other
#: customers'): a name that does not come in time is asked again on a later message.
PROFILE_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class MessengerAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        self._ctx = context
        self._graph = GraphAccount.from_config(context.config)
        self._page_id = str(context.config.settings["page_id"])
        self._verify_token = context.config.secrets["verify_token"]
        self._human_agent_tag = window.enabled(context.config.settings)
        self._profiles = profile.ProfileCache()

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            return handshake.answer(request.query, self._verify_token)
        document = envelope.verified_document(request, self._graph.app_secret, WEBHOOK_OBJECT)
        parsed = inbound.parse(document, page_id=self._page_id)
        # Echoes first: a read receipt in the same delivery then compares with Meta's times.
        items: list[Inbound] = [SentTimestamp(echo.mid, echo.at) for echo in parsed.echoes]
        items += parsed.items  # names are asked later, by the worker (sender_name)
        items += [ReceiptWatermark(mark.recipient, mark.status, mark.up_to) for mark in parsed.watermarks]
        return WebhookResult(items=items, response_body=envelope.ACKNOWLEDGEMENT)

    async def send(self, message: Outbound) -> Sent:
        # The channel service hands over when the customer last wrote and who wrote the reply: a
        # closed window fails here, before any Graph call.
        messaging = window.decide(
            message.customer_last_message_at,
            self._ctx.clock.now(),
            sender_kind=message.sender_kind,
            human_agent_tag=self._human_agent_tag,
        )
        body = outbound.build(message, messaging)
        try:
            answer = await graph.post(self._ctx.http, self._graph, (self._page_id, "messages"), body)
        except GraphCallFailed as exc:
            raise errors.to_send_error(exc.error) from exc
        return Sent(outbound.message_id(answer))

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """A plain GET of the CDN link (Meta signs the URL itself; no token goes with it)."""
        trusted = attachment.url.startswith(self._graph.base + "/")
        guard = None if trusted else media.HostGuard.for_settings(self._ctx.config.settings)
        got = await media.download(self._ctx.http, attachment.url, max_bytes=max_bytes, guard=guard)
        content_type = got.content_type
        if content_type == "application/octet-stream" and not attachment.content_type.endswith("/*"):
            content_type = attachment.content_type
        return Media(got.data, content_type, attachment.filename or _name_in(attachment.url))

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

    # -- customer names ----------------------------------------------------------------------------

    async def sender_name(self, address: str) -> str | None:
        """The customer's name: ``GET /{psid}?fields=first_name,last_name,profile_pic`` with the
        Page token, once per PSID (remembered). Never raises: a customer without a name is still a
        customer (the failure is logged). Asked by the worker, after Meta had its answer."""
        psid = address
        known, name = self._profiles.cached(psid, self._ctx.clock.now())
        if known:
            return name
        found, problem = await self._fetch_profile(psid)
        if problem:
            log.warning("Messenger profile of %s not read (%s): %s", psid, self._ctx.config.id, problem)
        name = found.name if found is not None else None
        self._profiles.remember(psid, name, self._ctx.clock.now())
        return name

    async def _fetch_profile(self, psid: str) -> tuple[profile.Profile | None, str | None]:
        """(the profile, None) or (None, why not)."""
        try:
            response = await self._ctx.http.get(
                self._graph.url(psid),
                params={"fields": profile.FIELDS, "appsecret_proof": self._graph.appsecret_proof()},
                headers={"Authorization": f"Bearer {self._graph.access_token}"},
                timeout=PROFILE_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            return None, f"Graph API unreachable: {exc!r}"
        if response.status_code >= 400:
            return None, GraphError.from_response(response).describe()
        try:
            found = profile.parse(response.json())
        except ValueError:
            found = None
        return found, None if found is not None else "the answer names nobody"


def _name_in(url: str) -> str | None:
    """Messenger names a file only in its URL (``…/t59.2708-21/invoice-4417.pdf?…``)."""
    name = unquote(basename(urlsplit(url).path))
    return name if "." in name.strip(".") and len(name) <= 200 else None

"""The Facebook Messenger adapter: Meta's signed Page webhooks in, Send API calls out.

Read receipts (and deliveries without ``mids``) name no message, only a time: they become
:class:`ReceiptWatermark` items, which the channel service resolves against the stored outbox
(every node's sends, across restarts). Echoes of our messages become :class:`SentTimestamp`
items, so the outbox compares watermarks with Meta's own time for each message.

Customers' files arrive as ``attachments[].payload.url``: signed, expiring links on Meta's CDN
(``scontent.xx.fbcdn.net``, ``cdn.fbsbx.com``, ``lookaside.fbsbx.com``) that need no token.
``fetch_media`` downloads them without credentials; a host that is not the configured
``graph_base`` must pass the media SSRF guard (``channels.media.HostGuard``)."""

from __future__ import annotations

from posixpath import basename
from urllib.parse import unquote, urlsplit

from omniroute.channels import media
from omniroute.channels.messenger import errors, inbound, outbound
from omniroute.channels.meta_common import envelope, graph, handshake
from omniroute.channels.meta_common.graph import GraphAccount, GraphCallFailed
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

CHANNEL = "messenger"
WEBHOOK_OBJECT = "page"


class MessengerAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        self._ctx = context
        self._graph = GraphAccount.from_config(context.config)
        self._page_id = str(context.config.settings["page_id"])
        self._verify_token = context.config.secrets["verify_token"]

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            return handshake.answer(request.query, self._verify_token)
        document = envelope.verified_document(request, self._graph.app_secret, WEBHOOK_OBJECT)
        parsed = inbound.parse(document, page_id=self._page_id)
        # Echoes first: a read receipt in the same delivery then compares with Meta's times.
        items: list[Inbound] = [SentTimestamp(echo.mid, echo.at) for echo in parsed.echoes]
        items += parsed.items
        items += [ReceiptWatermark(mark.recipient, mark.status, mark.up_to) for mark in parsed.watermarks]
        return WebhookResult(items=items, response_body=envelope.ACKNOWLEDGEMENT)

    async def send(self, message: Outbound) -> Sent:
        body = outbound.build(message)
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


def _name_in(url: str) -> str | None:
    """Messenger names a file only in its URL (``…/t59.2708-21/invoice-4417.pdf?…``)."""
    name = unquote(basename(urlsplit(url).path))
    return name if "." in name.strip(".") and len(name) <= 200 else None

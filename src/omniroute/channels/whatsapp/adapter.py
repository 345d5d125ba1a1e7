"""The WhatsApp Cloud API adapter: Meta's signed webhooks in, Graph API ``/messages`` calls out."""

from __future__ import annotations

from omniroute.channels.meta_common import envelope, graph, handshake
from omniroute.channels.meta_common.graph import GraphAccount, GraphCallFailed
from omniroute.channels.port import Attachment, Media, Outbound, Sent, WebhookRequest, WebhookResult
from omniroute.channels.registry import AdapterContext
from omniroute.channels.whatsapp import errors, inbound, outbound, window

CHANNEL = "whatsapp"
WEBHOOK_OBJECT = "whatsapp_business_account"


class WhatsAppAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        self._ctx = context
        self._graph = GraphAccount.from_config(context.config)
        self._phone_number_id = str(context.config.settings["phone_number_id"])
        self._verify_token = context.config.secrets["verify_token"]
        self._list_label = str(context.config.settings.get("list_button_label") or "Options")

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            return handshake.answer(request.query, self._verify_token)
        document = envelope.verified_document(request, self._graph.app_secret, WEBHOOK_OBJECT)
        items = inbound.parse(document, phone_number_id=self._phone_number_id, media_url=self._media_url)
        return WebhookResult(items=items, response_body=envelope.ACKNOWLEDGEMENT)

    def _media_url(self, media_id: str) -> str:
        # The Graph media node; fetching it (with the access token) yields a short-lived download URL.
        return self._graph.url(media_id)

    async def send(self, message: Outbound) -> Sent:
        # The channel service hands over when the customer last wrote: a closed 24-hour window
        # fails here, before any Graph call. Unknown (None): Graph's error 131047 is the check.
        window.check(message.customer_last_message_at, self._ctx.clock.now())
        body = outbound.build(message, list_button_label=self._list_label)
        try:
            answer = await graph.post(self._ctx.http, self._graph, (self._phone_number_id, "messages"), body)
        except GraphCallFailed as exc:
            raise errors.to_send_error(exc.error) from exc
        return Sent(outbound.message_id(answer))

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """The media id's Graph node, then its short-lived URL, both with the access token."""
        got = await graph.download_media(self._ctx.http, self._graph, attachment.url, max_bytes)
        return Media(got.data, got.content_type, attachment.filename)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

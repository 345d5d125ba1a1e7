"""The Facebook Messenger adapter: Meta's signed Page webhooks in, Send API calls out."""

from __future__ import annotations

from omniroute.channels.messenger import errors, inbound, outbound
from omniroute.channels.messenger.sent_log import SentLog
from omniroute.channels.meta_common import envelope, graph, handshake
from omniroute.channels.meta_common.graph import GraphAccount, GraphCallFailed
from omniroute.channels.port import Inbound, Outbound, Sent, StatusUpdate, WebhookRequest, WebhookResult
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
        self._sent = SentLog()

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            return handshake.answer(request.query, self._verify_token)
        document = envelope.verified_document(request, self._graph.app_secret, WEBHOOK_OBJECT)
        parsed = inbound.parse(document, page_id=self._page_id)
        for echo in parsed.echoes:
            self._sent.confirm(echo.mid, echo.at)
        items: list[Inbound] = list(parsed.items)
        for mark in parsed.watermarks:
            items += [
                StatusUpdate(mid, mark.status)
                for mid in self._sent.reached(mark.recipient, mark.status, mark.up_to)
            ]
        return WebhookResult(items=items, response_body=envelope.ACKNOWLEDGEMENT)

    async def send(self, message: Outbound) -> Sent:
        body = outbound.build(message)
        try:
            answer = await graph.post(self._ctx.http, self._graph, (self._page_id, "messages"), body)
        except GraphCallFailed as exc:
            raise errors.to_send_error(exc.error) from exc
        mid = outbound.message_id(answer)
        self._sent.record(message.to_address, mid, self._ctx.clock.now())
        return Sent(mid)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

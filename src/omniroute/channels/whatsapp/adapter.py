"""The WhatsApp Cloud API adapter: Meta's signed webhooks in, Graph API ``/messages`` calls out."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.channels.meta_common import envelope, graph, handshake
from omniroute.channels.meta_common.graph import GraphAccount, GraphCallFailed, GraphError
from omniroute.channels.port import Attachment, Media, Outbound, Sent, WebhookRequest, WebhookResult
from omniroute.channels.registry import AdapterContext
from omniroute.channels.whatsapp import errors, inbound, outbound, templates, window

CHANNEL = "whatsapp"
WEBHOOK_OBJECT = "whatsapp_business_account"
#: The template list is read 100 at a time, at most 60 pages (Meta allows 250 templates per
#: account by default, up to 6,000 for verified businesses).
TEMPLATE_FIELDS = "name,language,status,category,parameter_format,components"
TEMPLATE_PAGE_SIZE = 100
TEMPLATE_PAGES = 60


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
        # Templates are what WhatsApp allows outside the window, so they skip the check.
        if message.template is None:
            window.check(message.customer_last_message_at, self._ctx.clock.now())
        body = outbound.build(message, list_button_label=self._list_label)
        try:
            answer = await graph.post(self._ctx.http, self._graph, (self._phone_number_id, "messages"), body)
        except GraphCallFailed as exc:
            raise errors.to_send_error(exc.error) from exc
        return Sent(outbound.message_id(answer))

    async def message_templates(self, waba_id: str) -> list[dict[str, Any]]:
        """Every template of the WhatsApp Business Account, as Meta lists them
        (``GET /{waba-id}/message_templates``, following Graph's ``after`` cursors). Raises
        :class:`templates.TemplateListFailed` with the reason."""
        found: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(TEMPLATE_PAGES):
            params = {
                "fields": TEMPLATE_FIELDS,
                "limit": str(TEMPLATE_PAGE_SIZE),
                "appsecret_proof": self._graph.appsecret_proof(),
            }
            if after:
                params["after"] = after
            try:
                response = await self._ctx.http.get(
                    self._graph.url(waba_id, "message_templates"),
                    params=params,
                    headers={"Authorization": f"Bearer {self._graph.access_token}"},
                )
            except httpx.HTTPError as exc:
                msg = f"Graph API unreachable: {type(exc).__name__}"
                raise templates.TemplateListFailed(msg) from exc
            if response.status_code >= 400:
                error = GraphError.from_response(response)
                hint = errors.HINTS.get(error.code or -1)
                raise templates.TemplateListFailed(error.describe() + (f" — {hint}" if hint else ""))
            try:
                page = response.json()
            except ValueError:
                page = None
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                msg = "Graph answered the template list without a data array"
                raise templates.TemplateListFailed(msg)
            found += [item for item in page["data"] if isinstance(item, dict)]
            paging = _object(page.get("paging"))
            cursors = _object(paging.get("cursors"))
            # Graph gives a "next" link only when there is a next page; its cursor is all we
            # follow, so the request never goes anywhere but this account's Graph base.
            after = str(cursors.get("after") or "") if paging.get("next") else None
            if not after:
                return found
        msg = f"more than {TEMPLATE_PAGES * TEMPLATE_PAGE_SIZE} templates; not all were read"
        raise templates.TemplateListFailed(msg)

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """The media id's Graph node, then its short-lived URL, both with the access token."""
        got = await graph.download_media(self._ctx.http, self._graph, attachment.url, max_bytes)
        return Media(got.data, got.content_type, attachment.filename)

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

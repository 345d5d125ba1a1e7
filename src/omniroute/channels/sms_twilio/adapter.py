"""SMS and MMS through Twilio: one adapter instance per configured Twilio sender.

Inbound, Twilio POSTs a form to the account's webhook URL (incoming messages and the status
callbacks of ours), signed with ``X-Twilio-Signature``; we answer an empty TwiML ``<Response/>``
so Twilio sends no automatic reply. Outbound goes through the Messages REST API. See
docs/channels/sms_twilio.md.
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from omniroute.channels import media
from omniroute.channels.port import (
    Attachment,
    MalformedPayload,
    Media,
    MediaFetchFailed,
    Outbound,
    Sent,
    SignatureError,
    TransientSendError,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext
from omniroute.channels.sms_twilio import inbound, outbound
from omniroute.core import twilio_signature

CHANNEL = "sms_twilio"
DEFAULT_API_BASE = "https://api.twilio.com"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


class TwilioSmsAdapter:
    channel = CHANNEL

    def __init__(self, context: AdapterContext) -> None:
        settings = context.config.settings
        self._ctx = context
        self._account_sid = str(settings["account_sid"]).strip()
        self._auth_token = context.config.secrets["auth_token"]
        self._sender = outbound.Sender(
            from_number=str(settings.get("from_number") or "").strip() or None,
            messaging_service_sid=str(settings.get("messaging_service_sid") or "").strip() or None,
        )
        api_base = str(settings.get("api_base") or DEFAULT_API_BASE)
        self._api_base = api_base.rstrip("/")
        self._messages_url = outbound.messages_url(api_base, self._account_sid)
        # Twilio signs the URL it was told to call, which a proxy in front of us may rewrite.
        self._webhook_url = context.config.webhook_url

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method != "POST":
            raise MalformedPayload("configure the Twilio webhook with HTTP POST (the default)")
        header = request.headers.get(twilio_signature.HEADER)
        if not header:
            raise SignatureError("missing X-Twilio-Signature header", status=401)
        if request.headers.get(twilio_signature.RULE_SETTINGS_HEADER):
            raise SignatureError(
                "signed with a Twilio Webhooks Rule shared key, which this channel does not take; "
                "remove the rule so Twilio signs with the auth token",
                status=403,
            )
        url = twilio_signature.signed_url(self._webhook_url, request.url)
        problem = twilio_signature.verify(
            self._auth_token, url, inbound.form_pairs(request.body, strict=False), header
        )
        if problem:
            raise SignatureError(problem, status=403)
        items = inbound.read(inbound.form_pairs(request.body, strict=True), self._account_sid)
        return WebhookResult(items=items, response_body=EMPTY_TWIML, response_type="text/xml")

    async def send(self, message: Outbound) -> Sent:
        fields = outbound.message_form(message, self._sender, status_callback=self._webhook_url)
        try:
            response = await self._ctx.http.post(
                self._messages_url,
                content=urlencode(fields).encode(),
                auth=(self._account_sid, self._auth_token),
                headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"Twilio did not answer in time: {exc!r}") from exc
        try:
            document = response.json()
        except ValueError:
            document = None  # a proxy's HTML error page during an outage, say
        if response.is_success:
            return Sent(outbound.sent_sid(document))
        raise outbound.failure(
            response.status_code, document, response.headers.get("retry-after"), self._ctx.clock.now()
        )

    async def fetch_media(self, attachment: Attachment, max_bytes: int) -> Media:
        """``MediaUrl{N}`` with HTTP Basic auth (account SID, auth token), which Twilio requires
        when "HTTP Basic Authentication for media access" is on and ignores otherwise; Twilio
        then redirects to its CDN, which gets no credentials. The credentials only ever go to
        Twilio's API host (or the configured ``api_base``, where Twilio's URLs are rewritten to)."""
        url = attachment.url
        if url.startswith(DEFAULT_API_BASE + "/") and self._api_base != DEFAULT_API_BASE:
            url = self._api_base + url.removeprefix(DEFAULT_API_BASE)
        if not url.startswith(self._api_base + "/"):
            msg = "not a Twilio media URL"
            raise MediaFetchFailed(msg, transient=False)
        got = await media.download(
            self._ctx.http, url, max_bytes=max_bytes, auth=(self._account_sid, self._auth_token)
        )
        if got.content_type == "application/octet-stream":
            return Media(got.data, attachment.content_type)
        return got

    async def aclose(self) -> None:
        return None  # the shared HTTP client belongs to the channel service

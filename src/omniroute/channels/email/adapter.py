"""The email channel: raw messages in (signed webhook or IMAP), SMTP out.

Inbound: ``POST /webhooks/{account_id}`` with the raw RFC 5322 message (or a SendGrid/Mailgun style
form post carrying it), signed with the account's ``webhook_secret``; the IMAP poller hands the
messages it fetches to the same path. Outbound: one SMTP submission per reply. See
docs/channels/email.md.
"""

from __future__ import annotations

from omniroute.channels.email import signing
from omniroute.channels.email.composing import compose
from omniroute.channels.email.parsing import ParseOptions, parse_message, read_webhook_body
from omniroute.channels.email.settings import EmailSettings
from omniroute.channels.email.smtp import send_mail
from omniroute.channels.port import (
    MalformedPayload,
    Outbound,
    Sent,
    SignatureError,
    WebhookRequest,
    WebhookResult,
)
from omniroute.channels.registry import AdapterContext

CHANNEL = "email"
RAW_MESSAGE_TYPE = "message/rfc822"


class EmailAdapter:
    channel = CHANNEL
    #: Replies carry real MIME attachments: the channel service hands over the stored bytes.
    attachment_bytes = True

    def __init__(self, context: AdapterContext) -> None:
        self._ctx = context
        self.settings = EmailSettings.from_config(context.config)
        self._parse_options = ParseOptions(
            account_address=self.settings.address,
            token_secret=self.settings.webhook_secret,
            max_text_bytes=self.settings.max_text_bytes,
            authserv_ids=self.settings.authserv_ids,
        )

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        problem = signing.verify(
            self.settings.webhook_secret,
            request.body,
            request.headers.get(signing.HEADER),
            self._ctx.clock.now().timestamp(),
        )
        if problem:
            raise SignatureError(problem)
        if request.method != "POST":
            raise MalformedPayload("the email webhook takes POST only")
        raw = read_webhook_body(request.body, request.headers.get("content-type"))
        items = parse_message(raw, self._parse_options)
        return WebhookResult(items=items, response_body=b'{"ok":true}', response_type="application/json")

    def signed_request(self, raw: bytes) -> WebhookRequest:
        """A raw message fetched by the IMAP poller, shaped and signed like a webhook delivery, so
        it goes through exactly the same verification, parsing, storage and dedupe."""
        header = signing.signature_header(
            self.settings.webhook_secret, raw, int(self._ctx.clock.now().timestamp())
        )
        return WebhookRequest(
            method="POST",
            url=self._ctx.config.webhook_url,
            headers={signing.HEADER: header, "content-type": RAW_MESSAGE_TYPE},
            query={},
            body=raw,
        )

    async def send(self, message: Outbound) -> Sent:
        mail = compose(message, self.settings, now=self._ctx.clock.now())
        await send_mail(self.settings, mail, str(mail["To"]))
        return Sent(str(mail["Message-ID"]))

    async def aclose(self) -> None:
        return None  # every send opens and closes its own SMTP connection

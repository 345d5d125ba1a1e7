"""The demo's SMS channel (``omniroute demo`` only): a Twilio SMS account whose "Twilio" is the
local double (``channels/sms_twilio/double.py``), served by the demo server itself under
``/__doubles/twilio``, with the shared customer page (``demo_page.py``) as a phone you text the demo
from.

The round trip is the real one, without the internet: the page makes the double post a signed
incoming-message webhook (Twilio's form, ``X-Twilio-Signature``) to the account's webhook URL; the
agent's reply goes out through the account's ``api_base`` to the double's Messages API (Basic auth,
form body); opening the page again shows the reply on the "phone" and sends Twilio's "delivered"
status callback. Never mount this in production: the page is public and its credentials are fixed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from omniroute.channels.sms_twilio.double import TwilioDouble, sid
from omniroute.channels.store import AccountRow
from omniroute.core.clock import Clock
from omniroute.demo_page import DemoChannel, DemoChannelPage, Reply, load_demo_account, mount_demo_page
from omniroute.web.container import Container

DEMO_SMS_ACCOUNT = "Demo SMS (local Twilio double)"
DEMO_SMS_QUEUE = "Support"
DEMO_TWILIO_SID = sid("AC", "omniroute-demo")
DEMO_TWILIO_TOKEN = "omniroute-demo-twilio-auth-token"  # noqa: S105 - the local double's, printed
DEMO_SMS_NUMBER = "+15005550006"  # the demo's number (Twilio's test "valid number")
DEMO_CUSTOMER_NUMBER = "+15555550123"
MAX_TEXT = 1600


@dataclass
class TwilioSide:
    """The customer's phone: texts become Twilio's signed webhooks; replies are what the
    double's Messages API accepted for that number."""

    double: TwilioDouble
    delivered: set[str] = field(default_factory=set)
    _count: itertools.count[int] = field(default_factory=itertools.count)

    def routes(self) -> Sequence[BaseRoute]:
        return self.double.app().routes

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        message_sid = sid("SM", f"demo-phone:{address}:{next(self._count)}:{self.double.clock.now()}")
        form = self.double.incoming(message_sid=message_sid, sender=address, to=DEMO_SMS_NUMBER, body=text)
        return (await self.double.post_webhook(webhook_url, form)).status_code

    def replies(self) -> list[Reply]:
        return [
            Reply(
                m.sid,
                m.resource["to"],
                m.resource["body"],
                "delivered" if m.sid in self.delivered else m.resource["status"],
                parsedate_to_datetime(m.resource["date_created"]),
            )
            for m in self.double.sent
        ]

    async def received(self, webhook_url: str) -> None:
        """The phone received the replies: Twilio's "delivered" status callbacks."""
        for message in self.double.sent:
            if message.sid in self.delivered or not message.field("StatusCallback"):
                continue
            self.delivered.add(message.sid)
            await self.double.report_status(message.sid, "delivered")

    async def aclose(self) -> None:
        await self.double.aclose()


def demo_sms_settings(double_url: str) -> dict[str, Any]:
    return {"account_sid": DEMO_TWILIO_SID, "from_number": DEMO_SMS_NUMBER, "api_base": double_url}


def twilio_side(clock: Clock, _settings: Mapping[str, Any]) -> TwilioSide:
    return TwilioSide(TwilioDouble(account_sid=DEMO_TWILIO_SID, auth_token=DEMO_TWILIO_TOKEN, clock=clock))


SMS = DemoChannel(
    key="sms",
    slug="twilio",
    channel="sms_twilio",
    title="SMS (Twilio)",
    account_name=DEMO_SMS_ACCOUNT,
    queue=DEMO_SMS_QUEUE,
    secrets={"auth_token": DEMO_TWILIO_TOKEN},
    settings=demo_sms_settings,
    side=twilio_side,
    heading="Demo phone",
    intro=(
        f"Text the demo's SMS number {DEMO_SMS_NUMBER} as a customer. This page plays Twilio locally: "
        f"your text reaches Omniroute as Twilio's signed webhook, agents answer it in the workspace "
        f"({DEMO_SMS_QUEUE} queue), and their replies land here."
    ),
    address_label="Your phone number",
    default_address=DEMO_CUSTOMER_NUMBER,
    address_pattern=r"\+[1-9]\d{6,14}",
    address_hint="Use an E.164 phone number, such as +15555550123.",
    send_label="Send SMS",
    max_text=MAX_TEXT,
)
DOUBLE_PATH = SMS.path  # /__doubles/twilio

#: A customer's phone talking to the demo through the Twilio double.
DemoPhone = DemoChannelPage[TwilioDouble]


async def load_demo_sms(c: Container, base_url: str) -> AccountRow:
    """The demo's SMS account, created once (idempotent); a changed address (another port) only
    updates its ``api_base``. New texts land in the Support queue."""
    return await load_demo_account(c, SMS, base_url)


def mount_demo_phone(app: FastAPI, account_id: str) -> DemoPhone:
    """Serve the double and the phone page under ``DOUBLE_PATH`` of the demo app (CLI only)."""
    page: DemoPhone = mount_demo_page(app, SMS, account_id, {})
    return page

"""Every demo channel with a local double (``omniroute demo`` only): SMS, WhatsApp, Messenger,
Telegram, Teams, email and the custom channel API.

Each is a demo channel account, created idempotently at demo start, whose provider is the channel's
double (``channels/<name>/double.py``, the Meta one in ``meta_common``) served by the demo server
itself under ``/__doubles/<channel>``, next to the channel's customer page (``demo_page.py``). A
message written there reaches Omniroute as the provider's real signed webhook; an agent's reply goes
out through the adapter to the double, and the page shows it. ``create_app`` never mounts any of
this: the pages are public and their credentials are fixed and printed. Email's double is an SMTP
server on its own loopback port (``demo_email.py``), given to ``load_demo_channels``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

from omniroute.channels.custom.double import WEBHOOK_PATH, CustomChannelDouble
from omniroute.channels.meta_common.double import GraphDouble
from omniroute.channels.store import AccountRow
from omniroute.channels.teams.double import APP_ID, APP_PASSWORD, BotFrameworkDouble
from omniroute.channels.telegram.double import BOT_TOKEN, TelegramDouble
from omniroute.channels.webhook_poster import WebhookPoster
from omniroute.conversations.model import Location
from omniroute.core.clock import Clock
from omniroute.demo_email import EMAIL, smtp_url
from omniroute.demo_page import (
    DemoChannel,
    DemoChannelPage,
    Reply,
    load_demo_account,
    mount_demo_page,
    with_choices,
)
from omniroute.demo_sms import SMS
from omniroute.web.container import Container

GRAPH_VERSION = "v23.0"
WHATSAPP_NUMBER_ID = "105550000000001"  # the demo's WhatsApp business number (its Graph id)
WHATSAPP_DISPLAY_NUMBER = "15550000001"
MESSENGER_PAGE_ID = "105550000000002"  # the demo's Facebook Page
META_VERIFY_TOKEN = "omniroute-demo-verify-token"  # noqa: S105 - the local double's, printed
TELEGRAM_SECRET = "omniroute-demo-telegram-webhook-secret"  # noqa: S105 - the local double's
CUSTOM_INBOUND_SECRET = "omniroute-demo-custom-inbound-secret"  # noqa: S105 - the local double's
CUSTOM_OUTBOUND_SECRET = "omniroute-demo-custom-outbound-secret"  # noqa: S105 - the local double's
CUSTOMER_NAME = "Lee Okafor"  # how the demo's customers introduce themselves where a channel asks


def _meta_secrets(product: str) -> dict[str, str]:
    return {
        "app_secret": f"omniroute-demo-{product}-app-secret",
        "verify_token": META_VERIFY_TOKEN,
        "access_token": f"EAAJomniroute-demo-{product}-access-token",
    }


@dataclass
class _GraphSide(WebhookPoster):
    """What WhatsApp's and Messenger's customer apps share: the Graph API double, Meta's signed
    webhook posts, and the messages the double accepted."""

    double: GraphDouble
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self) -> Sequence[BaseRoute]:
        return self.double.app().routes

    async def _deliver(self, webhook_url: str, document: dict[str, Any]) -> int:
        return (await self.double.deliver(self.http, webhook_url, document)).status_code

    async def received(self, webhook_url: str) -> None:
        return None  # receipts stay unsent: the agent sees "sent", as with a phone that is off


@dataclass
class WhatsAppSide(_GraphSide):
    async def send(self, webhook_url: str, address: str, text: str) -> int:
        now = self.double.now()
        wamid = f"wamid.OMNIDEMO{address}{next(self._ids):06d}{int(now.timestamp())}"
        message = {"from": address, "id": wamid, "timestamp": str(int(now.timestamp())), "type": "text"}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": WHATSAPP_DISPLAY_NUMBER,
                "phone_number_id": WHATSAPP_NUMBER_ID,
            },
            "contacts": [{"profile": {"name": CUSTOMER_NAME}, "wa_id": address}],
            "messages": [{**message, "text": {"body": text}}],
        }
        change = {"value": value, "field": "messages"}
        document = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "105550000000000", "changes": [change]}],
        }
        return await self._deliver(webhook_url, document)

    def replies(self) -> list[Reply]:
        return [
            Reply(wamid, str(body.get("to")), _whatsapp_text(body))
            for wamid, body in self.double.accepted.items()
            if body.get("messaging_product") == "whatsapp"
        ]


def _whatsapp_text(body: Mapping[str, Any]) -> str:
    kind = str(body.get("type", "text"))
    raw = body.get(kind)
    content: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if kind == "text":
        return str(content.get("body", ""))
    if kind == "interactive":
        action = content.get("action") or {}
        buttons = [str((b.get("reply") or {}).get("title", "")) for b in action.get("buttons") or []]
        rows = [str(r.get("title", "")) for s in action.get("sections") or [] for r in s.get("rows") or []]
        return with_choices(str((content.get("body") or {}).get("text", "")), buttons or rows)
    if kind == "template":
        return f"[template: {content.get('name', '')}]"
    if kind == "location":
        return _place(content, content.get("name"))
    return f"[{kind}] {content.get('caption') or content.get('filename') or ''}".strip()


def _place(values: Mapping[str, Any], name: Any) -> str:
    """A shared place as a customer's app shows it (a pin with its name), or a note if unreadable."""
    found = Location.of({**values, "name": name, "address": values.get("address")})
    return found.line() if found is not None else "[location]"


@dataclass
class MessengerSide(_GraphSide):
    async def send(self, webhook_url: str, address: str, text: str) -> int:
        if address not in self.double.profiles:  # what the adapter's User Profile lookup finds
            first, _, last = CUSTOMER_NAME.partition(" ")
            self.double.add_profile(address, first, last)
        at = int(self.double.now().timestamp() * 1000)
        mid = f"m_OMNIDEMO{address}_{next(self._ids):06d}_{at}"
        event = {
            "sender": {"id": address},
            "recipient": {"id": MESSENGER_PAGE_ID},
            "timestamp": at,
            "message": {"mid": mid, "text": text},
        }
        document = {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "time": at, "messaging": [event]}]}
        return await self._deliver(webhook_url, document)

    def replies(self) -> list[Reply]:
        found = []
        for mid, body in self.double.accepted.items():
            recipient, message = body.get("recipient"), body.get("message")
            if not isinstance(recipient, dict) or not isinstance(message, dict):
                continue
            if "attachment" in message:
                text = f"[{(message.get('attachment') or {}).get('type', 'attachment')}]"
            else:
                text = str(message.get("text", ""))
            titles = [str(q.get("title", "")) for q in message.get("quick_replies") or []]
            found.append(Reply(mid, str(recipient.get("id")), with_choices(text, titles)))
        return found


@dataclass
class TelegramSide:
    double: TelegramDouble

    def routes(self) -> Sequence[BaseRoute]:
        return self.double.app.routes

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        first, _, last = CUSTOMER_NAME.partition(" ")
        update = self.double.text_update(int(address), text, first_name=first, last_name=last or None)
        return (await self.double.post_update(webhook_url, update, TELEGRAM_SECRET)).status_code

    def replies(self) -> list[Reply]:
        found = []
        for index, call in enumerate(self.double.calls):
            if call["method"] == "sendMessage":
                keyboard = call.get("reply_markup") or {}
                titles = [str(b.get("text")) for row in keyboard.get("inline_keyboard", []) for b in row]
                text = with_choices(str(call.get("text", "")), titles)
            elif call["method"] in ("sendPhoto", "sendDocument"):
                text = f"[{call['method'].removeprefix('send').lower()}] {call.get('caption') or ''}".strip()
            elif call["method"] in ("sendLocation", "sendVenue"):
                text = _place(call, call.get("title"))
            else:
                continue
            found.append(Reply(f"telegram-{index}", str(call.get("chat_id")), text))
        return found

    async def received(self, webhook_url: str) -> None:
        return None  # the Bot API has no delivery receipts for bots

    async def aclose(self) -> None:
        await self.double.aclose()


@dataclass
class TeamsSide:
    """Teams' personal chat with the bot; the page's address is the user's name, and each name is
    one chat (the double derives its ids from it)."""

    double: BotFrameworkDouble
    service_url: str
    chats: dict[str, str] = field(default_factory=dict)  # Teams conversation id -> user name

    def routes(self) -> Sequence[BaseRoute]:
        return self.double.app.routes

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        activity = self.double.message_activity(self.service_url, user_name=address, text=text)
        self.chats[activity["conversation"]["id"]] = address
        return (await self.double.post_activity(webhook_url, activity)).status_code

    def replies(self) -> list[Reply]:
        found = []
        for index, posted in enumerate(self.double.received):
            activity = posted["activity"]
            cards = [a.get("content") or {} for a in activity.get("attachments") or []]
            titles = [str(b.get("title")) for card in cards for b in card.get("buttons") or []]
            files = [str(c.get("name")) for c in activity.get("attachments") or [] if c.get("name")]
            text = with_choices(str(activity.get("text") or ""), titles)
            text = "\n".join([text, *(f"[file] {name}" for name in files)]).strip()
            to = self.chats.get(posted["conversation_id"], posted["conversation_id"])
            found.append(Reply(f"teams-{index}", to, text))
        return found

    async def received(self, webhook_url: str) -> None:
        return None  # the demo's Teams user does not send read receipts

    async def aclose(self) -> None:
        await self.double.aclose()


@dataclass
class CustomSide:
    double: CustomChannelDouble
    acknowledged: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self) -> Sequence[BaseRoute]:
        return self.double.app().routes

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        event_id = f"demo-{address}-{next(self._ids)}-{int(self.double.now().timestamp())}"
        event = self.double.message(event_id, address, text, name=CUSTOMER_NAME)
        return (await self.double.deliver(webhook_url, event)).status_code

    def replies(self) -> list[Reply]:
        """Each reply is known to Omniroute by the id the service answered with: ``ext-<n>``."""
        found = []
        for index, message in enumerate(self.double.received, start=1):
            titles = [str(q.get("title")) for q in message.get("quick_replies") or []]
            files = [f"[file] {a.get('filename') or a.get('url')}" for a in message.get("attachments") or []]
            place = (
                [_place(message["location"], message["location"].get("name"))]
                if message.get("location")
                else []
            )
            text = "\n".join([with_choices(str(message.get("text") or ""), titles), *files, *place]).strip()
            status = "delivered" if f"ext-{index}" in self.acknowledged else ""
            found.append(Reply(f"ext-{index}", str(message.get("to")), text, status))
        return found

    async def received(self, webhook_url: str) -> None:
        """The app showed the replies: the API's ``status`` events, so agents see "delivered"."""
        fresh = [r.id for r in self.replies() if r.id not in self.acknowledged]
        if not fresh:
            return
        events = [{"type": "status", "message_id": i, "status": "delivered"} for i in fresh]
        if (await self.double.deliver(webhook_url, {"events": events})).is_success:
            self.acknowledged.update(fresh)

    async def aclose(self) -> None:
        await self.double.aclose()


def _graph(product: str, clock: Clock) -> GraphDouble:
    secrets = _meta_secrets(product)
    return GraphDouble(access_token=secrets["access_token"], app_secret=secrets["app_secret"], now=clock.now)


WHATSAPP = DemoChannel(
    key="whatsapp",
    slug="whatsapp",
    channel="whatsapp",
    title="WhatsApp",
    account_name="Demo WhatsApp (local Graph API double)",
    queue="Support",
    secrets=_meta_secrets("whatsapp"),
    settings=lambda url: {
        "phone_number_id": WHATSAPP_NUMBER_ID,
        "graph_base": url,
        "api_version": GRAPH_VERSION,
    },
    side=lambda clock, _settings: WhatsAppSide(_graph("whatsapp", clock)),
    heading="Demo WhatsApp",
    intro=(
        f"Message the demo's WhatsApp number +{WHATSAPP_DISPLAY_NUMBER} as a customer. This page plays "
        "Meta's Cloud API locally: your message reaches Omniroute as Meta's signed webhook "
        "(X-Hub-Signature-256), agents answer it in the workspace (Support queue), and their replies "
        "land here."
    ),
    address_label="Your WhatsApp number (digits, country code first)",
    default_address="15555550124",
    address_pattern=r"[1-9]\d{6,14}",
    address_hint="Use your number's digits with the country code, such as 15555550124.",
    send_label="Send WhatsApp message",
    max_text=4096,
)
MESSENGER = DemoChannel(
    key="messenger",
    slug="messenger",
    channel="messenger",
    title="Messenger",
    account_name="Demo Messenger (local Graph API double)",
    queue="Sales",
    secrets=_meta_secrets("messenger"),
    settings=lambda url: {"page_id": MESSENGER_PAGE_ID, "graph_base": url, "api_version": GRAPH_VERSION},
    side=lambda clock, _settings: MessengerSide(_graph("messenger", clock)),
    heading="Demo Messenger",
    intro=(
        "Message the demo's Facebook Page as a customer. This page plays Meta's Messenger Platform "
        "locally: your message reaches Omniroute as Meta's signed webhook, agents answer it in the "
        "workspace (Sales queue), and their replies land here."
    ),
    address_label="Your page-scoped id (PSID)",
    default_address="6789012345678901",
    address_pattern=r"\d{5,20}",
    address_hint="A PSID is 5 to 20 digits, such as 6789012345678901.",
    send_label="Send message",
    max_text=2000,
)
TELEGRAM = DemoChannel(
    key="telegram",
    slug="telegram",
    channel="telegram",
    title="Telegram",
    account_name="Demo Telegram (local Bot API double)",
    queue="Sales",
    secrets={"bot_token": BOT_TOKEN, "secret_token": TELEGRAM_SECRET},
    settings=lambda url: {"api_base": url},
    side=lambda clock, _settings: TelegramSide(TelegramDouble(now=clock.now)),
    heading="Demo Telegram",
    intro=(
        "Text the demo's Telegram bot @acme_support_bot as a customer. This page plays Telegram "
        "locally: your text reaches Omniroute as a webhook Update with the bot's secret token, agents "
        "answer it in the workspace (Sales queue), and their replies land here."
    ),
    address_label="Your Telegram user id",
    default_address="5120843977",
    address_pattern=r"[1-9]\d{4,14}",
    address_hint="A Telegram user id is 5 to 15 digits, such as 5120843977.",
    send_label="Send to the bot",
    max_text=4096,
)
TEAMS = DemoChannel(
    key="teams",
    slug="teams",
    channel="teams",
    title="Teams",
    account_name="Demo Teams (local Bot Framework double)",
    queue="Support",
    secrets={"app_password": APP_PASSWORD},
    settings=lambda url: {
        "app_id": APP_ID,
        "openid_metadata_url": f"{url}/v1/.well-known/openidconfiguration",
        "token_url": f"{url}/botframework.com/oauth2/v2.0/token",
        "default_service_url": f"{url}/emea/",
    },
    side=lambda clock, settings: TeamsSide(
        BotFrameworkDouble(now=clock.now), str(settings.get("default_service_url", ""))
    ),
    heading="Demo Teams chat",
    intro=(
        "Chat with the demo's help-desk bot as a colleague in Teams. This page plays the Bot Framework "
        "locally: your message reaches Omniroute as an activity with a Bot Connector JWT (signed with "
        "a key generated here and published in its key set), agents answer it in the workspace "
        "(Support queue), and their replies land here."
    ),
    address_label="Your name in Teams",
    default_address="Megan Bowen",
    address_pattern=r"[^\x00-\x1f]{1,64}",
    address_hint="Type a name of 1 to 64 characters.",
    send_label="Send in Teams",
    max_text=4000,
)
CUSTOM = DemoChannel(
    key="custom",
    slug="custom",
    channel="custom",
    title="Custom channel API",
    account_name="Demo custom channel (local messaging service double)",
    queue="Sales",
    secrets={"inbound_secret": CUSTOM_INBOUND_SECRET, "outbound_secret": CUSTOM_OUTBOUND_SECRET},
    settings=lambda url: {"outbound_url": url + WEBHOOK_PATH},
    side=lambda clock, _settings: CustomSide(
        CustomChannelDouble(CUSTOM_INBOUND_SECRET, CUSTOM_OUTBOUND_SECRET, clock.now)
    ),
    heading="Demo messaging app",
    intro=(
        "Write to the demo from an app connected through the custom channel API. This page plays "
        "that messaging service: your message reaches Omniroute as a signed event "
        "(Omniroute-Signature), agents answer it in the workspace (Sales queue), the replies land "
        "here, and showing them sends a signed delivered status."
    ),
    address_label="Your user id in the app",
    default_address="user-42",
    address_pattern=r"[\w.@:-]{1,64}",
    address_hint="A user id is 1 to 64 letters, digits or . @ : _ -",
    send_label="Send",
)

#: Every demo channel, in the order the CLI and the demo home page list them.
DEMO_CHANNELS: tuple[DemoChannel, ...] = (SMS, WHATSAPP, MESSENGER, TELEGRAM, TEAMS, EMAIL, CUSTOM)


def demo_double_url(spec: DemoChannel, base_url: str, smtp_port: int) -> str:
    """Where ``spec``'s adapter reaches its double: under the demo server, or for email the SMTP
    server on ``smtp_port``."""
    return smtp_url(smtp_port) if spec is EMAIL else base_url.rstrip("/") + spec.path


async def load_demo_channels(c: Container, base_url: str, *, smtp_port: int) -> list[AccountRow]:
    """Every demo channel's account (idempotent), in ``DEMO_CHANNELS`` order; the email account
    sends through the SMTP server the demo will start on ``smtp_port`` (of 127.0.0.1)."""
    return [
        await load_demo_account(c, spec, base_url, demo_double_url(spec, base_url, smtp_port))
        for spec in DEMO_CHANNELS
    ]


def mount_demo_channels(app: FastAPI, accounts: Sequence[AccountRow]) -> dict[str, DemoChannelPage[Any]]:
    """Serve each demo channel's double and page (the CLI's ``demo`` only), by ``DemoChannel.key``;
    the demo home page links them (``app.state.demo_channel_pages``). Email's SMTP server runs with
    the app (its lifespan), on the port in the account's settings."""
    by_name = {(a.channel, a.name): a for a in accounts}
    mounted = [s for s in DEMO_CHANNELS if (s.channel, s.account_name) in by_name]
    links = [(spec.title, f"{spec.path}/") for spec in mounted]
    pages: dict[str, DemoChannelPage[Any]] = {}
    for spec in mounted:
        account = by_name[(spec.channel, spec.account_name)]
        pages[spec.key] = mount_demo_page(app, spec, account.id, account.settings, links)
    app.state.demo_channel_pages = links
    return pages

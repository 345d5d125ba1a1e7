"""The demo's SMS channel (``omniroute demo`` only): a Twilio SMS account whose "Twilio" is the
local double (``channels/sms_twilio/double.py``), served by the demo server itself under
``/__doubles/twilio``, with a small page where you text the demo as a customer's phone would.

The round trip is the real one, without the internet: the page makes the double post a signed
incoming-message webhook (Twilio's form, ``X-Twilio-Signature``) to the account's webhook URL; the
agent's reply goes out through the account's ``api_base`` to the double's Messages API (Basic auth,
form body); opening the page again shows the reply on the "phone" and sends Twilio's "delivered"
status callback. Never mount this in production: the page is public and its credentials are fixed.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from omniroute.channels.sms_twilio.double import TwilioDouble, sid
from omniroute.channels.store import AccountRow
from omniroute.core.clock import Clock
from omniroute.routing import store as routing_store
from omniroute.web.container import Container

DOUBLE_PATH = "/__doubles/twilio"
DEMO_SMS_ACCOUNT = "Demo SMS (local Twilio double)"
DEMO_SMS_QUEUE = "Support"
DEMO_TWILIO_SID = sid("AC", "omniroute-demo")
DEMO_TWILIO_TOKEN = "omniroute-demo-twilio-auth-token"  # noqa: S105 - the local double's, printed
DEMO_SMS_NUMBER = "+15005550006"  # the demo's number (Twilio's test "valid number")
DEMO_CUSTOMER_NUMBER = "+15555550123"
MAX_TEXT = 1600


def demo_sms_settings(base_url: str) -> dict[str, Any]:
    return {
        "account_sid": DEMO_TWILIO_SID,
        "from_number": DEMO_SMS_NUMBER,
        "api_base": base_url.rstrip("/") + DOUBLE_PATH,
    }


async def load_demo_sms(c: Container, base_url: str) -> AccountRow:
    """The demo's SMS account, created once (idempotent); a changed address (another port) only
    updates its ``api_base``. New texts land in the Support queue."""
    settings = demo_sms_settings(base_url)
    existing = next(
        (a for a in await c.channels.accounts() if a.channel == "sms_twilio" and a.name == DEMO_SMS_ACCOUNT),
        None,
    )
    if existing is None:
        async with c.db.read() as conn:
            queue = await routing_store.get_queue_by_name(conn, DEMO_SMS_QUEUE)
        return await c.channels.create_account(
            channel="sms_twilio",
            name=DEMO_SMS_ACCOUNT,
            settings=settings,
            secrets={"auth_token": DEMO_TWILIO_TOKEN},
            default_queue_id=queue.id if queue else None,
        )
    if existing.settings != settings:
        return await c.channels.update_account(existing.id, actor_id=None, settings=settings)
    return existing


@dataclass(frozen=True)
class Line:
    at: datetime
    incoming: bool  # True: the customer texted the demo; False: the demo's reply
    text: str
    status: str = ""


@dataclass
class DemoPhone:
    """A customer's phone talking to the demo through the Twilio double."""

    double: TwilioDouble
    webhook_url: str
    texted: list[Line] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    _count: itertools.count[int] = field(default_factory=itertools.count)

    def app(self) -> Starlette:
        """The double's Messages API plus the phone page (``/`` and ``POST /send``)."""
        return Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/send", self._send, methods=["POST"]),
                *self.double.app().routes,
            ]
        )

    async def text(self, sender: str, body: str) -> int:
        """Text the demo as ``sender``: Twilio's signed incoming-message webhook. Its status."""
        message_sid = sid("SM", f"demo-phone:{sender}:{next(self._count)}:{self.double.clock.now()}")
        form = self.double.incoming(message_sid=message_sid, sender=sender, to=DEMO_SMS_NUMBER, body=body)
        response = await self.double.post_webhook(self.webhook_url, form)
        if response.is_success:
            self.texted.append(Line(self.double.clock.now(), True, body))
        return response.status_code

    async def deliver_replies(self) -> None:
        """The phone received the replies: Twilio's "delivered" status callbacks."""
        for message in self.double.sent:
            if message.sid in self.delivered or not message.field("StatusCallback"):
                continue
            self.delivered.add(message.sid)
            await self.double.report_status(message.sid, "delivered")

    def thread(self, number: str) -> list[Line]:
        replies = [
            Line(
                parsedate_to_datetime(m.resource["date_created"]),
                False,
                m.resource["body"],
                "delivered" if m.sid in self.delivered else m.resource["status"],
            )
            for m in self.double.sent
            if m.resource["to"] == number
        ]
        return sorted([*self.texted, *replies], key=lambda line: (line.at, not line.incoming))

    async def _send(self, request: Request) -> Response:
        form = await request.form()
        body = str(form.get("body") or "").strip()
        sender = str(form.get("from") or DEMO_CUSTOMER_NUMBER).strip()
        if not body or len(body) > MAX_TEXT:
            return self._render(sender, f"Type a message of 1 to {MAX_TEXT} characters.", status_code=400)
        status = await self.text(sender, body)
        if status >= 400:
            return self._render(sender, f"The webhook answered {status}.", status_code=502)
        return RedirectResponse(f"./?from={quote(sender)}", status_code=303)

    async def _page(self, request: Request) -> Response:
        await self.deliver_replies()
        return self._render(request.query_params.get("from") or DEMO_CUSTOMER_NUMBER)

    def _render(self, number: str, error: str = "", *, status_code: int = 200) -> HTMLResponse:
        e = html.escape
        lines = "\n".join(
            f'<li class="{"in" if line.incoming else "out"}" data-testid="sms-line">'
            f"<span>{e(line.text)}</span>"
            f"<small>{e('you' if line.incoming else 'the demo')} · {line.at:%H:%M:%S}"
            f"{' · ' + e(line.status) if line.status else ''}</small></li>"
            for line in self.thread(number)
        )
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo phone (local Twilio double)</title>
<style>
body {{ font: 15px/1.4 system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem; }}
ol {{ list-style: none; padding: 0; display: flex; flex-direction: column; gap: .5rem; }}
li {{ max-width: 80%; padding: .5rem .75rem; border-radius: 1rem; display: flex; flex-direction: column; }}
li.in {{ align-self: flex-end; background: #0f766e; color: #fff; }}
li.out {{ align-self: flex-start; background: #e5e7eb; }}
small {{ opacity: .75; font-size: 11px; }} label {{ display: block; font-weight: 600; margin-top: .75rem; }}
input, textarea {{ width: 100%; font: inherit; padding: .4rem; }} .error {{ color: #b91c1c; }}
</style></head><body>
<main>
<h1>Demo phone</h1>
<p>Text the demo's SMS number {e(DEMO_SMS_NUMBER)} as a customer. This page plays Twilio locally:
your text reaches Omniroute as Twilio's signed webhook, agents answer it in the workspace
(Support queue), and their replies land here.
<a href="./?from={e(quote(number))}">Refresh</a> to see them.</p>
<ol aria-label="Messages" data-testid="sms-thread">{lines}</ol>
<form method="post" action="send">
<label for="from">Your phone number</label>
<input id="from" name="from" value="{e(number)}" required>
<label for="body">Message</label>
<textarea id="body" name="body" rows="3" maxlength="{MAX_TEXT}" required></textarea>
{f'<p class="error" role="alert">{e(error)}</p>' if error else ""}
<p><button type="submit">Send SMS</button></p>
</form>
</main></body></html>"""
        return HTMLResponse(page, status_code=status_code)


def demo_phone(clock: Clock, webhook_url: str) -> DemoPhone:
    double = TwilioDouble(account_sid=DEMO_TWILIO_SID, auth_token=DEMO_TWILIO_TOKEN, clock=clock)
    return DemoPhone(double=double, webhook_url=webhook_url)


def mount_demo_phone(app: FastAPI, account_id: str) -> DemoPhone:
    """Serve the double and the phone page under ``DOUBLE_PATH`` of the demo app (CLI only)."""
    container: Container = app.state.container
    phone = demo_phone(container.clock, container.channels.webhook_url(account_id))
    app.mount(DOUBLE_PATH, phone.app())
    return phone

"""The customer's side of a demo channel (``omniroute demo`` only): one page for every channel that
has a local double, where you write to the demo as that channel's customer and read the replies.

Each channel brings a :class:`DemoChannel` (how its demo account is set up and what its page says)
and a :class:`CustomerSide` (its double: the provider's API our adapter calls, and the provider's
side of the webhooks). The page itself (``web/templates/demo_channel.html``) and its routes are
shared: ``GET /`` shows the thread, ``POST /send`` makes the double post the provider's real signed
webhook to the account's webhook URL. Agents' replies reach the double through the adapter's real
outbound path (the account's API base points at the double), and the page shows what the double
received. Never mount this in production: the pages are public and their credentials are fixed.

Email's page adds a subject and "Reply" on a received message (``DemoChannel.subject_label`` and a
:class:`MailSide`); a double that listens on its own socket rather than under the demo's HTTP server
(email's SMTP server) is a :class:`Served` side, started and stopped with the demo app.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from omniroute.channels.store import AccountRow
from omniroute.core.clock import Clock
from omniroute.routing import store as routing_store
from omniroute.web.container import Container
from omniroute.web.pages import make_templates

DOUBLES_PREFIX = "/__doubles"
MAX_SUBJECT = 200
_SUBJECT = re.compile(rf"[^\x00-\x1f\x7f]{{0,{MAX_SUBJECT}}}")  # one line: it becomes a mail header
D = TypeVar("D")
D_co = TypeVar("D_co", covariant=True)


@dataclass(frozen=True)
class Reply:
    """What an agent (or bot) sent, as the channel's double received it."""

    id: str
    to: str  # the customer's address on the page (phone number, chat id, user name…)
    text: str
    status: str = ""
    at: datetime | None = None  # when the provider says it was created, if it says
    subject: str = ""  # email's; empty elsewhere


class CustomerSide(Protocol[D_co]):
    """A channel's double, seen from its customer's app."""

    @property
    def double(self) -> D_co: ...

    def routes(self) -> Sequence[BaseRoute]:
        """The provider's API the adapter calls (served next to the page)."""
        ...

    async def send(self, webhook_url: str, address: str, text: str) -> int:
        """Post the provider's signed webhook for ``address`` writing ``text``; its HTTP status."""
        ...

    def replies(self) -> list[Reply]:
        """Everything the double received for customers, oldest first."""
        ...

    async def received(self, webhook_url: str) -> None:
        """The customer's app has shown the replies: send the provider's receipts, if it has any."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class MailSide(Protocol):
    """A customer side whose messages have a subject and may answer one the customer received
    (email: the page sets ``In-Reply-To``/``References`` from it)."""

    async def send_mail(
        self, webhook_url: str, address: str, text: str, *, subject: str, reply_to: str
    ) -> int:
        """Like ``CustomerSide.send``; ``reply_to`` is the ``Reply.id`` answered, or ""."""
        ...


@runtime_checkable
class Served(Protocol):
    """A double that listens on its own socket (email's SMTP server) rather than under the demo's
    HTTP server: it must run while the demo app runs."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class DemoChannel:
    """One demo channel: its account (created idempotently at demo start) and its page's words."""

    key: str  # short name: data-testid prefix ("sms-line"), CLI listing
    slug: str  # served under /__doubles/<slug>
    channel: str  # the adapter (``channel_accounts.channel``)
    title: str
    account_name: str
    queue: str  # where its new conversations land
    secrets: Mapping[str, str]
    #: The account's settings, given the URL the double is served at.
    settings: Callable[[str], dict[str, Any]]
    #: The live double, given the clock and the account's stored settings.
    side: Callable[[Clock, Mapping[str, Any]], CustomerSide[Any]]
    heading: str
    intro: str
    address_label: str
    default_address: str
    address_pattern: str  # what a valid address looks like (a full match)
    address_hint: str  # said when it does not
    send_label: str
    max_text: int = 1600
    subject_label: str = ""  # set: the page asks for a subject and offers "Reply" (a MailSide)

    @property
    def path(self) -> str:
        return f"{DOUBLES_PREFIX}/{self.slug}"


async def load_demo_account(
    c: Container, spec: DemoChannel, base_url: str, double_url: str | None = None
) -> AccountRow:
    """The channel's demo account, created once (idempotent); a changed address (another port) only
    updates its settings, so the account's id and conversations stay. ``double_url`` is where the
    double the adapter calls is, when it is not under the demo server (email's SMTP server)."""
    settings = spec.settings(double_url or base_url.rstrip("/") + spec.path)
    existing = next(
        (a for a in await c.channels.accounts() if a.channel == spec.channel and a.name == spec.account_name),
        None,
    )
    if existing is None:
        async with c.db.read() as conn:
            queue = await routing_store.get_queue_by_name(conn, spec.queue)
        return await c.channels.create_account(
            channel=spec.channel,
            name=spec.account_name,
            settings=settings,
            secrets=dict(spec.secrets),
            default_queue_id=queue.id if queue else None,
        )
    if existing.settings != settings:
        return await c.channels.update_account(existing.id, actor_id=None, settings=settings)
    return existing


@dataclass(frozen=True)
class Line:
    at: datetime
    incoming: bool  # True: the customer wrote to the demo; False: the demo's reply
    text: str
    status: str = ""
    subject: str = ""
    reply_id: str = ""  # a reply's ``Reply.id`` (what "Reply" answers)


@dataclass
class _Logged:
    address: str
    line: Line
    reply_id: str = ""


@lru_cache(maxsize=1)
def _templates() -> Jinja2Templates:
    return make_templates()  # the web layer's environment (autoescape on)


@dataclass
class DemoChannelPage(Generic[D]):
    """A customer's phone or app talking to the demo through ``side``'s double."""

    spec: DemoChannel
    side: CustomerSide[D]
    webhook_url: str
    clock: Clock
    #: (title, URL) of every demo channel page, for the links between them.
    links: Sequence[tuple[str, str]] = ()
    _log: list[_Logged] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    @property
    def double(self) -> D:
        return self.side.double

    def app(self) -> Starlette:
        """The double's API plus the page (``/`` and ``POST /send``)."""
        return Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/send", self._send, methods=["POST"]),
                *self.side.routes(),
            ]
        )

    async def text(self, address: str, body: str, *, subject: str = "", reply_to: str = "") -> int:
        """Write to the demo as ``address``: the provider's signed webhook. Its HTTP status.
        ``subject`` and ``reply_to`` (a ``Reply.id``) count for a channel with subjects only."""
        self._sync()  # replies that came before this message are shown before it
        if self.spec.subject_label and isinstance(self.side, MailSide):
            status = await self.side.send_mail(
                self.webhook_url, address, body, subject=subject, reply_to=reply_to
            )
        else:
            status = await self.side.send(self.webhook_url, address, body)
            subject = ""
        if status < 400:
            self._log.append(_Logged(address, Line(self.clock.now(), True, body, subject=subject)))
        return status

    def thread(self, address: str) -> list[Line]:
        statuses = {r.id: r.status for r in self._sync()}
        return [
            Line(
                e.line.at,
                e.line.incoming,
                e.line.text,
                statuses.get(e.reply_id, e.line.status),
                e.line.subject,
                e.reply_id,
            )
            for e in self._log
            if e.address == address
        ]

    def reply_for(self, address: str, reply_id: str) -> Reply | None:
        """A reply ``address`` received, by its id (what the customer may answer)."""
        return next((r for r in self._sync() if r.id == reply_id and r.to == address), None)

    def _sync(self) -> list[Reply]:
        """Log the replies the double received since the last look, in the order it got them."""
        replies = self.side.replies()
        for reply in replies:
            if reply.id not in self._seen:
                self._seen.add(reply.id)
                line = Line(reply.at or self.clock.now(), False, reply.text, reply.status, reply.subject)
                self._log.append(_Logged(reply.to, line, reply.id))
        return replies

    async def _send(self, request: Request) -> Response:
        form = await request.form()
        body = str(form.get("body") or "").strip()
        address = str(form.get("from") or self.spec.default_address).strip()
        subject = str(form.get("subject") or "").strip()
        reply_to = str(form.get("reply_to") or "")
        draft = {"subject": subject, "reply_to": reply_to}
        if not re.fullmatch(self.spec.address_pattern, address):
            return self._render(request, address, self.spec.address_hint, status_code=400, **draft)
        if not body or len(body) > self.spec.max_text:
            error = f"Type a message of 1 to {self.spec.max_text} characters."
            return self._render(request, address, error, status_code=400, **draft)
        if self.spec.subject_label:
            if not _SUBJECT.fullmatch(subject):
                error = f"A subject is one line of at most {MAX_SUBJECT} characters."
                return self._render(request, address, error, status_code=400, **draft)
            if reply_to and self.reply_for(address, reply_to) is None:
                error = "You can only reply to a message this address received."
                return self._render(request, address, error, status_code=400, subject=subject)
        try:
            status = await self.text(address, body, subject=subject, reply_to=reply_to)
        except httpx.HTTPError as exc:
            error = f"The webhook could not be reached: {exc!r}"
            return self._render(request, address, error, status_code=502, **draft)
        if status >= 400:
            return self._render(request, address, f"The webhook answered {status}.", status_code=502, **draft)
        return RedirectResponse(f"./?from={quote(address, safe='')}", status_code=303)

    async def _page(self, request: Request) -> Response:
        # Receipts are best effort (the provider's are too): the thread shows regardless.
        with contextlib.suppress(httpx.HTTPError):
            await self.side.received(self.webhook_url)
        address = request.query_params.get("from") or self.spec.default_address
        answering = request.query_params.get("reply", "")
        if not (self.spec.subject_label and answering):
            return self._render(request, address)
        reply = self.reply_for(address, answering)
        if reply is None:
            error = "That message is not in this address's mailbox."
            return self._render(request, address, error, status_code=404)
        return self._render(request, address, subject=_reply_subject(reply.subject), reply_to=reply.id)

    def _render(
        self,
        request: Request,
        address: str,
        error: str = "",
        *,
        status_code: int = 200,
        subject: str = "",
        reply_to: str = "",
    ) -> Response:
        refresh = f"./?from={quote(address, safe='')}"
        context = {
            "spec": self.spec,
            "address": address,
            "refresh": refresh,
            "reply_link": f"{refresh}&reply=",  # + the quoted Reply.id
            "lines": self.thread(address),
            "error": error,
            "links": self.links,
            "subject": subject,
            "reply_to": reply_to,
        }
        return _templates().TemplateResponse(request, "demo_channel.html", context, status_code=status_code)


def _reply_subject(subject: str) -> str:
    """What a mail client puts in a reply's subject: one "Re:" in front (never a second)."""
    return subject if re.match(r"\s*re\s*:", subject, re.IGNORECASE) else f"Re: {subject}".strip()


def mount_demo_page(
    app: FastAPI,
    spec: DemoChannel,
    account_id: str,
    settings: Mapping[str, Any],
    links: Sequence[tuple[str, str]] = (),
) -> DemoChannelPage[Any]:
    """Serve the channel's double and its customer page under ``spec.path`` of the demo app (the
    CLI's ``demo`` only; ``create_app`` never does)."""
    container: Container = app.state.container
    side = spec.side(container.clock, settings)
    page: DemoChannelPage[Any] = DemoChannelPage(
        spec, side, container.channels.webhook_url(account_id), container.clock, links
    )
    app.mount(spec.path, page.app())
    if isinstance(side, Served):
        _serve_with_app(app, side)
    return page


def _serve_with_app(app: FastAPI, served: Served) -> None:
    """Run ``served`` for as long as the app: started before the app's own start-up and stopped
    after its shutdown, so the channel worker never sends to a double that is not there yet (or
    any more). Mounted apps get no lifespan of their own, hence the wrap around the app's."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(running: Any) -> AsyncIterator[Any]:
        await served.start()
        try:
            async with inner(running) as state:
                yield state
        finally:
            await served.aclose()

    app.router.lifespan_context = lifespan


def with_choices(text: str, choices: Sequence[str]) -> str:
    """A reply's text with the buttons it offers, as a customer's app would show them."""
    return f"{text}\n[{' | '.join(choices)}]" if choices else text

"""IMAP intake: fetch unseen mail and feed it through the channel pipeline.

The framework's public intake is :meth:`ChannelService.receive`, which takes a webhook request. Rather
than reach into the receipt store, a fetched message is turned into a signed webhook request for its
own account (:meth:`EmailAdapter.signed_request`) and received like any delivery: same signature
check, same parsing, same receipt log and dedupe, same wake-up of the worker.

A message is flagged ``\\Seen`` only after ``receive`` returned, so nothing fetched is lost; one that
can never be parsed is flagged too (and logged) so it does not come back every poll — it stays in the
mailbox for a person to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from omniroute.channels.email.adapter import CHANNEL, EmailAdapter
from omniroute.channels.email.mailbox import ImapError, ImapMailbox
from omniroute.channels.port import WebhookResult
from omniroute.core.errors import NotFound

if TYPE_CHECKING:
    from omniroute.channels.service import ChannelService

log = logging.getLogger(__name__)

#: At most this many messages per poll, so one huge backlog does not hold a session open for long.
BATCH = 50
#: How often the supervisor looks for email accounts added or enabled since it started.
ACCOUNT_RESCAN = timedelta(minutes=1)


@dataclass(frozen=True)
class PollReport:
    fetched: int = 0
    stored: int = 0  # accepted by the pipeline (new or a duplicate it already had)
    refused: int = 0  # could not be parsed; flagged seen and logged


async def ingest_raw(service: ChannelService, account_id: str, raw: bytes) -> WebhookResult:
    """Receive one raw message for an email account, exactly as if it had arrived by webhook."""
    _, adapter = await service.adapter(account_id)
    if not isinstance(adapter, EmailAdapter):
        msg = f"account {account_id} is not an email account"
        raise TypeError(msg)
    return await service.receive(account_id, adapter.signed_request(raw))


class ImapPoller:
    def __init__(self, service: ChannelService, account_id: str) -> None:
        self._service = service
        self._account_id = account_id

    async def poll_once(self) -> PollReport:
        from omniroute.channels.service import WebhookRejected  # noqa: PLC0415 - the service imports slices

        _, adapter = await self._service.adapter(self._account_id)
        if not isinstance(adapter, EmailAdapter) or adapter.settings.imap_host is None:
            return PollReport()
        mailbox = ImapMailbox(adapter.settings)
        await asyncio.to_thread(mailbox.open)
        fetched = stored = refused = 0
        try:
            for uid in (await asyncio.to_thread(mailbox.unseen))[:BATCH]:
                raw = await asyncio.to_thread(mailbox.fetch, uid)
                if raw is None:
                    continue
                fetched += 1
                try:
                    await ingest_raw(self._service, self._account_id, raw)
                    stored += 1
                except WebhookRejected as exc:
                    log.warning("email account %s: IMAP message %s refused: %s", self._account_id, uid, exc)
                    refused += 1
                # Anything else (the database is down) propagates: the message stays unseen.
                await asyncio.to_thread(mailbox.mark_seen, uid)
        finally:
            await asyncio.to_thread(mailbox.close)
        return PollReport(fetched, stored, refused)

    async def run(self) -> None:
        """Poll until cancelled or the account goes away, every ``poll_seconds`` of the service clock."""
        clock = self._service.clock
        while True:
            interval = 60.0
            try:
                _, adapter = await self._service.adapter(self._account_id)
                if isinstance(adapter, EmailAdapter):
                    interval = adapter.settings.poll_seconds
                await self.poll_once()
            except NotFound:
                log.info("email account %s is gone or disabled; IMAP polling stops", self._account_id)
                return
            except ImapError as exc:
                log.warning("email account %s: %s", self._account_id, exc)
            except Exception:
                log.exception("email account %s: IMAP poll failed", self._account_id)
            await clock.sleep_until(clock.now() + timedelta(seconds=interval), asyncio.Event())


async def run_imap_pollers(service: ChannelService) -> None:
    """Run one :class:`ImapPoller` per enabled email account with an ``imap_host``, until cancelled.

    Meant to be started once by the application (next to the channel worker).
    """
    pollers: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            for account in await service.accounts():
                wanted = account.channel == CHANNEL and account.enabled and account.settings.get("imap_host")
                running = pollers.get(account.id)
                if wanted and (running is None or running.done()):
                    pollers[account.id] = asyncio.create_task(
                        ImapPoller(service, account.id).run(), name=f"imap-{account.id}"
                    )
            await service.clock.sleep_until(service.clock.now() + ACCOUNT_RESCAN, asyncio.Event())
    finally:
        for task in pollers.values():
            task.cancel()
        for task in pollers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

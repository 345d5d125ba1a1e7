"""Template messages for WhatsApp accounts: the account's list (kept in its settings, synced from
Meta) and sending one in a conversation, as an agent message whose text is the rendered template.

Sending stores the message like any agent reply (sequence number, ``MessagePosted``, the outbox row
the channel service writes in the same transaction) and marks that outbox row with the template
reference before the transaction commits, so the channel worker never sees it without it; the
adapter then sends ``type: template`` and skips the 24-hour check (templates are what WhatsApp
accepts outside the window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omniroute.channels import store
from omniroute.channels.service import ChannelService
from omniroute.channels.store import AccountRow
from omniroute.channels.whatsapp import templates
from omniroute.channels.whatsapp.adapter import CHANNEL, WhatsAppAdapter
from omniroute.channels.whatsapp.templates import Skipped, Template, TemplateRefused, Window
from omniroute.conversations.model import Conversation, SenderKind
from omniroute.conversations.store import Message
from omniroute.core.errors import Conflict, DomainError, InvalidInput, NotFound


class TemplateSyncFailed(DomainError):
    """Meta's template list could not be read: the upstream's reason, as a bad gateway."""

    status = 502


@dataclass(frozen=True)
class ConversationTemplates:
    window: Window
    templates: list[Template]


@dataclass(frozen=True)
class SyncResult:
    kept: list[Template]
    skipped: list[Skipped]


class WhatsAppTemplates:
    """A thin application service over the channel service (no state of its own)."""

    def __init__(self, channels: ChannelService) -> None:
        self.channels = channels

    # -- the account's list (administrators) ------------------------------------------------------

    async def _account(self, account_id: str) -> AccountRow:
        async with self.channels.db.read() as conn:
            account = await store.get_account(conn, account_id)
        if account is None:
            raise NotFound("unknown channel account")
        if account.channel != CHANNEL:
            msg = f"templates belong to WhatsApp accounts; this one is {account.channel}"
            raise Conflict(msg)
        return account

    async def account_templates(self, account_id: str) -> list[Template]:
        return templates.of_settings((await self._account(account_id)).settings)

    async def save(self, account_id: str, values: list[object], actor_id: str | None) -> list[Template]:
        """Replace the account's templates (validated like the account's settings)."""
        account = await self._account(account_id)
        try:
            parsed = templates.parse_all(values)
        except TemplateRefused as exc:
            raise InvalidInput(exc.reason) from exc
        settings = account.settings | {templates.SETTING: [t.as_setting() for t in parsed]}
        await self.channels.update_account(account_id, actor_id=actor_id, settings=settings)
        return parsed

    async def sync(self, account_id: str, actor_id: str | None) -> SyncResult:
        """Read the WhatsApp Business Account's templates from Meta and keep the approved ones
        Omniroute can send; they replace the account's list (Meta is the source of truth: a
        template Meta does not know would only fail with error 132001)."""
        account = await self._account(account_id)
        if not account.enabled:
            raise Conflict("the account is disabled; enable it to sync its templates")
        waba_id = str(account.settings.get(templates.WABA_SETTING) or "")
        if not waba_id:
            msg = "set the account's waba_id (WhatsApp Business Account ID) to sync its templates"
            raise InvalidInput(msg)
        _, adapter = await self.channels.adapter(account_id)
        if not isinstance(adapter, WhatsAppAdapter):
            raise Conflict("this account's adapter cannot list templates")
        try:
            listed = await adapter.message_templates(waba_id)
        except templates.TemplateListFailed as exc:
            msg = f"Meta's template list could not be read: {exc.reason}"
            raise TemplateSyncFailed(msg) from exc
        kept: list[Template] = []
        skipped: list[Skipped] = []
        seen: set[tuple[str, str]] = set()
        for item in listed:
            found = templates.from_graph(item)
            if isinstance(found, Skipped):
                skipped.append(found)
            elif found.key not in seen and len(kept) < templates.MAX_TEMPLATES:
                seen.add(found.key)
                kept.append(found)
        # The fresh copy of the settings: only the list changes.
        account = await self._account(account_id)
        settings = account.settings | {templates.SETTING: [t.as_setting() for t in kept]}
        await self.channels.update_account(account_id, actor_id=actor_id, settings=settings)
        return SyncResult(kept, skipped)

    # -- in a conversation (agents) ---------------------------------------------------------------

    def _whatsapp(self, conv: Conversation) -> str:
        if conv.channel != CHANNEL or conv.channel_account_id is None:
            msg = "templates are for WhatsApp conversations; this one is not"
            raise Conflict(msg)
        return conv.channel_account_id

    async def for_conversation(self, conv: Conversation) -> ConversationTemplates:
        account_id = self._whatsapp(conv)
        async with self.channels.db.read() as conn:
            account = await store.get_account(conn, account_id)
        listed = templates.of_settings(account.settings) if account is not None else []
        last = await self.channels.conversations.last_customer_message_at(conv.id)
        return ConversationTemplates(templates.window_at(last, self.channels.clock.now()), listed)

    async def send(
        self,
        conversation_id: str,
        *,
        agent_id: str,
        agent_name: str,
        name: str,
        language: str,
        parameters: Sequence[str],
        idempotency_key: str | None,
    ) -> tuple[Message, bool]:
        """Store the rendered template as the agent's message and queue the template itself.
        Returns (message, created); a retry with the same key returns the stored message."""
        conversations = self.channels.conversations
        async with self.channels.publisher.unit_of_work() as uow:
            conv = await conversations.load(uow, conversation_id)
            account_id = self._whatsapp(conv)
            account = await store.get_account(uow.conn, account_id)
            if account is None:
                raise Conflict("the conversation's WhatsApp account no longer exists")
            try:
                template = templates.find(templates.of_settings(account.settings), name, language)
                values = templates.check_parameters(template, parameters)
            except TemplateRefused as exc:
                raise InvalidInput(exc.reason) from exc
            message, created = await conversations.append(
                uow,
                conv,
                sender_kind=SenderKind.AGENT,
                sender_id=agent_id,
                sender_name=agent_name,
                text=templates.render(template, values),
                idempotency_key=idempotency_key,
            )
            if created:
                row = await store.outbox_for_message(uow.conn, message.id)
                if row is None:  # the outbox hook is not wired: nothing would reach WhatsApp
                    raise Conflict("this conversation's messages are not sent to a channel")
                payload = row.payload | {"template": templates.reference(template, values)}
                await store.update_outbox(uow.conn, row.id, uow.clock.now(), payload=payload)
        return message, created

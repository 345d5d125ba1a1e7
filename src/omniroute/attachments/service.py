"""Attachment commands: store an upload (checked, sniffed, deduplicated), link files to a message,
serve them, and sign public links. Who may call what is decided by the web layer's conversation
access rules; this service enforces the rules about the files themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from omniroute.attachments import links, model, store
from omniroute.attachments.events import AttachmentUploaded
from omniroute.attachments.model import Attachment, Limits, UploaderKind
from omniroute.conversations.model import LIVE_STATES, Conversation, MessageAttachment, SenderKind
from omniroute.conversations.service import ConversationService
from omniroute.core.clock import Clock
from omniroute.core.db import Database
from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from omniroute.core.ids import new_id
from omniroute.core.uow import Publisher, UnitOfWork

#: Which stored files each kind of sender may put in a message.
SENDABLE: dict[SenderKind, frozenset[UploaderKind]] = {
    SenderKind.AGENT: frozenset({UploaderKind.AGENT}),
    SenderKind.BOT: frozenset({UploaderKind.AGENT}),
    SenderKind.CUSTOMER: frozenset({UploaderKind.CUSTOMER, UploaderKind.CHANNEL}),
    SenderKind.SYSTEM: frozenset(),
}


@dataclass(frozen=True)
class Upload:
    attachment: Attachment
    created: bool  # False: the same file was already stored and is reused


class AttachmentService:
    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        conversations: ConversationService,
        limits: Limits,
        secret_key: str,
        public_url: str,
        link_ttl: timedelta,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.clock = clock
        self.conversations = conversations
        self.limits = limits
        self._key = links.link_key(secret_key)
        self.public_url = public_url.rstrip("/")
        self.link_ttl = link_ttl

    async def upload(
        self,
        conv: Conversation,
        data: bytes,
        filename: str,
        kind: UploaderKind,
        uploader_id: str | None,
        limits: Limits | None = None,
    ) -> Upload:
        """Store a file in a live conversation. The same bytes under the same name from the same
        side are stored once: a retried upload gets the first attachment back."""
        checked = model.check_upload(data, filename, limits or self.limits)
        if kind is not UploaderKind.CHANNEL and conv.state not in LIVE_STATES:
            raise Conflict("the conversation has ended")
        async with self.publisher.unit_of_work() as uow:
            return await self._store(uow, conv, data, checked, kind, uploader_id)

    async def upload_in(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        data: bytes,
        filename: str,
        kind: UploaderKind,
        uploader_id: str | None,
    ) -> Upload:
        """:meth:`upload` inside the caller's transaction (a channel storing a customer's media
        with the message that carries it: both commit, or neither). Raises 413, 415 or 422."""
        checked = model.check_upload(data, filename, self.limits)
        return await self._store(uow, conv, data, checked, kind, uploader_id)

    async def _store(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        data: bytes,
        checked: model.Checked,
        kind: UploaderKind,
        uploader_id: str | None,
    ) -> Upload:
        same = await store.find_same(uow.conn, conv.id, checked.sha256, checked.filename, kind)
        if same is not None:
            return Upload(same, created=False)
        att = Attachment(
            id=new_id(),
            conversation_id=conv.id,
            sha256=checked.sha256,
            size=checked.size,
            content_type=checked.content_type,
            filename=checked.filename,
            uploaded_by_kind=kind,
            uploaded_by_id=uploader_id,
            created_at=uow.clock.now(),
        )
        await store.insert(uow.conn, att, data)
        uow.emit(
            AttachmentUploaded(
                occurred_at=att.created_at,
                conversation_id=conv.id,
                attachment_id=att.id,
                sha256=att.sha256,
                size=att.size,
                content_type=att.content_type,
                filename=att.filename,
                uploaded_by_kind=kind.value,
                uploaded_by_id=uploader_id,
            )
        )
        return Upload(att, created=True)

    async def attach(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        sender_kind: SenderKind,
        attachment_ids: Sequence[str],
        message_id: str,
    ) -> list[MessageAttachment]:
        """The conversation slice's AttachmentLinker: files of this conversation the sender's
        side uploaded, linked to the message in its transaction (422 for anything else)."""
        ids = list(attachment_ids)
        found = await store.get_many(uow.conn, ids)
        allowed = SENDABLE.get(sender_kind, frozenset())
        for attachment_id in ids:
            att = found.get(attachment_id)
            if att is None or att.conversation_id != conv.id or att.uploaded_by_kind not in allowed:
                msg = f"unknown attachment {attachment_id} (upload it to this conversation first)"
                raise InvalidInput(msg)
        await store.mark_sent(uow.conn, ids, message_id)
        return [as_message_attachment(found[i]) for i in ids]

    async def get(self, attachment_id: str) -> Attachment:
        async with self.db.read() as conn:
            att = await store.get(conn, attachment_id)
        if att is None:
            msg = f"no attachment {attachment_id}"
            raise NotFound(msg)
        return att

    async def in_conversation(self, conversation_id: str, attachment_id: str) -> Attachment:
        """The attachment, if it belongs to this conversation (404 otherwise: ids are not probed)."""
        att = await self.get(attachment_id)
        if att.conversation_id != conversation_id:
            msg = f"no attachment {attachment_id}"
            raise NotFound(msg)
        return att

    async def for_customer(self, conversation_id: str, attachment_id: str) -> Attachment:
        """Customers see their own uploads and files sent to them, never an agent's unsent draft."""
        att = await self.in_conversation(conversation_id, attachment_id)
        if att.uploaded_by_kind is not UploaderKind.CUSTOMER and att.message_id is None:
            msg = f"no attachment {attachment_id}"
            raise NotFound(msg)
        return att

    async def content(self, attachment_id: str) -> bytes:
        async with self.db.read() as conn:
            data = await store.content(conn, attachment_id)
        if data is None:
            msg = f"no attachment {attachment_id}"
            raise NotFound(msg)
        return data

    async def list(self, conversation_id: str) -> list[Attachment]:
        async with self.db.read() as conn:
            return await store.list_for_conversation(conn, conversation_id)

    # -- signed public links ---------------------------------------------------------------------

    def signed_url(self, attachment_id: str, ttl: timedelta | None = None) -> str:
        expires = int((self.clock.now() + (ttl or self.link_ttl)).timestamp())
        return self.public_url + links.signed_path(self._key, attachment_id, expires)

    async def by_signed_link(self, attachment_id: str, expires: int, signature: str) -> Attachment:
        if not links.verify(self._key, attachment_id, expires, signature, self.clock.now()):
            raise Forbidden("this link is invalid or has expired")
        return await self.get(attachment_id)


def as_message_attachment(att: Attachment) -> MessageAttachment:
    return MessageAttachment(filename=att.filename, content_type=att.content_type, size=att.size, id=att.id)

"""Attachment routes: upload and download for agents and customers, and the signed public link.

Uploads are ``multipart/form-data`` with one ``file`` part; the upload answers with the stored
file's id, which a message then names in ``attachment_ids``. Downloads are served with
``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy: sandbox``, inline only for safe
image types (a preview) and as a download for everything else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from omniroute.attachments.model import Attachment, Limits, UploaderKind, content_disposition
from omniroute.core.errors import Forbidden, InvalidInput, PayloadTooLarge
from omniroute.web.api_agent import holding, visible
from omniroute.web.api_webchat import CustomerConversationId, WidgetDep
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep

#: Room for the multipart envelope around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


async def close_form(request: Request) -> AsyncIterator[None]:
    """Whoever parsed the multipart body (the CSRF check may, before the route), its spooled
    file is closed when the request ends, whatever the outcome."""
    try:
        yield
    finally:
        await request.close()


agent = APIRouter(
    prefix="/api/v1/conversations/{conversation_id}/attachments",
    tags=["attachments"],
    dependencies=[Depends(close_form)],
)
customer = APIRouter(
    prefix="/api/webchat/v1/widgets/{public_key}/conversation/attachments",
    tags=["webchat"],
    dependencies=[Depends(close_form)],
)
public = APIRouter(tags=["attachments"])

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


class AttachmentOut(BaseModel):
    id: str
    conversation_id: str
    filename: str = Field(description="sanitised")
    content_type: str = Field(description="sniffed from the bytes, not taken from the client")
    size: int
    sha256: str
    uploaded_by: str = Field(description="agent, customer or channel")
    created_at: datetime

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(
            id=a.id,
            conversation_id=a.conversation_id,
            filename=a.filename,
            content_type=a.content_type,
            size=a.size,
            sha256=a.sha256,
            uploaded_by=a.uploaded_by_kind.value,
            created_at=a.created_at,
        )


async def read_upload(request: Request, limits: Limits) -> tuple[bytes, str]:
    """The one file of a multipart upload; oversize bodies are refused before they are parsed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_bytes + MULTIPART_OVERHEAD:
        msg = f"the file is larger than the {limits.max_bytes} bytes limit"
        raise PayloadTooLarge(msg)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send the file as multipart/form-data in a part named 'file'")
    form = await request.form(max_files=1, max_fields=5)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise InvalidInput("send the file in a multipart part named 'file'")
    data = await part.read(limits.max_bytes + 1)
    return data, part.filename or "file"


def serve(att: Attachment, data: bytes) -> Response:
    media_type = att.content_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"  # sniffing accepted only UTF-8 text
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(att),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=300",
        },
    )


# -- agents ----------------------------------------------------------------------------------------


@agent.post("", response_model=AttachmentOut, status_code=201, openapi_extra=UPLOAD_BODY)
async def agent_upload(
    conversation_id: str, request: Request, response: Response, c: ContainerDep, who: AgentWrite
) -> AttachmentOut:
    """Store a file to send (then post a message naming its id). Same rule as replying: the agent
    holding the conversation, or a supervisor. 413 too big, 415 blocked type, 422 empty."""
    conv = await holding(c, who, conversation_id)
    data, filename = await read_upload(request, c.attachments.limits)
    up = await c.attachments.upload(conv, data, filename, UploaderKind.AGENT, who.user.id)
    if not up.created:
        response.status_code = 200
    return AttachmentOut.of(up.attachment)


@agent.get("", response_model=list[AttachmentOut])
async def agent_list(conversation_id: str, c: ContainerDep, who: AgentRead) -> list[AttachmentOut]:
    await visible(c, who, conversation_id)
    return [AttachmentOut.of(a) for a in await c.attachments.list(conversation_id)]


@agent.get("/{attachment_id}", response_class=Response)
async def agent_download(
    conversation_id: str, attachment_id: str, c: ContainerDep, who: AgentRead
) -> Response:
    """The file; images png/jpeg/gif/webp inline (previews), everything else as a download."""
    await visible(c, who, conversation_id)
    att = await c.attachments.in_conversation(conversation_id, attachment_id)
    return serve(att, await c.attachments.content(att.id))


# -- customers (the widget) ----------------------------------------------------------------------------


def widget_limits(c: ContainerDep, widget: WidgetDep) -> Limits:
    settings = widget.settings.attachments
    if not settings.enabled:
        raise Forbidden("this chat does not accept files")
    return c.attachments.limits.narrowed(settings.max_bytes)


@customer.post("", response_model=AttachmentOut, status_code=201, openapi_extra=UPLOAD_BODY)
async def customer_upload(
    request: Request,
    response: Response,
    conversation_id: CustomerConversationId,
    widget: WidgetDep,
    c: ContainerDep,
) -> AttachmentOut:
    """The customer's file (then post a message naming its id); the widget's limit applies."""
    limits = widget_limits(c, widget)
    conv = await c.conversations.get(conversation_id)
    data, filename = await read_upload(request, limits)
    up = await c.attachments.upload(conv, data, filename, UploaderKind.CUSTOMER, conv.customer_id, limits)
    if not up.created:
        response.status_code = 200
    return AttachmentOut.of(up.attachment)


@customer.get("/{attachment_id}", response_class=Response)
async def customer_download(
    attachment_id: str, conversation_id: CustomerConversationId, c: ContainerDep
) -> Response:
    """A file of the customer's own conversation: theirs, or one sent to them."""
    att = await c.attachments.for_customer(conversation_id, attachment_id)
    return serve(att, await c.attachments.content(att.id))


# -- the signed public link ---------------------------------------------------------------------------


@public.get("/files/{attachment_id}", response_class=Response, include_in_schema=True)
async def signed_download(
    attachment_id: str,
    c: ContainerDep,
    exp: Annotated[int, Query(ge=0, description="expiry, Unix seconds")],
    sig: Annotated[str, Query(max_length=100)],
) -> Response:
    """A file by a signed, expiring link (providers fetch the files agents send; transcripts link
    here). 403 when the signature is wrong or the link has expired."""
    att = await c.attachments.by_signed_link(attachment_id, exp, sig)
    return serve(att, await c.attachments.content(att.id))

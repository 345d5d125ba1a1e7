"""Provider webhooks (authenticated by each provider's signature) and channel account admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from omniroute.channels.port import WebhookRequest
from omniroute.channels.registry import Field as ChannelField
from omniroute.channels.registry import FieldKind
from omniroute.channels.service import WebhookRejected
from omniroute.channels.store import AccountRow, DeadReceipt
from omniroute.core.errors import DomainError, PayloadTooLarge
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.schemas import Strict
from omniroute.web.security import ContainerDep, require

webhooks = APIRouter(tags=["channel webhooks"])
admin = APIRouter(prefix="/api/v1/admin/channel-accounts", tags=["administration"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]


@webhooks.get(
    "/webhooks/{account_id}",
    operation_id="verify_channel_webhook",
    summary="A provider's verification handshake for one channel account (e.g. hub.challenge)",
)
@webhooks.post(
    "/webhooks/{account_id}",
    operation_id="receive_channel_webhook",
    summary="Inbound webhook for one channel account (signature-checked)",
)
async def webhook(account_id: str, request: Request, c: ContainerDep) -> Response:
    account, _ = await c.channels.adapter(account_id)
    limit = c.channels.max_webhook_bytes(account.channel)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"webhook body is larger than {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"webhook body is larger than {limit} bytes")
    incoming = WebhookRequest(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
    )
    try:
        result = await c.channels.receive(account_id, incoming)
    except WebhookRejected as exc:
        raise _Rejected(exc.status, exc.reason) from exc
    return Response(content=result.response_body, media_type=result.response_type, status_code=result.status)


class _Rejected(DomainError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class AccountIn(Strict):
    channel: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="stored encrypted; a value 'env:NAME' reads the environment variable NAME instead",
    )
    default_queue_id: str | None = None


class AccountPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    settings: dict[str, Any] | None = Field(default=None, description="replaces the settings when given")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="only the named secrets change; an empty value removes one; 'env:NAME' as on create",
    )
    default_queue_id: str | None = None
    clear_default_queue: bool = False
    enabled: bool | None = None


class AccountOut(BaseModel):
    id: str
    channel: str
    name: str
    settings: dict[str, Any]
    secrets_set: list[str] = Field(description="which secrets are stored (values are never returned)")
    default_queue_id: str | None
    enabled: bool
    webhook_url: str

    @classmethod
    def of(cls, a: AccountRow, webhook_url: str) -> AccountOut:
        return cls(
            id=a.id,
            channel=a.channel,
            name=a.name,
            settings=a.settings,
            secrets_set=sorted(a.secrets),
            default_queue_id=a.default_queue_id,
            enabled=a.enabled,
            webhook_url=webhook_url,
        )


class FieldOut(BaseModel):
    key: str
    label: str = Field(description="English; the admin page translates it")
    type: FieldKind = Field(
        description="text, number (whole), boolean (JSON true/false), url, email or choice"
    )
    required: bool
    default: str | int | bool | None = Field(description="what applies when the key is absent (null: none)")
    help: str
    choices: list[str] = Field(description="the allowed values of a choice")
    advanced: bool = Field(description="rarely changed (provider API bases, test doubles)")

    @classmethod
    def of(cls, f: ChannelField) -> FieldOut:
        return cls(
            key=f.key,
            label=f.label,
            type=f.kind,
            required=f.required,
            default=f.default,
            help=f.help,
            choices=list(f.choices),
            advanced=f.advanced,
        )


class ChannelOut(BaseModel):
    channel: str
    title: str
    required_settings: list[str]
    required_secrets: list[str]
    settings: list[FieldOut] = Field(description="every setting an account takes, in the spec's order")
    secrets: list[FieldOut] = Field(description="every secret an account takes ('env:NAME' works for each)")
    managed_settings: list[str] = Field(
        description="kept in the account but managed elsewhere (WhatsApp templates): not a form field"
    )


@admin.get("/channels", response_model=list[ChannelOut])
async def channels(c: ContainerDep, who: Admin) -> list[ChannelOut]:
    """The installed channels, each with the settings and secrets its accounts take (the admin page
    builds its form from this)."""
    return [
        ChannelOut(
            channel=s.channel,
            title=s.title,
            required_settings=list(s.required_settings),
            required_secrets=list(s.required_secrets),
            settings=[FieldOut.of(f) for f in s.setting_fields()],
            secrets=[FieldOut.of(f) for f in s.secret_fields()],
            managed_settings=list(s.managed_settings),
        )
        for s in c.channels.registry.channels()
    ]


@admin.get("", response_model=list[AccountOut])
async def accounts(c: ContainerDep, who: Admin) -> list[AccountOut]:
    return [AccountOut.of(a, c.channels.webhook_url(a.id)) for a in await c.channels.accounts()]


@admin.post("", response_model=AccountOut, status_code=201)
async def create_account(body: AccountIn, c: ContainerDep, who: Admin) -> AccountOut:
    account = await c.channels.create_account(
        channel=body.channel,
        name=body.name,
        settings=body.settings,
        secrets=body.secrets,
        default_queue_id=body.default_queue_id,
    )
    return AccountOut.of(account, c.channels.webhook_url(account.id))


@admin.patch("/{account_id}", response_model=AccountOut)
async def update_account(account_id: str, body: AccountPatch, c: ContainerDep, who: Admin) -> AccountOut:
    """Rename, re-configure, rotate a credential, or enable/disable an account (every node picks it up)."""
    account = await c.channels.update_account(
        account_id,
        actor_id=who.user.id,
        name=body.name,
        settings=body.settings,
        secrets=body.secrets,
        default_queue_id=body.default_queue_id,
        clear_default_queue=body.clear_default_queue,
        enabled=body.enabled,
    )
    return AccountOut.of(account, c.channels.webhook_url(account.id))


class DeadReceiptOut(BaseModel):
    id: str
    kind: str = Field(description="message, status, watermark, sent_at, typing or end")
    dedupe_key: str = Field(description="the provider's id the receipt was deduplicated on")
    payload: dict[str, Any] = Field(description="the item as it was received (normalised)")
    received_at: str
    attempts: int
    error: str | None = Field(description="why the last try failed")
    dead_at: str

    @classmethod
    def of(cls, r: DeadReceipt) -> DeadReceiptOut:
        return cls(
            id=r.id,
            kind=r.kind,
            dedupe_key=r.dedupe_key,
            payload=r.payload,
            received_at=r.received_at.isoformat(),
            attempts=r.attempts,
            error=r.error,
            dead_at=r.dead_at.isoformat(),
        )


@admin.get("/{account_id}/dead-receipts", response_model=list[DeadReceiptOut])
async def dead_receipts(account_id: str, c: ContainerDep, who: Admin) -> list[DeadReceiptOut]:
    """Inbound items that failed every try (newest first, at most 100): kept, not processed."""
    return [DeadReceiptOut.of(r) for r in await c.channels.dead_receipts(account_id)]


@admin.post("/{account_id}/dead-receipts/{receipt_id}/retry", status_code=204)
async def retry_dead_receipt(account_id: str, receipt_id: str, c: ContainerDep, who: Admin) -> Response:
    """Give a dead-lettered item a fresh set of tries (once its cause is fixed)."""
    await c.channels.requeue_receipt(account_id, receipt_id)
    return Response(status_code=204)

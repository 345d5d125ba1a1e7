"""External voice (CCaaS): vendor webhooks, the provider registry (admins), what the workspace
needs (providers, screen pop, calls, dispositions), and the provider back end's own API
(authenticated with the provider's API token, not a user's).

See docs/VOICE.md ("Server API").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, TypeAdapter

from omniroute.core.errors import Forbidden, PayloadTooLarge, Unauthorized
from omniroute.identity.model import Principal, Role, Scope
from omniroute.routing.model import Presence
from omniroute.voice.adapters.generic.schema import BatchIn, CallEventIn
from omniroute.voice.call_routing import RouteRequest, RouteStatus
from omniroute.voice.providers import Feature, Provider
from omniroute.voice.service import Lookup, ProviderChanges
from omniroute.voice.store import AgentLink, CallRow, PresenceDelivery
from omniroute.web.api_customers import CustomerOut
from omniroute.web.schemas import Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep, require

#: Large enough for a batch of generic events with a long transcript; vendors send far less.
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024

webhooks = APIRouter(tags=["voice webhooks"])
admin = APIRouter(prefix="/api/v1/admin/voice-providers", tags=["administration"])
agents = APIRouter(prefix="/api/v1/voice", tags=["voice"])
backend = APIRouter(prefix="/api/v1/voice", tags=["voice provider API"])

Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]


#: The provider back end's API token (``omv_…``), declared in OpenAPI as an HTTP bearer scheme.
provider_bearer = HTTPBearer(
    scheme_name="VoiceProviderToken",
    description="A voice provider's API token (omv_…), issued when the provider is created or its "
    "token rotated (POST /api/v1/admin/voice-providers/{id}/api-token). Not a user's API token.",
    auto_error=False,
)


async def calling_provider(
    c: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(provider_bearer)],
) -> Provider:
    """The provider whose API token is the bearer token (never a user's API token)."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("send the provider's API token: Authorization: Bearer omv_…")
    return await c.voice.provider_for_token(credentials.credentials.strip())


CallingProvider = Annotated[Provider, Depends(calling_provider)]


# -- bodies -------------------------------------------------------------------------------------------

FEATURES_DOC = "any of " + ", ".join(f.value for f in Feature)
CUSTOM_PARAMETERS_DOC = (
    "a JSON object (at most 8 KB as JSON) handed to the provider's softphone by the SDK's "
    "getEnvironment as provider.custom_parameters; not secret: every agent's browser sees it"
)


class ProviderIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(description="the adapter: twilio_voice, amazon_connect or generic")
    softphone_url: str = Field(
        max_length=2000, description="the page shown in the workspace panel (https; http only on 127.0.0.1)"
    )
    trusted_origin: str | None = Field(
        default=None, max_length=300, description="postMessage origin; defaults to the softphone URL's"
    )
    settings: dict[str, str] = Field(default_factory=dict, description="the adapter's optional settings")
    features: list[str] = Field(default_factory=list, description=FEATURES_DOC)
    presence_url: str | None = Field(default=None, max_length=2000, description="where presence changes go")
    agents_by_user_id: bool = Field(
        default=False, description="the provider sends Omniroute user ids as agent ids (no mapping needed)"
    )
    sort_order: int = 0
    webhook_secret: str | None = Field(
        default=None,
        description="Twilio: the auth token (required). Others: generated and shown once when omitted. "
        "Stored encrypted; 'env:NAME' reads the environment variable NAME instead.",
    )
    custom_parameters: dict[str, Any] = Field(default_factory=dict, description=CUSTOM_PARAMETERS_DOC)


class ProviderPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    softphone_url: str | None = Field(default=None, max_length=2000)
    trusted_origin: str | None = Field(default=None, max_length=300)
    settings: dict[str, str] | None = None
    features: list[str] | None = None
    presence_url: str | None = Field(default=None, max_length=2000)
    clear_presence_url: bool = False
    agents_by_user_id: bool | None = None
    sort_order: int | None = None
    enabled: bool | None = None
    webhook_secret: str | None = Field(default=None, description="replaces the stored secret")
    custom_parameters: dict[str, Any] | None = Field(default=None, description=CUSTOM_PARAMETERS_DOC)


class ProviderOut(BaseModel):
    id: str
    name: str
    kind: str
    softphone_url: str
    trusted_origin: str
    settings: dict[str, str]
    features: list[str]
    presence_url: str | None
    agents_by_user_id: bool
    sort_order: int
    enabled: bool
    webhook_url: str = Field(description="where the provider posts call events")
    custom_parameters: dict[str, Any] = Field(description=CUSTOM_PARAMETERS_DOC)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Provider, webhook_url: str) -> ProviderOut:
        return cls(
            id=p.id,
            name=p.name,
            kind=p.kind,
            softphone_url=p.softphone_url,
            trusted_origin=p.trusted_origin,
            settings=p.settings,
            features=sorted(f.value for f in p.features),
            presence_url=p.presence_url,
            agents_by_user_id=p.agents_by_user_id,
            sort_order=p.sort_order,
            enabled=p.enabled,
            webhook_url=webhook_url,
            custom_parameters=dict(p.custom_parameters),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class ProviderCreatedOut(ProviderOut):
    api_token: str = Field(description="the provider back end's API token: shown only now")
    webhook_secret: str | None = Field(description="the generated webhook secret, shown only now")


class TokenOut(BaseModel):
    api_token: str


class AgentLinkIn(Strict):
    external_id: str = Field(
        min_length=1, max_length=300, description="the agent at the provider (client identity, agent ARN…)"
    )


class AgentLinkOut(BaseModel):
    provider_id: str
    user_id: str
    external_id: str

    @classmethod
    def of(cls, link: AgentLink) -> AgentLinkOut:
        return cls(provider_id=link.provider_id, user_id=link.user_id, external_id=link.external_id)


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    user_id: str
    occurred_at: datetime
    status: str
    attempts: int
    due_at: datetime | None
    last_status: int | None
    last_error: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, d: PresenceDelivery) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            user_id=d.user_id,
            occurred_at=d.occurred_at,
            status=d.status,
            attempts=d.attempts,
            due_at=d.due_at,
            last_status=d.last_status,
            last_error=d.last_error,
            payload=d.payload,
        )


class WorkspaceProviderOut(BaseModel):
    """What the workspace needs to embed a softphone: no secrets."""

    id: str
    name: str
    kind: str
    softphone_url: str
    trusted_origin: str
    features: list[str]
    sort_order: int
    agent_id: str | None = Field(description="the signed-in agent's id at this provider, when mapped")
    custom_parameters: dict[str, Any] = Field(description="what getEnvironment hands the softphone")


class CallOut(BaseModel):
    id: str
    provider_id: str
    call_id: str
    state: str
    outcome: str | None
    direction: str | None
    from_number: str | None
    to_number: str | None
    queue: str | None
    ivr_data: dict[str, str]
    agent_id: str | None = Field(description="the Omniroute user on the call, when known")
    provider_agent_id: str | None
    previous_call_id: str | None
    recording_url: str | None
    recordings: list[str]
    transcript_turns: int
    disposition: str | None
    notes: str | None
    disposition_by: str | None
    hold_count: int
    transfer_count: int
    durations: dict[str, float]
    end_reason: str | None
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wrapup_done_at: datetime | None
    customer_id: str | None
    conversation_id: str | None

    @classmethod
    def of(cls, r: CallRow) -> CallOut:
        return cls(
            id=r.id,
            provider_id=r.provider_id,
            call_id=r.call_id,
            state=r.state,
            outcome=r.outcome,
            direction=r.direction,
            from_number=r.from_number,
            to_number=r.to_number,
            queue=r.queue,
            ivr_data=r.ivr_data,
            agent_id=r.agent_user_id,
            provider_agent_id=r.agent_external_id,
            previous_call_id=r.previous_call_id,
            recording_url=r.recording_url,
            recordings=r.recordings,
            transcript_turns=r.transcript_turns,
            disposition=r.disposition,
            notes=r.notes,
            disposition_by=r.disposition_by,
            hold_count=r.hold_count,
            transfer_count=r.transfer_count,
            durations=r.durations,
            end_reason=r.end_reason,
            offered_at=r.offered_at,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            wrapup_done_at=r.wrapup_done_at,
            customer_id=r.customer_id,
            conversation_id=r.conversation_id,
        )


class IngestOut(BaseModel):
    received: int = Field(description="events in the delivery")
    new: int = Field(description="events not seen before (a redelivery has none)")
    calls: list[str] = Field(description="the provider's ids of the calls that changed")


class DispositionIn(Strict):
    disposition: str = Field(min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    wrap_up_done: bool = Field(default=False, description="also finish wrap-up: the conversation closes")


class QuickCreate(BaseModel):
    phone: str
    display_name: str


class LookupOut(BaseModel):
    phone: str = Field(description="the number, normalised to E.164")
    action: str = Field(description="quick_create (no match), open (one), search (several)")
    matches: list[CustomerOut]
    customer: CustomerOut | None = Field(description="the one match, when there is exactly one")
    quick_create: QuickCreate | None = Field(description="a pre-filled new customer, when nobody matches")

    @classmethod
    def of(cls, found: Lookup) -> LookupOut:
        matches = [CustomerOut.of(c) for c in found.matches]
        return cls(
            phone=found.phone,
            action=found.action,
            matches=matches,
            customer=matches[0] if len(matches) == 1 else None,
            quick_create=QuickCreate(phone=found.phone, display_name=found.phone) if not matches else None,
        )


class PresenceIn(Strict):
    presence: str = Field(description="a base presence or a custom one from the routing configuration")


class AgentPresenceOut(BaseModel):
    user_id: str
    presence: Presence
    custom_presence: str | None


class RouteCallIn(Strict):
    queue: str | None = Field(default=None, max_length=300, description="an Omniroute queue's name or id")
    skills: dict[str, int] = Field(default_factory=dict, description="required skills: name → level (0-10)")
    priority: int | None = Field(default=None, description="instead of what classification decides")
    direction: str | None = Field(default=None, description="inbound (default) or outbound")
    from_number: str | None = Field(default=None, alias="from", max_length=40, description="E.164")
    to_number: str | None = Field(default=None, alias="to", max_length=40, description="E.164")
    ivr_data: dict[str, str] = Field(default_factory=dict, description="what the IVR collected")


class RejectReservationIn(Strict):
    reservation_id: str = Field(min_length=1, max_length=36, description="the reservation to give up")


class RoutedAgentOut(BaseModel):
    user_id: str
    agent_id: str | None = Field(description="the provider's id for the agent (null when it maps none)")
    name: str


class RouteStatusOut(BaseModel):
    call_id: str
    status: str = Field(description="queued, reserved, connected or ended")
    conversation_id: str
    queue_id: str
    agent: RoutedAgentOut | None
    reservation_id: str | None
    reservation_expires_at: datetime | None
    position: int | None
    queue_length: int | None
    estimated_wait_seconds: float | None

    @classmethod
    def of(cls, r: RouteStatus) -> RouteStatusOut:
        agent = (
            RoutedAgentOut(user_id=r.agent.user_id, agent_id=r.agent.agent_id, name=r.agent.name)
            if r.agent
            else None
        )
        return cls(
            call_id=r.call_id,
            status=r.status,
            conversation_id=r.conversation_id,
            queue_id=r.queue_id,
            agent=agent,
            reservation_id=r.reservation_id,
            reservation_expires_at=r.reservation_expires_at,
            position=r.position,
            queue_length=r.queue_length,
            estimated_wait_seconds=r.estimated_wait_seconds,
        )


# -- vendor webhooks ----------------------------------------------------------------------------------


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with its local ``$defs`` references written in place (the OpenAPI document
    has no ``$defs`` of its own for a body declared by hand)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


def _generic_body_schema() -> dict[str, Any]:
    raw = TypeAdapter(CallEventIn | BatchIn).json_schema(by_alias=True)
    inlined: dict[str, Any] = _inlined(raw, raw.get("$defs", {}))
    inlined["description"] = (
        'The generic adapter\'s body: one normalised call event, or {"events": [...]} (up to 100). '
        "Twilio posts its own form-encoded callbacks, Amazon Connect its EventBridge JSON "
        "(see docs/VOICE.md, Adapters); those are read by their adapters, not by this schema."
    )
    return inlined


_SIGNATURE_HEADERS = [
    {
        "name": "X-Omniroute-Signature",
        "in": "header",
        "required": False,
        "description": "generic adapter (and relays): t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.' + "
        "body with the provider's webhook secret>; several v1 allowed during a rotation; "
        "t more than 300 s away is refused",
        "schema": {"type": "string", "example": "t=1767690000,v1=5f1c…"},
    },
    {
        "name": "X-Twilio-Signature",
        "in": "header",
        "required": False,
        "description": "twilio_voice: base64 HMAC-SHA1 with the auth token over the full URL + the "
        "POST parameters sorted by name",
        "schema": {"type": "string"},
    },
    {
        "name": "X-Omniroute-Api-Key",
        "in": "header",
        "required": False,
        "description": "amazon_connect: the webhook secret, added by the EventBridge API "
        "destination's connection (the header name is the provider's api_key_header setting)",
        "schema": {"type": "string"},
    },
]

WEBHOOK_OPENAPI: dict[str, Any] = {
    "parameters": _SIGNATURE_HEADERS,
    "requestBody": {
        "required": True,
        "description": "at most 2 MiB; verified by the provider's adapter before anything is read",
        "content": {
            "application/json": {"schema": _generic_body_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Twilio's status, <Dial>, conference, recording and "
                    "transcription callbacks",
                }
            },
        },
    },
    "responses": {
        "400": {"description": "the payload is not the vendor's format (the reason says why)"},
        "401": {"description": "no signature or credential, or an unreadable one"},
        "403": {"description": "wrong signature, or outside the replay window"},
        "404": {"description": "unknown or disabled provider"},
        "413": {"description": "the body is larger than 2 MiB"},
        "503": {"description": "the provider's stored secret cannot be read: retry later"},
    },
}


@webhooks.post(
    "/webhooks/voice/{provider_id}",
    response_model=IngestOut,
    summary="Call events from a voice provider (verified by its adapter before anything is stored)",
    openapi_extra=WEBHOOK_OPENAPI,
)
async def call_events(provider_id: str, request: Request, c: ContainerDep) -> IngestOut:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"webhook body is larger than {MAX_WEBHOOK_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"webhook body is larger than {MAX_WEBHOOK_BYTES} bytes")
    result = await c.voice.receive(provider_id, str(request.url), request.headers.items(), body)
    return IngestOut(received=result.received, new=result.new, calls=[r.call_id for r in result.calls])


# -- administration -----------------------------------------------------------------------------------


def _out(c: ContainerDep, p: Provider) -> ProviderOut:
    return ProviderOut.of(p, c.settings.effective_public_url + c.voice.webhook_path(p.id))


@admin.get("", response_model=list[ProviderOut])
async def providers(c: ContainerDep, who: Admin) -> list[ProviderOut]:
    return [_out(c, p) for p in await c.voice.providers()]


@admin.post("", response_model=ProviderCreatedOut, status_code=201)
async def create_provider(body: ProviderIn, c: ContainerDep, who: Admin) -> ProviderCreatedOut:
    made = await c.voice.create_provider(
        name=body.name,
        kind=body.kind,
        softphone_url=body.softphone_url,
        trusted_origin=body.trusted_origin,
        settings=body.settings,
        features=body.features,
        presence_url=body.presence_url,
        agents_by_user_id=body.agents_by_user_id,
        sort_order=body.sort_order,
        webhook_secret=body.webhook_secret,
        actor_id=who.user.id,
        custom_parameters=body.custom_parameters,
    )
    return ProviderCreatedOut(
        **_out(c, made.provider).model_dump(), api_token=made.api_token, webhook_secret=made.webhook_secret
    )


@admin.get("/{provider_id}", response_model=ProviderOut)
async def provider(provider_id: str, c: ContainerDep, who: Admin) -> ProviderOut:
    return _out(c, await c.voice.provider(provider_id))


@admin.patch("/{provider_id}", response_model=ProviderOut)
async def update_provider(provider_id: str, body: ProviderPatch, c: ContainerDep, who: Admin) -> ProviderOut:
    changes = ProviderChanges(**body.model_dump())
    return _out(c, await c.voice.update_provider(provider_id, changes, actor_id=who.user.id))


@admin.post("/{provider_id}/api-token", response_model=TokenOut)
async def rotate_token(provider_id: str, c: ContainerDep, who: Admin) -> TokenOut:
    """A new API token for the provider's back end; the previous one stops working."""
    return TokenOut(api_token=await c.voice.rotate_api_token(provider_id, actor_id=who.user.id))


@admin.get("/{provider_id}/agents", response_model=list[AgentLinkOut])
async def agent_links(provider_id: str, c: ContainerDep, who: Admin) -> list[AgentLinkOut]:
    await c.voice.provider(provider_id)
    return [AgentLinkOut.of(link) for link in await c.voice.agent_links(provider_id=provider_id)]


@admin.put("/{provider_id}/agents/{user_id}", response_model=AgentLinkOut)
async def link_agent(
    provider_id: str, user_id: str, body: AgentLinkIn, c: ContainerDep, who: Admin
) -> AgentLinkOut:
    """Which agent at the provider this Omniroute user is (idempotent: the same call twice is fine)."""
    return AgentLinkOut.of(await c.voice.link_agent(provider_id, user_id, body.external_id, who.user.id))


@admin.delete("/{provider_id}/agents/{user_id}", status_code=204)
async def unlink_agent(provider_id: str, user_id: str, c: ContainerDep, who: Admin) -> Response:
    await c.voice.unlink_agent(provider_id, user_id, who.user.id)
    return Response(status_code=204)


@admin.get("/{provider_id}/presence-deliveries", response_model=list[DeliveryOut])
async def presence_deliveries(
    provider_id: str, c: ContainerDep, who: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeliveryOut]:
    """The latest presence webhooks for this provider and how each went (for troubleshooting)."""
    return [DeliveryOut.of(d) for d in await c.voice.presence_deliveries(provider_id, limit)]


# -- the agent workspace ------------------------------------------------------------------------------


@agents.get("/providers", response_model=list[WorkspaceProviderOut])
async def workspace_providers(c: ContainerDep, who: AgentRead) -> list[WorkspaceProviderOut]:
    """The enabled providers, in their sort order, with what the workspace needs to embed them."""
    mine = {link.provider_id: link.external_id for link in await c.voice.agent_links(user_id=who.user.id)}
    return [
        WorkspaceProviderOut(
            id=p.id,
            name=p.name,
            kind=p.kind,
            softphone_url=p.softphone_url,
            trusted_origin=p.trusted_origin,
            features=sorted(f.value for f in p.features),
            sort_order=p.sort_order,
            agent_id=mine.get(p.id) or (who.user.id if p.agents_by_user_id else None),
            custom_parameters=dict(p.custom_parameters),
        )
        for p in await c.voice.providers(enabled_only=True)
    ]


@agents.get("/lookup", response_model=LookupOut)
async def lookup(
    c: ContainerDep, who: AgentRead, phone: Annotated[str, Query(min_length=3, max_length=40)]
) -> LookupOut:
    """Screen pop: the customers a phone number belongs to."""
    return LookupOut.of(await c.voice.lookup(phone))


@agents.get("/calls/{call_id}", response_model=CallOut)
async def call(call_id: str, c: ContainerDep, who: AgentRead) -> CallOut:
    """A call by Omniroute's id (``voice.call_changed`` events and the conversation carry it)."""
    return CallOut.of(await c.voice.visible_call(who.user, call_id))


@agents.get("/providers/{provider_id}/calls/{call_id}", response_model=CallOut)
async def provider_call(provider_id: str, call_id: str, c: ContainerDep, who: AgentRead) -> CallOut:
    """A call by the provider's call id, as its softphone knows it (the workspace finds the call's
    voice session with it). Seen by the call's agent and supervisors; to others it does not exist."""
    row = await c.voice.provider_call(provider_id, call_id)
    return CallOut.of(await c.voice.visible_call(who.user, row.id))


@agents.get("/conversations/{conversation_id}/call", response_model=CallOut)
async def conversation_call(conversation_id: str, c: ContainerDep, who: AgentRead) -> CallOut:
    row = await c.voice.call_for_conversation(conversation_id)
    return CallOut.of(await c.voice.visible_call(who.user, row.id))


@agents.put("/calls/{call_id}/disposition", response_model=CallOut)
async def set_disposition(call_id: str, body: DispositionIn, c: ContainerDep, who: AgentWrite) -> CallOut:
    """The disposition code and notes of a call; with ``wrap_up_done`` the wrap-up ends too."""
    return CallOut.of(
        await c.voice.set_disposition(
            call_id, who.user, disposition=body.disposition, notes=body.notes, finish=body.wrap_up_done
        )
    )


# -- the provider's back end --------------------------------------------------------------------------


@backend.put("/agents/{user_id}/presence", response_model=AgentPresenceOut)
async def provider_sets_presence(
    user_id: str, body: PresenceIn, c: ContainerDep, provider: CallingProvider
) -> AgentPresenceOut:
    """The provider sets an agent's presence (authenticated with the provider's API token; only
    for agents it maps, unless it sends Omniroute user ids)."""
    base, custom = await c.voice.set_presence_for(provider, user_id, body.presence)
    return AgentPresenceOut(user_id=user_id, presence=base, custom_presence=custom)


def _own(provider: Provider, provider_id: str) -> None:
    if provider.id != provider_id:
        raise Forbidden("this API token belongs to another provider")


def _routed(r: RouteStatus, response: Response) -> RouteStatusOut:
    response.status_code = 202 if r.status == "queued" else 200
    return RouteStatusOut.of(r)


@backend.post(
    "/providers/{provider_id}/calls/{call_id}/route",
    response_model=RouteStatusOut,
    responses={
        202: {"description": "nobody is available: the call waits in the queue", "model": RouteStatusOut}
    },
)
async def route_call(
    provider_id: str,
    call_id: str,
    body: RouteCallIn,
    response: Response,
    c: ContainerDep,
    provider: CallingProvider,
) -> RouteStatusOut:
    """Which agent should take this queued call? Omniroute's routing engine reserves one (200,
    ``reserved``) or queues the call (202, ``queued``, with its position; a signed ``call.reserved``
    notice follows). Idempotent per call id: a retry answers with what holds now."""
    _own(provider, provider_id)
    ask = RouteRequest(
        queue=body.queue,
        skills=body.skills,
        priority=body.priority,
        direction=body.direction,
        from_number=body.from_number,
        to_number=body.to_number,
        ivr_data=body.ivr_data,
    )
    return _routed(await c.voice.route_call(provider, call_id, ask), response)


@backend.get("/providers/{provider_id}/calls/{call_id}/route", response_model=RouteStatusOut)
async def route_status(
    provider_id: str, call_id: str, response: Response, c: ContainerDep, provider: CallingProvider
) -> RouteStatusOut:
    """Where a call Omniroute routes stands now (202 while it waits for an agent)."""
    _own(provider, provider_id)
    return _routed(await c.voice.route_status(provider, call_id), response)


@backend.post("/providers/{provider_id}/calls/{call_id}/reservation/reject", response_model=RouteStatusOut)
async def reject_reservation(
    provider_id: str,
    call_id: str,
    body: RejectReservationIn,
    response: Response,
    c: ContainerDep,
    provider: CallingProvider,
) -> RouteStatusOut:
    """The agent declined the ring (or cannot take it): the next agent is reserved. Safe to retry."""
    _own(provider, provider_id)
    return _routed(await c.voice.reject_reservation(provider, call_id, body.reservation_id), response)


router = APIRouter()
for _part in (webhooks, admin, agents, backend):
    router.include_router(_part)

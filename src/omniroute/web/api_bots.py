"""Bots API: admins write bot settings and flows (YAML, 422 with line numbers), supervisors read
them and the bot analytics, agents read the hand-off context of a conversation they can see, and
external bots post their activities back (signed, no user session)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from omniroute.bots.admin import BotView, FlowView
from omniroute.bots.analytics import Report
from omniroute.bots.flows.loader import MAX_SOURCE, FlowError
from omniroute.bots.service import BotAnalytics, BotService, SessionView
from omniroute.channels.custom.signing import HEADER as SIGNATURE_HEADER
from omniroute.core.errors import InvalidInput, NotFound
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.api_agent import visible
from omniroute.web.api_webchat import CustomerConversationId
from omniroute.web.schemas import Strict
from omniroute.web.security import AgentRead, ContainerDep, require

router = APIRouter(prefix="/api/v1", tags=["bots"])
#: What the customer's widget asks (chat token), beside web chat's own routes.
widget_router = APIRouter(prefix="/api/webchat/v1/widgets/{public_key}", tags=["webchat"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]
SupervisorWrite = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.CONVERSATIONS_WRITE))]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


def bot_service(request: Request) -> BotService:
    value = request.app.state.bots
    assert isinstance(value, BotService)
    return value


Bots = Annotated[BotService, Depends(bot_service)]


def problems_response(exc: FlowError) -> JSONResponse:
    """422 with every problem located: ``errors: [{line, column, path, message, flow_id}]``."""
    return JSONResponse(
        {
            "detail": exc.reason,
            "errors": [
                {
                    "line": p.line,
                    "column": p.column,
                    "path": p.path,
                    "message": p.message,
                    "flow_id": p.flow_id,
                }
                for p in exc.problems
            ],
        },
        status_code=422,
    )


class FlowOut(BaseModel):
    bot_id: str
    flow_id: str
    language: str
    system: str | None
    name: str
    intent: str | None
    version: int
    updated_at: datetime
    source: str = Field(description="the YAML as written")

    @classmethod
    def of(cls, f: FlowView) -> FlowOut:
        return cls(
            bot_id=f.bot_id,
            flow_id=f.flow_id,
            language=f.language,
            system=f.system,
            name=f.name,
            intent=f.intent,
            version=f.version,
            updated_at=f.updated_at,
            source=f.source,
        )


class BotOut(BaseModel):
    id: str
    version: int
    has_secret: bool
    settings: dict[str, Any]
    flows: list[FlowOut]
    updated_at: datetime

    @classmethod
    def of(cls, b: BotView) -> BotOut:
        return cls(
            id=b.id,
            version=b.version,
            has_secret=b.has_secret,
            settings=b.settings.model_dump(mode="json"),
            flows=[FlowOut.of(f) for f in b.flows],
            updated_at=b.updated_at,
        )


class SettingsIn(Strict):
    settings: dict[str, Any] = Field(description="see docs/BOTS.md, bot settings")
    expected_version: int | None = Field(
        default=None, description="the version you edited; a different current version gives 409"
    )


class FlowIn(Strict):
    source: str = Field(max_length=MAX_SOURCE, description="the flow's YAML")
    expected_version: int | None = Field(default=None, description="0 to create; a stale one gives 409")


class SecretIn(Strict):
    secret: str | None = Field(
        default=None, max_length=500, description="at least 32 characters, or env:NAME; omit for a random one"
    )


class SecretOut(BaseModel):
    secret: str = Field(description="shown once; give it to the external bot")


class SessionOut(BaseModel):
    session_id: str
    conversation_id: str
    bot_id: str
    status: str = Field(description="active, handed_off or ended")
    outcome: str | None = Field(description="resolved, escalated or abandoned")
    reason: str | None
    language: str
    turns: int
    topics: list[str]
    context: dict[str, Any] | None = Field(description="the hand-off context (routing sees it as bot.*)")
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, s: SessionView) -> SessionOut:
        return cls.model_validate(s.__dict__)


class FiguresOut(BaseModel):
    sessions: int
    active: int
    resolved: int
    escalated: int
    abandoned: int
    containment_rate: float | None = Field(description="resolved without a person / finished sessions")
    escalation_rate: float | None
    abandon_rate: float | None
    escalation_reasons: dict[str, int]
    csat_responses: int = Field(description="ratings of conversations the bot finished on its own")
    csat_average: float | None

    @classmethod
    def of(cls, a: BotAnalytics) -> FiguresOut:
        return cls.model_validate(a.__dict__)


class AnalyticsOut(FiguresOut):
    """The period's totals, then the same figures per bot and per day (UTC) of the start."""

    by_bot: dict[str, FiguresOut]
    by_day: dict[str, FiguresOut] = Field(description="YYYY-MM-DD → figures, oldest first")

    @classmethod
    def of_report(cls, r: Report) -> AnalyticsOut:
        return cls(
            **r.total.__dict__,
            by_bot={k: FiguresOut.of(v) for k, v in r.by_bot.items()},
            by_day={k: FiguresOut.of(v) for k, v in r.by_day.items()},
        )


class TakeOverIn(Strict):
    queue: str | None = Field(
        default=None, max_length=200, description="a queue name; default: the queue first planned"
    )


class BotPresenceOut(BaseModel):
    holding: bool = Field(description="true while a bot answers the chat")
    name: str | None = Field(description="the bot's display name")
    choices: list[str] = Field(description="quick replies while the bot waits for a choice")


class ActivityOut(BaseModel):
    status: str = Field(description="accepted, handed_off or ended")


# -- reading (supervisors) -----------------------------------------------------------------------


@router.get("/bots/analytics", response_model=AnalyticsOut)
async def analytics(
    bots: Bots,
    who: Supervisor,
    bot_id: str | None = None,
    since: datetime | None = None,
    until: Annotated[datetime | None, Query(description="exclusive")] = None,
) -> AnalyticsOut:
    """Sessions started in the period: containment, escalations and why, abandons, bot-only CSAT,
    from the event log; also per bot and per day."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since")
    return AnalyticsOut.of_report(await bots.report(bot_id=bot_id, since=since, until=until))


@router.get("/bots/sessions", response_model=list[SessionOut])
async def sessions(
    bots: Bots,
    who: Supervisor,
    bot_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SessionOut]:
    found = await bots.sessions(bot_id=bot_id, since=since, until=until, limit=limit)
    return [SessionOut.of(s) for s in found]


@router.get("/bots", response_model=list[BotOut])
async def list_bots(bots: Bots, who: Supervisor) -> list[BotOut]:
    return [BotOut.of(b) for b in await bots.admin.list_bots()]


@router.get("/bots/{bot_id}", response_model=BotOut)
async def get_bot(bot_id: str, bots: Bots, who: Supervisor) -> BotOut:
    return BotOut.of(await bots.admin.get_bot(bot_id))


@router.get("/bots/{bot_id}/flows", response_model=list[FlowOut])
async def list_flows(bot_id: str, bots: Bots, who: Supervisor) -> list[FlowOut]:
    return [FlowOut.of(f) for f in (await bots.admin.get_bot(bot_id)).flows]


@router.get("/bots/{bot_id}/flows/{flow_id}", response_model=FlowOut)
async def get_flow(bot_id: str, flow_id: str, request: Request, bots: Bots, who: Supervisor) -> Response:
    """JSON, or the YAML itself when the request accepts ``application/yaml``."""
    flow = await bots.admin.get_flow(bot_id, flow_id)
    if "yaml" in request.headers.get("accept", ""):
        return PlainTextResponse(flow.source, media_type="application/yaml")
    return JSONResponse(FlowOut.of(flow).model_dump(mode="json"))


# -- writing (admins) ----------------------------------------------------------------------------


@router.put("/bots/{bot_id}", response_model=BotOut)
async def put_settings(bot_id: str, body: SettingsIn, bots: Bots, who: Admin) -> Response:
    """Create the bot or replace its settings; problems come back as 422 with their paths."""
    try:
        view = await bots.admin.put_settings(
            bot_id, body.settings, actor_id=who.user.id, expected_version=body.expected_version
        )
    except FlowError as exc:
        return problems_response(exc)
    return JSONResponse(BotOut.of(view).model_dump(mode="json"))


@router.put("/bots/{bot_id}/secret", response_model=SecretOut)
async def put_secret(bot_id: str, body: SecretIn, bots: Bots, who: Admin) -> SecretOut:
    return SecretOut(secret=await bots.admin.set_secret(bot_id, body.secret, actor_id=who.user.id))


async def _flow_body(request: Request, expected_version: int | None) -> FlowIn:
    """A flow arrives as YAML (``Content-Type: application/yaml``) or as JSON ``{source}``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if len(raw) > MAX_SOURCE * 4:
        msg = f"a flow is at most {MAX_SOURCE} characters"
        raise InvalidInput(msg)
    if content_type in YAML_TYPES:
        return FlowIn(source=raw.decode("utf-8", errors="replace"), expected_version=expected_version)
    if content_type != "application/json":
        raise InvalidInput("send the flow as application/yaml, or as JSON {source, expected_version}")
    try:
        return FlowIn.model_validate_json(raw)
    except ValueError as exc:
        msg = f"body: {exc}"
        raise InvalidInput(msg) from exc


@router.put(
    "/bots/{bot_id}/flows/{flow_id}",
    response_model=FlowOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": FlowIn.model_json_schema()},
            }
        }
    },
)
async def put_flow(
    bot_id: str,
    flow_id: str,
    request: Request,
    bots: Bots,
    who: Admin,
    expected_version: Annotated[int | None, Query(description="with a YAML body; 0 to create")] = None,
) -> Response:
    """Create or replace a flow. 422 lists each problem with its line and column."""
    body = await _flow_body(request, expected_version)
    try:
        flow = await bots.admin.put_flow(
            bot_id, flow_id, body.source, actor_id=who.user.id, expected_version=body.expected_version
        )
    except FlowError as exc:
        return problems_response(exc)
    return JSONResponse(FlowOut.of(flow).model_dump(mode="json"))


@router.post("/bots/{bot_id}/flows/{flow_id}/validate")
async def validate_flow(bot_id: str, flow_id: str, request: Request, bots: Bots, who: Admin) -> Response:
    """Check a flow without saving it: 200 ``{"ok": true}`` or the same 422 as saving."""
    body = await _flow_body(request, None)
    try:
        await bots.admin.check_flow(bot_id, flow_id, body.source)
    except FlowError as exc:
        return problems_response(exc)
    return JSONResponse({"ok": True})


@router.delete("/bots/{bot_id}/flows/{flow_id}", status_code=204)
async def delete_flow(bot_id: str, flow_id: str, bots: Bots, who: Admin) -> Response:
    await bots.admin.delete_flow(bot_id, flow_id, actor_id=who.user.id)
    return Response(status_code=204)


# -- agents: what the bot learned before handing off ---------------------------------------------


@router.get("/conversations/{conversation_id}/bot", response_model=SessionOut)
async def conversation_bot(conversation_id: str, c: ContainerDep, bots: Bots, who: AgentRead) -> SessionOut:
    """The bot session of a conversation the caller can see, with the hand-off context."""
    await visible(c, who, conversation_id)
    found = await bots.session(conversation_id)
    if found is None:
        msg = f"no bot took part in conversation {conversation_id}"
        raise NotFound(msg)
    return SessionOut.of(found)


@router.post("/conversations/{conversation_id}/bot/handoff", response_model=SessionOut)
async def take_over(
    conversation_id: str, body: TakeOverIn, c: ContainerDep, bots: Bots, who: SupervisorWrite
) -> SessionOut:
    """A supervisor takes a conversation from the bot: it hands off (reason ``supervisor``) with
    its context, to ``queue`` or the queue first planned. 409 when no bot holds it. Transfers of
    a conversation a bot holds are refused with 409 and point here."""
    await visible(c, who, conversation_id)
    return SessionOut.of(await bots.take_over(conversation_id, actor_id=who.user.id, queue=body.queue))


# -- the customer's widget -----------------------------------------------------------------------


@widget_router.get("/conversation/bot", response_model=BotPresenceOut)
async def widget_bot(conversation_id: CustomerConversationId, bots: Bots) -> BotPresenceOut:
    """Whether a bot answers this chat (its name) and the quick replies it is waiting for."""
    found = await bots.presence(conversation_id)
    return BotPresenceOut(holding=found.holding, name=found.name, choices=found.choices)


# -- external bots -------------------------------------------------------------------------------


@router.post(
    "/bots/{bot_id}/conversations/{conversation_id}/activities",
    response_model=ActivityOut,
    status_code=202,
    tags=["external bots"],
)
async def external_activity(
    bot_id: str,
    conversation_id: str,
    request: Request,
    bots: Bots,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> ActivityOut:
    """An external bot's reply: one activity (message, typing, event ``handoff.initiate``,
    endOfConversation), signed with the bot's secret. See docs/BOTS.md."""
    status = await bots.receive_activity(bot_id, conversation_id, await request.body(), signature)
    return ActivityOut(status=status)

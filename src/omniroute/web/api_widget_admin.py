"""Administration of web chat widgets (settings, identity secret) and CSAT reports for supervisors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from omniroute.channels.webchat.csat_report import (
    MAX_REPORT_DAYS,
    CsatFigures,
    CsatFilter,
    Names,
    check_period,
    csv_document,
)
from omniroute.channels.webchat.model import CsatResponse, Widget
from omniroute.core.errors import InvalidInput
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.container import Container
from omniroute.web.schemas import Strict
from omniroute.web.security import ContainerDep, require

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]


class WidgetOut(BaseModel):
    id: str
    name: str
    public_key: str
    allowed_origins: list[str]
    default_queue_id: str | None
    identity_secret_set: bool

    @classmethod
    def of(cls, w: Widget) -> WidgetOut:
        return cls(
            id=w.id,
            name=w.name,
            public_key=w.public_key,
            allowed_origins=list(w.allowed_origins),
            default_queue_id=w.default_queue_id,
            identity_secret_set=w.identity_secret is not None,
        )


class WidgetIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    allowed_origins: list[str] = Field(min_length=1, max_length=100, description="'*' allows any site")
    default_queue_id: str | None = None


class WidgetSettingsOut(BaseModel):
    widget_id: str
    settings: dict[str, Any] = Field(description="the whole document, defaults filled in")
    identity_secret_set: bool

    @classmethod
    def of(cls, w: Widget) -> WidgetSettingsOut:
        return cls(
            widget_id=w.id,
            settings=w.settings.model_dump(mode="json"),
            identity_secret_set=w.identity_secret is not None,
        )


class WidgetSettingsIn(Strict):
    settings: dict[str, Any] = Field(description="the whole document; what is left out takes its default")


class IdentitySecretIn(Strict):
    secret: str | None = Field(
        default=None,
        max_length=500,
        description="32+ characters, or env:NAME to read it from the environment; empty: generate one",
    )


class IdentitySecretOut(BaseModel):
    secret: str = Field(description="shown this once; give it to the host site's server")


class CsatItemOut(BaseModel):
    conversation_id: str
    widget_id: str
    queue_id: str
    agent_id: str | None
    rating: int
    comment: str
    submitted_at: datetime

    @classmethod
    def of(cls, r: CsatResponse) -> CsatItemOut:
        return cls(
            conversation_id=r.conversation_id,
            widget_id=r.widget_id,
            queue_id=r.queue_id,
            agent_id=r.agent_id,
            rating=r.rating,
            comment=r.comment,
            submitted_at=r.submitted_at,
        )


class CsatQueueOut(BaseModel):
    queue_id: str
    queue_name: str
    responses: int
    average: float
    distribution: dict[int, int] = Field(description="how many gave each score, 1 to 5")


class CsatSummaryOut(BaseModel):
    since: datetime | None
    until: datetime | None
    responses: int
    average: float | None
    queues: list[CsatQueueOut]


class CsatFiguresOut(BaseModel):
    responses: int
    average: float | None = Field(description="null without responses")
    distribution: dict[int, int] = Field(description="how many gave each score, 1 to 5")
    satisfied: int = Field(description="how many gave 4 or 5")
    csat_rate: float | None = Field(description="CSAT: satisfied / responses, 0 to 1; null without responses")

    @classmethod
    def of(cls, f: CsatFigures) -> CsatFiguresOut:
        return cls(
            responses=f.responses,
            average=f.average,
            distribution=f.distribution,
            satisfied=f.satisfied,
            csat_rate=f.csat_rate,
        )


class CsatDayOut(CsatFiguresOut):
    day: date = Field(description="a UTC day")


class CsatCommentOut(CsatItemOut):
    queue_name: str
    agent_name: str | None
    widget_name: str


class CsatReportOut(CsatFiguresOut):
    """The period's figures, its trend per UTC day and the latest comments."""

    since: datetime
    until: datetime
    queue_id: str | None
    agent_id: str | None
    widget_id: str | None
    by_day: list[CsatDayOut] = Field(description="every day of the period, oldest first")
    comments: list[CsatCommentOut] = Field(description="the newest ratings with a comment")


async def _names(c: Container) -> Names:
    return Names(
        queues={q.id: q.name for q in await c.routing.queues()},
        agents={u.id: u.display_name for u in await c.identity.list_users()},
        widgets={w.id: w.name for w in await c.webchat.list_widgets()},
    )


def _blank(value: str | None) -> str | None:
    """``?queue_id=`` (a form's "all" choice) means no filter."""
    if value is None:
        return None
    return value.strip() or None


async def _filter(
    c: Container,
    since: datetime | None,
    until: datetime | None,
    queue_id: str | None,
    agent_id: str | None,
    widget_id: str | None,
    *,
    report: bool = False,
) -> tuple[CsatFilter, Names]:
    """The checked filter and the names it was checked against: an id that names nothing is a
    mistake (a typo would otherwise read as "no ratings"), so it answers 422."""
    if report:
        check_period(since, until, required=True, max_days=MAX_REPORT_DAYS)
    else:
        check_period(since, until)
    where = CsatFilter(since, until, _blank(queue_id), _blank(agent_id), _blank(widget_id))
    names = await _names(c)
    for param, value, known in (
        ("queue_id", where.queue_id, names.queues),
        ("agent_id", where.agent_id, names.agents),
        ("widget_id", where.widget_id, names.widgets),
    ):
        if value is not None and value not in known:
            msg = f"{param}: no such {param.removesuffix('_id')}"
            raise InvalidInput(msg)
    return where, names


Until = Annotated[datetime | None, Query(description="exclusive")]
QueueFilter = Annotated[str | None, Query(description="only this queue's ratings")]
AgentFilter = Annotated[str | None, Query(description="only ratings of this agent's chats")]
WidgetFilter = Annotated[
    str | None, Query(description="only this widget's ratings (the channel: web chat asks for them)")
]


@router.get("/widgets", response_model=list[WidgetOut])
async def widgets(c: ContainerDep, who: Supervisor) -> list[WidgetOut]:
    return [WidgetOut.of(w) for w in await c.webchat.list_widgets()]


@router.post("/widgets", response_model=WidgetOut, status_code=201)
async def create_widget(body: WidgetIn, c: ContainerDep, who: Admin) -> WidgetOut:
    return WidgetOut.of(await c.webchat.create_widget(body.name, body.allowed_origins, body.default_queue_id))


@router.get("/widgets/{widget_id}/settings", response_model=WidgetSettingsOut)
async def widget_settings(widget_id: str, c: ContainerDep, who: Supervisor) -> WidgetSettingsOut:
    return WidgetSettingsOut.of(await c.webchat.widget_by_id(widget_id))


@router.put("/widgets/{widget_id}/settings", response_model=WidgetSettingsOut)
async def save_widget_settings(
    widget_id: str, body: WidgetSettingsIn, c: ContainerDep, who: Admin
) -> WidgetSettingsOut:
    return WidgetSettingsOut.of(await c.webchat.save_settings(widget_id, body.settings, who.user.id))


@router.post("/widgets/{widget_id}/identity-secret", response_model=IdentitySecretOut, status_code=201)
async def set_identity_secret(
    widget_id: str, body: IdentitySecretIn, c: ContainerDep, who: Admin
) -> IdentitySecretOut:
    """Set (or rotate) the HS256 secret host sites sign identity tokens with."""
    secret = await c.webchat.set_identity_secret(
        widget_id, body.secret or None, c.channels.secrets, who.user.id
    )
    return IdentitySecretOut(secret=secret)


@router.get("/csat", response_model=list[CsatItemOut])
async def csat_responses(
    c: ContainerDep,
    who: Supervisor,
    queue_id: QueueFilter = None,
    since: datetime | None = None,
    until: Until = None,
    agent_id: AgentFilter = None,
    widget_id: WidgetFilter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CsatItemOut]:
    """Post-chat ratings, newest first."""
    where, _ = await _filter(c, since, until, queue_id, agent_id, widget_id)
    return [CsatItemOut.of(r) for r in await c.webchat.csat_responses(where, limit)]


@router.get("/csat/summary", response_model=CsatSummaryOut)
async def csat_summary(
    c: ContainerDep,
    who: Supervisor,
    queue_id: QueueFilter = None,
    since: datetime | None = None,
    until: Until = None,
    agent_id: AgentFilter = None,
    widget_id: WidgetFilter = None,
) -> CsatSummaryOut:
    """The average rating per queue over a period (all time when no period is given)."""
    where, names = await _filter(c, since, until, queue_id, agent_id, widget_id)
    per_queue = await c.webchat.csat_summary(where)
    total = sum(s.responses for s in per_queue)
    points = sum(score * n for s in per_queue for score, n in s.distribution.items())
    return CsatSummaryOut(
        since=since,
        until=until,
        responses=total,
        average=round(points / total, 2) if total else None,
        queues=[
            CsatQueueOut(
                queue_id=s.queue_id,
                queue_name=names.queues.get(s.queue_id, ""),
                responses=s.responses,
                average=s.average,
                distribution=s.distribution,
            )
            for s in per_queue
        ],
    )


@router.get("/csat/report", response_model=CsatReportOut)
async def csat_report(
    c: ContainerDep,
    who: Supervisor,
    since: Annotated[datetime | None, Query(description="inclusive; required")] = None,
    until: Annotated[datetime | None, Query(description="exclusive; required")] = None,
    queue_id: QueueFilter = None,
    agent_id: AgentFilter = None,
    widget_id: WidgetFilter = None,
    comments: Annotated[int, Query(ge=0, le=200, description="how many of the latest comments")] = 20,
) -> CsatReportOut:
    """The supervisors' CSAT report (/admin/csat): responses, average, the 1 to 5 distribution, CSAT
    (the share of 4 and 5) and a trend per UTC day over a period of at most 366 days, with the
    latest comments and the names of their queue, agent and widget."""
    where, names = await _filter(c, since, until, queue_id, agent_id, widget_id, report=True)
    found = await c.webchat.csat_report(where)
    latest = await c.webchat.csat_responses(where, comments, with_comment=True) if comments else []
    return CsatReportOut(
        **CsatFiguresOut.of(found.total).model_dump(),
        since=found.since,
        until=found.until,
        queue_id=where.queue_id,
        agent_id=where.agent_id,
        widget_id=where.widget_id,
        by_day=[CsatDayOut(day=day, **CsatFiguresOut.of(f).model_dump()) for day, f in found.by_day],
        comments=[
            CsatCommentOut(
                **CsatItemOut.of(r).model_dump(),
                queue_name=names.queues.get(r.queue_id, ""),
                agent_name=names.agents.get(r.agent_id) if r.agent_id else None,
                widget_name=names.widgets.get(r.widget_id, ""),
            )
            for r in latest
        ],
    )


@router.get(
    "/csat/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per rating, newest first"}},
)
async def csat_export(
    c: ContainerDep,
    who: Supervisor,
    since: Annotated[datetime | None, Query(description="inclusive; required")] = None,
    until: Annotated[datetime | None, Query(description="exclusive; required")] = None,
    queue_id: QueueFilter = None,
    agent_id: AgentFilter = None,
    widget_id: WidgetFilter = None,
) -> Response:
    """Every rating the report counts, as CSV (UTF-8, a header row; cells that a spreadsheet would
    run as a formula start with a quote)."""
    where, names = await _filter(c, since, until, queue_id, agent_id, widget_id, report=True)
    document = csv_document(await c.webchat.csat_responses(where, None), names)
    assert since is not None
    assert until is not None
    last_day = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    filename = f"csat-{since.astimezone(UTC).date()}-to-{last_day}.csv"
    return Response(
        document,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

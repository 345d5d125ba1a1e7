"""Administration of web chat widgets (settings, identity secret) and CSAT reports for supervisors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from omniroute.channels.webchat.model import CsatResponse, Widget
from omniroute.core.errors import InvalidInput
from omniroute.identity.model import Principal, Role, Scope
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


def _period(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            msg = f"{name} needs a time zone (for example 2026-01-31T00:00:00Z)"
            raise InvalidInput(msg)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since")


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
    queue_id: str | None = None,
    since: datetime | None = None,
    until: Annotated[datetime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CsatItemOut]:
    """Post-chat ratings, newest first."""
    _period(since, until)
    found = await c.webchat.csat_responses(queue_id=queue_id, since=since, until=until, limit=limit)
    return [CsatItemOut.of(r) for r in found]


@router.get("/csat/summary", response_model=CsatSummaryOut)
async def csat_summary(
    c: ContainerDep,
    who: Supervisor,
    queue_id: str | None = None,
    since: datetime | None = None,
    until: Annotated[datetime | None, Query(description="exclusive")] = None,
) -> CsatSummaryOut:
    """The average rating per queue over a period (all time when no period is given)."""
    _period(since, until)
    per_queue = await c.webchat.csat_summary(queue_id=queue_id, since=since, until=until)
    names = {q.id: q.name for q in await c.routing.queues()}
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
                queue_name=names.get(s.queue_id, ""),
                responses=s.responses,
                average=s.average,
                distribution=s.distribution,
            )
            for s in per_queue
        ],
    )

"""Administration API: queues and members, agents' skills, the versioned routing configuration,
and routing traces. Supervisors read and manage people; admins change the configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from omniroute.identity.model import Principal, Role, Scope
from omniroute.routing.store import ConfigVersion
from omniroute.web.schemas import QueueOut, Strict
from omniroute.web.security import ContainerDep, require

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])

Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Scope.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Scope.ADMIN))]


class ConfigOut(BaseModel):
    version: int | None = Field(description="null until a configuration has been saved")
    config: dict[str, Any]


class ConfigIn(Strict):
    config: dict[str, Any]
    comment: str = Field(default="", max_length=500)
    expected_version: int | None = Field(
        default=None, description="the version you edited; a different current version gives 409"
    )


class VersionOut(BaseModel):
    version: int
    comment: str
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, v: ConfigVersion) -> VersionOut:
        return cls(version=v.version, comment=v.comment, created_by=v.created_by, created_at=v.created_at)


class QueueIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)


class MembersIn(Strict):
    user_ids: list[str] = Field(max_length=10_000)


class MembersOut(BaseModel):
    queue_id: str
    user_ids: list[str]


class SkillsIn(Strict):
    skills: dict[str, int] = Field(description="skill id → proficiency 1–10")


class SkillsOut(BaseModel):
    user_id: str
    skills: dict[str, int]


class TraceSession(BaseModel):
    session_id: str
    agent_id: str
    status: str
    offered_at: datetime
    closed_at: datetime | None
    closure_reason: str | None


class TraceOut(BaseModel):
    conversation_id: str
    priority: int | None
    required_skills: dict[str, int]
    config_version: int | None
    steps: list[str]
    sessions: list[TraceSession]


class UserOut(BaseModel):
    id: str
    display_name: str
    email: str
    role: str


@router.get("/users", response_model=list[UserOut])
async def users(c: ContainerDep, who: Supervisor) -> list[UserOut]:
    return [
        UserOut(id=u.id, display_name=u.display_name, email=u.email, role=u.role.value)
        for u in await c.identity.list_users()
    ]


@router.get("/routing-config", response_model=ConfigOut)
async def routing_config(c: ContainerDep, who: Supervisor) -> ConfigOut:
    active = await c.routing_configs.active()
    return ConfigOut(version=active.version, config=active.config.model_dump(mode="json", by_alias=True))


@router.put("/routing-config", response_model=VersionOut)
async def save_routing_config(body: ConfigIn, c: ContainerDep, who: Admin) -> VersionOut:
    saved = await c.routing_configs.save(
        body.config, comment=body.comment, user_id=who.user.id, expected_version=body.expected_version
    )
    await c.routing.kick()  # new rules may make waiting work routable
    return VersionOut.of(saved)


@router.get("/routing-config/versions", response_model=list[VersionOut])
async def config_versions(c: ContainerDep, who: Supervisor) -> list[VersionOut]:
    return [VersionOut.of(v) for v in await c.routing_configs.versions()]


@router.get("/routing-config/versions/{number}", response_model=ConfigOut)
async def config_version(number: int, c: ContainerDep, who: Supervisor) -> ConfigOut:
    found = await c.routing_configs.version(number)
    return ConfigOut(version=found.version, config=found.document)


@router.post("/routing-config/versions/{number}/restore", response_model=VersionOut)
async def restore_version(number: int, c: ContainerDep, who: Admin) -> VersionOut:
    return VersionOut.of(await c.routing_configs.roll_back(number, who.user.id))


@router.post("/queues", response_model=QueueOut, status_code=201)
async def create_queue(body: QueueIn, c: ContainerDep, who: Admin) -> QueueOut:
    q = await c.routing.create_queue(body.name, body.description)
    await c.routing.kick()  # routing learns the new queue
    return QueueOut(id=q.id, name=q.name, description=q.description)


@router.get("/queues/{queue_id}/members", response_model=MembersOut)
async def queue_members(queue_id: str, c: ContainerDep, who: Supervisor) -> MembersOut:
    return MembersOut(queue_id=queue_id, user_ids=await c.routing.members(queue_id))


@router.put("/queues/{queue_id}/members", response_model=MembersOut)
async def set_queue_members(queue_id: str, body: MembersIn, c: ContainerDep, who: Supervisor) -> MembersOut:
    return MembersOut(queue_id=queue_id, user_ids=await c.routing.set_members(queue_id, body.user_ids))


@router.get("/agents/{user_id}/skills", response_model=SkillsOut)
async def agent_skills(user_id: str, c: ContainerDep, who: Supervisor) -> SkillsOut:
    return SkillsOut(user_id=user_id, skills=await c.routing_configs.agent_skills(user_id))


@router.put("/agents/{user_id}/skills", response_model=SkillsOut)
async def set_agent_skills(user_id: str, body: SkillsIn, c: ContainerDep, who: Supervisor) -> SkillsOut:
    skills = await c.routing_configs.set_agent_skills(user_id, body.skills)
    await c.routing.agents_changed([user_id])
    return SkillsOut(user_id=user_id, skills=skills)


class CapacityProfileIn(Strict):
    profile: str | None = Field(
        description="a capacity profile id from the routing configuration; null: the default"
    )


class CapacityProfileOut(BaseModel):
    user_id: str
    profile: str | None


@router.put("/agents/{user_id}/capacity-profile", response_model=CapacityProfileOut)
async def set_capacity_profile(
    user_id: str, body: CapacityProfileIn, c: ContainerDep, who: Supervisor
) -> CapacityProfileOut:
    profile = await c.routing_configs.set_capacity_profile(user_id, body.profile)
    await c.routing.agents_changed([user_id])
    return CapacityProfileOut(user_id=user_id, profile=profile)


class PreferredIn(Strict):
    agent_ids: list[str] = Field(max_length=3, description="tried first, in this order")


class PreferredOut(BaseModel):
    customer_id: str
    agent_ids: list[str]


@router.get("/customers/{customer_id}/preferred-agents", response_model=PreferredOut)
async def preferred_agents(customer_id: str, c: ContainerDep, who: Supervisor) -> PreferredOut:
    return PreferredOut(customer_id=customer_id, agent_ids=await c.routing.preferred_agents(customer_id))


@router.put("/customers/{customer_id}/preferred-agents", response_model=PreferredOut)
async def set_preferred_agents(
    customer_id: str, body: PreferredIn, c: ContainerDep, who: Supervisor
) -> PreferredOut:
    return PreferredOut(
        customer_id=customer_id, agent_ids=await c.routing.set_preferred_agents(customer_id, body.agent_ids)
    )


@router.get("/conversations/{conversation_id}/routing-trace", response_model=TraceOut)
async def routing_trace(conversation_id: str, c: ContainerDep, who: Supervisor) -> TraceOut:
    conv = await c.conversations.get(conversation_id)
    item, sessions = await c.routing.trace(conv.id)
    return TraceOut(
        conversation_id=conv.id,
        priority=item.priority if item else None,
        required_skills=item.required_skills if item else {},
        config_version=item.config_version if item else None,
        steps=item.trace if item else [],
        sessions=[
            TraceSession(
                session_id=s.id,
                agent_id=s.agent_id,
                status=s.status.value,
                offered_at=s.offered_at,
                closed_at=s.closed_at,
                closure_reason=s.closure_reason.value if s.closure_reason else None,
            )
            for s in sessions
        ],
    )

"""Cases API: create (also prefilled from a conversation), edit, resolve, cancel, reopen, link
conversations, notes, history, and the filtered case list.

Every agent may read cases. Agents edit cases they own, unowned cases and cases linked to their
conversations; supervisors and admins edit any (the rule lives in ``cases/model.py``). A case's
links list only the conversations the caller may read (``web/visibility.py``), and the routes
under ``/conversations/{id}`` follow the conversation rule: reading its cases needs read access,
creating a case from it needs to be on it (holder, consultant or supervisor).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from omniroute.cases import model
from omniroute.cases.model import (
    KEEP,
    Actor,
    Case,
    CaseEdit,
    CasePriority,
    CaseQuery,
    CaseSort,
    CaseStatus,
    Cursor,
    FromConversation,
    NewCase,
    ResolutionType,
    SlaState,
)
from omniroute.cases.store import Activity, Link, Note
from omniroute.core.errors import InvalidInput
from omniroute.identity.model import Principal, Role
from omniroute.web.schemas import Strict
from omniroute.web.security import AgentRead, AgentWrite, ContainerDep
from omniroute.web.visibility import participating, scope_of, visible

router = APIRouter(prefix="/api/v1", tags=["cases"])

_STATUS_ORDER = list(CaseStatus)
RequestId = Field(
    default=None,
    max_length=100,
    description="Idempotency key: retrying with the same value returns what the first call made (200).",
)
ExpectedVersion = Field(
    default=None, ge=1, description="the version you edited; a different current version gives 409"
)


def actor(who: Principal) -> Actor:
    return Actor(who.user.id, who.user.display_name, supervisor=who.user.has_role(Role.SUPERVISOR))


class CaseOut(BaseModel):
    id: str
    number: str = Field(description="the human reference, e.g. CAS-000123; usable wherever an id is")
    title: str
    description: str
    customer_id: str
    status: CaseStatus
    priority: CasePriority
    owner_id: str | None
    queue_id: str | None
    category: str
    resolution: str | None
    resolution_type: ResolutionType | None
    sla_due_at: datetime
    sla_state: SlaState
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    version: int = Field(description="send as expected_version when you change the case")
    next_statuses: list[CaseStatus] = Field(description="statuses this case may move to")

    @classmethod
    def of(cls, case: Case, sla_state: SlaState) -> CaseOut:
        return cls(
            id=case.id,
            number=case.reference,
            title=case.title,
            description=case.description,
            customer_id=case.customer_id,
            status=case.status,
            priority=case.priority,
            owner_id=case.owner_id,
            queue_id=case.queue_id,
            category=case.category,
            resolution=case.resolution,
            resolution_type=case.resolution_type,
            sla_due_at=case.sla_due_at,
            sla_state=sla_state,
            created_by=case.created_by,
            created_at=case.created_at,
            updated_at=case.updated_at,
            resolved_at=case.resolved_at,
            version=case.version,
            next_statuses=[s for s in _STATUS_ORDER if s in model.TRANSITIONS[case.status]],
        )


class CasePageOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last one")


class CaseIn(Strict):
    title: str = Field(min_length=1, max_length=model.TITLE_MAX)
    customer_id: str = Field(min_length=1, max_length=36)
    description: str = Field(default="", max_length=model.DESCRIPTION_MAX)
    priority: CasePriority = CasePriority.NORMAL
    owner_id: str | None = Field(default=None, max_length=36, description="omitted: you; null: unowned")
    queue_id: str | None = Field(default=None, max_length=36)
    category: str = Field(default="", max_length=model.CATEGORY_MAX)
    conversation_id: str | None = Field(default=None, max_length=36, description="link it at once")
    client_request_id: str | None = RequestId


class FromConversationIn(Strict):
    title: str | None = Field(
        default=None, max_length=model.TITLE_MAX, description="omitted: the customer's first message"
    )
    description: str | None = Field(
        default=None,
        max_length=model.DESCRIPTION_MAX,
        description="omitted: the customer's last few messages",
    )
    priority: CasePriority = CasePriority.NORMAL
    category: str = Field(default="", max_length=model.CATEGORY_MAX)
    owner_id: str | None = Field(default=None, max_length=36, description="omitted: you; null: unowned")
    queue_id: str | None = Field(
        default=None, max_length=36, description="omitted: the conversation's queue; null: none"
    )
    client_request_id: str | None = RequestId


class CaseEditIn(Strict):
    """Only the fields you send change; owner_id and queue_id may be null (none)."""

    title: str | None = Field(default=None, max_length=model.TITLE_MAX)
    description: str | None = Field(default=None, max_length=model.DESCRIPTION_MAX)
    priority: CasePriority | None = None
    status: Literal[CaseStatus.ACTIVE, CaseStatus.ON_HOLD] | None = Field(
        default=None, description="resolve, cancel and reopen have their own endpoints"
    )
    category: str | None = Field(default=None, max_length=model.CATEGORY_MAX)
    owner_id: str | None = Field(default=None, max_length=36)
    queue_id: str | None = Field(default=None, max_length=36)
    expected_version: int | None = ExpectedVersion


class ResolveIn(Strict):
    resolution: str = Field(min_length=1, max_length=model.RESOLUTION_MAX)
    resolution_type: ResolutionType
    expected_version: int | None = ExpectedVersion


class CancelIn(Strict):
    reason: str = Field(default="", max_length=model.RESOLUTION_MAX)
    expected_version: int | None = ExpectedVersion


class ReopenIn(Strict):
    expected_version: int | None = ExpectedVersion


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=model.NOTE_MAX)
    client_note_id: str | None = RequestId


class NoteOut(BaseModel):
    id: str
    case_id: str
    author_id: str | None
    author_name: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, n: Note) -> NoteOut:
        return cls(
            id=n.id,
            case_id=n.case_id,
            author_id=n.author_id,
            author_name=n.author_name,
            text=n.text,
            created_at=n.created_at,
        )


class LinkOut(BaseModel):
    case_id: str
    conversation_id: str
    linked_by: str | None
    linked_at: datetime

    @classmethod
    def of(cls, link: Link) -> LinkOut:
        return cls(
            case_id=link.case_id,
            conversation_id=link.conversation_id,
            linked_by=link.linked_by,
            linked_at=link.linked_at,
        )


class LinkResultOut(BaseModel):
    case_id: str
    conversation_id: str
    changed: bool = Field(description="false when the link was already as asked (a repeated call)")


class ActivityOut(BaseModel):
    event_id: str
    type: str
    actor_id: str | None
    occurred_at: datetime
    details: dict[str, Any] = Field(description="the event as published (case.* event types)")

    @classmethod
    def of(cls, a: Activity) -> ActivityOut:
        return cls(
            event_id=a.event_id,
            type=a.type,
            actor_id=a.actor_id,
            occurred_at=a.occurred_at,
            details=a.payload,
        )


def _out(c: ContainerDep, case: Case) -> CaseOut:
    return CaseOut.of(case, c.cases.sla_state(case))


# -- the case list -------------------------------------------------------------------------------


@router.get("/cases", response_model=CasePageOut)
async def list_cases(
    c: ContainerDep,
    who: AgentRead,
    status: Annotated[
        list[CaseStatus] | None, Query(description="any of these (repeat the parameter)")
    ] = None,
    priority: Annotated[list[CasePriority] | None, Query(description="any of these")] = None,
    owner: Annotated[
        str | None, Query(max_length=36, description="a user id, `me`, or `none` (unowned)")
    ] = None,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    queue_id: Annotated[str | None, Query(max_length=36)] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the title, or a case number")] = None,
    created_from: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    sort: CaseSort = CaseSort.CREATED_AT,
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> CasePageOut:
    if created_from is not None and created_to is not None and created_from >= created_to:
        raise InvalidInput("created_from must be before created_to")
    owner_id = who.user.id if owner == "me" else None if owner == "none" else owner
    page = await c.cases.search(
        CaseQuery(
            statuses=frozenset(status or ()),
            priorities=frozenset(priority or ()),
            owner_id=owner_id,
            unowned=owner == "none",
            customer_id=customer_id,
            queue_id=queue_id,
            text=q.strip() if q and q.strip() else None,
            created_from=created_from,
            created_to=created_to,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            after=Cursor.decode(cursor) if cursor else None,
        )
    )
    return CasePageOut(items=[_out(c, x) for x in page.items], next_cursor=page.next_cursor)


@router.get("/customers/{customer_id}/cases", response_model=list[CaseOut])
async def customer_cases(
    customer_id: str, c: ContainerDep, who: AgentRead, open_only: bool = False
) -> list[CaseOut]:
    """The customer's cases, newest first (Customer 360)."""
    return [_out(c, x) for x in await c.cases.for_customer(customer_id, open_only=open_only)]


@router.get("/conversations/{conversation_id}/cases", response_model=list[CaseOut])
async def conversation_cases(conversation_id: str, c: ContainerDep, who: AgentRead) -> list[CaseOut]:
    await visible(c, who, conversation_id)
    return [_out(c, x) for x in await c.cases.for_conversation(conversation_id)]


# -- create ----------------------------------------------------------------------------------------


@router.post("/cases", response_model=CaseOut, status_code=201)
async def create_case(body: CaseIn, response: Response, c: ContainerDep, who: AgentWrite) -> CaseOut:
    case, created = await c.cases.create(
        NewCase(
            title=body.title,
            customer_id=body.customer_id,
            description=body.description,
            priority=body.priority,
            owner_id=body.owner_id if "owner_id" in body.model_fields_set else KEEP,
            queue_id=body.queue_id,
            category=body.category,
        ),
        actor(who),
        conversation_id=body.conversation_id,
        idempotency_key=body.client_request_id,
    )
    if not created:
        response.status_code = 200
    return _out(c, case)


@router.post("/conversations/{conversation_id}/cases", response_model=CaseOut, status_code=201)
async def create_case_from_conversation(
    conversation_id: str,
    response: Response,
    c: ContainerDep,
    who: AgentWrite,
    body: FromConversationIn | None = None,
) -> CaseOut:
    """A case prefilled from the conversation (customer, title, description, queue) and linked to it."""
    await participating(c, who, conversation_id)
    body = body or FromConversationIn()
    given = body.model_fields_set
    case, created = await c.cases.create_from_conversation(
        conversation_id,
        actor(who),
        FromConversation(
            title=body.title,
            description=body.description,
            priority=body.priority,
            category=body.category,
            owner_id=body.owner_id if "owner_id" in given else KEEP,
            queue_id=body.queue_id if "queue_id" in given else KEEP,
        ),
        idempotency_key=body.client_request_id,
    )
    if not created:
        response.status_code = 200
    return _out(c, case)


# -- one case ------------------------------------------------------------------------------------


@router.get("/cases/{case_ref}", response_model=CaseOut)
async def get_case(case_ref: str, c: ContainerDep, who: AgentRead) -> CaseOut:
    """By id or by number (CAS-000123)."""
    return _out(c, await c.cases.get(case_ref))


@router.patch("/cases/{case_ref}", response_model=CaseOut)
async def edit_case(case_ref: str, body: CaseEditIn, c: ContainerDep, who: AgentWrite) -> CaseOut:
    given = body.model_fields_set
    case = await c.cases.update(
        case_ref,
        CaseEdit(
            title=body.title,
            description=body.description,
            priority=body.priority,
            status=body.status,
            category=body.category,
            owner_id=body.owner_id if "owner_id" in given else KEEP,
            queue_id=body.queue_id if "queue_id" in given else KEEP,
        ),
        actor(who),
        expected_version=body.expected_version,
    )
    return _out(c, case)


@router.post("/cases/{case_ref}/resolve", response_model=CaseOut)
async def resolve_case(case_ref: str, body: ResolveIn, c: ContainerDep, who: AgentWrite) -> CaseOut:
    case = await c.cases.resolve(
        case_ref, body.resolution, body.resolution_type, actor(who), expected_version=body.expected_version
    )
    return _out(c, case)


@router.post("/cases/{case_ref}/cancel", response_model=CaseOut)
async def cancel_case(
    case_ref: str, c: ContainerDep, who: AgentWrite, body: CancelIn | None = None
) -> CaseOut:
    body = body or CancelIn()
    case = await c.cases.cancel(
        case_ref, actor(who), reason=body.reason, expected_version=body.expected_version
    )
    return _out(c, case)


@router.post("/cases/{case_ref}/reopen", response_model=CaseOut)
async def reopen_case(
    case_ref: str, c: ContainerDep, who: AgentWrite, body: ReopenIn | None = None
) -> CaseOut:
    body = body or ReopenIn()
    return _out(c, await c.cases.reopen(case_ref, actor(who), expected_version=body.expected_version))


# -- links, notes, history -------------------------------------------------------------------------


@router.get("/cases/{case_ref}/conversations", response_model=list[LinkOut])
async def case_links(case_ref: str, c: ContainerDep, who: AgentRead) -> list[LinkOut]:
    """The case's conversations, those the caller may read (the others are left out)."""
    links = await c.cases.links(case_ref)
    scope = await scope_of(c, who)
    return [LinkOut.of(x) for x in links if scope.may_read(await c.conversations.get(x.conversation_id))]


@router.put("/cases/{case_ref}/conversations/{conversation_id}", response_model=LinkResultOut)
async def link_conversation(
    case_ref: str, conversation_id: str, c: ContainerDep, who: AgentWrite
) -> LinkResultOut:
    """Link a conversation you hold (supervisors: any) to the case. Repeating it changes nothing."""
    case, changed = await c.cases.link(case_ref, conversation_id, actor(who))
    return LinkResultOut(case_id=case.id, conversation_id=conversation_id, changed=changed)


@router.delete("/cases/{case_ref}/conversations/{conversation_id}", response_model=LinkResultOut)
async def unlink_conversation(
    case_ref: str, conversation_id: str, c: ContainerDep, who: AgentWrite
) -> LinkResultOut:
    """Remove the link. Removing a link that is not there changes nothing."""
    case, changed = await c.cases.unlink(case_ref, conversation_id, actor(who))
    return LinkResultOut(case_id=case.id, conversation_id=conversation_id, changed=changed)


@router.get("/cases/{case_ref}/notes", response_model=list[NoteOut])
async def case_notes(case_ref: str, c: ContainerDep, who: AgentRead) -> list[NoteOut]:
    return [NoteOut.of(n) for n in await c.cases.notes(case_ref)]


@router.post("/cases/{case_ref}/notes", response_model=NoteOut, status_code=201)
async def add_case_note(
    case_ref: str, body: NoteIn, response: Response, c: ContainerDep, who: AgentWrite
) -> NoteOut:
    """An internal note (never shown to the customer)."""
    note, created = await c.cases.add_note(
        case_ref, body.text, actor(who), idempotency_key=body.client_note_id
    )
    if not created:
        response.status_code = 200
    return NoteOut.of(note)


@router.get("/cases/{case_ref}/history", response_model=list[ActivityOut])
async def case_history(case_ref: str, c: ContainerDep, who: AgentRead) -> list[ActivityOut]:
    """Every change of the case, oldest first."""
    return [ActivityOut.of(a) for a in await c.cases.history(case_ref)]

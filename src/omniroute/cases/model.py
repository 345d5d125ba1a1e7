"""Cases: the status machine, priorities and their SLA, edits, who may edit, prefill. Pure: no I/O.

Statuses follow Dynamics 365's case lifecycle: ``new → active → on_hold → resolved / cancelled``,
with a resolved case reopened to ``active``. Resolved and cancelled cases are read-only (notes and
links aside); a cancelled case is final.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import Any, Literal

from omniroute.core.errors import Conflict, InvalidInput


class CaseStatus(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class CasePriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ResolutionType(StrEnum):
    SOLVED = "solved"
    INFORMATION_PROVIDED = "information_provided"
    WORKAROUND = "workaround"
    DUPLICATE = "duplicate"
    CUSTOMER_UNRESPONSIVE = "customer_unresponsive"


class SlaState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # on hold, when the policy pauses the clock
    BREACHED = "breached"  # open past its due time, or resolved after it
    MET = "met"  # resolved in time
    CANCELLED = "cancelled"


S = CaseStatus
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.NEW: frozenset({S.ACTIVE, S.ON_HOLD, S.RESOLVED, S.CANCELLED}),
    S.ACTIVE: frozenset({S.ON_HOLD, S.RESOLVED, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.ACTIVE, S.RESOLVED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.ACTIVE}),  # reopen
    S.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset({S.NEW, S.ACTIVE, S.ON_HOLD})
#: Statuses an edit may set; resolving, cancelling and reopening are commands of their own.
EDITABLE_STATUSES = frozenset({S.ACTIVE, S.ON_HOLD})
PRIORITY_RANK = {CasePriority.LOW: 0, CasePriority.NORMAL: 1, CasePriority.HIGH: 2, CasePriority.URGENT: 3}

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
CATEGORY_MAX = 100
RESOLUTION_MAX = 5_000
NOTE_MAX = 10_000
NUMBER_PREFIX = "CAS-"
_NUMBER = re.compile(r"^\s*CAS-(\d{1,12})\s*$", re.IGNORECASE)


def format_number(number: int) -> str:
    return f"{NUMBER_PREFIX}{number:06d}"


def parse_number(text: str) -> int | None:
    """``CAS-000123`` (any case, leading zeros optional) → 123; anything else → None."""
    match = _NUMBER.match(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class SlaPolicy:
    """How long a case may stay open, by priority, in wall-clock time from its creation.

    With ``pause_on_hold`` the clock stops while the case is on hold: the due time moves later by
    the time spent on hold once the case leaves that status.
    """

    targets: Mapping[CasePriority, timedelta]
    pause_on_hold: bool = True

    def __post_init__(self) -> None:
        missing = [p.value for p in CasePriority if p not in self.targets]
        if missing:
            msg = f"the SLA policy has no target for {missing}"
            raise ValueError(msg)
        if any(t <= timedelta(0) for t in self.targets.values()):
            msg = "SLA targets must be positive"
            raise ValueError(msg)

    @classmethod
    def default(cls) -> SlaPolicy:
        return cls(
            {
                CasePriority.URGENT: timedelta(hours=4),
                CasePriority.HIGH: timedelta(hours=8),
                CasePriority.NORMAL: timedelta(hours=24),
                CasePriority.LOW: timedelta(hours=72),
            }
        )

    def due(self, created_at: datetime, priority: CasePriority, paused_seconds: int = 0) -> datetime:
        return created_at + self.targets[priority] + timedelta(seconds=paused_seconds)


@dataclass(frozen=True)
class Case:
    id: str
    number: int
    title: str
    description: str
    customer_id: str
    status: CaseStatus
    priority: CasePriority
    sla_due_at: datetime
    created_at: datetime
    updated_at: datetime
    owner_id: str | None = None
    queue_id: str | None = None
    category: str = ""
    resolution: str | None = None
    resolution_type: ResolutionType | None = None
    resolved_at: datetime | None = None
    created_by: str | None = None
    sla_paused_seconds: int = 0
    held_since: datetime | None = None
    version: int = 1

    @property
    def reference(self) -> str:
        return format_number(self.number)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Actor:
    """Who asks for a change, as far as case rules care."""

    user_id: str
    name: str
    supervisor: bool = False  # supervisors and admins may edit any case


class Keep(Enum):
    """An optional field the caller did not give: an edit leaves it alone, a new case takes its
    default. (``None`` means "none", e.g. no owner.)"""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class NewCase:
    title: str
    customer_id: str
    description: str = ""
    priority: CasePriority = CasePriority.NORMAL
    owner_id: str | Literal[Keep.KEEP] | None = KEEP  # KEEP: whoever creates it owns it
    queue_id: str | None = None
    category: str = ""


@dataclass(frozen=True)
class FromConversation:
    """What the agent typed over the prefill; ``None``/KEEP fields take the prefilled value."""

    title: str | None = None
    description: str | None = None
    priority: CasePriority = CasePriority.NORMAL
    category: str = ""
    owner_id: str | Literal[Keep.KEEP] | None = KEEP  # KEEP: the creator
    queue_id: str | Literal[Keep.KEEP] | None = KEEP  # KEEP: the conversation's queue


@dataclass(frozen=True)
class CaseEdit:
    title: str | None = None
    description: str | None = None
    priority: CasePriority | None = None
    status: CaseStatus | None = None
    category: str | None = None
    owner_id: str | Literal[Keep.KEEP] | None = KEEP
    queue_id: str | Literal[Keep.KEEP] | None = KEEP


#: field name → (before, after), in the JSON-friendly form events carry.
Changes = dict[str, tuple[Any, Any]]


# -- validation ----------------------------------------------------------------------------------


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise InvalidInput("a case needs a title")
    if len(title) > TITLE_MAX:
        msg = f"the title is longer than {TITLE_MAX} characters"
        raise InvalidInput(msg)
    return title


def clean_text(text: str, limit: int, what: str, *, required: bool = False) -> str:
    value = text.strip()
    if required and not value:
        msg = f"{what} is empty"
        raise InvalidInput(msg)
    if len(value) > limit:
        msg = f"{what} is longer than {limit} characters"
        raise InvalidInput(msg)
    return value


# -- commands ------------------------------------------------------------------------------------


def open_case(
    draft: NewCase, *, case_id: str, number: int, created_by: str | None, now: datetime, sla: SlaPolicy
) -> Case:
    return Case(
        id=case_id,
        number=number,
        title=clean_title(draft.title),
        description=clean_text(draft.description, DESCRIPTION_MAX, "the description"),
        customer_id=draft.customer_id,
        status=S.NEW,
        priority=draft.priority,
        sla_due_at=sla.due(now, draft.priority),
        created_at=now,
        updated_at=now,
        owner_id=created_by if isinstance(draft.owner_id, Keep) else draft.owner_id,
        queue_id=draft.queue_id,
        category=clean_text(draft.category, CATEGORY_MAX, "the category"),
        created_by=created_by,
    )


def check_transition(case: Case, to: CaseStatus) -> None:
    if to not in TRANSITIONS[case.status]:
        if case.status is S.CANCELLED:
            msg = f"case {case.reference} is cancelled; a cancelled case cannot change"
        elif case.status is S.RESOLVED:
            msg = f"case {case.reference} is resolved; reopen it first"
        else:
            msg = f"a case in status {case.status.value} cannot become {to.value}"
        raise Conflict(msg)


def check_editable(case: Case) -> None:
    if case.status is S.CANCELLED:
        msg = f"case {case.reference} is cancelled; a cancelled case cannot change"
        raise Conflict(msg)
    if case.status is S.RESOLVED:
        msg = f"case {case.reference} is resolved; reopen it before editing"
        raise Conflict(msg)


def _move(case: Case, to: CaseStatus, now: datetime, sla: SlaPolicy) -> Case:
    """Change status, keeping the SLA clock paused exactly while the case is on hold."""
    check_transition(case, to)
    paused, held_since = case.sla_paused_seconds, case.held_since
    if case.status is S.ON_HOLD and held_since is not None:
        if sla.pause_on_hold:
            paused += max(0, int((now - held_since).total_seconds()))
        held_since = None
    if to is S.ON_HOLD:
        held_since = now
    return replace(
        case,
        status=to,
        sla_paused_seconds=paused,
        held_since=held_since,
        sla_due_at=sla.due(case.created_at, case.priority, paused),
    )


def edit(case: Case, change: CaseEdit, now: datetime, sla: SlaPolicy) -> tuple[Case, Changes]:
    """Apply an edit. Nothing to change returns the case as it was (same version, no changes)."""
    check_editable(case)
    after = case
    if change.title is not None:
        after = replace(after, title=clean_title(change.title))
    if change.description is not None:
        after = replace(after, description=clean_text(change.description, DESCRIPTION_MAX, "the description"))
    if change.category is not None:
        after = replace(after, category=clean_text(change.category, CATEGORY_MAX, "the category"))
    if not isinstance(change.owner_id, Keep):
        after = replace(after, owner_id=change.owner_id)
    if not isinstance(change.queue_id, Keep):
        after = replace(after, queue_id=change.queue_id)
    if change.priority is not None and change.priority is not case.priority:
        after = replace(
            after,
            priority=change.priority,
            sla_due_at=sla.due(case.created_at, change.priority, case.sla_paused_seconds),
        )
    if change.status is not None and change.status is not case.status:
        if change.status not in EDITABLE_STATUSES:
            msg = (
                f"status {change.status.value} is set by its own command "
                "(resolve, cancel); an edit may set active or on_hold"
            )
            raise InvalidInput(msg)
        after = _move(after, change.status, now, sla)
    changes = diff(case, after)
    if not changes:
        return case, {}
    return replace(after, updated_at=now, version=case.version + 1), changes


_DIFFED = ("title", "description", "category", "owner_id", "queue_id", "priority", "status", "sla_due_at")


def diff(before: Case, after: Case) -> Changes:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return value.value if isinstance(value, Enum) else value

    return {
        name: (plain(getattr(before, name)), plain(getattr(after, name)))
        for name in _DIFFED
        if getattr(before, name) != getattr(after, name)
    }


def resolve(
    case: Case, resolution: str, resolution_type: ResolutionType, now: datetime, sla: SlaPolicy
) -> Case:
    text = clean_text(resolution, RESOLUTION_MAX, "the resolution", required=True)
    moved = _move(case, S.RESOLVED, now, sla)
    return replace(
        moved,
        resolution=text,
        resolution_type=resolution_type,
        resolved_at=now,
        updated_at=now,
        version=case.version + 1,
    )


def cancel(case: Case, now: datetime, sla: SlaPolicy) -> Case:
    moved = _move(case, S.CANCELLED, now, sla)
    return replace(moved, updated_at=now, version=case.version + 1)


def reopen(case: Case, now: datetime, sla: SlaPolicy) -> Case:
    """Back to ``active``; the resolution is cleared, the SLA due time stays what it was."""
    if case.status is S.CANCELLED:
        check_editable(case)  # raises: a cancelled case is final
    if case.status is not S.RESOLVED:
        msg = f"only a resolved case can be reopened; case {case.reference} is {case.status.value}"
        raise Conflict(msg)
    moved = _move(case, S.ACTIVE, now, sla)
    return replace(
        moved,
        resolution=None,
        resolution_type=None,
        resolved_at=None,
        updated_at=now,
        version=case.version + 1,
    )


def check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != case.version:
        msg = (
            f"case {case.reference} changed meanwhile (now version {case.version}, "
            f"you edited version {expected_version}); reload and retry"
        )
        raise Conflict(msg)


def sla_state(case: Case, now: datetime, sla: SlaPolicy) -> SlaState:
    if case.status is S.CANCELLED:
        return SlaState.CANCELLED
    if case.status is S.RESOLVED:
        assert case.resolved_at is not None
        return SlaState.MET if case.resolved_at <= case.sla_due_at else SlaState.BREACHED
    if case.status is S.ON_HOLD and case.held_since is not None and sla.pause_on_hold:
        # While paused, the case is judged at the moment it went on hold.
        return SlaState.PAUSED if case.held_since <= case.sla_due_at else SlaState.BREACHED
    return SlaState.RUNNING if now <= case.sla_due_at else SlaState.BREACHED


def may_edit(case: Case, actor: Actor, agents_of_linked_conversations: frozenset[str]) -> bool:
    """Supervisors edit any case; agents edit cases they own, unowned ones, and cases linked to a
    conversation they hold (or held)."""
    return (
        actor.supervisor
        or case.owner_id is None
        or case.owner_id == actor.user_id
        or actor.user_id in agents_of_linked_conversations
    )


def may_link(actor: Actor, conversation_agent_id: str | None) -> bool:
    """Linking is about the conversation: its agent (or a supervisor) may link any case to it,
    which is how an agent joins a colleague's case."""
    return actor.supervisor or (conversation_agent_id is not None and conversation_agent_id == actor.user_id)


# -- create from a conversation --------------------------------------------------------------------

PREFILL_MESSAGES = 3


def draft_from_conversation(
    given: FromConversation,
    *,
    customer_id: str,
    queue_id: str,
    subject: str,
    channel: str,
    customer_texts: Sequence[str],
) -> NewCase:
    title, description = prefill(customer_texts, subject=subject, channel=channel)
    return NewCase(
        title=given.title if given.title is not None else title,
        description=given.description if given.description is not None else description,
        customer_id=customer_id,
        priority=given.priority,
        owner_id=given.owner_id,
        queue_id=queue_id if isinstance(given.queue_id, Keep) else given.queue_id,
        category=given.category,
    )


def prefill(
    customer_texts: Sequence[str], *, subject: str, channel: str, last: int = PREFILL_MESSAGES
) -> tuple[str, str]:
    """Title and description for a case opened from a conversation.

    The title is the customer's first message (whitespace collapsed, shortened at a word to fit),
    else the conversation's subject; the description is the customer's last few messages.
    """
    texts = [t.strip() for t in customer_texts if t.strip()]
    source = texts[0] if texts else subject
    title = shorten(" ".join(source.split()), TITLE_MAX) or f"Conversation via {channel}"
    description = "\n\n".join(texts[-last:]) if last > 0 else ""
    if len(description) > DESCRIPTION_MAX:
        description = description[-DESCRIPTION_MAX:]  # the latest words matter most
    return title, description


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


# -- listing -------------------------------------------------------------------------------------


class CaseSort(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    PRIORITY = "priority"
    SLA_DUE_AT = "sla_due_at"
    NUMBER = "number"


@dataclass(frozen=True)
class CaseQuery:
    statuses: frozenset[CaseStatus] = frozenset()
    priorities: frozenset[CasePriority] = frozenset()
    owner_id: str | None = None
    unowned: bool = False
    customer_id: str | None = None
    queue_id: str | None = None
    conversation_id: str | None = None
    text: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    sort: CaseSort = CaseSort.CREATED_AT
    descending: bool = True
    limit: int = 50
    after: Cursor | None = None


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last row's sort value and id (keyset pagination)."""

    sort: CaseSort
    descending: bool
    value: Any
    case_id: str

    def encode(self) -> str:
        raw = json.dumps(
            {"s": self.sort.value, "d": self.descending, "v": self.value, "id": self.case_id},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            cursor = cls(CaseSort(raw["s"]), bool(raw["d"]), raw["v"], str(raw["id"]))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidInput("the cursor is not one this API gave out") from exc
        if not isinstance(cursor.value, int | str):
            raise InvalidInput("the cursor is not one this API gave out")
        return cursor

    def check_matches(self, sort: CaseSort, descending: bool) -> None:
        if self.sort is not sort or self.descending != descending:
            raise InvalidInput("the cursor belongs to another sort order; start again without it")


def sort_value(case: Case, sort: CaseSort) -> int | str:
    """The JSON-friendly value a cursor keeps for ``case`` under ``sort``."""
    if sort is CaseSort.PRIORITY:
        return PRIORITY_RANK[case.priority]
    if sort is CaseSort.NUMBER:
        return case.number
    value = getattr(case, sort.value)
    assert isinstance(value, datetime)
    return value.isoformat()


@dataclass(frozen=True)
class Page:
    items: list[Case] = field(default_factory=list)
    next_cursor: str | None = None


# -- the customer's timeline ---------------------------------------------------------------------

#: Case activity types that change a case after it was opened (its creation has its own entry).
TIMELINE_CHANGES = frozenset(
    {"case.updated", "case.resolved", "case.reopened", "case.cancelled", "case.linked", "case.unlinked"}
)
#: Edited fields a timeline names, in this order (the SLA due time follows the priority).
_TIMELINE_FIELDS = ("status", "priority", "owner_id", "queue_id", "title", "category", "description")
_FIELD_NAMES = {"owner_id": "owner", "queue_id": "queue"}


@dataclass(frozen=True)
class ChangeSummary:
    """One case change as a timeline shows it: a plain-text line, and the status it left."""

    text: str
    status: str | None


def summarise_change(
    kind: str, payload: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> ChangeSummary | None:
    """A line such as ``CAS-000012: priority normal → high; owner Ana → Sam`` for one activity row.

    ``names`` turns user and queue ids into names. None: the row is not a change a timeline shows
    (the creation, notes), or an edit of nothing it names.
    """
    if kind not in TIMELINE_CHANGES:
        return None
    named = names or {}
    number = str(payload.get("number", ""))

    def show(value: Any) -> str:
        if value is None or value == "":
            return "none"
        return named.get(str(value), str(value))

    if kind == "case.updated":
        changes = payload.get("changes") or {}
        parts = []
        for name in _TIMELINE_FIELDS:
            change = changes.get(name)
            if not isinstance(change, Mapping):
                continue
            label = _FIELD_NAMES.get(name, name)
            if name == "description":
                parts.append("description edited")
            else:
                parts.append(f"{label} {show(change.get('from'))} → {show(change.get('to'))}")
        if "customer_id" in changes:
            parts.append("moved here from a merged customer record")
        if not parts:
            return None
        status = changes.get("status")
        return ChangeSummary(
            f"{number}: " + "; ".join(parts), str(status["to"]) if isinstance(status, Mapping) else None
        )
    if kind == "case.resolved":
        resolution = shorten(" ".join(str(payload.get("resolution", "")).split()), 120)
        how = str(payload.get("resolution_type", "")).replace("_", " ")
        return ChangeSummary(f"{number}: resolved ({how}) — {resolution}", S.RESOLVED.value)
    if kind == "case.reopened":
        return ChangeSummary(f"{number}: reopened", S.ACTIVE.value)
    if kind == "case.cancelled":
        reason = str(payload.get("reason") or "").strip()
        text = f"{number}: cancelled" + (f" — {shorten(reason, 120)}" if reason else "")
        return ChangeSummary(text, S.CANCELLED.value)
    verb = "linked to" if kind == "case.linked" else "unlinked from"
    return ChangeSummary(f"{number}: {verb} a conversation", None)

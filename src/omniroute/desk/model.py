"""The agent's desk: quick replies and disposition codes. Pure rules, no I/O.

Quick replies are canned answers an agent inserts with ``/q`` in the workspace's composer; they
carry ``{slugs}`` filled from the conversation. A reply is *shared* (written by a supervisor or
an admin, offered to everybody) or *personal* (its author's own).

Disposition codes say how a conversation ended ("resolved", "callback promised"). Each queue has
its list and says whether choosing one at wrap-up is required before the conversation may close.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from omniroute.core.errors import Conflict, Forbidden, InvalidInput, NotFound

LANGUAGES = ("en", "es")
MAX_TITLE = 120
MAX_TEXT = 4000
MAX_TAGS = 10
MAX_TAG = 40
MAX_CODES = 50
MAX_CODE = 40
MAX_LABEL = 120
MAX_NOTES = 2000

_TAG = re.compile(r"^[\w-]+$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: ``{customerName}``, ``{prechat.email}``: the same slug syntax as the offer notification templates.
SLUG = re.compile(r"\{([A-Za-z_][\w.-]*)\}")


# -- quick replies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyContent:
    title: str
    text: str
    language: str | None = None
    """None: offered whatever the conversation's language."""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuickReply:
    id: str
    content: ReplyContent
    owner_id: str | None
    """None for a shared reply; else the agent whose own reply it is."""
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def shared(self) -> bool:
        return self.owner_id is None


@dataclass(frozen=True)
class Author:
    """Who writes: supervisors and admins may write shared replies, everybody their own."""

    user_id: str
    supervisor: bool


def fold(text: str) -> str:
    """Lower case without accents, so "informacion" finds "Información"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for raw in tags:
        tag = "-".join(raw.strip().lower().split())
        if not tag:
            continue
        if len(tag) > MAX_TAG or not _TAG.match(tag):
            msg = f"tag {raw!r}: letters, digits and hyphens, at most {MAX_TAG} characters"
            raise InvalidInput(msg)
        seen.setdefault(tag, None)
    if len(seen) > MAX_TAGS:
        msg = f"at most {MAX_TAGS} tags"
        raise InvalidInput(msg)
    return tuple(seen)


def check_language(language: str | None) -> str | None:
    if language is None or language == "":
        return None
    if language not in LANGUAGES:
        msg = f"language must be one of {list(LANGUAGES)} or empty for any"
        raise InvalidInput(msg)
    return language


def check_content(content: ReplyContent) -> ReplyContent:
    title = " ".join(content.title.split())
    if not title:
        raise InvalidInput("title must not be empty")
    if len(title) > MAX_TITLE:
        msg = f"title has more than {MAX_TITLE} characters"
        raise InvalidInput(msg)
    text = content.text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("text must not be empty")
    if len(text) > MAX_TEXT:
        msg = f"text has more than {MAX_TEXT} characters"
        raise InvalidInput(msg)
    return ReplyContent(
        title=title, text=text, language=check_language(content.language), tags=normalise_tags(content.tags)
    )


def new_reply(
    reply_id: str, content: ReplyContent, *, shared: bool, author: Author, now: datetime
) -> QuickReply:
    if shared and not author.supervisor:
        raise Forbidden("shared quick replies are written by supervisors and admins")
    return QuickReply(
        id=reply_id,
        content=check_content(content),
        owner_id=None if shared else author.user_id,
        created_by=author.user_id,
        created_at=now,
        updated_at=now,
        version=1,
    )


def can_see(reply: QuickReply, user_id: str) -> bool:
    return reply.shared or reply.owner_id == user_id


def check_can_change(reply: QuickReply, author: Author) -> None:
    """Somebody else's personal reply is not even visible: it answers as missing (no probing)."""
    if not can_see(reply, author.user_id):
        msg = f"no quick reply {reply.id}"
        raise NotFound(msg)
    if reply.shared and not author.supervisor:
        raise Forbidden("shared quick replies are changed by supervisors and admins")


def edit(
    reply: QuickReply, content: ReplyContent, expected_version: int | None, author: Author, now: datetime
) -> QuickReply:
    """The edited reply, or the same one when nothing changed."""
    check_can_change(reply, author)
    if expected_version is not None and expected_version != reply.version:
        msg = (
            f"quick reply {reply.id} changed meanwhile (now version {reply.version}, "
            f"you edited {expected_version}); reload and retry"
        )
        raise Conflict(msg)
    checked = check_content(content)
    if checked == reply.content:
        return reply
    return replace(reply, content=checked, updated_at=now, version=reply.version + 1)


def score(reply: QuickReply, terms: tuple[str, ...]) -> int:
    """0 when a term is missing; otherwise higher for matches in the title, then tags, then text.
    Every term must match somewhere: "/q refund card" narrows, as agents expect of a picker."""
    title, text = fold(reply.content.title), fold(reply.content.text)
    tags = [fold(t) for t in reply.content.tags]
    total = 0
    for term in terms:
        if title.startswith(term):
            total += 8
        elif term in title:
            total += 5
        elif any(tag.startswith(term) for tag in tags):
            total += 3
        elif term in text:
            total += 1
        else:
            return 0
    return total


def search(replies: Iterable[QuickReply], text: str, language: str | None, limit: int) -> list[QuickReply]:
    """Best matches first; without text, all of them by title. A language keeps replies in that
    language and those for any language."""
    terms = tuple(t for t in fold(text).split() if t)
    candidates = [r for r in replies if language is None or r.content.language in (None, language)]
    if not terms:
        return sorted(candidates, key=lambda r: (fold(r.content.title), r.id))[:limit]
    scored = [(score(r, terms), r) for r in candidates]
    hits = [(s, r) for s, r in scored if s > 0]
    hits.sort(key=lambda pair: (-pair[0], not pair[1].shared, fold(pair[1].content.title), pair[1].id))
    return [r for _, r in hits[:limit]]


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...]
    """Slugs left as typed because the conversation has no value for them: the agent fills them in."""


def slug_values(
    *, customer_name: str, agent_name: str, queue: str, channel: str, prechat: Mapping[str, object]
) -> dict[str, str]:
    """What a quick reply's slugs mean in one conversation. Every pre-chat answer is a slug by its
    name ({email}) and as {prechat.email}, for a field that shares a built-in slug's name."""
    values: dict[str, str] = {}
    for key, value in prechat.items():
        if value is None or isinstance(value, dict | list):
            continue
        text = str(value).strip()
        if text:
            values[key] = text
            values[f"prechat.{key}"] = text
    built_in = {"customerName": customer_name, "agentName": agent_name, "queue": queue, "channel": channel}
    values.update({k: v for k, v in built_in.items() if v})
    return values


def render(text: str, values: Mapping[str, str]) -> Rendered:
    missing: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        missing.setdefault(key, None)
        return match.group(0)

    return Rendered(SLUG.sub(fill, text), tuple(missing))


# -- disposition codes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispositionCode:
    code: str
    label: str


@dataclass(frozen=True)
class QueueDispositions:
    queue_id: str
    required: bool
    codes: tuple[DispositionCode, ...]
    version: int
    updated_at: datetime | None
    updated_by: str | None

    def find(self, code: str) -> DispositionCode | None:
        return next((c for c in self.codes if c.code == code), None)


def unset(queue_id: str) -> QueueDispositions:
    """A queue nobody configured: no codes, nothing required."""
    return QueueDispositions(queue_id, False, (), 0, None, None)


def check_codes(codes: Iterable[DispositionCode], required: bool) -> tuple[DispositionCode, ...]:
    out: list[DispositionCode] = []
    seen: set[str] = set()
    for raw in codes:
        code = raw.code.strip().lower()
        label = " ".join(raw.label.split())
        if not code or len(code) > MAX_CODE or not _CODE.match(code):
            msg = f"code {raw.code!r}: lower-case letters, digits, '-' and '_', at most {MAX_CODE} characters"
            raise InvalidInput(msg)
        if not label or len(label) > MAX_LABEL:
            msg = f"code {code}: a label of 1 to {MAX_LABEL} characters"
            raise InvalidInput(msg)
        if code in seen:
            msg = f"code {code} is listed twice"
            raise InvalidInput(msg)
        seen.add(code)
        out.append(DispositionCode(code, label))
    if len(out) > MAX_CODES:
        msg = f"at most {MAX_CODES} codes per queue"
        raise InvalidInput(msg)
    if required and not out:
        raise InvalidInput("a queue that requires a disposition code needs at least one code")
    return tuple(out)


def configure(
    current: QueueDispositions,
    *,
    required: bool,
    codes: Iterable[DispositionCode],
    expected_version: int | None,
    by: str | None,
    now: datetime,
) -> QueueDispositions:
    """The new list, or the current one when nothing changed (no new version for a no-op save)."""
    if expected_version is not None and expected_version != current.version:
        msg = (
            f"the codes of this queue changed meanwhile (now version {current.version}, "
            f"you edited {expected_version}); reload and retry"
        )
        raise Conflict(msg)
    checked = check_codes(codes, required)
    if checked == current.codes and required == current.required:
        return current
    return QueueDispositions(current.queue_id, required, checked, current.version + 1, now, by)


@dataclass(frozen=True)
class Disposition:
    """The code chosen for one conversation (the last choice counts)."""

    conversation_id: str
    queue_id: str
    code: str
    label: str
    notes: str
    agent_id: str | None
    recorded_at: datetime


#: States in which the holder may choose (or change) the code: during the conversation or wrap-up.
RECORDABLE_STATES = frozenset({"active", "waiting", "wrap_up"})


def choose(
    config: QueueDispositions,
    *,
    conversation_id: str,
    state: str,
    code: str,
    notes: str,
    agent_id: str | None,
    now: datetime,
) -> Disposition:
    if state not in RECORDABLE_STATES:
        msg = f"a disposition is chosen before the conversation closes (it is {state})"
        raise Conflict(msg)
    found = config.find(code.strip().lower())
    if found is None:
        known = ", ".join(c.code for c in config.codes) or "none configured"
        msg = f"{code!r} is not a disposition code of this queue (codes: {known})"
        raise InvalidInput(msg)
    clean_notes = notes.strip()
    if len(clean_notes) > MAX_NOTES:
        msg = f"notes have more than {MAX_NOTES} characters"
        raise InvalidInput(msg)
    return Disposition(conversation_id, config.queue_id, found.code, found.label, clean_notes, agent_id, now)


def check_can_close(state: str, config: QueueDispositions, recorded: Disposition | None) -> None:
    """A queue that requires a code closes only with one chosen for the queue it is in now (a code
    chosen before a transfer belongs to the old queue's list)."""
    if state == "closed" or not config.required:
        return
    if recorded is None or recorded.queue_id != config.queue_id:
        raise Conflict("this queue requires a disposition code: choose one before closing the conversation")

"""The web chat channel's rules: widget keys, allowed origins, the pre-chat form and survey,
CSAT, the offline form. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from omniroute.channels.webchat.settings import SurveyQuestion, WidgetSettings
from omniroute.core.errors import Forbidden, InvalidInput

CHANNEL = "webchat"


@dataclass(frozen=True)
class Widget:
    id: str
    name: str
    public_key: str
    allowed_origins: tuple[str, ...]
    default_queue_id: str | None
    settings: WidgetSettings = field(default_factory=WidgetSettings)
    #: The HS256 identity-token secret, sealed by ``core.secretbox`` (never shown after it is set).
    identity_secret: str | None = field(default=None, repr=False)


def normalise_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"not an origin: {origin!r}"
        raise InvalidInput(msg)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def check_origin(widget: Widget, origin: str | None) -> None:
    """Browsers always send Origin on cross-origin and POST requests; no origin means no browser."""
    if "*" in widget.allowed_origins:
        return
    if origin is None:
        raise Forbidden("the Origin header is required")
    try:
        normalised = normalise_origin(origin)
    except InvalidInput as exc:
        raise Forbidden("origin not allowed for this widget") from exc
    if normalised not in widget.allowed_origins:
        raise Forbidden("origin not allowed for this widget")


@dataclass(frozen=True)
class PrechatAnswers:
    name: str
    email: str | None
    question: str
    queue: str | None


def read_prechat(name: str, email: str | None, question: str, queue: str | None) -> PrechatAnswers:
    clean_name = name.strip()
    if not clean_name:
        raise InvalidInput("name is required")
    if len(clean_name) > 200:
        raise InvalidInput("name is longer than 200 characters")
    clean_email = (email or "").strip().lower() or None
    if clean_email is not None and ("@" not in clean_email or len(clean_email) > 254):
        raise InvalidInput("email is not valid")
    return PrechatAnswers(clean_name, clean_email, question.strip(), (queue or "").strip() or None)


def _answer(q: SurveyQuestion, value: Any) -> str | None:
    """One answer as text, None when not given; ValueError names what is wrong."""
    if q.type == "consent":
        if value is not None and not isinstance(value, bool):
            raise ValueError("consent is true or false")
        if q.required and value is not True:
            raise ValueError("consent is required")
        return None if value is None else ("yes" if value else "no")
    if value is None or (isinstance(value, str) and not value.strip()):
        if q.required:
            raise ValueError("an answer is required")
        return None
    if not isinstance(value, str):
        raise ValueError("the answer must be text")
    text = value.strip()
    if q.type == "text":
        text = " ".join(text.split())  # one line: newlines would break the agent's summary
    if q.type == "choice":
        if text not in {o.value for o in q.options}:
            msg = f"{text!r} is not one of the options"
            raise ValueError(msg)
    elif len(text) > q.limit:
        msg = f"longer than {q.limit} characters"
        raise ValueError(msg)
    return text


def read_answers(questions: Sequence[SurveyQuestion], raw: Mapping[str, Any]) -> dict[str, str]:
    """Check pre-chat survey answers against the widget's questions; every problem is named.

    Answers become text (choice: the option's value; consent: "yes"/"no") so routing rules compare
    them like any pre-chat field (``prechat.<question id>``).
    """
    known = {q.id for q in questions}
    problems = [f"answers.{key}: no such question" for key in sorted(set(raw) - known)]
    answers: dict[str, str] = {}
    for q in questions:
        try:
            answer = _answer(q, raw.get(q.id))
        except ValueError as exc:
            problems.append(f"answers.{q.id}: {exc}")
            continue
        if answer is not None:
            answers[q.id] = answer
    if problems:
        raise InvalidInput("; ".join(problems))
    return answers


def check_email_policy(policy: str, email: str | None) -> None:
    if policy == "required" and not email:
        raise InvalidInput("email is required")


FREE_TEXT_TYPES = frozenset({"text", "multiline"})


def check_rating(rating: int, comment: str) -> str:
    if not 1 <= rating <= 5:
        raise InvalidInput("rating must be between 1 and 5")
    clean = comment.strip()
    if len(clean) > MAX_CSAT_COMMENT:
        msg = f"comment is longer than {MAX_CSAT_COMMENT} characters"
        raise InvalidInput(msg)
    return clean


MAX_CSAT_COMMENT = 2000


@dataclass(frozen=True)
class CsatResponse:
    conversation_id: str
    widget_id: str
    queue_id: str
    agent_id: str | None
    rating: int
    comment: str
    submitted_at: datetime


@dataclass(frozen=True)
class CsatSummary:
    queue_id: str
    responses: int
    average: float
    distribution: dict[int, int]


def check_offline_message(name: str, email: str, message: str, max_chars: int) -> tuple[str, str, str]:
    clean_name, clean_email, clean_message = name.strip(), email.strip().lower(), message.strip()
    problems = []
    if not clean_name:
        problems.append("name is required")
    elif len(clean_name) > 200:
        problems.append("name is longer than 200 characters")
    if not clean_email:
        problems.append("email is required, so that we can reply")
    elif "@" not in clean_email or len(clean_email) > 254:
        problems.append("email is not valid")
    if not clean_message:
        problems.append("message is required")
    elif len(clean_message) > max_chars:
        problems.append(f"message is longer than {max_chars} characters")
    if problems:
        raise InvalidInput("; ".join(problems))
    return clean_name, clean_email, clean_message

"""What the widget's script is told about its widget: public, localised, never a secret. Pure.

The widget draws everything from this (texts, theme, questions, invitations, whether chat is
open), so a change saved by an admin reaches visitors on their next page load.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from omniroute.channels.webchat.availability import Availability
from omniroute.channels.webchat.catalog import LANGUAGES, strings_for
from omniroute.channels.webchat.model import Widget
from omniroute.channels.webchat.settings import SurveyQuestion, localise


class PublicQueue(BaseModel):
    id: str
    name: str
    description: str


class PublicOption(BaseModel):
    value: str
    label: str


class PublicQuestion(BaseModel):
    id: str
    type: str
    label: str
    required: bool
    options: list[PublicOption]
    max_length: int


class PublicTheme(BaseModel):
    primary_color: str
    on_primary_color: str
    background_color: str
    title: str
    logo_url: str | None
    position: Literal["left", "right"]


class PublicPrechat(BaseModel):
    email: str = Field(description="optional, required or hidden")
    ask_question: bool
    questions: list[PublicQuestion]


class PublicCsat(BaseModel):
    enabled: bool
    ask_comment: bool


class PublicTranscript(BaseModel):
    download: bool
    email: bool = Field(description="true when transcripts can be emailed (an email account exists)")


class PublicIdentity(BaseModel):
    mode: str = Field(description="off, optional or required")


class PublicInvitation(BaseModel):
    id: str
    message: str
    min_seconds_on_page: int
    url_pattern: str | None


class PublicOffline(BaseModel):
    enabled: bool


class PublicAvailability(BaseModel):
    open: bool
    next_opening: datetime | None


class PublicAttachments(BaseModel):
    enabled: bool
    max_bytes: int = Field(description="the largest file accepted (413 beyond)")
    blocked_extensions: list[str] = Field(description="refused with 415")


class PublicConfig(BaseModel):
    name: str
    language: str
    languages: list[str]
    strings: dict[str, str]
    queues: list[PublicQueue]
    theme: PublicTheme
    prechat: PublicPrechat
    csat: PublicCsat
    transcript: PublicTranscript
    identity: PublicIdentity
    proactive: list[PublicInvitation]
    offline: PublicOffline
    availability: PublicAvailability
    attachments: PublicAttachments | None = Field(default=None, description="what customers may attach")


def _question(q: SurveyQuestion, language: str) -> PublicQuestion:
    return PublicQuestion(
        id=q.id,
        type=q.type,
        label=localise(q.label, language, q.id),
        required=q.required,
        options=[PublicOption(value=o.value, label=localise(o.label, language, o.value)) for o in q.options],
        max_length=q.limit,
    )


def public_config(
    widget: Widget,
    *,
    language: str,
    queues: Sequence[PublicQueue],
    availability: Availability,
    email_transcripts_possible: bool,
) -> PublicConfig:
    s = widget.settings
    strings = strings_for(language, s.texts)
    return PublicConfig(
        name=widget.name,
        language=language,
        languages=list(LANGUAGES),
        strings=strings,
        queues=list(queues),
        theme=PublicTheme(
            primary_color=s.theme.primary_color,
            on_primary_color=s.theme.on_primary_color,
            background_color=s.theme.background_color,
            title=localise(s.theme.title, language, strings["title"]),
            logo_url=s.theme.logo_url,
            position=s.theme.position,
        ),
        prechat=PublicPrechat(
            email=s.prechat.email,
            ask_question=s.prechat.ask_question,
            questions=[_question(q, language) for q in s.prechat.questions],
        ),
        csat=PublicCsat(enabled=s.csat.enabled, ask_comment=s.csat.ask_comment),
        transcript=PublicTranscript(
            download=s.transcript.download, email=s.transcript.email and email_transcripts_possible
        ),
        identity=PublicIdentity(mode=s.identity.mode),
        proactive=[
            PublicInvitation(
                id=r.id,
                message=localise(r.message, language),
                min_seconds_on_page=r.min_seconds_on_page,
                url_pattern=r.url_pattern,
            )
            for r in s.proactive
        ],
        offline=PublicOffline(enabled=s.offline.enabled),
        availability=PublicAvailability(open=availability.open, next_opening=availability.next_opening),
    )

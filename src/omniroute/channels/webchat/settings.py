"""A widget's settings: one validated document per widget, edited by admins. Pure.

Everything the widget shows or asks comes from here (theme, pre-chat survey, CSAT, languages,
proactive invitations, offline form); what the server enforces lives here too (masking patterns,
identity tokens). Defaults make a widget work without any settings saved.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omniroute.channels.webchat.catalog import LANGUAGES, STRING_KEYS

SLUG = r"^[a-z][a-z0-9_]{0,39}$"
#: Pre-chat answers sit next to these fields in the conversation's pre-chat record.
RESERVED_QUESTION_IDS = frozenset(
    {"name", "email", "question", "queue", "offline", "customer_ref", "widget", "language"}
)
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
MAX_PATTERN_LENGTH = 500

#: Text in the widget's languages. A plain string is used for every language.
LocalText = str | dict[str, Annotated[str, Field(min_length=1, max_length=2000)]]


def localise(text: LocalText | None, language: str, fallback: str = "") -> str:
    """The text for ``language``; else English; else any; else ``fallback``."""
    if text is None:
        return fallback
    if isinstance(text, str):
        return text
    return text.get(language) or text.get("en") or next(iter(text.values()), fallback)


def _check_local_text(value: LocalText | None, what: str) -> None:
    if isinstance(value, dict):
        if not value:
            msg = f"{what} needs at least one language"
            raise ValueError(msg)
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            msg = f"{what} has unknown language(s) {unknown}; use {', '.join(LANGUAGES)}"
            raise ValueError(msg)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_logo_url(value: str) -> str:
    """https URLs, or a path on the Omniroute server; never javascript:, data: or plain http."""
    if value.startswith("https://") and len(value) > len("https://"):
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    msg = "logo_url must be an https:// URL or a path starting with /"
    raise ValueError(msg)


class Theme(Strict):
    primary_color: str = Field(default="#0f766e", description="launcher, header, buttons")
    on_primary_color: str = Field(default="#ffffff", description="text on the primary colour")
    background_color: str = Field(default="#ffffff", description="the panel's background")
    title: LocalText | None = Field(default=None, description="header title; default from the catalogue")
    logo_url: str | None = Field(default=None, max_length=1000)
    position: Literal["left", "right"] = "right"

    @field_validator("primary_color", "on_primary_color", "background_color")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_COLOUR.match(value):
            msg = f"{value!r} is not a hex colour such as #0f766e"
            raise ValueError(msg)
        return value.lower()

    @field_validator("logo_url")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        return None if value is None else check_logo_url(value)

    @model_validator(mode="after")
    def _texts(self) -> Theme:
        _check_local_text(self.title, "title")
        return self


class ChoiceOption(Strict):
    value: str = Field(pattern=SLUG)
    label: LocalText

    @model_validator(mode="after")
    def _texts(self) -> ChoiceOption:
        _check_local_text(self.label, f"option {self.value!r}")
        return self


QuestionType = Literal["text", "multiline", "choice", "consent"]
DEFAULT_MAX_LENGTH: dict[str, int] = {"text": 200, "multiline": 2000, "choice": 40, "consent": 3}


class SurveyQuestion(Strict):
    id: str = Field(pattern=SLUG, description="the answer's key: prechat.<id> in routing rules")
    type: QuestionType
    label: LocalText
    required: bool = False
    options: list[ChoiceOption] = Field(default_factory=list, max_length=30)
    max_length: int | None = Field(default=None, ge=1, le=4000, description="text and multiline")

    @model_validator(mode="after")
    def _coherent(self) -> SurveyQuestion:
        _check_local_text(self.label, f"question {self.id!r}")
        if self.id in RESERVED_QUESTION_IDS:
            msg = f"question id {self.id!r} is reserved"
            raise ValueError(msg)
        if self.type == "choice":
            if len(self.options) < 2:
                msg = f"choice question {self.id!r} needs at least two options"
                raise ValueError(msg)
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                msg = f"choice question {self.id!r} repeats an option value"
                raise ValueError(msg)
        elif self.options:
            msg = f"only choice questions have options ({self.id!r} is {self.type})"
            raise ValueError(msg)
        if self.max_length is not None and self.type not in ("text", "multiline"):
            msg = f"max_length applies to text and multiline questions, not {self.type}"
            raise ValueError(msg)
        return self

    @property
    def limit(self) -> int:
        return self.max_length or DEFAULT_MAX_LENGTH[self.type]


class Prechat(Strict):
    email: Literal["optional", "required", "hidden"] = "optional"
    ask_question: bool = Field(default=True, description="the free-text 'How can we help?' field")
    questions: list[SurveyQuestion] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> Prechat:
        ids = [q.id for q in self.questions]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            msg = f"question ids must be unique: {repeated}"
            raise ValueError(msg)
        return self


class Csat(Strict):
    enabled: bool = True
    ask_comment: bool = True


class MaskPattern(Strict):
    name: str = Field(min_length=1, max_length=60)
    pattern: str = Field(min_length=1, max_length=MAX_PATTERN_LENGTH, description="Python regular expression")
    replacement: str = Field(default="[redacted]", max_length=60)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            msg = f"invalid regular expression: {exc}"
            raise ValueError(msg) from exc
        if compiled.match(""):
            msg = "the pattern matches empty text, which would mask between every character"
            raise ValueError(msg)
        return value


class Masking(Strict):
    card_numbers: bool = Field(default=True, description="13–19 digit numbers that pass the Luhn check")
    patterns: list[MaskPattern] = Field(default_factory=list, max_length=20)


class Transcript(Strict):
    download: bool = True
    email: bool = True
    email_account_id: str | None = Field(
        default=None, description="the email channel account to send from; default: the first enabled one"
    )


class IdentityTokens(Strict):
    mode: Literal["off", "optional", "required"] = "off"
    algorithm: Literal["HS256", "RS256"] = "HS256"
    public_key: str | None = Field(default=None, max_length=10_000, description="PEM, for RS256")
    max_age_seconds: int = Field(default=3600, ge=30, le=86_400, description="oldest iat accepted")
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="clock skew allowed")

    @model_validator(mode="after")
    def _key(self) -> IdentityTokens:
        if self.algorithm == "RS256" and self.mode != "off":
            if not self.public_key:
                raise ValueError("RS256 identity tokens need public_key (PEM)")
            try:
                key = load_pem_public_key(self.public_key.encode())
            except ValueError as exc:
                raise ValueError("public_key is not a PEM public key") from exc
            if not isinstance(key, RSAPublicKey):
                raise ValueError("public_key must be an RSA key for RS256")
        return self


class ProactiveRule(Strict):
    id: str = Field(pattern=SLUG)
    message: LocalText
    min_seconds_on_page: int = Field(default=0, ge=0, le=3600)
    url_pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="'*' matches anything; matched against the path and query, or the full URL "
        "when the pattern starts with http",
    )

    @model_validator(mode="after")
    def _texts(self) -> ProactiveRule:
        _check_local_text(self.message, f"proactive rule {self.id!r}")
        return self


class Offline(Strict):
    enabled: bool = Field(default=True, description="offer a message form while the queue is closed")


class Attachments(Strict):
    enabled: bool = Field(default=True, description="customers may attach files")
    max_bytes: int | None = Field(
        default=None,
        ge=1024,
        description="a lower size limit than the server's (OMNIROUTE_ATTACHMENT_MAX_BYTES); "
        "default: the server's",
    )


class WidgetSettings(Strict):
    language: Literal["auto", "en", "es"] = Field(
        default="auto", description="auto: the visitor's browser language when supported"
    )
    theme: Theme = Field(default_factory=Theme)
    prechat: Prechat = Field(default_factory=Prechat)
    csat: Csat = Field(default_factory=Csat)
    masking: Masking = Field(default_factory=Masking)
    transcript: Transcript = Field(default_factory=Transcript)
    identity: IdentityTokens = Field(default_factory=IdentityTokens)
    proactive: list[ProactiveRule] = Field(default_factory=list, max_length=10)
    offline: Offline = Field(default_factory=Offline)
    attachments: Attachments = Field(default_factory=Attachments)
    texts: dict[str, dict[str, Annotated[str, Field(max_length=500)]]] = Field(
        default_factory=dict, description="per-language overrides of catalogue strings"
    )

    @model_validator(mode="after")
    def _coherent(self) -> WidgetSettings:
        ids = [r.id for r in self.proactive]
        if len(set(ids)) != len(ids):
            raise ValueError("proactive rule ids must be unique")
        for language, strings in self.texts.items():
            if language not in LANGUAGES:
                msg = f"texts: unknown language {language!r}; use {', '.join(LANGUAGES)}"
                raise ValueError(msg)
            unknown = sorted(set(strings) - STRING_KEYS)
            if unknown:
                msg = f"texts.{language}: unknown string key(s) {unknown}"
                raise ValueError(msg)
        return self

"""The flow document: what an admin writes in YAML, validated by pydantic. Pure: no I/O.

A flow is one topic of conversation in one language: how it starts (trigger phrases or an intent),
what it must find out (slots, each an entity with re-prompts and a retry limit) and what it does
(steps: say, ask, condition, set, http, jump, handoff, end). System flows (``system: greeting`` and
so on) are run by the runtime at fixed moments instead of by a trigger. See docs/BOTS.md.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from omniroute.routing.rules import Condition

LANGUAGES = ("en", "es")
FLOW_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
#: A variable: a bare topic variable (``card``), or ``topic.``/``global.`` followed by a name.
VARIABLE = r"^(?:(?:topic|global)\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$"
#: Names a topic variable may not take: they are the namespaces conditions and templates read.
RESERVED = frozenset({"topic", "global", "context", "customer", "prechat", "channel", "language", "intent"})
MAX_STEPS = 200
MAX_TEXT = 2000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemFlow(StrEnum):
    GREETING = "greeting"  # the session starts
    FALLBACK = "fallback"  # nothing understood the customer, not even the knowledge base
    ESCALATE = "escalate"  # said before handing off to a person
    END = "end"  # said when the bot ends the conversation
    ERROR = "error"  # an action failed and the flow did not say what to do


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


# -- entities -------------------------------------------------------------------------------------


class RegexEntity(Strict):
    type: Literal["regex"]
    pattern: str = Field(min_length=1, max_length=500)
    group: int | str | None = Field(
        default=None, description="the group whose text is the value; default the first group, else all"
    )
    case_sensitive: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            msg = f"invalid regular expression: {exc}"
            raise ValueError(msg) from exc
        return value


class Choice(Strict):
    value: str = Field(min_length=1, max_length=200)
    synonyms: list[str] = Field(default_factory=list, max_length=50)


class ChoiceEntity(Strict):
    type: Literal["choice"]
    choices: list[Choice] = Field(min_length=1, max_length=50)

    @field_validator("choices", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"value": v} if isinstance(v, str | int | float | bool) else v for v in value]
        return value


class NumberEntity(Strict):
    type: Literal["number"]
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False


class DateEntity(Strict):
    type: Literal["date"]
    day_first: bool | None = Field(
        default=None, description="read 03/04 as 3 April; default: yes in Spanish, no in English"
    )


class EmailEntity(Strict):
    type: Literal["email"]


class PhoneEntity(Strict):
    type: Literal["phone"]


Entity = Annotated[
    Union[RegexEntity, ChoiceEntity, NumberEntity, DateEntity, EmailEntity, PhoneEntity],  # noqa: UP007 - a discriminated union needs Union at runtime
    Field(discriminator="type"),
]


def _entity_shorthand(value: Any) -> Any:
    """``entity: email`` means ``entity: {type: email}``."""
    return {"type": value} if isinstance(value, str) else value


# -- steps ----------------------------------------------------------------------------------------


class Slot(Strict):
    """Something the flow must find out. Filled from the customer's words by its entity type."""

    name: str = Field(pattern=VARIABLE)
    entity: Entity
    prompt: Text | list[Text]
    reprompt: Text | None = Field(default=None, description="said when the answer is not understood")
    max_retries: int = Field(default=2, ge=0, le=10, description="re-prompts before on_fail runs")
    on_fail: list[Step] | None = Field(
        default=None, description="steps to run after the last retry; default: hand off to a person"
    )

    @field_validator("entity", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _entity_shorthand(value)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        bare = value.rsplit(".", maxsplit=1)[-1]
        if value.count(".") == 0 and bare in RESERVED:
            msg = f"{bare!r} is reserved; choose another name"
            raise ValueError(msg)
        return value


class SayStep(Strict):
    say: Text | list[Text]


class AskStep(Strict):
    """Ask now, even if the variable already holds a value (a slot asks only when it is empty)."""

    ask: Slot


class SetValue(Strict):
    var: str = Field(pattern=VARIABLE)
    value: Any = Field(description="a literal, or text with {{variables}}")


class SetStep(Strict):
    set: SetValue


class Branch(Strict):
    if_: Condition = Field(alias="if")
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


class ConditionStep(Strict):
    condition: Branch


class HttpAction(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(min_length=1, max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    save_as: str | None = Field(
        default=None, pattern=VARIABLE, description="gets {ok, status, body} or {ok: false, error}"
    )
    on_error: list[Step] | None = Field(
        default=None, description="steps to run on timeout, connection error or a non-2xx status"
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("url must start with http:// or https://")
        return value


class HttpStep(Strict):
    http: HttpAction


class JumpStep(Strict):
    jump: str = Field(pattern=FLOW_ID, description="the flow to continue with (this topic ends)")


class Handoff(Strict):
    reason: str = Field(default="flow", min_length=1, max_length=120)
    queue: str | None = Field(default=None, max_length=120, description="ask routing for this queue")
    say: Text | None = Field(default=None, description="instead of the escalate system flow")


class HandoffStep(Strict):
    handoff: Handoff

    @field_validator("handoff", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None or value is True:
            return {}
        return {"reason": value} if isinstance(value, str) else value


class End(Strict):
    say: Text | None = Field(default=None, description="instead of the end system flow")


class EndStep(Strict):
    end: End

    @field_validator("end", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None or value is True:
            return {}
        return {"say": value} if isinstance(value, str) else value


STEP_KINDS = ("say", "ask", "set", "condition", "http", "jump", "handoff", "end")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in value if k in STEP_KINDS]
        return keys[0] if len(keys) == 1 else None
    if isinstance(value, BaseModel):
        return next((k for k in STEP_KINDS if k in type(value).model_fields), None)
    return None


Step = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs Union at runtime
        Annotated[SayStep, Tag("say")],
        Annotated[AskStep, Tag("ask")],
        Annotated[SetStep, Tag("set")],
        Annotated[ConditionStep, Tag("condition")],
        Annotated[HttpStep, Tag("http")],
        Annotated[JumpStep, Tag("jump")],
        Annotated[HandoffStep, Tag("handoff")],
        Annotated[EndStep, Tag("end")],
    ],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message=f"a step is a mapping with exactly one of: {', '.join(STEP_KINDS)}",
    ),
]


# -- the flow -------------------------------------------------------------------------------------


class Trigger(Strict):
    intent: str | None = Field(
        default=None, pattern=FLOW_ID, description="flows in other languages share it; default: the id"
    )
    phrases: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=500
    )


class Flow(Strict):
    id: str = Field(pattern=FLOW_ID)
    language: Literal["en", "es"]
    name: str = Field(default="", max_length=120)
    description: str = Field(default="", max_length=1000)
    system: SystemFlow | None = None
    trigger: Trigger = Field(default_factory=Trigger)
    variables: dict[str, Any] = Field(default_factory=dict, description="topic variables and defaults")
    slots: list[Slot] = Field(default_factory=list, max_length=30)
    steps: list[Step] = Field(default_factory=list, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _coherent(self) -> Flow:
        if self.system is not None and (self.trigger.phrases or self.trigger.intent):
            raise ValueError("a system flow runs at fixed moments: it takes no trigger")
        names = [s.name for s in self.slots]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            msg = f"duplicate slot names {dupes}"
            raise ValueError(msg)
        bad = sorted(v for v in self.variables if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", v))
        bad += sorted(v for v in self.variables if v in RESERVED)
        if bad:
            msg = f"invalid or reserved variable names {bad}"
            raise ValueError(msg)
        return self

    @property
    def intent(self) -> str | None:
        """The intent that starts this flow; None for system flows."""
        if self.system is not None:
            return None
        return self.trigger.intent or self.id


Slot.model_rebuild()
Branch.model_rebuild()
HttpAction.model_rebuild()

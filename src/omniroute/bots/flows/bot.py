"""A bot's settings: which languages it speaks, how it understands, when it escalates, where it sits.

The flows are separate documents (``flows.model.Flow``); this is the rest, validated the same way
(pydantic) and stored as one JSON document per bot. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from omniroute.bots.flows.model import FLOW_ID, LANGUAGES, Strict
from omniroute.routing.rules import Condition

#: What customers say to ask for a person, matched as whole words (accents and case ignored).
DEFAULT_REQUEST_PHRASES: dict[str, list[str]] = {
    "en": [
        "agent",
        "human",
        "person",
        "real person",
        "representative",
        "operator",
        "someone real",
        "customer service",
    ],
    "es": ["agente", "humano", "persona", "persona real", "asesor", "operador", "representante"],
}


class EscalationRule(Strict):
    """Hand off when ``when`` holds (over context, variables, intent, sentiment) or on an intent."""

    name: str = Field(pattern=FLOW_ID)
    when: Condition | None = None
    intents: list[str] = Field(default_factory=list, description="restricted topics: hand off at once")

    @model_validator(mode="after")
    def _has_a_trigger(self) -> EscalationRule:
        if self.when is None and not self.intents:
            raise ValueError("an escalation rule needs 'when', 'intents' or both")
        return self


class Escalation(Strict):
    request_phrases: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_REQUEST_PHRASES))
    max_consecutive_fallbacks: int = Field(default=3, ge=1, le=20)
    sentiment_threshold: float | None = Field(
        default=-0.6, ge=-1.0, le=0.0, description="hand off when the recent mood is at or below this"
    )
    sentiment_min_turns: int = Field(default=2, ge=1, le=20, description="customer turns before it applies")
    rules: list[EscalationRule] = Field(default_factory=list, max_length=50)


class Understanding(Strict):
    embedder: Literal["lexical", "e5"] = Field(
        default="e5", description="e5: multilingual-e5-small (bundled); lexical: no model, exact words"
    )
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    margin: float = Field(default=0.1, ge=0.0, le=1.0)


class Knowledge(Strict):
    enabled: bool = True
    min_score: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description=(
            "below this no article is quoted; default 0.55 for every embedder (the score is"
            " already calibrated per embedder, docs/BOTS.md)"
        ),
    )
    max_quote_chars: int = Field(default=400, ge=80, le=2000)


class External(Strict):
    """A bot elsewhere (Rasa, Botpress, Copilot Studio…) speaking the webhook protocol (docs/BOTS.md)."""

    endpoint: str = Field(max_length=2000)
    request_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    reply_timeout_seconds: int = Field(
        default=30, ge=1, le=3600, description="no activity this long after a customer message: hand off"
    )

    @field_validator("endpoint")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("endpoint must start with http:// or https://")
        return value


class BotSettings(Strict):
    name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(default="Assistant", min_length=1, max_length=120, description="sender name")
    kind: Literal["flows", "external"] = "flows"
    enabled: bool = True
    languages: list[Annotated[str, Field(pattern="^(en|es)$")]] = Field(default_factory=lambda: ["en", "es"])
    default_language: str = Field(default="en", pattern="^(en|es)$")
    queues: list[str] = Field(
        default_factory=list, description="new work routed to these queues meets this bot first"
    )
    understanding: Understanding = Field(default_factory=Understanding)
    escalation: Escalation = Field(default_factory=Escalation)
    knowledge: Knowledge = Field(default_factory=Knowledge)
    external: External | None = None
    idle_timeout_seconds: int | None = Field(
        default=1800, ge=60, le=7 * 86_400, description="end the session when the customer goes quiet"
    )
    turn_timeout_seconds: float = Field(
        default=20.0, gt=0, le=120, description="a turn that takes longer hands off (the bot is stuck)"
    )

    @model_validator(mode="after")
    def _coherent(self) -> BotSettings:
        if not self.languages or len(set(self.languages)) != len(self.languages):
            raise ValueError("languages must list each language once")
        if self.default_language not in self.languages:
            raise ValueError("default_language must be one of languages")
        unknown = sorted(set(self.escalation.request_phrases) - set(LANGUAGES))
        if unknown:
            msg = f"request_phrases for unknown languages {unknown}"
            raise ValueError(msg)
        if self.kind == "external" and self.external is None:
            raise ValueError("an external bot needs 'external' with its endpoint")
        return self

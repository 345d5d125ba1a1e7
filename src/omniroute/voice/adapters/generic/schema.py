"""Omniroute's normalised call events on the wire, as any vendor can send them (pydantic).

Unknown fields are refused: this is our own protocol, so a misspelt field is a sender's bug that
should fail loudly instead of being dropped. Numbers that are not E.164 (``anonymous``, national
numbers without a country code) arrive as unknown (None) rather than being guessed.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from omniroute.voice.model import CallEventKind, Direction

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)]
MAX_EVENTS = 100
MAX_TURNS = 5000
MAX_IVR_FIELDS = 100


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    text: Annotated[str, StringConstraints(max_length=20_000)]
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.start is not None and self.end is not None and self.end < self.start:
            msg = "end must not be before start"
            raise ValueError(msg)
        return self


class CallEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    event_id: Id
    call_id: Id
    kind: CallEventKind
    occurred_at: AwareDatetime
    direction: Direction | None = None
    from_: Annotated[str | None, Field(alias="from", max_length=200)] = None
    to: Annotated[str | None, Field(max_length=200)] = None
    queue: Id | None = None
    ivr_data: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=MAX_IVR_FIELDS)
    agent_id: Id | None = None
    previous_call_id: Id | None = None
    initial_call_id: Id | None = None
    transfer_to: Id | None = None
    participant: Id | None = None
    participant_joined: bool = True
    recording_url: Url | None = None
    transcript: list[TurnIn] = Field(default_factory=list, max_length=MAX_TURNS)
    disposition: Id | None = None
    notes: Text | None = None
    end_reason: Id | None = None

    @model_validator(mode="after")
    def _kind_needs(self) -> Self:
        if self.kind is CallEventKind.RECORDING_AVAILABLE and not self.recording_url:
            msg = "a recording_available event needs recording_url"
            raise ValueError(msg)
        if self.kind is CallEventKind.TRANSCRIPT_AVAILABLE and not self.transcript:
            msg = "a transcript_available event needs at least one transcript turn"
            raise ValueError(msg)
        return self


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[CallEventIn] = Field(min_length=1, max_length=MAX_EVENTS)

"""The dialogue state a bot session keeps between turns: plain data, stored as JSON. Pure.

The machine never changes a state it was given: it works on a copy (``clone``) and returns it.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Customer phrases kept: enough for sentiment over recent turns and the hand-off context.
MAX_PHRASES = 10

SCHEMA = 1


@dataclass
class Frame:
    """One topic in progress: a flow, where it is, and its topic variables."""

    flow_id: str
    ip: int = 0  # the next instruction of the flow's program
    vars: dict[str, Any] = field(default_factory=dict)
    waiting: bool = False  # ip is an ask/slot waiting for the customer's answer
    retries: int = 0  # answers to the current ask not understood so far


@dataclass
class Exit:
    """The session is on its way out: a hand-off or an end, after the flow saying so finishes."""

    kind: Literal["handoff", "end"]
    reason: str
    queue: str | None = None


@dataclass
class Pending:
    """An effect the service must perform before the machine can continue (see ``effects``)."""

    kind: Literal["http", "knowledge"]
    #: knowledge: "answer" (the customer asked something), "slot" (a question in the middle of a
    #: form: answer it, then ask the form's question again).
    purpose: str = ""
    save_as: str | None = None


@dataclass
class DialogueState:
    language: str
    context: dict[str, Any] = field(default_factory=dict)  # read-only: customer, prechat, channel…
    stack: list[Frame] = field(default_factory=list)  # the top is the topic in progress
    globals: dict[str, Any] = field(default_factory=dict)
    started: bool = False
    turns: int = 0  # customer turns
    fallbacks: int = 0  # consecutive turns nothing understood
    topics: list[str] = field(default_factory=list)  # intents visited, in order, once each
    phrases: list[str] = field(default_factory=list)  # the customer's last phrases, oldest first
    collected: dict[str, Any] = field(default_factory=dict)  # every slot and set value, for hand-off
    sentiment: float | None = None
    offer_pending: bool = False  # we offered a person after a miss; "yes" takes it
    exit: Exit | None = None
    pending: Pending | None = None
    finished: Literal["handoff", "end"] | None = None
    schema: int = SCHEMA

    @property
    def last_topic(self) -> str | None:
        return self.topics[-1] if self.topics else None

    def clone(self) -> DialogueState:
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DialogueState:
        raw = dict(data)
        raw["stack"] = [Frame(**f) for f in raw.get("stack", [])]
        raw["exit"] = Exit(**raw["exit"]) if raw.get("exit") else None
        raw["pending"] = Pending(**raw["pending"]) if raw.get("pending") else None
        return cls(**raw)

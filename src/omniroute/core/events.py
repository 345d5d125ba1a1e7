"""Typed domain events: frozen, with a ``type`` literal, serialisable to one JSON envelope.

Every event a state change produces is appended to the ``events`` table in the same transaction
and reaches the bus only after that transaction commits (see ``core.uow``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from omniroute.core.ids import new_id

_REGISTRY: dict[str, type[DomainEvent]] = {}


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    event_id: str = Field(default_factory=new_id)
    occurred_at: datetime

    #: Ephemeral signals (typing) go to the bus only, never to the event log.
    durable: ClassVar[bool] = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("type")
        if field is not None and isinstance(field.default, str):
            if field.default in _REGISTRY and _REGISTRY[field.default] is not cls:
                msg = f"event type {field.default!r} registered twice"
                raise TypeError(msg)
            _REGISTRY[field.default] = cls

    def to_envelope(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    # The fields the event log indexes, so the timeline and audit can query without parsing JSON.
    @property
    def conversation_ref(self) -> str | None:
        value = getattr(self, "conversation_id", None)
        return value if isinstance(value, str) else None

    @property
    def agent_ref(self) -> str | None:
        value = getattr(self, "agent_id", None)
        return value if isinstance(value, str) else None


def parse_event(envelope: dict[str, Any]) -> DomainEvent:
    """Rebuild a typed event from its envelope (as read from the bus or the log)."""
    kind = envelope.get("type")
    cls = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        msg = f"unknown event type {kind!r}"
        raise ValueError(msg)
    return cls.model_validate(envelope)


def registered_event_types() -> dict[str, type[DomainEvent]]:
    return dict(_REGISTRY)

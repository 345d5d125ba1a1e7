"""Routing vocabulary shared by the store, the API and the engine's caller. Pure.

The assignment rules themselves live in ``routing.engine``.
"""

from __future__ import annotations

from enum import StrEnum


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BUSY_DND = "busy_dnd"
    AWAY = "away"
    OFFLINE = "offline"
    INACTIVE = "inactive"  # set by routing when an agent lets an offer time out


class SessionStatus(StrEnum):
    OFFERED = "offered"
    ACTIVE = "active"
    CLOSED = "closed"
    CONSULTING = "consulting"  # helping the holder: sees the conversation, takes no capacity


class ClosureReason(StrEnum):
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    TRANSFERRED = "transferred"
    CUSTOMER_LEFT = "customer_left"
    ENDED = "ended"  # the conversation reached wrap-up/closed with this agent
    CONSULT_ENDED = "consult_ended"
    PROMOTED = "promoted"  # the consultant took the conversation over
    WITHDRAWN = "withdrawn"  # the offer was taken back (agent went offline, conversation closed)

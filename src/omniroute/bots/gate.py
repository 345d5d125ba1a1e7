"""The one question new work asks before it is queued: does a bot answer first?

A port, so web chat and the channel worker depend on this small protocol, not on the bot engine.
"""

from __future__ import annotations

from typing import Protocol

from omniroute.conversations.model import Conversation
from omniroute.core.uow import UnitOfWork
from omniroute.routing.service import RoutingPlan


class BotGate(Protocol):
    """What routing's callers (web chat, the channel worker) ask before queueing new work."""

    async def take(self, uow: UnitOfWork, conversation: Conversation, plan: RoutingPlan) -> bool:
        """True if a bot took the conversation (do not enqueue it); called in the caller's
        transaction, after ``ConversationService.start``."""
        ...

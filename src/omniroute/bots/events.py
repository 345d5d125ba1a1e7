"""Bot events (past tense, typed, frozen): the bot analytics' source in the event log."""

from __future__ import annotations

from typing import Any, Literal

from omniroute.core.events import DomainEvent


class BotSessionStarted(DomainEvent):
    """A new conversation met a bot before routing."""

    type: Literal["bot.session_started"] = "bot.session_started"
    conversation_id: str
    session_id: str
    bot_id: str
    language: str


class BotTopicEntered(DomainEvent):
    type: Literal["bot.topic_entered"] = "bot.topic_entered"
    conversation_id: str
    session_id: str
    bot_id: str
    flow_id: str
    intent: str | None
    confidence: float
    digression: bool


class BotFallback(DomainEvent):
    """The bot did not understand; ``count`` is how many turns in a row."""

    type: Literal["bot.fallback"] = "bot.fallback"
    conversation_id: str
    session_id: str
    bot_id: str
    count: int
    reason: str | None


class BotKnowledgeUsed(DomainEvent):
    """A knowledge lookup: the article quoted, or none above the threshold."""

    type: Literal["bot.knowledge_used"] = "bot.knowledge_used"
    conversation_id: str
    session_id: str
    bot_id: str
    article_id: str | None
    score: float


class BotHandedOff(DomainEvent):
    """The bot gave the conversation to routing, with the context rules and agents see."""

    type: Literal["bot.handed_off"] = "bot.handed_off"
    conversation_id: str
    session_id: str
    bot_id: str
    reason: str
    queue_id: str | None
    context: dict[str, Any]


class BotSessionEnded(DomainEvent):
    """The conversation ended while the bot held it: ``resolved`` or ``abandoned``."""

    type: Literal["bot.session_ended"] = "bot.session_ended"
    conversation_id: str
    session_id: str
    bot_id: str
    outcome: str
    reason: str | None


class BotChanged(DomainEvent):
    """An admin saved a bot's settings or one of its flows (``what``: "settings" or "flow:<id>")."""

    type: Literal["bot.changed"] = "bot.changed"
    bot_id: str
    version: int
    what: str
    actor_id: str | None

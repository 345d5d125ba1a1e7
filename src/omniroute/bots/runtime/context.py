"""The hand-off context: what the person taking over (and routing's rules) learn from the bot. Pure.

It becomes the ``bot`` attribute of the work item, so classification and route-to-queue rules can
read ``bot.reason``, ``bot.last_topic``, ``bot.language``, ``bot.sentiment``,
``bot.variables.<name>`` and so on; the agent reads the same context and the transcript.
"""

from __future__ import annotations

import json
from typing import Any

from omniroute.bots.runtime.state import DialogueState

#: Customer phrases passed on; the full transcript is in the conversation anyway.
LAST_PHRASES = 5
MAX_VALUE = 500  # characters of one variable's text in the context

REASONS = {
    "requested": "the customer asked for a person",
    "fallbacks": "the bot did not understand several times in a row",
    "negative_sentiment": "the customer seems upset",
    "retries_exceeded": "the bot could not understand an answer it needed",
    "no_answer": "the knowledge base had no answer and the customer accepted a person",
    "action_failed": "an action the bot called failed",
    "bot_error": "the bot failed",
    "bot_timeout": "the bot did not answer in time",
    "flow_loop": "a flow went round in circles",
    "external": "the external bot handed off",
    "supervisor": "a supervisor took the conversation from the bot",
}


def describe_reason(reason: str) -> str:
    if reason.startswith("rule:"):
        return f"escalation rule {reason.removeprefix('rule:')!r}"
    return REASONS.get(reason, f"the flow handed off ({reason})")


def mood(score: float | None) -> str:
    if score is None:
        return "unknown"
    if score <= -0.3:
        return "negative"
    if score >= 0.3:
        return "positive"
    return "neutral"


def _clip(value: Any) -> Any:
    """JSON-safe, and small: a variable that holds a whole HTTP body is cut down."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) <= MAX_VALUE:
        return json.loads(text)
    return text[:MAX_VALUE] + "…"


def summary(bot_name: str, state: DialogueState, reason: str) -> str:
    parts = [f"{bot_name} handed off: {describe_reason(reason)}."]
    if state.topics:
        parts.append(f"Topics: {', '.join(state.topics)}.")
    if state.collected:
        shown = ", ".join(f"{k}={_clip(v)}" for k, v in list(state.collected.items())[:8])
        parts.append(f"Collected: {shown}.")
    parts.append(f"Language: {state.language}. Mood: {mood(state.sentiment)}.")
    if state.phrases:
        parts.append(f"Last message: “{state.phrases[-1][:200]}”.")
    return " ".join(parts)


def handoff_context(bot_id: str, bot_name: str, state: DialogueState, reason: str) -> dict[str, Any]:
    return {
        "bot": bot_id,
        "reason": reason,
        "reason_text": describe_reason(reason),
        "last_topic": state.last_topic,
        "topics": list(state.topics),
        "last_phrases": state.phrases[-LAST_PHRASES:],
        "variables": {k: _clip(v) for k, v in state.collected.items()},
        "language": state.language,
        "sentiment": round(state.sentiment, 3) if state.sentiment is not None else None,
        "mood": mood(state.sentiment),
        "turns": state.turns,
        "summary": summary(bot_name, state, reason),
    }

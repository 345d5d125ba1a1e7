"""Quick replies: the answers a customer can tap while the bot waits for a choice. Pure.

The widget shows them as buttons; tapping one sends its text as an ordinary message, which the
machine reads like typed words (a choice's value always matches its own choice).
"""

from __future__ import annotations

from omniroute.bots.flows.model import ChoiceEntity
from omniroute.bots.runtime.bot import CompiledBot
from omniroute.bots.runtime.program import Fill
from omniroute.bots.runtime.state import DialogueState

#: Buttons shown at most; a longer list is better typed (a number picks a choice too).
MAX_QUICK_REPLIES = 8

#: The answers to "Would you like to talk to a person?" (``language.yes_or_no`` reads them).
YES_NO = {"en": ("Yes", "No"), "es": ("Sí", "No")}


def quick_replies(bot: CompiledBot, state: DialogueState) -> list[str]:
    """The choices the bot is waiting for, in order; empty when it waits for free text."""
    if state.finished is not None or state.exit is not None:
        return []
    if state.offer_pending:
        return list(YES_NO.get(state.language, YES_NO["en"]))
    if not state.stack or not state.stack[-1].waiting:
        return []
    frame = state.stack[-1]
    program = bot.programs.get(frame.flow_id, ())
    if not 0 <= frame.ip < len(program):
        return []
    instruction = program[frame.ip]
    if not isinstance(instruction, Fill) or not isinstance(instruction.slot.entity, ChoiceEntity):
        return []
    return [choice.value for choice in instruction.slot.entity.choices][:MAX_QUICK_REPLIES]

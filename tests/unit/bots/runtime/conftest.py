"""Drive the pure machine: bots from YAML strings, a scripted interpreter, effects answered inline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from omniroute.bots.flows.bot import BotSettings
from omniroute.bots.flows.loader import check_flow_set, parse_flow
from omniroute.bots.runtime.bot import CompiledBot, compile_bot
from omniroute.bots.runtime.effects import Effect, HttpCall, KnowledgeQuery, KnowledgeResult, Result
from omniroute.bots.runtime.machine import Machine, Outcome, Turn
from omniroute.bots.runtime.state import DialogueState
from omniroute.bots.runtime.understand import IntentGuess
from omniroute.bots.understanding.lexical import words

TODAY = date(2026, 1, 5)


def make_bot(*sources: str, **settings: Any) -> CompiledBot:
    parsed = [parse_flow(s) for s in sources]
    config = BotSettings.model_validate(
        {"name": "Test bot", "understanding": {"embedder": "lexical"}, **settings}
    )
    assert check_flow_set(parsed, languages=config.languages) == []
    return compile_bot("test", 1, config, [p.flow for p in parsed])


@dataclass
class Scripted:
    """Intents by exact words; a fixed mood unless told otherwise."""

    intents: dict[str, str] = field(default_factory=dict)
    mood: float = 0.0

    def intent(self, text: str) -> IntentGuess:
        found = self.intents.get(" ".join(words(text)))
        return IntentGuess(found, 0.9) if found else IntentGuess(None, 0.2, "low confidence")

    def sentiment(self, turns: Sequence[str], language: str) -> float:
        return self.mood


Answer = Callable[[Effect], Result]


def no_article(effect: Effect) -> Result:
    assert isinstance(effect, KnowledgeQuery)
    return KnowledgeResult(None, 0.1)


@dataclass
class Chat:
    bot: CompiledBot
    interpreter: Scripted
    answer: Answer = no_article
    state: DialogueState = field(default_factory=lambda: DialogueState(language="en"))
    effects: list[Effect] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)
    outcome: Outcome | None = None

    def _settle(self, turn: Turn) -> list[str]:
        machine = Machine(self.bot)
        replies = list(turn.replies)
        self.notes += turn.notes
        while turn.effect is not None:
            self.effects.append(turn.effect)
            turn = machine.resume(turn.state, self.answer(turn.effect), today=TODAY)
            replies += turn.replies
            self.notes += turn.notes
        self.state = turn.state
        self.outcome = turn.outcome
        return replies

    def start(self) -> list[str]:
        return self._settle(Machine(self.bot).start(self.state, today=TODAY))

    def say(self, text: str) -> list[str]:
        return self._settle(
            Machine(self.bot).receive(self.state, text, today=TODAY, interpreter=self.interpreter)
        )

    @property
    def http_calls(self) -> list[HttpCall]:
        return [e for e in self.effects if isinstance(e, HttpCall)]


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()

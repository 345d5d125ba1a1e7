"""What the machine asks of understanding, and the adapter over ``bots.understanding``.

The machine sees only ``Interpreter``: deterministic functions of their input (same text, same
answer), so a turn stays a pure function of (state, input). The adapter trains the few-shot
intent classifier on the flows' trigger phrases once per bot version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.intents import IntentClassifier, Thresholds
from omniroute.bots.understanding.lexical import words
from omniroute.bots.understanding.sentiment import SentimentScorer


@dataclass(frozen=True)
class IntentGuess:
    intent: str | None  # None: not confident enough (or no intents at all)
    confidence: float = 0.0
    reason: str | None = None  # why there is no intent: "low confidence", "ambiguous", "no intents"


class Interpreter(Protocol):
    def intent(self, text: str) -> IntentGuess: ...

    def sentiment(self, turns: Sequence[str], language: str) -> float: ...


def _key(text: str) -> str:
    return " ".join(words(text))


class Understanding:
    """Exact trigger phrases win outright; otherwise the classifier decides with its thresholds.

    With fewer than two intents there is nothing to classify between, so only exact phrases match.
    """

    def __init__(
        self,
        classifier: IntentClassifier | None,
        phrases: Mapping[str, str],
        sentiment: SentimentScorer | None,
    ) -> None:
        self.classifier = classifier
        self.phrases = {_key(p): intent for p, intent in phrases.items()}
        self._sentiment = sentiment

    @classmethod
    def train(
        cls,
        examples: Mapping[str, Sequence[str]],
        embedder: Embedder,
        thresholds: Thresholds,
        sentiment: SentimentScorer | None,
    ) -> Understanding:
        phrases = {p: intent for intent, texts in examples.items() for p in texts}
        classifier = None
        usable = {intent: list(texts) for intent, texts in examples.items() if texts}
        if len(usable) >= 2:
            classifier = IntentClassifier.train(embedder, usable, thresholds=thresholds)
        return cls(classifier, phrases, sentiment)

    def intent(self, text: str) -> IntentGuess:
        exact = self.phrases.get(_key(text))
        if exact is not None:
            return IntentGuess(exact, 1.0)
        if self.classifier is None:
            return IntentGuess(None, 0.0, "no intents")
        decision = self.classifier.decide(text)
        top = decision.prediction.top
        return IntentGuess(
            decision.intent, top.confidence, decision.reason.value if decision.reason else None
        )

    def sentiment(self, turns: Sequence[str], language: str) -> float:
        if self._sentiment is None:
            return 0.0
        return self._sentiment.score(turns, language)

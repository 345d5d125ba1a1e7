"""Few-shot intent recognition over any ``Embedder``, with confidence and top-2 margin thresholds.

Training embeds the examples once (the embedder stays frozen) and fits a logistic regression on the
vectors, centred on the mean training vector: sentence embedders put every sentence in a narrow
cone, and removing the shared direction spreads the intents apart (+2 points at 8 examples per
intent on BANKING77 with e5). A nearest-centroid head, its average with the regression, shrinkage
LDA, a linear SVM and appending the lexical features all measured no better (ADR 0007).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from omniroute.bots.understanding.embedder import Embedder, Vectors, l2_normalise
from omniroute.core.errors import InvalidInput

Probabilities = NDArray[np.float64]


@dataclass(frozen=True)
class TrainingOptions:
    """How the heads are fitted; the defaults are the best measured on BANKING77 (bench/README.md)."""

    c: float = 10.0  # inverse L2 strength of the logistic regression
    center: bool = True
    balanced: bool = False  # weigh intents inversely to their example counts
    max_iter: int = 2000

    def __post_init__(self) -> None:
        if self.c <= 0 or self.max_iter < 1:
            msg = "c and max_iter must be positive"
            raise ValueError(msg)


@dataclass(frozen=True)
class Thresholds:
    """``decide`` accepts the best intent only if its confidence and its lead over the second reach these."""

    confidence: float = 0.5
    margin: float = 0.1

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0 and 0.0 <= self.margin <= 1.0):
            msg = "confidence and margin thresholds must be within [0, 1]"
            raise ValueError(msg)


@dataclass(frozen=True)
class ScoredIntent:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    ranking: tuple[ScoredIntent, ...]  # every intent, most likely first; confidences sum to 1

    @property
    def top(self) -> ScoredIntent:
        return self.ranking[0]

    @property
    def margin(self) -> float:
        """How far the best intent leads the second one."""
        second = self.ranking[1].confidence if len(self.ranking) > 1 else 0.0
        return self.top.confidence - second


class Reason(StrEnum):
    LOW_CONFIDENCE = "low confidence"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Decision:
    intent: str | None  # None: send the input to the fallback
    reason: Reason | None  # why there is no intent
    prediction: Prediction


def decide(prediction: Prediction, thresholds: Thresholds) -> Decision:
    """Low confidence wins over ambiguity as the reason: a weak guess is not a close call."""
    if prediction.top.confidence < thresholds.confidence:
        return Decision(None, Reason.LOW_CONFIDENCE, prediction)
    if prediction.margin < thresholds.margin:
        return Decision(None, Reason.AMBIGUOUS, prediction)
    return Decision(prediction.top.intent, None, prediction)


class IntentModel:
    """The trained heads over vectors; no embedder, so a benchmark can refit on cached vectors."""

    def __init__(self, vectors: Vectors, labels: Sequence[str], options: TrainingOptions) -> None:
        intents = sorted(set(labels))
        if len(intents) < 2:
            msg = "intent recognition needs at least two intents"
            raise InvalidInput(msg)
        if len(labels) != len(vectors):
            msg = "one label per vector"
            raise ValueError(msg)
        self.intents = tuple(intents)
        self.options = options
        self._mean = vectors.mean(axis=0) if options.center else np.zeros(vectors.shape[1], np.float32)
        x = self._prepare(vectors)
        y = np.array([self.intents.index(label) for label in labels])
        self._lr = LogisticRegression(
            C=options.c,
            max_iter=options.max_iter,
            class_weight="balanced" if options.balanced else None,
        )
        with warnings.catch_warnings():
            # Full-size training sets can stop a few iterations short at high C; the ranking it
            # returns is already stable there, so this is not worth failing training over.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._lr.fit(x, y)

    def _prepare(self, vectors: Vectors) -> Vectors:
        return l2_normalise(vectors - self._mean)

    def probabilities(self, vectors: Vectors) -> Probabilities:
        """``(len(vectors), len(self.intents))``, columns in ``self.intents`` order, rows sum to 1."""
        if len(vectors) == 0:
            return np.zeros((0, len(self.intents)))
        return np.asarray(self._lr.predict_proba(self._prepare(vectors)), dtype=np.float64)

    def rank(self, vectors: Vectors) -> list[Prediction]:
        predictions = []
        for row in self.probabilities(vectors):
            order = np.argsort(-row, kind="stable")
            predictions.append(Prediction(tuple(ScoredIntent(self.intents[k], float(row[k])) for k in order)))
        return predictions


class IntentClassifier:
    """Recognises which of a flow set's intents a customer's sentence expresses.

    Train from ``{intent: [example sentences]}``; English and Spanish examples can share an intent
    when the embedder is multilingual (e5). With the lexical embedder, give examples in every
    language the bot should understand.
    """

    def __init__(self, embedder: Embedder, model: IntentModel, thresholds: Thresholds) -> None:
        self.embedder = embedder
        self.model = model
        self.thresholds = thresholds

    @classmethod
    def train(
        cls,
        embedder: Embedder,
        examples: Mapping[str, Sequence[str]],
        *,
        thresholds: Thresholds | None = None,
        options: TrainingOptions | None = None,
    ) -> IntentClassifier:
        texts: list[str] = []
        labels: list[str] = []
        for intent, sentences in examples.items():
            kept = [s for s in sentences if s.strip()]
            if not intent.strip() or not kept:
                msg = f"intent {intent!r} needs a name and at least one example"
                raise InvalidInput(msg)
            texts.extend(kept)
            labels.extend([intent] * len(kept))
        if len(examples) < 2:
            msg = "intent recognition needs at least two intents"
            raise InvalidInput(msg)
        vectors = embedder.embed(texts, kind="query")
        model = IntentModel(vectors, labels, options or TrainingOptions())
        return cls(embedder, model, thresholds or Thresholds())

    @property
    def intents(self) -> tuple[str, ...]:
        return self.model.intents

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return self.model.rank(self.embedder.embed(texts, kind="query"))

    def decide(self, text: str) -> Decision:
        return decide(self.predict(text), self.thresholds)

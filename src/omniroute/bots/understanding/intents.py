"""Few-shot intent recognition over any ``Embedder``, with confidence and top-2 margin thresholds.

Training embeds the examples once (the embedder stays frozen) and fits a logistic regression on the
vectors, centred on the mean training vector: sentence embedders put every sentence in a narrow
cone, and removing the shared direction spreads the intents apart (+2 points at 8 examples per
intent on BANKING77 with e5). Two additions measured on a validation split of BANKING77's training
set, then confirmed on its test split (ADR 0007, bench/README.md):

- a **learned linear projection** (SetFit's contrastive objective applied to a linear head instead
  of the encoder): starting from the identity, a few gradient steps pull same-intent examples
  together and push other pairs apart in cosine, then the regression runs in the projected space
  (+2.6 points at 8 examples per intent). It is a few-shot device for many intents: with many
  examples per intent (full BANKING77, ~130 each) it cost 0.6 points, so it is skipped above
  ``projection_max_shots``; with few intents (the 5-intent demo bot) it made off-topic turns
  confident, so it is skipped below ``projection_min_intents``;
- the **intent's name as an extra example** ("card_lost" -> "card lost"), weighted (+1 point more).

A nearest-centroid head, its average with the regression, shrinkage LDA, a linear SVM, an MLP,
within-intent mixup and appending the lexical features all measured no better (ADR 0007).
"""

from __future__ import annotations

import re
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
    #: Gradient steps of the contrastive projection; 0 turns it off.
    projection_steps: int = 20
    projection_rate: float = 10.0
    #: No projection when the median intent has more examples than this (measured: it helps up to
    #: 32 per intent on BANKING77 and hurts with the full ~130).
    projection_max_shots: int = 32
    #: No projection for fewer intents than this. It was measured to help with BANKING77's 77
    #: intents; on the 5-intent demo bot it made off-topic turns confident enough to start a flow
    #: at the bot's threshold (bench/demo_intents.py). 20 lies between the two, not tuned.
    projection_min_intents: int = 20
    #: At most this many examples (a per-intent sample) train the projection: its cost grows with
    #: the square of the count.
    projection_rows: int = 2000
    #: Weight in the regression of each intent's name as an example (0: names are not used).
    name_weight: float = 3.0

    def __post_init__(self) -> None:
        if self.c <= 0 or self.max_iter < 1:
            msg = "c and max_iter must be positive"
            raise ValueError(msg)
        if self.projection_steps < 0 or self.projection_rate <= 0 or self.projection_rows < 2:
            msg = "projection steps must not be negative, its rate and rows must be positive"
            raise ValueError(msg)
        if self.name_weight < 0 or self.projection_max_shots < 0 or self.projection_min_intents < 0:
            msg = "name_weight, projection_max_shots and projection_min_intents must not be negative"
            raise ValueError(msg)


@dataclass(frozen=True)
class Thresholds:
    """``decide`` accepts the best intent only if its confidence and its lead over the second reach these.

    The default confidence was recalibrated for the projected head on a validation split of
    BANKING77's training set (8 examples per intent, 77 intents): the lowest threshold whose
    accepted sentences are at least as often right as the plain regression's at its old default
    0.5 (97.4 %). At 0.6 the projected head accepts 51.5 % of sentences, 98.1 % right (the plain
    head at 0.5: 45.7 %, 97.4 % right). Bots set their own thresholds (bot settings).
    """

    confidence: float = 0.6
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


def intent_phrase(intent: str) -> str:
    """The words of an intent's name: ``"card_lost"`` -> ``"card lost"``, ``"openingHours"`` ->
    ``"opening hours"``; used as one more example of the intent."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", intent)
    return " ".join(re.split(r"[\s_\-.:/]+", spaced)).strip().lower()


def learn_projection(
    x: NDArray[np.floating], y: NDArray[np.integer], steps: int, rate: float
) -> NDArray[np.float64]:
    """A ``d x d`` matrix ``W``, from the identity, after ``steps`` of gradient descent on SetFit's
    cosine loss: the mean of ``(cos(x_i W, x_j W) - t_ij)^2`` with ``t = 1`` for two examples of
    the same intent and 0 otherwise, same-intent and other pairs weighted half and half (there are
    far fewer of the first). ``x`` should be centred and unit-length rows."""
    n, d = x.shape
    w = np.eye(d)
    same = y[:, None] == y[None, :]
    positive = same & ~np.eye(n, dtype=bool)
    negative = ~same
    if not positive.any() or not negative.any():
        return w  # nothing to pull together (one example per intent) or apart
    weights = positive / positive.sum() + negative / negative.sum()
    target = same.astype(np.float64)
    xx = np.asarray(x, dtype=np.float64)
    for _ in range(steps):
        z = xx @ w
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        zn = z / norms
        residual = 2 * (zn @ zn.T - target) * weights
        grad_zn = (residual + residual.T) @ zn
        grad_z = (grad_zn - zn * np.sum(grad_zn * zn, axis=1, keepdims=True)) / norms
        w -= rate * (xx.T @ grad_z)
    return w


def _sample_rows(y: NDArray[np.integer], limit: int) -> NDArray[np.intp]:
    """Up to ``limit`` row indices, the same number (at most) from each intent, deterministic."""
    if len(y) <= limit:
        return np.arange(len(y))
    classes = np.unique(y)
    per_class = max(2, limit // len(classes))
    rng = np.random.default_rng(0)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == k))[:per_class] for k in classes]))


class IntentModel:
    """The trained heads over vectors; no embedder, so a benchmark can refit on cached vectors."""

    def __init__(
        self,
        vectors: Vectors,
        labels: Sequence[str],
        options: TrainingOptions,
        names: Mapping[str, Vectors] | None = None,
    ) -> None:
        """``names``: the embedded name of each intent (one row), added as weighted examples when
        ``options.name_weight`` is positive; intents missing from it just have no name example."""
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
        self._projection: NDArray[np.float64] | None = None
        x = self._prepare(vectors)
        y = np.array([self.intents.index(label) for label in labels])
        weight = np.ones(len(y))
        named = [k for k, intent in enumerate(self.intents) if names and intent in names]
        if named and options.name_weight > 0 and names is not None:
            rows = np.vstack([np.atleast_2d(names[self.intents[k]]) for k in named]).astype(np.float32)
            x = np.vstack([x, self._prepare(rows)])
            y = np.concatenate([y, named])
            weight = np.concatenate([weight, np.full(len(named), options.name_weight)])
        examples_per_intent = float(np.median(np.bincount(y, minlength=len(self.intents))))
        if (
            options.projection_steps
            and examples_per_intent <= options.projection_max_shots
            and len(self.intents) >= options.projection_min_intents
        ):
            sample = _sample_rows(y, options.projection_rows)
            self._projection = learn_projection(
                x[sample], y[sample], options.projection_steps, options.projection_rate
            )
            x = l2_normalise(x @ self._projection)
        self._lr = LogisticRegression(
            C=options.c,
            max_iter=options.max_iter,
            class_weight="balanced" if options.balanced else None,
        )
        with warnings.catch_warnings():
            # Full-size training sets can stop a few iterations short at high C; the ranking it
            # returns is already stable there, so this is not worth failing training over.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self._lr.fit(x, y, sample_weight=weight)

    @property
    def projected(self) -> bool:
        """Whether the contrastive projection is in use (few examples per intent)."""
        return self._projection is not None

    def _prepare(self, vectors: Vectors) -> Vectors:
        centred = l2_normalise(vectors - self._mean)
        return centred if self._projection is None else l2_normalise(centred @ self._projection)

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
        names: Mapping[str, str] | None = None,
    ) -> IntentClassifier:
        """``names``: a short phrase per intent to use as one more (weighted) example; by default
        the words of the intent's own name (``intent_phrase``). An empty phrase skips it."""
        options = options or TrainingOptions()
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
        named: dict[str, Vectors] = {}
        if options.name_weight > 0:
            phrases = {i: (names or {}).get(i, intent_phrase(i)).strip() for i in examples}
            phrases = {i: p for i, p in phrases.items() if p}
            if phrases:
                rows = embedder.embed(list(phrases.values()), kind="query")
                named = {i: rows[k] for k, i in enumerate(phrases)}
        model = IntentModel(vectors, labels, options, named)
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

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
- the **intent's name as an extra example** ("card_lost" -> "card lost"), weighted (+1 point more);
- a **lexical second view** when the projection is on: the same head over the lexical embedder's
  word and character features, its probabilities averaged in with weight 0.3 (+0.7 points at 8
  examples per intent without names). Its projection is learned in the span of the training rows
  (``Projection`` with a basis), so it costs a ``2048 x 384`` basis instead of a ``2048 x 2048``
  matrix.

A nearest-centroid head, its average with the regression, shrinkage LDA, a linear SVM, an MLP,
within-intent mixup and appending the lexical features all measured no better (ADR 0007).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from omniroute.bots.understanding.embedder import Embedder, Vectors, l2_normalise
from omniroute.bots.understanding.lexical import LexicalEmbedder
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
    #: Vectors longer than this are projected in the span of their training rows' top this-many
    #: principal directions (the identity on the rest) instead of by a full ``d x d`` matrix. The
    #: projection only ever changes that span (every update is ``x.T @ gradient``), so the two
    #: forms agree up to the truncation; e5 (384) keeps the full matrix, the lexical view (2,048)
    #: gets a 2,048 x 384 basis, 3 MB instead of a 32 MB matrix; measured equal on BANKING77's
    #: test split, 0.1 point below the uncut span on validation (ADR 0007).
    projection_rank: int = 384
    #: ``IntentClassifier``: weight of the lexical view's probabilities, averaged with the
    #: embedder's when the projection is on (few examples of many intents) and the embedder is not
    #: itself lexical; 0 turns it off. 0.3 was the best of 0.2-0.5 on a validation split.
    lexical_weight: float = 0.3

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
        if self.projection_rank < 1 or not 0.0 <= self.lexical_weight < 1.0:
            msg = "projection_rank must be positive and lexical_weight within [0, 1)"
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


@dataclass(frozen=True)
class Projection:
    """A learned linear map of centred unit vectors, followed by length normalisation.

    Without ``basis``, ``matrix`` (``d x d``) maps the whole space. With it, ``basis`` (``d x r``,
    orthonormal columns) spans the training rows' top ``r`` principal directions, ``matrix``
    (``r x r``) maps the coordinates there, and what lies outside the span is left as it is: it only
    adds to the length. The features are then the ``r`` normalised coordinates; a regression on
    them equals one on the full ``d``-dimensional result when the basis spans all training rows,
    because a regression's weights lie in the span of its training rows.
    """

    matrix: NDArray[np.floating]
    basis: NDArray[np.float32] | None = None

    def apply(self, x: Vectors) -> Vectors:
        if self.basis is None:
            return l2_normalise(x @ self.matrix)
        coords = x @ self.basis
        moved = coords @ self.matrix
        rest = np.einsum("ij,ij->i", x, x) - np.einsum("ij,ij->i", coords, coords)
        norms = np.sqrt(np.einsum("ij,ij->i", moved, moved) + np.maximum(rest, 0.0))[:, None]
        out = np.zeros(moved.shape, dtype=np.float32)
        np.divide(moved, norms, out=out, where=norms > 0)
        return out

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + (0 if self.basis is None else self.basis.nbytes)


def principal_basis(x: NDArray[np.floating], limit: int) -> NDArray[np.float32]:
    """Orthonormal columns (``d x r``, ``r <= limit``) spanning the top principal directions of the
    rows of ``x`` (not centred again). With fewer rows than dimensions it works on the ``n x n``
    Gram matrix, the kernel form: ``x.T @ u / sqrt(eigenvalue)`` for each eigenvector ``u``."""
    xx = np.asarray(x, dtype=np.float64)
    n, d = xx.shape
    if n < d:
        values, vectors = np.linalg.eigh(xx @ xx.T)
    else:
        values, vectors = np.linalg.eigh(xx.T @ xx)
    order = np.argsort(-values, kind="stable")[:limit]
    order = order[values[order] > max(float(values.max()), 0.0) * 1e-10]  # drop the null space
    if not len(order):  # every row is zero: nothing to span, any one direction will do
        return np.eye(d, 1, dtype=np.float32)
    basis = xx.T @ (vectors[:, order] / np.sqrt(values[order])) if n < d else vectors[:, order]
    return np.asarray(basis, dtype=np.float32)


def fit_projection(x: NDArray[np.floating], y: NDArray[np.integer], options: TrainingOptions) -> Projection:
    """``learn_projection`` on ``x`` itself, or on its coordinates in its principal span when its
    vectors are longer than ``options.projection_rank``."""
    if x.shape[1] <= options.projection_rank:
        return Projection(learn_projection(x, y, options.projection_steps, options.projection_rate))
    basis = principal_basis(x, options.projection_rank)
    coords = np.asarray(x, dtype=np.float64) @ basis
    matrix = learn_projection(coords, y, options.projection_steps, options.projection_rate)
    return Projection(matrix.astype(np.float32), basis)


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
        self._projection: Projection | None = None
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
            self._projection = fit_projection(x[sample], y[sample], options)
            x = self._projection.apply(x)
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

    @property
    def nbytes(self) -> int:
        """Memory held by the trained head's arrays (mean, projection, regression weights)."""
        projection = 0 if self._projection is None else self._projection.nbytes
        return int(self._mean.nbytes + projection + self._lr.coef_.nbytes + self._lr.intercept_.nbytes)

    def _prepare(self, vectors: Vectors) -> Vectors:
        centred = l2_normalise(vectors - self._mean)
        return centred if self._projection is None else self._projection.apply(centred)

    def probabilities(self, vectors: Vectors) -> Probabilities:
        """``(len(vectors), len(self.intents))``, columns in ``self.intents`` order, rows sum to 1."""
        if len(vectors) == 0:
            return np.zeros((0, len(self.intents)))
        return np.asarray(self._lr.predict_proba(self._prepare(vectors)), dtype=np.float64)

    def rank(self, vectors: Vectors) -> list[Prediction]:
        return rank(self.intents, self.probabilities(vectors))


def rank(intents: Sequence[str], probabilities: Probabilities) -> list[Prediction]:
    """One ``Prediction`` per row of ``probabilities`` (columns in ``intents`` order)."""
    predictions = []
    for row in probabilities:
        order = np.argsort(-row, kind="stable")
        predictions.append(Prediction(tuple(ScoredIntent(intents[k], float(row[k])) for k in order)))
    return predictions


@dataclass(frozen=True)
class LexicalView:
    """A second opinion from word and character features, for few examples of many intents.

    e5 and the lexical features make different mistakes: e5 knows paraphrases, the lexical view
    knows the exact product words ("top-up", "PIN") the examples use. Averaging their
    probabilities gained 0.7 points at 8 examples per intent on BANKING77 without intent names
    (ADR 0007), for about 1 ms and 4 MB more per classifier.
    """

    model: IntentModel
    weight: float
    embedder: LexicalEmbedder = field(default_factory=LexicalEmbedder)

    def blend(self, probabilities: Probabilities, texts: Sequence[str]) -> Probabilities:
        return blend(probabilities, self.model.probabilities(self.embedder.embed(texts)), self.weight)


def blend(primary: Probabilities, lexical: Probabilities, weight: float) -> Probabilities:
    """``(1 - weight) * primary + weight * lexical``: both rows sum to 1, so the result does too."""
    return (1.0 - weight) * primary + weight * lexical


def wants_lexical_view(primary: IntentModel, options: TrainingOptions) -> bool:
    """Only with the projection on: with many examples per intent (full BANKING77) e5 alone is at
    its best, and with few intents (the demo bot) its thresholds were set for e5 alone."""
    return primary.projected and options.lexical_weight > 0


class IntentClassifier:
    """Recognises which of a flow set's intents a customer's sentence expresses.

    Train from ``{intent: [example sentences]}``; English and Spanish examples can share an intent
    when the embedder is multilingual (e5). With the lexical embedder, give examples in every
    language the bot should understand.
    """

    def __init__(
        self,
        embedder: Embedder,
        model: IntentModel,
        thresholds: Thresholds,
        lexical: LexicalView | None = None,
    ) -> None:
        if lexical is not None and lexical.model.intents != model.intents:
            msg = "the lexical view must be trained on the same intents"
            raise ValueError(msg)
        self.embedder = embedder
        self.model = model
        self.thresholds = thresholds
        self.lexical = lexical

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
        phrases: dict[str, str] = {}
        if options.name_weight > 0:
            phrases = {i: (names or {}).get(i, intent_phrase(i)).strip() for i in examples}
            phrases = {i: p for i, p in phrases.items() if p}

        def head(over: Embedder) -> IntentModel:
            named: dict[str, Vectors] = {}
            if phrases:
                rows = over.embed(list(phrases.values()), kind="query")
                named = {i: rows[k] for k, i in enumerate(phrases)}
            return IntentModel(over.embed(texts, kind="query"), labels, options, named)

        model = head(embedder)
        lexical = None
        if wants_lexical_view(model, options) and not isinstance(embedder, LexicalEmbedder):
            view = LexicalEmbedder()
            lexical = LexicalView(head(view), options.lexical_weight, view)
        return cls(embedder, model, thresholds or Thresholds(), lexical)

    @property
    def intents(self) -> tuple[str, ...]:
        return self.model.intents

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self.model.probabilities(self.embedder.embed(texts, kind="query"))
        if self.lexical is not None and len(texts):
            probabilities = self.lexical.blend(probabilities, texts)
        return rank(self.intents, probabilities)

    def decide(self, text: str) -> Decision:
        return decide(self.predict(text), self.thresholds)

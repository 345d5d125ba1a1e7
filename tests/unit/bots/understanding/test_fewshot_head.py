"""The few-shot head: the contrastive projection, intent names as examples, the lexical view, and
when each applies."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from numpy.typing import NDArray

from omniroute.bots.understanding.embedder import Embedder, EmbedKind, Vectors, l2_normalise
from omniroute.bots.understanding.intents import (
    IntentClassifier,
    IntentModel,
    TrainingOptions,
    intent_phrase,
    learn_projection,
    principal_basis,
)

PLAIN = TrainingOptions(projection_steps=0, name_weight=0)


def clusters(
    per_intent: int, intents: int = 4, dimension: int = 16, spread: float = 0.9, seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Unit vectors around one random centre per intent, with a lot of noise shared by all."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(intents, dimension))
    y = np.repeat(np.arange(intents), per_intent)
    x = centres[y] + spread * rng.normal(size=(len(y), dimension)) * 2
    return l2_normalise(x), y


def separation(x: NDArray[np.floating], y: NDArray[np.integer]) -> float:
    """Mean cosine of same-intent pairs minus that of other pairs."""
    xn = l2_normalise(x)
    cos = xn @ xn.T
    same = y[:, None] == y[None, :]
    off = ~np.eye(len(y), dtype=bool)
    return float(cos[same & off].mean() - cos[~same].mean())


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("card_lost", "card lost"),
        ("openingHours", "opening hours"),
        ("top-up.failed", "top up failed"),
        ("Agent", "agent"),
    ],
)
def test_intent_names_become_phrases(name: str, phrase: str) -> None:
    assert intent_phrase(name) == phrase


def test_the_projection_pulls_intents_apart() -> None:
    x, y = clusters(per_intent=8)
    w = learn_projection(x, y, steps=20, rate=10.0)
    assert w.shape == (16, 16)
    assert separation(x @ w, y) > separation(x, y) + 0.05


def test_no_steps_or_no_pairs_leave_the_identity() -> None:
    x, y = clusters(per_intent=8)
    assert np.array_equal(learn_projection(x, y, steps=0, rate=10.0), np.eye(16))
    one_each, labels = clusters(per_intent=1)
    assert np.array_equal(learn_projection(one_each, labels, steps=20, rate=10.0), np.eye(16))


def test_the_projection_is_used_for_few_examples_of_many_intents_only() -> None:
    few, few_labels = clusters(per_intent=8)
    many, many_labels = clusters(per_intent=40)
    options = TrainingOptions(projection_max_shots=32, projection_min_intents=4)
    assert IntentModel(few, [str(k) for k in few_labels], options).projected
    assert not IntentModel(many, [str(k) for k in many_labels], options).projected
    assert not IntentModel(few, [str(k) for k in few_labels], PLAIN).projected
    too_few_intents = TrainingOptions(projection_max_shots=32, projection_min_intents=5)
    assert not IntentModel(few, [str(k) for k in few_labels], too_few_intents).projected


def test_a_large_training_set_projects_on_a_sample() -> None:
    x, y = clusters(per_intent=30, intents=4)
    labels = [str(k) for k in y]
    options = TrainingOptions(projection_rows=20, projection_max_shots=64, projection_min_intents=2)
    first = IntentModel(x, labels, options)
    again = IntentModel(x, labels, options)
    assert first.projected
    assert np.array_equal(first.probabilities(x[:5]), again.probabilities(x[:5]))


def test_name_vectors_are_extra_examples() -> None:
    """Two intents whose examples say little: the name vector decides which one a sentence is."""
    x, y = clusters(per_intent=3, intents=2, spread=3.0, seed=5)
    labels = ["a" if k == 0 else "b" for k in y]
    rng = np.random.default_rng(9)
    name_a, name_b = l2_normalise(rng.normal(size=(2, 16)))
    names = {"a": name_a, "b": name_b}
    with_names = IntentModel(x, labels, TrainingOptions(name_weight=3.0), names)
    without = IntentModel(x, labels, TrainingOptions(name_weight=0.0), names)
    near_a = l2_normalise(name_a[None, :])
    a = with_names.intents.index("a")
    assert with_names.probabilities(near_a)[0, a] > without.probabilities(near_a)[0, a]
    assert with_names.probabilities(near_a)[0, a] > 0.5


def test_intents_without_a_name_still_train() -> None:
    x, y = clusters(per_intent=4, intents=3)
    labels = [str(k) for k in y]
    model = IntentModel(x, labels, TrainingOptions(), {"0": x[0]})
    assert model.probabilities(x[:2]).shape == (2, 3)


def test_the_classifier_uses_intent_names(lexical: Embedder) -> None:
    examples = {
        "card_lost": ["it has gone", "I can't find it anywhere"],
        "opening_hours": ["when can I come", "is it possible to come in today"],
    }
    named = IntentClassifier.train(lexical, examples)
    unnamed = IntentClassifier.train(lexical, examples, options=TrainingOptions(name_weight=0))
    text = "my card is lost"
    assert named.predict(text).top.intent == "card_lost"
    confidence = {p.intent: p.confidence for p in named.predict(text).ranking}["card_lost"]
    baseline = {p.intent: p.confidence for p in unnamed.predict(text).ranking}["card_lost"]
    assert confidence > baseline


def test_the_classifier_takes_names_from_the_caller(lexical: Embedder) -> None:
    examples = {"x1": ["it has gone", "I can't find it"], "x2": ["when can I come", "come in today"]}
    described = IntentClassifier.train(lexical, examples, names={"x1": "lost or stolen card", "x2": ""})
    bare = IntentClassifier.train(lexical, examples, options=TrainingOptions(name_weight=0))

    def lost(classifier: IntentClassifier) -> float:
        return {p.intent: p.confidence for p in classifier.predict("stolen card").ranking}["x1"]

    assert lost(described) > lost(bare)


@pytest.mark.parametrize(
    "bad",
    [
        {"projection_steps": -1},
        {"projection_rate": 0.0},
        {"projection_rows": 1},
        {"name_weight": -1.0},
        {"projection_max_shots": -1},
        {"projection_min_intents": -1},
        {"projection_rank": 0},
        {"lexical_weight": -0.1},
        {"lexical_weight": 1.0},
    ],
)
def test_new_training_options_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        TrainingOptions(**bad)  # type: ignore[arg-type]


def test_the_principal_basis_is_orthonormal_and_spans_the_rows() -> None:
    x, _ = clusters(per_intent=3, intents=4, dimension=40)  # 12 rows in 40 dimensions
    basis = principal_basis(x, limit=100)
    assert basis.shape == (40, 12)
    assert np.allclose(basis.T @ basis, np.eye(12), atol=1e-4)
    assert np.allclose(x @ basis @ basis.T, x, atol=1e-4)
    assert principal_basis(x, limit=5).shape == (40, 5)
    tall, _ = clusters(per_intent=10, intents=4, dimension=8)  # more rows than dimensions
    square = principal_basis(tall, limit=100)
    assert np.allclose(square.T @ square, np.eye(8), atol=1e-4)
    assert principal_basis(np.zeros((3, 40)), limit=10).shape == (40, 1)  # nothing to span


def test_long_vectors_are_projected_in_the_span_of_the_examples() -> None:
    """Learned on the examples' coordinates, the projection gives the same head as the full
    matrix when the basis spans every example, and holds less."""
    x, y = clusters(per_intent=6, intents=4, dimension=64)
    labels = [str(k) for k in y]
    options = TrainingOptions(projection_min_intents=2)
    full = IntentModel(x, labels, replace(options, projection_rank=64))
    spanned = IntentModel(x, labels, replace(options, projection_rank=32))  # 24 rows < 32
    assert full.projected
    assert spanned.projected
    probe, _ = clusters(per_intent=2, intents=4, dimension=64, seed=3)
    assert np.allclose(spanned.probabilities(probe), full.probabilities(probe), atol=1e-3)
    assert spanned.nbytes < full.nbytes
    truncated = IntentModel(x, labels, replace(options, projection_rank=8))
    assert (truncated.probabilities(x).argmax(axis=1) == y).mean() > 0.9


class Blind:
    """An embedder that knows nothing: a fixed pseudo-random unit vector per text."""

    name = "blind"
    dimension = 32

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "query") -> Vectors:
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=32) for t in texts]
        return l2_normalise(np.array(rows).reshape(len(texts), 32))


PASSWORD_AND_ORDERS = {
    "reset_password": ["I forgot my password", "reset my password please", "new password needed"],
    "track_order": ["where is my order", "my parcel has not arrived", "track my package"],
    "opening_hours": ["what time do you open", "are you open on sunday", "your opening hours"],
}


def test_another_embedder_gets_the_lexical_view_when_it_projects() -> None:
    options = TrainingOptions(projection_min_intents=2, name_weight=0)
    viewed = IntentClassifier.train(Blind(), PASSWORD_AND_ORDERS, options=options)
    alone = IntentClassifier.train(Blind(), PASSWORD_AND_ORDERS, options=replace(options, lexical_weight=0))
    assert viewed.lexical is not None
    assert alone.lexical is None

    def password(classifier: IntentClassifier) -> float:
        ranking = classifier.predict("I have forgotten the password").ranking
        return {p.intent: p.confidence for p in ranking}["reset_password"]

    # The blind embedder cannot tell; the shared words reach the classifier through the view.
    assert password(viewed) > password(alone)
    assert sum(p.confidence for p in viewed.predict("my order").ranking) == pytest.approx(1.0)
    assert viewed.predict_many([]) == []
    other = IntentClassifier.train(Blind(), {"a": ["x"], "b": ["y"]}, options=options)
    with pytest.raises(ValueError, match="same intents"):
        IntentClassifier(Blind(), other.model, viewed.thresholds, viewed.lexical)


def test_no_lexical_view_without_the_projection_or_over_lexical_vectors(lexical: Embedder) -> None:
    few_intents = IntentClassifier.train(Blind(), PASSWORD_AND_ORDERS)  # 3 < projection_min_intents
    assert not few_intents.model.projected
    assert few_intents.lexical is None
    options = TrainingOptions(projection_min_intents=2)
    over_lexical = IntentClassifier.train(lexical, PASSWORD_AND_ORDERS, options=options)
    assert over_lexical.model.projected
    assert over_lexical.lexical is None  # it would be the same features twice

"""The contract every ``Embedder`` keeps: shape, unit norm, determinism, paraphrases closer."""

from __future__ import annotations

import numpy as np
import pytest

from omniroute.bots.understanding.embedder import Embedder, l2_normalise

SENTENCES = [
    "How can I reset my password?",
    "¿Cómo puedo cambiar mi contraseña?",
    "My card was declined at the shop",
    "Quiero hablar con una persona",
]

# (anchor, paraphrase, unrelated): the paraphrase must be nearer to the anchor than the unrelated one.
PARAPHRASES = [
    ("How can I reset my password?", "I need to reset the password", "What time does the store open?"),
    ("My card has not arrived yet", "The card still hasn't arrived", "I want to close my account"),
    ("I want to talk to a person", "Can I talk to a real person?", "How much is the delivery fee?"),
    ("¿Cómo puedo cambiar mi contraseña?", "Quiero cambiar la contraseña", "¿A qué hora abre la tienda?"),
    ("Mi tarjeta no ha llegado todavía", "Todavía no me llegó la tarjeta", "Quiero cerrar mi cuenta"),
    ("Quiero hablar con una persona", "¿Puedo hablar con una persona de verdad?", "¿Cuánto cuesta el envío?"),
]


def test_satisfies_the_protocol(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.name
    assert embedder.dimension > 0


def test_shape_and_dtype(embedder: Embedder) -> None:
    vectors = embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), embedder.dimension)
    assert vectors.dtype == np.float32


def test_empty_input_gives_an_empty_matrix(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dimension)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_rows_have_unit_norm(embedder: Embedder, kind: str) -> None:
    vectors = embedder.embed(SENTENCES, kind=kind)  # type: ignore[arg-type]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_blank_text_gives_a_zero_or_unit_row(embedder: Embedder) -> None:
    norms = np.linalg.norm(embedder.embed(["", "  ", "?!"]), axis=1)
    assert all(np.isclose(n, 0.0) or np.isclose(n, 1.0, atol=1e-5) for n in norms)


def test_deterministic_and_independent_of_the_batch(embedder: Embedder) -> None:
    batch = embedder.embed(SENTENCES)
    again = embedder.embed(SENTENCES)
    alone = np.vstack([embedder.embed([s]) for s in SENTENCES])
    shuffled = embedder.embed(SENTENCES[::-1])[::-1]
    np.testing.assert_array_equal(batch, again)
    # A single text may take another code path (e5 parallelises inside one text), so allow float noise.
    np.testing.assert_allclose(alone, batch, atol=1e-4)
    np.testing.assert_allclose(shuffled, batch, atol=1e-4)


@pytest.mark.parametrize(("anchor", "paraphrase", "unrelated"), PARAPHRASES)
def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(
    embedder: Embedder, anchor: str, paraphrase: str, unrelated: str
) -> None:
    a, p, u = embedder.embed([anchor, paraphrase, unrelated])
    assert float(a @ p) > float(a @ u)


def test_l2_normalise_keeps_zero_rows_and_the_callers_array() -> None:
    matrix = np.array([[3.0, 4.0], [0.0, 0.0]])
    result = l2_normalise(matrix)
    np.testing.assert_allclose(result, [[0.6, 0.8], [0.0, 0.0]])
    assert result.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[3.0, 4.0], [0.0, 0.0]])

"""What each embedder adds beyond the shared contract."""

from __future__ import annotations

import numpy as np
import pytest

from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.lexical import LexicalEmbedder, fold, words


def test_fold_strips_accents_and_case() -> None:
    assert fold("Qué PASÓ con la Información, señora") == "que paso con la informacion, senora"
    assert words("¿Dónde está mi tarjeta?") == ["donde", "esta", "mi", "tarjeta"]


def test_lexical_ignores_accents_and_case(lexical: Embedder) -> None:
    accented, plain = lexical.embed(["Quiero más información", "quiero mas informacion"])
    np.testing.assert_allclose(accented, plain)


def test_lexical_inflections_share_features(lexical: Embedder) -> None:
    base, inflected, other = lexical.embed(["tarjeta", "tarjetas", "contraseña"])
    assert float(base @ inflected) > 0.5 > float(base @ other)


def test_lexical_is_the_same_in_another_instance() -> None:
    # crc32, not Python's salted hash(): vectors must survive a restart (trained intents are cached).
    first = LexicalEmbedder(1024).embed(["card arrival"])
    second = LexicalEmbedder(1024).embed(["card arrival"])
    np.testing.assert_array_equal(first, second)
    assert LexicalEmbedder(1024).name != LexicalEmbedder(2048).name


@pytest.mark.parametrize("dimension", [0, 100, 63])
def test_lexical_rejects_a_bad_dimension(dimension: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        LexicalEmbedder(dimension)


def test_e5_is_multilingual(e5: Embedder) -> None:
    english, spanish, unrelated = e5.embed(
        [
            "I want to cancel my transfer",
            "Quiero cancelar mi transferencia",
            "¿Cuál es el horario de la tienda?",
        ]
    )
    assert float(english @ spanish) > float(english @ unrelated)


def test_e5_query_and_passage_differ(e5: Embedder) -> None:
    # e5 was trained with the prefixes: the same words are a different vector as a query and a document.
    query = e5.embed(["opening hours"], kind="query")
    passage = e5.embed(["opening hours"], kind="passage")
    assert not np.allclose(query, passage)

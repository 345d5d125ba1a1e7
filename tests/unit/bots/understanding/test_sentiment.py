"""Sentiment over recent turns: VADER for English, the anchor head for Spanish."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from omniroute.bots.understanding.embedder import Embedder, EmbedKind, Vectors
from omniroute.bots.understanding.sentiment import (
    RECENT_TURNS,
    Sentiment,
    combine,
    primary_language,
)


@pytest.fixture(scope="module")
def sentiment(e5: Embedder) -> Sentiment:
    return Sentiment(e5)


def test_combine_weights_the_latest_turn_most() -> None:
    assert combine([]) == 0.0
    assert combine([-1.0]) == -1.0
    assert combine([1.0, -1.0]) < 0 < combine([-1.0, 1.0])
    assert combine([-1.0, 0.0, 0.0]) == pytest.approx(-1 / 7)


def test_combine_forgets_old_turns() -> None:
    assert combine([-1.0] + [0.5] * RECENT_TURNS) == pytest.approx(0.5)


def test_primary_language() -> None:
    assert primary_language("es-MX") == "es"
    assert primary_language("EN_gb") == "en"
    assert primary_language("es") == "es"


@pytest.mark.parametrize("language", ["en", "en-US"])
def test_english_anger_is_negative_and_thanks_positive(sentiment: Sentiment, language: str) -> None:
    assert sentiment.score(["This is useless, I am furious and fed up"], language) < -0.5
    assert sentiment.score(["Thank you so much, that was great help"], language) > 0.5
    assert sentiment.score(["I want to change my address"], language) == pytest.approx(0.0, abs=0.3)


def test_spanish_anger_is_negative_and_thanks_positive(sentiment: Sentiment) -> None:
    angry = sentiment.score(["Esto es una vergüenza, llevo una semana sin respuesta y estoy furioso"], "es")
    thanks = sentiment.score(["Mil gracias, me han ayudado muchísimo"], "es-ES")
    plain = sentiment.score(["¿Cuál es el número de mi cuenta?"], "es")
    assert angry < -0.3 < plain < 0.3 < thanks


def test_the_latest_turn_moves_the_score(sentiment: Sentiment) -> None:
    calm = ["Hola", "Quiero cambiar mi dirección"]
    assert sentiment.score([*calm, "¡Esto es un desastre, estoy harto!"], "es") < sentiment.score(calm, "es")
    assert sentiment.score([*calm, "This is a disaster, I'm sick of it!"], "en") < sentiment.score(calm, "en")


def test_scores_stay_in_range_and_blank_turns_are_neutral(sentiment: Sentiment) -> None:
    for language in ("en", "es"):
        assert sentiment.score([], language) == 0.0
        assert sentiment.score(["", "   "], language) == 0.0
        assert -1.0 <= sentiment.score(["HORRIBLE!!! " * 20], language) <= 1.0


def test_without_an_embedder_only_english_is_scored() -> None:
    plain = Sentiment()
    assert plain.supports("en-GB")
    assert not plain.supports("es")
    assert plain.score(["Es un desastre, estoy harto"], "es") == 0.0
    assert plain.score(["It is a disaster, I'm fed up"], "en") < 0


def test_same_turns_same_score(sentiment: Sentiment) -> None:
    turns = ["No funciona", "¿Me pueden ayudar?"]
    assert sentiment.score(turns, "es") == sentiment.score(list(turns), "es")


class CountingEmbedder:
    """Wraps an embedder and records what it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.seen: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str], *, kind: EmbedKind = "query") -> Vectors:
        self.seen.extend(texts)
        return self.inner.embed(texts, kind=kind)


def test_each_turn_is_embedded_once_across_calls(lexical: Embedder) -> None:
    counting = CountingEmbedder(lexical)
    scorer = Sentiment(counting)
    first = scorer.score(["uno", "dos"], "es")
    anchors = len(counting.seen) - 2
    assert scorer.score(["uno", "dos"], "es") == first
    scorer.score(["uno", "dos", "tres", "tres"], "es")
    assert counting.seen[anchors:] == ["dos", "uno", "tres"]

"""Negative-sentiment scoring over a customer's recent turns, in [-1, 1] (-1: angry, 1: delighted).

Two scorers, measured per language on a small labelled set (bench/sentiment_accuracy.py):

- VADER, rule-based and tuned on social-media English. On English complaints it is mild (mean
  -0.33 on our negative sentences, so few reach an escalation threshold of -0.6); on Spanish it
  knows no words and scores most complaints 0.0.
- The anchor scorer: the intent classifier's few-shot head, trained on the labelled English and
  Spanish anchor sentences below over the multilingual embedder (e5), scoring
  ``P(positive) - P(negative)``.

English takes the lower of the two per turn (either one noticing anger is enough; neither raised a
false alarm at -0.6); other languages use the anchor scorer alone. Without a multilingual embedder
English falls back to VADER, and other languages score a neutral 0.0 rather than guess, so an
escalation on sentiment never fires on noise.

Each scorer behaves as a pure function of its input, ``score(turns, language) -> float``: the same
turns give the same score. (The anchor scorer remembers turn scores, only to avoid re-embedding.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.intents import IntentModel, TrainingOptions

#: Weight of a turn relative to the one after it: the latest turn says most about the mood now.
RECENCY = 0.5

#: The turns scored; older ones no longer describe the mood.
RECENT_TURNS = 5

#: Turn scores remembered by the anchor scorer. A bot rescores the last few turns on every turn, so
#: without it each turn would be embedded up to ``RECENT_TURNS`` times (about 35 ms each with e5).
SCORE_CACHE_SIZE = 4096

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"

#: Labelled anchors for the embedding scorer, in both languages so each language's anchors help the
#: other through the multilingual space. Written for this module; the evaluation sentences in
#: bench/data/sentiment_turns.csv are separate and phrased differently.
ANCHORS: dict[str, tuple[str, ...]] = {
    NEGATIVE: (
        "This is ridiculous, nobody has fixed my problem.",
        "I am really angry with your service.",
        "Your app is useless and I am fed up.",
        "This is the third time I write and nobody answers, terrible.",
        "I am going to cancel my account, I have had enough.",
        "What a waste of time, you are incompetent.",
        "I'm very disappointed and frustrated.",
        "This is a disgrace, I want my money back now.",
        "Esto es ridículo, nadie me ha resuelto el problema.",
        "Estoy muy enfadado con su servicio.",
        "Su aplicación no sirve para nada y estoy harto.",
        "Es la tercera vez que escribo y nadie contesta, es un desastre.",
        "Voy a darme de baja, ya estoy cansado.",
        "Qué pérdida de tiempo, son unos incompetentes.",
        "Estoy muy decepcionada y frustrada.",
        "Es una vergüenza, quiero que me devuelvan mi dinero ya.",
    ),
    NEUTRAL: (
        "I would like to change my delivery address.",
        "What time do you open on Saturdays?",
        "My card number ends in 4821.",
        "Can you tell me the status of my order?",
        "I need to update my phone number.",
        "How do I reset my password?",
        "My payment did not go through yesterday.",
        "I want to speak to an agent.",
        "Quisiera cambiar mi dirección de entrega.",
        "¿A qué hora abren los sábados?",
        "Mi número de tarjeta termina en 4821.",
        "¿Me puede decir el estado de mi pedido?",
        "Necesito actualizar mi número de teléfono.",
        "¿Cómo restablezco mi contraseña?",
        "Mi pago no se procesó ayer.",
        "Quiero hablar con un agente.",
    ),
    POSITIVE: (
        "Thank you so much, that was really helpful.",
        "Great service, I'm very happy.",
        "Perfect, it works now, thanks!",
        "You have been very kind, I appreciate it.",
        "Excellent, problem solved.",
        "I love the new app, well done.",
        "Muchas gracias, me ha ayudado mucho.",
        "Excelente servicio, estoy muy contento.",
        "Perfecto, ya funciona, ¡gracias!",
        "Ha sido muy amable, se lo agradezco.",
        "Genial, problema resuelto.",
        "Me encanta la nueva aplicación, buen trabajo.",
    ),
}


class SentimentScorer(Protocol):
    def score(self, turns: Sequence[str], language: str) -> float: ...


def primary_language(tag: str) -> str:
    """``"es-MX"`` -> ``"es"``."""
    return tag.replace("_", "-").split("-", 1)[0].strip().lower()


def combine(per_turn: Sequence[float]) -> float:
    """Recency-weighted mean of the last ``RECENT_TURNS`` scores, oldest first; 0.0 for none."""
    recent = list(per_turn)[-RECENT_TURNS:]
    if not recent:
        return 0.0
    weights = [RECENCY ** (len(recent) - 1 - i) for i in range(len(recent))]
    value = sum(w * s for w, s in zip(weights, recent, strict=True)) / sum(weights)
    return max(-1.0, min(1.0, value))


class VaderScorer:
    """VADER's compound score per turn. Its analyser only reads its lexicon, so one is shared."""

    _analyser: SentimentIntensityAnalyzer | None = None
    _lock = threading.Lock()

    @classmethod
    def _get(cls) -> SentimentIntensityAnalyzer:
        with cls._lock:
            if cls._analyser is None:
                cls._analyser = SentimentIntensityAnalyzer()
            return cls._analyser

    def turn_scores(self, turns: Sequence[str]) -> list[float]:
        analyser = self._get()
        return [float(analyser.polarity_scores(t)["compound"]) if t.strip() else 0.0 for t in turns]


class AnchorScorer:
    """``P(positive) - P(negative)`` from a few-shot head over the anchors' embeddings."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._model: IntentModel | None = None
        self._lock = threading.Lock()
        self._scores: OrderedDict[str, float] = OrderedDict()

    def _get(self) -> IntentModel:
        with self._lock:
            if self._model is None:
                texts = [t for label in (NEGATIVE, NEUTRAL, POSITIVE) for t in ANCHORS[label]]
                labels = [label for label in (NEGATIVE, NEUTRAL, POSITIVE) for _ in ANCHORS[label]]
                vectors = self.embedder.embed(texts, kind="query")
                # The scorer was measured (bench/sentiment_accuracy.py) with the plain centred
                # regression; the intents' few-shot projection is not tuned for three moods.
                self._model = IntentModel(vectors, labels, TrainingOptions(projection_steps=0))
            return self._model

    def turn_scores(self, turns: Sequence[str]) -> list[float]:
        with self._lock:
            known = {t: self._scores[t] for t in turns if t in self._scores}
        missing = sorted({t for t in turns if t.strip() and t not in known})
        if missing:
            model = self._get()
            probabilities = model.probabilities(self.embedder.embed(missing, kind="query"))
            negative, positive = model.intents.index(NEGATIVE), model.intents.index(POSITIVE)
            fresh = {
                t: float(np.clip(row[positive] - row[negative], -1.0, 1.0))
                for t, row in zip(missing, probabilities, strict=True)
            }
            known.update(fresh)
            with self._lock:
                self._scores.update(fresh)
                while len(self._scores) > SCORE_CACHE_SIZE:
                    self._scores.popitem(last=False)
        return [known.get(t, 0.0) for t in turns]


class Sentiment:
    """Routes by language: VADER and the anchors for English, the anchors for the others.

    ``embedder`` should be multilingual (e5). Do not pass the lexical embedder: it only matches
    the anchors' words, which says little about mood.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._vader = VaderScorer()
        self._anchors = AnchorScorer(embedder) if embedder is not None else None

    def supports(self, language: str) -> bool:
        return primary_language(language) == "en" or self._anchors is not None

    def score(self, turns: Sequence[str], language: str) -> float:
        recent = list(turns)[-RECENT_TURNS:]
        if primary_language(language) == "en":
            vader = self._vader.turn_scores(recent)
            if self._anchors is None:
                return combine(vader)
            anchors = self._anchors.turn_scores(recent)
            return combine([min(v, a) for v, a in zip(vader, anchors, strict=True)])
        if self._anchors is not None:
            return combine(self._anchors.turn_scores(recent))
        return 0.0

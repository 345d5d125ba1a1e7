"""Intent recognition: ranking, thresholds, margin, and toy English and Spanish intent sets."""

from __future__ import annotations

import pytest

from omniroute.bots.understanding.embedder import Embedder
from omniroute.bots.understanding.intents import (
    IntentClassifier,
    Prediction,
    Reason,
    ScoredIntent,
    Thresholds,
    TrainingOptions,
    decide,
)
from omniroute.core.errors import InvalidInput

ENGLISH = {
    "reset_password": [
        "I forgot my password",
        "How do I reset my password?",
        "I can't log in, I need a new password",
        "reset my password please",
    ],
    "track_order": [
        "Where is my order?",
        "My parcel has not arrived yet",
        "Can you track my package?",
        "When will my order be delivered?",
    ],
    "talk_to_agent": [
        "I want to talk to a person",
        "Can I speak to an agent?",
        "Put me through to a human",
        "I need a real person, not a bot",
    ],
    "opening_hours": [
        "What time do you open?",
        "Are you open on Sundays?",
        "What are your opening hours?",
        "When do you close today?",
    ],
}

SPANISH = {
    "cambiar_contrasena": [
        "Olvidé mi contraseña",
        "¿Cómo cambio mi contraseña?",
        "No puedo entrar, necesito una contraseña nueva",
        "Quiero restablecer la contraseña",
    ],
    "seguir_pedido": [
        "¿Dónde está mi pedido?",
        "Mi paquete todavía no ha llegado",
        "¿Pueden rastrear mi envío?",
        "¿Cuándo me entregan el pedido?",
    ],
    "hablar_con_agente": [
        "Quiero hablar con una persona",
        "¿Puedo hablar con un agente?",
        "Pásame con un humano",
        "Necesito una persona de verdad, no un bot",
    ],
    "horario": [
        "¿A qué hora abren?",
        "¿Abren los domingos?",
        "¿Cuál es el horario de atención?",
        "¿A qué hora cierran hoy?",
    ],
}

HELD_OUT = [
    ("I forgot the password to my account", "reset_password"),
    ("my package still hasn't arrived", "track_order"),
    ("let me talk to a human agent", "talk_to_agent"),
    ("are you open on saturday?", "opening_hours"),
    ("olvidé la contraseña de mi cuenta", "cambiar_contrasena"),
    ("mi pedido no ha llegado", "seguir_pedido"),
    ("quiero hablar con un agente humano", "hablar_con_agente"),
    ("¿abren el sábado?", "horario"),
]


def prediction(*scores: tuple[str, float]) -> Prediction:
    return Prediction(tuple(ScoredIntent(name, value) for name, value in scores))


@pytest.fixture(scope="module")
def toy_examples() -> dict[str, list[str]]:
    return {**ENGLISH, **SPANISH}


def test_decide_accepts_a_confident_clear_winner() -> None:
    decision = decide(prediction(("a", 0.8), ("b", 0.15), ("c", 0.05)), Thresholds(0.5, 0.1))
    assert (decision.intent, decision.reason) == ("a", None)


def test_decide_rejects_low_confidence() -> None:
    decision = decide(prediction(("a", 0.4), ("b", 0.1)), Thresholds(0.5, 0.1))
    assert (decision.intent, decision.reason) == (None, Reason.LOW_CONFIDENCE)
    assert decision.prediction.top.intent == "a"


def test_decide_rejects_a_close_call_as_ambiguous() -> None:
    decision = decide(prediction(("a", 0.52), ("b", 0.46)), Thresholds(0.5, 0.1))
    assert (decision.intent, decision.reason) == (None, Reason.AMBIGUOUS)
    assert str(decision.reason) == "ambiguous"


def test_low_confidence_takes_precedence_over_ambiguity() -> None:
    decision = decide(prediction(("a", 0.3), ("b", 0.29)), Thresholds(0.5, 0.1))
    assert decision.reason is Reason.LOW_CONFIDENCE
    assert str(decision.reason) == "low confidence"


def test_thresholds_are_inclusive() -> None:
    assert decide(prediction(("a", 0.5), ("b", 0.25)), Thresholds(0.5, 0.25)).intent == "a"


def test_margin_is_the_lead_over_the_second() -> None:
    assert prediction(("a", 0.7), ("b", 0.2), ("c", 0.1)).margin == pytest.approx(0.5)
    assert prediction(("a", 1.0)).margin == 1.0


@pytest.mark.parametrize(("confidence", "margin"), [(-0.1, 0.1), (0.5, 1.5)])
def test_thresholds_are_validated(confidence: float, margin: float) -> None:
    with pytest.raises(ValueError, match="within"):
        Thresholds(confidence, margin)


def test_training_options_are_validated() -> None:
    with pytest.raises(ValueError, match="positive"):
        TrainingOptions(c=0)


def test_training_needs_two_intents(lexical: Embedder) -> None:
    with pytest.raises(InvalidInput, match="two intents"):
        IntentClassifier.train(lexical, {"only": ["one intent"]})


def test_training_needs_examples(lexical: Embedder) -> None:
    with pytest.raises(InvalidInput, match="at least one example"):
        IntentClassifier.train(lexical, {"a": ["hello"], "b": ["  "]})


@pytest.fixture(scope="module")
def trained(embedder: Embedder, toy_examples: dict[str, list[str]]) -> IntentClassifier:
    return IntentClassifier.train(embedder, toy_examples, thresholds=Thresholds(0.3, 0.05))


def test_ranking_covers_every_intent_in_order(trained: IntentClassifier) -> None:
    result = trained.predict("where is my parcel?")
    confidences = [s.confidence for s in result.ranking]
    assert {s.intent for s in result.ranking} == set(trained.intents)
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)
    assert result.margin == pytest.approx(confidences[0] - confidences[1])


@pytest.mark.parametrize(("text", "intent"), HELD_OUT)
def test_recognises_held_out_sentences_in_english_and_spanish(
    trained: IntentClassifier, text: str, intent: str
) -> None:
    assert trained.predict(text).top.intent == intent


def test_decide_uses_the_classifier_thresholds(trained: IntentClassifier) -> None:
    assert trained.decide("I forgot my password, can you reset it?").intent == "reset_password"
    strict = IntentClassifier(trained.embedder, trained.model, Thresholds(confidence=0.999, margin=0.0))
    assert strict.decide("I forgot my password, can you reset it?").reason is Reason.LOW_CONFIDENCE
    picky = IntentClassifier(trained.embedder, trained.model, Thresholds(confidence=0.0, margin=0.999))
    assert picky.decide("I forgot my password, can you reset it?").reason is Reason.AMBIGUOUS


def test_training_is_deterministic(embedder: Embedder, toy_examples: dict[str, list[str]]) -> None:
    first = IntentClassifier.train(embedder, toy_examples).predict_many(["hola", "hello"])
    second = IntentClassifier.train(embedder, toy_examples).predict_many(["hola", "hello"])
    assert first == second


def test_without_centring_it_still_ranks(lexical: Embedder, toy_examples: dict[str, list[str]]) -> None:
    classifier = IntentClassifier.train(lexical, toy_examples, options=TrainingOptions(center=False))
    assert classifier.predict("How do I reset my password?").top.intent == "reset_password"


def test_e5_carries_english_examples_over_to_spanish(e5: Embedder) -> None:
    classifier = IntentClassifier.train(e5, ENGLISH)
    assert classifier.predict("¿Dónde está mi paquete?").top.intent == "track_order"
    assert classifier.predict("Quiero hablar con una persona").top.intent == "talk_to_agent"

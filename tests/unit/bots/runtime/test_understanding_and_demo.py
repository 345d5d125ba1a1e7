"""Intent routing thresholds over the real classifier, and the shipped demo bot in both languages
(lexical embedder: no model, deterministic)."""

from __future__ import annotations

import pytest

from omniroute.bots.flows.library import default_bot
from omniroute.bots.flows.loader import parse_flow
from omniroute.bots.runtime.bot import CompiledBot, compile_bot
from omniroute.bots.runtime.machine import Machine
from omniroute.bots.runtime.state import DialogueState
from omniroute.bots.runtime.understand import Understanding
from omniroute.bots.understanding.intents import IntentClassifier, Thresholds
from omniroute.bots.understanding.lexical import LexicalEmbedder
from omniroute.bots.understanding.sentiment import Sentiment
from tests.unit.bots.runtime.conftest import TODAY, Chat

EMBEDDER = LexicalEmbedder()


@pytest.fixture(scope="module")
def demo() -> CompiledBot:
    settings, flows = default_bot()
    return compile_bot("banking", 1, settings, [parse_flow(s).flow for s in flows.values()])


_TRAINED: dict[int, Understanding] = {}


def understanding(bot: CompiledBot, confidence: float = 0.5, margin: float = 0.1) -> Understanding:
    """Trained once per module (fitting is the slow part); thresholds are applied at decision time."""
    trained = _TRAINED.get(id(bot))
    if trained is None:
        trained = _TRAINED[id(bot)] = Understanding.train(bot.examples(), EMBEDDER, Thresholds(), Sentiment())
    assert trained.classifier is not None
    classifier = IntentClassifier(EMBEDDER, trained.classifier.model, Thresholds(confidence, margin))
    return Understanding(classifier, trained.phrases, Sentiment())


def test_exact_trigger_phrases_win_outright(demo: CompiledBot) -> None:
    guess = understanding(demo).intent("I LOST my card!")
    assert (guess.intent, guess.confidence) == ("card_lost", 1.0)


def test_paraphrases_are_classified_and_nonsense_is_not(demo: CompiledBot) -> None:
    nlu = understanding(demo)
    assert nlu.intent("somebody stole my visa card").intent == "card_lost"
    assert nlu.intent("when does your branch open on saturday").intent == "opening_hours"
    assert nlu.intent("cuánto dinero hay en mi cuenta corriente").intent == "balance"
    nonsense = nlu.intent("purple elephants dance quietly")
    assert nonsense.intent is None
    assert nonsense.reason in ("low confidence", "ambiguous")


def test_raising_the_thresholds_sends_uncertain_input_to_the_fallback(demo: CompiledBot) -> None:
    strict = understanding(demo, confidence=0.99)
    guess = strict.intent("somebody stole my visa card")
    assert guess.intent is None
    assert guess.reason == "low confidence"
    picky = understanding(demo, confidence=0.0, margin=0.99)
    assert picky.intent("somebody stole my visa card").reason == "ambiguous"
    c = Chat(demo, strict)  # type: ignore[arg-type]
    c.start()
    c.say("somebody stole my visa card")
    assert c.state.topics == []
    assert c.state.fallbacks == 1


def test_one_intent_is_matched_by_its_phrases_only() -> None:
    nlu = Understanding.train({"only": ["hello there"]}, EMBEDDER, Thresholds(), None)
    assert nlu.classifier is None
    assert nlu.intent("hello there").intent == "only"
    assert nlu.intent("hello").reason == "no intents"
    assert nlu.sentiment(["I hate this"], "en") == 0.0


def test_the_demo_bot_in_english(demo: CompiledBot) -> None:
    c = Chat(demo, understanding(demo))  # type: ignore[arg-type]
    assert "virtual assistant" in c.start()[0]
    assert c.say("I lost my debit card") == [
        "What are the last 4 digits of the debit card? They are on your statements."
    ]
    hours = c.say("what are your opening hours?")
    assert hours[0].startswith("Our branches are open")
    assert hours[-1].startswith("What are the last 4")
    assert c.say("4821")[-1] == "Would you like a person from our card team to order a replacement for you?"
    assert c.say("yes") == [
        "I'm passing you to our card team now, with the card ending 4821. They can see our conversation."
    ]
    assert c.outcome is not None
    assert c.outcome.reason == "card_replacement"
    assert c.state.collected == {
        "card_type": "debit",
        "last4": "4821",
        "replace": "yes",
        "card_reported": True,
    }


def test_the_demo_bot_in_spanish(demo: CompiledBot) -> None:
    c = Chat(demo, understanding(demo))  # type: ignore[arg-type]
    c.state = DialogueState(language="es")
    assert c.start()[0].startswith("¡Hola! Soy el asistente virtual")
    assert c.say("¿cuál es mi saldo?") == ["¿Qué cuenta, la corriente o la de ahorro?"]
    assert c.say("la de ahorro")[0].startswith("Por seguridad no puedo mostrar saldos")
    assert c.say("gracias, eso es todo") == ["Gracias por escribirnos. ¡Hasta pronto!"]
    assert c.outcome is not None
    assert (c.outcome.kind, c.outcome.reason) == ("end", "resolved")


def test_the_machine_never_changes_the_state_it_was_given(demo: CompiledBot) -> None:
    state = DialogueState(language="en")
    before = state.to_json()
    turn = Machine(demo).start(state, today=TODAY)
    Machine(demo).receive(turn.state, "I lost my card", today=TODAY, interpreter=understanding(demo))
    assert state.to_json() == before
    assert turn.state.started
    assert not state.started

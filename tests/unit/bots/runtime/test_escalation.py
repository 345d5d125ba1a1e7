"""Every escalation trigger: a request, repeated fallbacks, the mood, rules (VIP, restricted topics,
conditions), and flows that hand off themselves."""

from __future__ import annotations

from typing import Any

from omniroute.bots.runtime.context import handoff_context
from omniroute.bots.runtime.state import DialogueState
from tests.unit.bots.runtime.conftest import Chat, Scripted, make_bot

FORM = """\
id: transfer
language: en
trigger: {phrases: [send money]}
slots:
  - name: amount
    entity: {type: number}
    prompt: How much?
steps:
  - say: Sending {{amount}}.
"""
FORM_ES = (
    FORM.replace("id: transfer", "id: transfer_es")
    .replace("language: en", "language: es")
    .replace("trigger: {phrases: [send money]}", "trigger: {intent: transfer, phrases: [enviar dinero]}")
)
COMPLAINT = "id: complaint\nlanguage: en\ntrigger: {phrases: [complaint]}\nsteps: [{say: Tell me more.}]\n"
HANDED = (
    "I'm passing you to a person now. They will see our conversation, so you won't need to repeat yourself."
)


def chat(*sources: str, intents: dict[str, str] | None = None, mood: float = 0.0, **settings: Any) -> Chat:
    return Chat(make_bot(*sources, **settings), Scripted(intents or {}, mood))


def test_asking_for_a_person_hands_off_in_english_and_spanish_even_mid_form() -> None:
    c = chat(FORM, intents={"send money": "transfer"})
    c.start()
    c.say("send money")
    assert c.say("can I talk to a real person?") == [HANDED]
    assert c.outcome is not None
    assert (c.outcome.kind, c.outcome.reason) == ("handoff", "requested")

    c = chat(FORM, FORM_ES)
    c.state = DialogueState(language="es")
    c.start()
    assert c.say("Quiero hablar con un HUMANO, por favor")[0].startswith("Te paso con una persona")
    assert c.outcome is not None
    assert c.outcome.reason == "requested"


def test_consecutive_fallbacks_hand_off_and_an_understood_turn_resets_the_count() -> None:
    c = chat(FORM, intents={"send money": "transfer"}, escalation={"max_consecutive_fallbacks": 2})
    c.start()
    c.say("gibberish")
    assert c.state.fallbacks == 1
    c.say("send money")
    assert c.state.fallbacks == 0
    c.say("10")
    c.say("gibberish")
    assert c.outcome is None
    assert c.say("more gibberish") == [HANDED]
    assert c.outcome is not None
    assert c.outcome.reason == "fallbacks"


def test_a_negative_mood_hands_off_once_enough_turns_were_said() -> None:
    c = chat(FORM, mood=-0.8, escalation={"sentiment_threshold": -0.5, "sentiment_min_turns": 2})
    c.start()
    c.say("this is awful")
    assert c.outcome is None
    c.say("really terrible service")
    assert c.outcome is not None
    assert c.outcome.reason == "negative_sentiment"
    assert c.state.sentiment == -0.8

    calm = chat(FORM, mood=-0.3, escalation={"sentiment_threshold": -0.5, "sentiment_min_turns": 1})
    calm.start()
    calm.say("meh")
    assert calm.outcome is None


def test_a_vip_rule_hands_off_before_the_greeting() -> None:
    rules = {"rules": [{"name": "vip", "when": {"field": "vip", "op": "eq", "value": True}}]}
    c = chat(FORM, escalation=rules)
    c.state = DialogueState(language="en", context={"vip": True, "customer": {"name": "Ana"}})
    assert c.start() == [HANDED]
    assert c.outcome is not None
    assert c.outcome.reason == "rule:vip"

    ordinary = chat(FORM, escalation=rules)
    ordinary.state = DialogueState(language="en", context={"customer": {"name": "Ben"}})
    assert ordinary.start()[0].startswith("Hi!")
    assert ordinary.outcome is None


def test_a_restricted_topic_hands_off_when_recognised() -> None:
    rules = {"rules": [{"name": "complaints", "intents": ["complaint"]}]}
    c = chat(FORM, COMPLAINT, intents={"i want to complain": "complaint"}, escalation=rules)
    c.start()
    assert c.say("I want to complain") == [HANDED]
    assert c.outcome is not None
    assert c.outcome.reason == "rule:complaints"


def test_a_rule_over_collected_variables() -> None:
    rules = {"rules": [{"name": "large_amount", "when": {"field": "amount", "op": "gt", "value": 5000}}]}
    big = FORM.replace(
        "steps:\n  - say: Sending {{amount}}.\n",
        "steps:\n  - ask: {name: ok, entity: email, prompt: 'Email?'}\n",
    )
    c = chat(big, intents={"send money": "transfer"}, escalation=rules)
    c.start()
    c.say("send money")
    c.say("9000")
    assert c.outcome is None
    c.say("ana@example.com")
    assert c.outcome is not None
    assert c.outcome.reason == "rule:large_amount"


def test_a_handoff_step_names_its_queue_and_its_words() -> None:
    flow = """\
id: mortgage
language: en
trigger: {phrases: [mortgage]}
steps:
  - handoff: {reason: mortgage_lead, queue: Mortgages, say: "A mortgage adviser will join you."}
"""
    c = chat(flow, intents={"mortgage": "mortgage"})
    c.start()
    assert c.say("mortgage") == ["A mortgage adviser will join you."]
    assert c.outcome is not None
    assert (c.outcome.reason, c.outcome.queue) == ("mortgage_lead", "Mortgages")


def test_an_escalate_flow_may_ask_before_handing_off() -> None:
    escalate = """\
id: escalate_en
language: en
system: escalate
slots:
  - name: phone
    entity: phone
    prompt: Before I pass you on, which number can we call you back on?
steps:
  - say: Thanks, a person will be with you shortly.
"""
    c = chat(FORM, escalate)
    c.start()
    assert c.say("agent") == ["Before I pass you on, which number can we call you back on?"]
    assert c.outcome is None
    assert c.say("human!!") == ["Before I pass you on, which number can we call you back on?"]
    assert c.say("+44 20 7946 0000") == ["Thanks, a person will be with you shortly."]
    assert c.outcome is not None
    assert c.outcome.reason == "requested"
    assert c.state.collected["phone"] == "+442079460000"


def test_the_handoff_context_carries_what_routing_and_the_agent_need() -> None:
    c = chat(FORM, intents={"send money": "transfer"}, mood=-0.45)
    c.start()
    c.say("send money")
    c.say("120")
    c.say("I need a person")
    context = handoff_context("test", "Test bot", c.state, "requested")
    assert context["reason"] == "requested"
    assert context["last_topic"] == "transfer"
    assert context["topics"] == ["transfer"]
    assert context["variables"] == {"amount": 120}
    assert context["last_phrases"] == ["send money", "120", "I need a person"]
    assert (context["language"], context["sentiment"], context["mood"], context["turns"]) == (
        "en",
        -0.45,
        "negative",
        3,
    )
    assert context["summary"] == (
        "Test bot handed off: the customer asked for a person. Topics: transfer. Collected: amount=120. "
        "Language: en. Mood: negative. Last message: “I need a person”."
    )

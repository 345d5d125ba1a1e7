"""Flow execution in the pure machine: slots and retries, conditions, variables, HTTP actions,
jumps, the end, and the system flows."""

from __future__ import annotations

from typing import Any

from omniroute.bots.runtime.effects import (
    Effect,
    HttpCall,
    HttpResult,
    KnowledgeAnswer,
    KnowledgeQuery,
    KnowledgeResult,
    Result,
)
from omniroute.bots.runtime.machine import FallbackCounted, TopicEntered
from omniroute.bots.runtime.state import DialogueState
from tests.unit.bots.runtime.conftest import Chat, Scripted, make_bot

TRANSFER = """\
id: transfer
language: en
trigger: {phrases: [send money]}
variables: {fee: 0}
slots:
  - name: amount
    entity: {type: number, minimum: 1}
    prompt: How much?
    reprompt: Please give an amount in euros, like 25.
    max_retries: 1
  - name: iban
    entity: {type: regex, pattern: '([A-Z]{2}\\d{2}[A-Z0-9]{4,})', case_sensitive: true}
    prompt: To which IBAN?
    max_retries: 0
    on_fail:
      - say: No IBAN, no transfer.
steps:
  - condition:
      if: {field: amount, op: gt, value: 1000}
      then:
        - set: {var: fee, value: 2}
        - set: {var: global.big_sender, value: true}
      else:
        - say: Small transfers are free.
  - say: Sending {{amount}} to {{iban}} (fee {{fee}}).
"""


def chat(*sources: str, intents: dict[str, str] | None = None, **settings: Any) -> Chat:
    return Chat(make_bot(*sources, **settings), Scripted(intents or {}))


def test_slots_are_asked_in_order_and_the_steps_run_when_filled() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.start()
    assert c.say("send money") == ["How much?"]
    assert c.say("250") == ["To which IBAN?"]
    assert c.say("ES9121000418450200051332 please") == [
        "Small transfers are free.",
        "Sending 250 to ES9121000418450200051332 (fee 0).",
    ]
    assert c.state.stack == []
    assert c.outcome is None
    assert c.state.collected == {"amount": 250, "iban": "ES9121000418450200051332"}
    assert c.state.topics == ["transfer"]


def test_a_not_understood_answer_reprompts_then_hands_off_after_the_retry_limit() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.start()
    c.say("send money")
    assert c.say("lots") == ["Please give an amount in euros, like 25."]
    assert c.state.stack[-1].retries == 1
    replies = c.say("loads")
    assert c.outcome is not None
    assert (c.outcome.kind, c.outcome.reason) == ("handoff", "retries_exceeded")
    assert replies[0].startswith("I'm passing you to a person now.")


def test_on_fail_steps_replace_the_default_hand_off() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.start()
    c.say("send money")
    c.say("20")
    assert c.say("my IBAN is secret") == [
        "No IBAN, no transfer.",
        "Small transfers are free.",
        "Sending 20 to  (fee 0).",
    ]
    assert c.outcome is None


def test_conditions_and_topic_and_global_variables() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.start()
    c.say("send money")
    c.say("1500")
    assert c.say("DE89370400440532013000") == ["Sending 1500 to DE89370400440532013000 (fee 2)."]
    assert c.state.globals == {"big_sender": True}
    assert c.state.collected["fee"] == 2


def test_slots_already_known_from_the_first_sentence_are_not_asked() -> None:
    order = """\
id: card
language: en
trigger: {phrases: [new card]}
slots:
  - name: kind
    entity: {type: choice, choices: [debit, credit]}
    prompt: Debit or credit?
steps:
  - say: Ordering a {{kind}} card.
"""
    c = chat(order, intents={"i want a new credit card": "card"})
    c.start()
    assert c.say("I want a new credit card") == ["Ordering a credit card."]


HTTP_FLOW = """\
id: balance
language: en
trigger: {phrases: [balance]}
steps:
  - http:
      method: post
      url: https://core.example/accounts/{{customer.ref}}/balance
      headers: {X-Channel: "{{channel}}"}
      body: {ref: "{{customer.ref}}"}
      timeout_seconds: 2
      save_as: result
      on_error:
        - say: The balance service is not answering ({{result.error}}).
  - condition:
      if: {field: result.ok, op: eq, value: true}
      then:
        - say: Your balance is {{result.body.amount}} EUR.
"""


def http_answer(result: HttpResult) -> Any:
    def answer(effect: Effect) -> Result:
        assert isinstance(effect, HttpCall)
        return result

    return answer


def test_an_http_action_is_an_effect_and_its_answer_is_saved() -> None:
    c = chat(HTTP_FLOW, intents={"balance": "balance"})
    c.answer = http_answer(HttpResult(True, 200, {"amount": 42.5}))
    c.state = DialogueState(language="en", context={"customer": {"ref": "a/1"}, "channel": "webchat"})
    c.start()
    assert c.say("balance") == ["Your balance is 42.5 EUR."]
    call = c.http_calls[0]
    assert (call.method, call.url, call.timeout_seconds) == (
        "POST",
        "https://core.example/accounts/a%2F1/balance",
        2,
    )
    assert call.headers == {"X-Channel": "webchat"}
    assert call.body == {"ref": "a/1"}
    assert c.state.pending is None


def test_an_http_timeout_runs_on_error() -> None:
    c = chat(HTTP_FLOW, intents={"balance": "balance"})
    c.answer = http_answer(HttpResult(False, error="timeout"))
    c.start()
    assert c.say("balance") == ["The balance service is not answering (timeout)."]
    assert c.outcome is None


def test_an_http_failure_without_on_error_runs_the_error_flow_which_hands_off() -> None:
    without = HTTP_FLOW.replace(
        "      on_error:\n        - say: The balance service is not answering ({{result.error}}).\n", ""
    )
    c = chat(without, intents={"balance": "balance"})
    c.answer = http_answer(HttpResult(False, 503, "down", "status 503"))
    c.start()
    replies = c.say("balance")
    assert replies[0] == "Sorry, something went wrong on my side."
    assert c.outcome is not None
    assert c.outcome.reason == "action_failed"


def test_jump_end_and_the_authored_system_flows() -> None:
    first = "id: a\nlanguage: en\ntrigger: {phrases: [start]}\nsteps: [{say: In A.}, {jump: b}]\n"
    second = "id: b\nlanguage: en\ntrigger: {phrases: [bee]}\nsteps: [{say: In B.}, {end: }]\n"
    greeting = "id: hello\nlanguage: en\nsystem: greeting\nsteps: [{say: Welcome to the test bank.}]\n"
    goodbye = "id: bye\nlanguage: en\nsystem: end\nsteps: [{say: See you.}]\n"
    c = chat(first, second, greeting, goodbye, intents={"start": "a"})
    assert c.start() == ["Welcome to the test bank."]
    assert c.say("start") == ["In A.", "In B.", "See you."]
    assert c.outcome is not None
    assert (c.outcome.kind, c.outcome.reason) == ("end", "resolved")
    assert [n.flow_id for n in c.notes if isinstance(n, TopicEntered)] == ["a", "b"]
    assert c.say("hello?") == [], "a finished session says nothing more"


def test_a_flow_that_loops_hands_off_instead_of_spinning() -> None:
    ping = "id: ping\nlanguage: en\ntrigger: {phrases: [ping]}\nsteps: [{jump: pong}]\n"
    pong = "id: pong\nlanguage: en\ntrigger: {phrases: [pong]}\nsteps: [{jump: ping}]\n"
    c = chat(ping, pong, intents={"ping": "ping"})
    c.start()
    c.say("ping")
    assert c.outcome is not None
    assert c.outcome.reason == "flow_loop"


HOURS = "id: hours\nlanguage: en\ntrigger: {phrases: [opening hours]}\nsteps: [{say: We open at 9.}]\n"


def test_a_question_mid_form_is_answered_then_the_form_resumes() -> None:
    c = chat(TRANSFER, HOURS, intents={"send money": "transfer", "when are you open": "hours"})
    c.start()
    c.say("send money")
    assert c.say("when are you open") == ["We open at 9.", "Now, back to where we were.", "How much?"]
    assert [n.digression for n in c.notes if isinstance(n, TopicEntered)] == [False, True]
    assert c.say("30") == ["To which IBAN?"]
    assert c.state.topics == ["transfer", "hours"]


def test_a_knowledge_question_mid_form_is_answered_without_costing_a_retry() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.answer = limits_article
    c.start()
    c.say("send money")
    replies = c.say("is there a daily limit?")
    assert replies[0].startswith("Here is what our help article “Limits” says")
    assert replies[-1] == "How much?"
    assert c.state.stack[-1].retries == 0
    assert c.state.stack[-1].waiting


def limits_article(effect: Effect) -> Result:
    assert isinstance(effect, KnowledgeQuery)
    answer = KnowledgeAnswer(
        "art-1", "Limits", "https://bank.example/kb/limits", "Up to 5,000 EUR a day.", 0.8
    )
    return KnowledgeResult(answer, 0.8)


def test_knowledge_answers_quote_and_link() -> None:
    c = chat(TRANSFER)
    c.answer = limits_article
    c.start()
    replies = c.say("what is the transfer limit")
    assert replies == [
        "Here is what our help article “Limits” says:\n\nUp to 5,000 EUR a day.\n\n"
        "Read it all: https://bank.example/kb/limits"
    ]
    assert c.state.fallbacks == 0
    assert c.effects == [KnowledgeQuery("what is the transfer limit", "en")]


def test_below_the_threshold_the_bot_says_so_and_offers_a_person() -> None:
    c = chat(TRANSFER)
    c.start()
    assert c.say("do you sell car insurance") == [
        "I couldn't find an answer to that in our help articles. Would you like to talk to a person?"
    ]
    assert c.state.offer_pending
    assert c.say("yes please")[0].startswith("I'm passing you to a person")
    assert c.outcome is not None
    assert c.outcome.reason == "no_answer"


def test_declining_the_offer_keeps_the_bot() -> None:
    c = chat(TRANSFER)
    c.start()
    c.say("do you sell car insurance")
    assert c.say("no") == ["All right. What else can I help you with?"]
    assert c.outcome is None
    assert not c.state.offer_pending


def test_without_knowledge_the_fallback_flow_runs() -> None:
    c = chat(TRANSFER, knowledge={"enabled": False})
    c.start()
    assert c.say("blah") == ["Sorry, I didn't understand that. Could you say it another way?"]
    assert [n.count for n in c.notes if isinstance(n, FallbackCounted)] == [1]
    assert c.effects == []


def test_spanish_conversations_get_spanish_system_texts() -> None:
    c = chat(TRANSFER)
    c.state = DialogueState(language="es")
    assert c.start()[0].startswith("¡Hola!")
    assert c.say("¿tenéis seguros de coche para mi furgoneta?")[0].startswith("No he encontrado")
    assert c.state.language == "es"


def test_the_state_survives_json() -> None:
    c = chat(TRANSFER, intents={"send money": "transfer"})
    c.start()
    c.say("send money")
    again = DialogueState.from_json(c.state.to_json())
    assert again == c.state

"""Quick replies: the choices the bot waits for, from the state the machine leaves."""

from __future__ import annotations

from omniroute.bots.runtime.choices import MAX_QUICK_REPLIES, quick_replies
from tests.unit.bots.runtime.conftest import Chat, Scripted, make_bot

CARD = """\
id: card
language: en
trigger: {phrases: [new card]}
slots:
  - name: kind
    entity:
      type: choice
      choices:
        - value: debit
          synonyms: [debit card]
        - credit
    prompt: Debit or credit?
  - name: last4
    entity: {type: regex, pattern: '(\\d{4})'}
    prompt: Last 4 digits?
steps:
  - ask:
      name: sure
      entity: {type: choice, choices: ["yes", "no"]}
      prompt: Order it?
  - say: Done.
"""

MANY = """\
id: many
language: es
trigger: {phrases: [color]}
slots:
  - name: colour
    entity: {type: choice, choices: [a, b, c, d, e, f, g, h, i, j]}
    prompt: ¿Qué color?
steps:
  - say: Vale.
"""


def test_choices_follow_the_question_being_asked() -> None:
    c = Chat(make_bot(CARD), Scripted({"new card": "card"}))
    c.start()
    assert quick_replies(c.bot, c.state) == [], "nothing asked yet"
    assert c.say("new card") == ["Debit or credit?"]
    assert quick_replies(c.bot, c.state) == ["debit", "credit"]
    c.say("credit")
    assert quick_replies(c.bot, c.state) == [], "free text: the last 4 digits"
    c.say("1234")
    assert quick_replies(c.bot, c.state) == ["yes", "no"], "an ask step offers its choices too"
    assert c.say("yes") == ["Done."]
    assert quick_replies(c.bot, c.state) == []


def test_an_offer_of_a_person_is_yes_or_no_in_the_conversations_language() -> None:
    c = Chat(make_bot(CARD), Scripted())
    c.start()
    c.say("what is the meaning of life")
    assert c.state.offer_pending
    assert quick_replies(c.bot, c.state) == ["Yes", "No"]
    c.state.language = "es"
    assert quick_replies(c.bot, c.state) == ["Sí", "No"]
    c.say("Sí")
    assert c.outcome is not None
    assert c.outcome.reason == "no_answer", "the Spanish button's text is read as a yes"
    assert quick_replies(c.bot, c.state) == [], "handed off: nothing to tap"


def test_long_lists_are_cut() -> None:
    c = Chat(make_bot(MANY, languages=["es"], default_language="es"), Scripted({"color": "many"}))
    c.state.language = "es"
    c.start()
    c.say("color")
    assert quick_replies(c.bot, c.state) == list("abcdefgh")[:MAX_QUICK_REPLIES]

"""Flow YAML: every problem comes back with the line an author must fix."""

from __future__ import annotations

import pytest

from omniroute.bots.flows.library import default_bot
from omniroute.bots.flows.loader import FlowError, check_flow_set, parse_flow
from omniroute.bots.flows.model import AskStep, ConditionStep, HandoffStep, HttpStep, SayStep

GOOD = """\
id: card_lost_en
language: en
trigger:
  intent: card_lost
  phrases: [I lost my card]
slots:
  - name: last4
    entity: {type: regex, pattern: '(\\d{4})'}
    prompt: What are the last 4 digits?
steps:
  - say: Blocking {{last4}}
  - condition:
      if: {field: last4, op: eq, value: "1234"}
      then:
        - handoff: vip
      else:
        - ask: {name: sure, entity: {type: choice, choices: ["yes", "no"]}, prompt: "Sure?"}
  - http: {url: "https://api.example/cards/{{last4}}", on_error: [{end: Sorry}]}
"""


def problems(source: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(FlowError) as caught:
        parse_flow(source)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_a_valid_flow_parses_into_typed_steps() -> None:
    flow = parse_flow(GOOD).flow
    assert flow.intent == "card_lost"
    assert [type(s) for s in flow.steps] == [SayStep, ConditionStep, HttpStep]
    branch = flow.steps[1]
    assert isinstance(branch, ConditionStep)
    assert isinstance(branch.condition.then[0], HandoffStep)
    assert branch.condition.then[0].handoff.reason == "vip"
    assert isinstance(branch.condition.else_[0], AskStep)


def test_yaml_syntax_errors_carry_the_parsers_line() -> None:
    found = problems("id: x\nlanguage: en\nsteps: [\n  - say: hi\n")
    assert len(found) == 1
    assert found[0][0] is not None
    assert found[0][0] >= 3


def test_schema_errors_point_at_the_offending_line_and_path() -> None:
    source = GOOD.replace("'(\\d{4})'", "'(\\d{4}'").replace('value: "1234"', "value: [1")
    source = source.replace("op: eq, value: [1", 'op: in, value: "1234"')
    found = problems(source)
    assert found[0][:2] == (8, "slots[0].entity.pattern")
    assert "invalid regular expression" in found[0][2]
    assert found[1][:2] == (13, "steps[1].condition.if")
    assert "needs a list" in found[1][2]
    assert len(found) == 2, "a condition reports the form the author wrote, not every alternative"


def test_an_unknown_step_kind_is_named_with_its_line() -> None:
    found = problems(GOOD + "  - dance: tango\n")
    assert found == [(19, "steps[3]", found[0][2])]
    assert "exactly one of: say, ask, set" in found[0][2]


def test_reserved_and_duplicate_names_are_refused() -> None:
    found = problems(GOOD.replace("name: sure", "name: customer"))
    assert any("reserved" in message for _, _, message in found)


def test_duplicate_keys_and_aliases_are_refused() -> None:
    found = problems("id: a\nid: b\nlanguage: en\n")
    assert found[0][0] == 2
    assert "duplicate key 'id'" in found[0][2]
    found = problems("id: a\nlanguage: en\nsteps: &s []\nvariables: *s\n")
    assert "aliases" in found[0][2]


def test_system_flows_take_no_trigger() -> None:
    found = problems("id: hi\nlanguage: en\nsystem: greeting\ntrigger: {phrases: [hello]}\n")
    assert "takes no trigger" in found[0][2]


def test_the_flow_set_checks_jumps_ids_system_flows_and_languages() -> None:
    a = parse_flow(GOOD.replace("  - http:", "  - jump: nowhere\n  - http:"))
    b = parse_flow("id: hello_en\nlanguage: en\nsystem: greeting\nsteps: [{say: hi}]\n")
    c = parse_flow("id: hello2_en\nlanguage: en\nsystem: greeting\nsteps: [{say: hey}]\n")
    d = parse_flow("id: hola\nlanguage: es\nsteps: [{say: hola}]\ntrigger: {phrases: [hola]}\n")
    found = check_flow_set([a, b, c, d], languages=["en"])
    described = [(p.flow_id, p.line, p.message) for p in found]
    assert ("card_lost_en", 18, "jump to unknown flow 'nowhere'") in described
    assert any(f == "hello2_en" and "already the greeting flow" in m for f, _, m in described)
    assert any(f == "hola" and "does not speak 'es'" in m for f, _, m in described)
    assert any("already has this id" in p.message for p in check_flow_set([d, d], languages=["es"]))


def test_the_shipped_demo_bot_validates() -> None:
    settings, flows = default_bot()
    parsed = [parse_flow(source) for source in flows.values()]
    assert check_flow_set(parsed, languages=settings.languages) == []
    intents = {p.flow.intent for p in parsed if p.flow.intent}
    assert {"card_lost", "balance", "opening_hours", "agent", "goodbye"} <= intents
    for intent in intents:
        assert {p.flow.language for p in parsed if p.flow.intent == intent} == {"en", "es"}

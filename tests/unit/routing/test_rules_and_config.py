from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from omniroute.routing.classify import classify
from omniroute.routing.config import RoutingConfig
from omniroute.routing.rules import Condition, evaluate, time_attributes

conditions: TypeAdapter[Condition] = TypeAdapter(Condition)

FACTS = {
    "channel": "webchat",
    "prechat": {"language": "ES", "question": "I want a REFUND for order 42", "tier": 3},
    "customer": {"vip": True, "tags": ["gold", "eu"]},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "channel", "value": "webchat"}, True),
        ({"field": "prechat.language", "value": "es"}, True),  # text compares case-insensitively
        ({"field": "prechat.language", "op": "in", "value": ["fr", "es"]}, True),
        ({"field": "prechat.question", "op": "contains", "value": "refund"}, True),
        ({"field": "prechat.question", "op": "matches", "value": r"order \d+"}, True),
        ({"field": "prechat.tier", "op": "ge", "value": 3}, True),
        ({"field": "prechat.tier", "op": "gt", "value": "three"}, False),  # wrong type: no match
        ({"field": "customer.tags", "op": "contains", "value": "gold"}, True),
        ({"field": "customer.missing", "op": "exists"}, False),
        ({"field": "customer.missing", "op": "ne", "value": "x"}, True),
        ({"field": "customer.missing", "value": "x"}, False),
        (
            {
                "all": [
                    {"field": "customer.vip", "value": True},
                    {"not": {"field": "channel", "value": "sms"}},
                ]
            },
            True,
        ),
        ({"any": [{"field": "channel", "value": "sms"}, {"field": "channel", "value": "email"}]}, False),
        ({"always": True}, True),
    ],
)
def test_conditions(condition: dict[str, object], expected: bool) -> None:
    assert evaluate(conditions.validate_python(condition), FACTS) is expected


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"field": "x", "op": "in", "value": "not-a-list"}, "needs a list"),
        ({"field": "x", "op": "matches", "value": "("}, "invalid regular expression"),
        ({"field": "bad field!", "value": 1}, "pattern"),
        ({"all": []}, "at least 1"),
    ],
)
def test_malformed_conditions_are_refused_with_a_reason(condition: object, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        conditions.validate_python(condition)


def config(**overrides: object) -> RoutingConfig:
    document: dict[str, object] = {
        "skills": [{"id": "spanish", "name": "Spanish"}, {"id": "billing", "name": "Billing"}],
        "classification": [
            {
                "name": "language",
                "rules": [
                    {
                        "name": "spanish speakers",
                        "when": {"field": "prechat.language", "value": "es"},
                        "set": {"skills": {"spanish": 6}},
                    },
                    {"name": "never reached for Spanish", "set": {"priority": 99}},
                ],
            },
            {
                "name": "value",
                "rules": [
                    {
                        "name": "vip first",
                        "when": {"field": "customer.vip", "value": True},
                        "set": {"priority": 5, "attributes": {"segment": "vip"}},
                    },
                ],
            },
        ],
        "route_to_queue": [
            {
                "name": "refunds",
                "when": {"field": "prechat.question", "op": "contains", "value": "refund"},
                "queue": "Billing",
            },
            {"name": "vip", "when": {"field": "segment", "value": "vip"}, "queue": "VIP"},
        ],
        "fallback_queue": "Support",
    }
    document.update(overrides)
    return RoutingConfig.model_validate(document)


def test_first_matching_rule_per_ruleset_then_the_next_ruleset() -> None:
    result = classify(config(), "item-1", FACTS)
    assert result.skills == {"spanish": 6}
    assert result.priority == 5  # the second ruleset ran; the first ruleset's second rule did not
    assert result.attributes["segment"] == "vip"
    assert result.queue == "Billing"
    assert result.trace == [
        "ruleset 'language': rule 'spanish speakers' matched",
        "ruleset 'value': rule 'vip first' matched",
        "route rule 'refunds' sent it to 'Billing'",
    ]


def test_an_overflowing_queue_passes_to_the_next_rule() -> None:
    result = classify(config(), "item-1", FACTS, is_overflowing=lambda q: q == "Billing")
    assert result.queue == "VIP"  # the classification's attributes feed route-to-queue
    assert "matched but 'Billing' is overflowing" in result.trace[-2]


def test_no_match_uses_the_channels_request_then_the_fallback() -> None:
    plain = {"channel": "webchat", "prechat": {"question": "hello"}}
    assert classify(config(), "i", plain, requested_queue="Sales").queue == "Sales"
    assert classify(config(), "i", plain).queue == "Support"
    assert classify(config(fallback_queue=None), "i", plain).queue is None


def test_percentage_split_is_stable_and_close_to_the_shares() -> None:
    cfg = config(
        route_to_queue=[
            {"name": "a/b", "split": [{"queue": "A", "percent": 70}, {"queue": "B", "percent": 30}]}
        ]
    )
    picks = [classify(cfg, f"item-{i}", FACTS).queue for i in range(2000)]
    share_a = picks.count("A") / len(picks)
    assert 0.66 < share_a < 0.74
    assert classify(cfg, "item-7", FACTS).queue == classify(cfg, "item-7", FACTS).queue


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"route_to_queue": [{"name": "x", "split": [{"queue": "A", "percent": 60}]}]}, "add up to 100"),
        ({"route_to_queue": [{"name": "x"}]}, "either queue or split"),
        (
            {"classification": [{"name": "r", "rules": [{"name": "x", "set": {"skills": {"klingon": 3}}}]}]},
            "unknown skill",
        ),
        (
            {"classification": [{"name": "r", "rules": [{"name": "x", "set": {"skills": {"spanish": 11}}}]}]},
            "1 to 10",
        ),
        ({"skills": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "duplicate skill"),
        ({"queues": [{"queue": "Q", "assignment_method": "external"}]}, "external_endpoint"),
        ({"queues": [{"queue": "Q", "operating_hours": {"timezone": "Mars/Olympus"}}]}, "unknown time zone"),
        (
            {"queues": [{"queue": "Q", "overflow": [{"when": "waiting_over", "action": "assign_anyway"}]}]},
            "needs count",
        ),
        ({"capacity_profiles": [{"id": "p", "name": "P"}]}, "total_units or channel_limits"),
        (
            {"capacity_profiles": [{"id": "p", "name": "P", "total_units": 100, "max_items": 11}]},
            "less than or equal to 10",
        ),
    ],
)
def test_invalid_configuration_says_why(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        config(**change)


def test_time_facts_for_rules() -> None:
    facts = time_attributes(datetime(2026, 11, 25, 14, 30, tzinfo=UTC))
    assert facts == {"hour": 14, "weekday": "wed", "date": "2026-11-25"}

"""Who may take an item: presence, capacity (units and per-channel), skills, membership."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, only_offer, with_agents

from omniroute.routing.engine import CapacityProfile, Presence, QueueConfig, RoutingEngine, SkillMatch
from omniroute.routing.engine.model import MAX_OPEN_ITEMS


def test_only_available_agents_get_pushed_work_by_default(selector: str) -> None:
    e = with_agents(
        engine(selector=selector),
        *(agent(p.value, presence=p.value) for p in Presence if p is not Presence.AVAILABLE),
    )
    assert not e.submit(item("i1"), at(0)).offers
    out = e.add_agent(agent("ready"), at(1))
    assert offers(out) == {"i1": "ready"}


def test_a_workstream_can_allow_busy(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("b", presence="busy"))
    out = e.submit(item("i1", allowed=frozenset({"available", "busy"})), at(0))
    assert offers(out) == {"i1": "b"}


def test_custom_presence_counts_as_its_base(selector: str) -> None:
    e = engine(
        selector=selector, custom_presences={"on-a-break": Presence.AWAY, "ready-chat": Presence.AVAILABLE}
    )
    with_agents(e, agent("away", presence="on-a-break"), agent("ready", presence="ready-chat"))
    assert offers(e.submit(item("i1"), at(0))) == {"i1": "ready"}


def test_allowing_a_custom_presence_allows_only_that_one(selector: str) -> None:
    e = engine(selector=selector, custom_presences={"lunch": Presence.AWAY, "training": Presence.AWAY})
    with_agents(e, agent("l", presence="lunch"), agent("t", presence="training"))
    out = e.submit(item("i1", allowed=frozenset({"training"})), at(0))
    assert offers(out) == {"i1": "t"}


def test_unit_capacity_counts_each_items_cost(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=10, channel_units={"voice": 10, "chat": 3}))
    assert offers(e.submit(item("c1"), at(0))) == {"c1": "a"}
    assert offers(e.submit(item("c2"), at(1))) == {"c2": "a"}
    assert offers(e.submit(item("c3"), at(2))) == {"c3": "a"}
    assert not e.submit(item("c4"), at(3)).offers  # 9 of 10 units used, a chat costs 3
    assert not e.submit(item("v1", channel="voice"), at(4)).offers
    assert sum(e.load("a").values()) == 9


def test_item_cost_overrides_the_profile(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=4))
    assert only_offer(e.submit(item("big", cost=4), at(0))).units == 4
    assert not e.submit(item("small", cost=1), at(1)).offers


def test_per_channel_limits(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=None, limits={"chat": 2, "email": 1}))
    assert offers(e.submit(item("c1"), at(0))) == {"c1": "a"}
    assert offers(e.submit(item("c2"), at(0))) == {"c2": "a"}
    assert not e.submit(item("c3"), at(0)).offers
    assert offers(e.submit(item("e1", channel="email"), at(0))) == {"e1": "a"}
    assert not e.submit(item("s1", channel="sms"), at(0)).offers  # not in the profile at all


def test_never_more_items_than_the_workspace_shows(selector: str) -> None:
    # Plenty of units: the cap on items (ten sessions) is what stops the eleventh chat.
    e = with_agents(engine(selector=selector), agent("a", units=1000))
    for n in range(MAX_OPEN_ITEMS):
        assert offers(e.submit(item(f"c{n}"), at(n))) == {f"c{n}": "a"}
    assert not e.submit(item("c-extra"), at(20)).offers
    assert offers(e.close("c0", at(21))) == {"c-extra": "a"}  # one closed: the waiting chat goes


def test_a_profile_may_cap_items_lower(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=100, max_items=2), agent("b", units=1))
    assert offers(e.submit(item("c1"), at(0))) == {"c1": "a"}  # highest free capacity first
    assert offers(e.submit(item("c2"), at(1))) == {"c2": "a"}
    assert offers(e.submit(item("c3"), at(2))) == {"c3": "b"}  # a holds two: its cap
    assert not e.submit(item("c4"), at(3)).offers
    with pytest.raises(ValueError, match="max_items"):
        CapacityProfile(total_units=100, max_items=MAX_OPEN_ITEMS + 1)


def test_units_and_limits_together(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=3, limits={"voice": 1}))
    assert offers(e.submit(item("v1", channel="voice"), at(0))) == {"v1": "a"}
    assert not e.submit(item("v2", channel="voice"), at(0)).offers
    assert offers(e.submit(item("s1", channel="sms"), at(0))) == {"s1": "a"}  # no limit: units only


def test_exact_match_needs_every_skill_at_its_minimum(selector: str) -> None:
    e = with_agents(
        engine(selector=selector),
        agent("low", skills={"es": 3, "billing": 9}),
        agent("partial", skills={"es": 9}),
        agent("fit", skills={"es": 5, "billing": 5}),
    )
    assert offers(e.submit(item("i1", skills={"es": 4, "billing": 5}), at(0))) == {"i1": "fit"}


def test_non_members_never_get_the_work(selector: str) -> None:
    e = with_agents(
        engine(QueueConfig("q"), QueueConfig("other"), selector=selector), agent("a", queues=["other"])
    )
    assert not e.submit(item("i1"), at(0)).offers


@pytest.mark.parametrize(
    ("skills", "expected"),
    [
        ({"es": 5}, "exact"),  # exact level beats over-qualified
        ({"es": 5, "billing": 5}, "both"),  # more required skills met first
    ],
)
def test_closest_match_order(skills: dict[str, int], expected: str, selector: str) -> None:
    e = with_agents(
        engine(QueueConfig("q", skill_match=SkillMatch.CLOSEST), selector=selector),
        agent("expert", skills={"es": 10}),
        agent("exact", skills={"es": 5}),
        agent("both", skills={"es": 8, "billing": 9}),
        agent("none"),
    )
    assert offers(e.submit(item("i1", skills=skills), at(0))) == {"i1": expected}


def test_closest_match_prefers_nearly_qualified_over_unskilled(selector: str) -> None:
    e = with_agents(
        engine(QueueConfig("q", skill_match=SkillMatch.CLOSEST), selector=selector),
        agent("none"),
        agent("nearly", skills={"es": 4}),
        agent("far", skills={"es": 1}),
    )
    assert offers(e.submit(item("i1", skills={"es": 5}), at(0))) == {"i1": "nearly"}
    e.close("i1", at(1))
    assert offers(e.submit(item("i2", skills={"es": 5}), at(2))) == {"i2": "nearly"}


def test_closest_match_still_gives_work_to_anyone_in_the_queue(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q", skill_match=SkillMatch.CLOSEST), selector=selector), agent("a"))
    assert offers(e.submit(item("i1", skills={"fr": 9}), at(0))) == {"i1": "a"}


def _engine_with_full_agent(selector: str) -> RoutingEngine:
    e = with_agents(engine(selector=selector), agent("a", units=1))
    e.submit(item("i1"), at(0))
    return e


def test_freed_capacity_pulls_waiting_work(selector: str) -> None:
    e = _engine_with_full_agent(selector)
    e.accept("i1", "a", at(1))
    assert not e.submit(item("i2"), at(2)).offers
    out = e.end_work("i1", at(3))
    assert offers(out) == {"i2": "a"}


def test_presence_change_pulls_waiting_work(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away"))
    e.submit(item("i1"), at(0))
    assert offers(e.set_presence("a", "available", at(1))) == {"i1": "a"}


def test_gaining_a_skill_or_joining_a_queue_pulls_waiting_work(selector: str) -> None:
    e = with_agents(engine(QueueConfig("q"), QueueConfig("r"), selector=selector), agent("a", queues=["r"]))
    e.submit(item("i1", skills={"es": 5}), at(0))
    assert not e.set_queues("a", ["q", "r"], at(1)).offers
    assert not e.set_skills("a", {"es": 4}, at(2)).offers
    assert offers(e.set_skills("a", {"es": 5}, at(3))) == {"i1": "a"}


def test_raising_capacity_pulls_waiting_work(selector: str) -> None:
    e = _engine_with_full_agent(selector)
    e.submit(item("i2"), at(1))
    out = e.set_capacity("a", agent("a", units=2).capacity, at(2))
    assert offers(out) == {"i2": "a"}

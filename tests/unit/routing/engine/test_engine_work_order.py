"""Which waiting item an agent gets: affinity/preferred first, queue priority, priority, age."""

from __future__ import annotations

from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import QueueConfig


def test_priority_then_age(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away", units=1))
    e.submit(item("old-low", t=0), at(0))
    e.submit(item("new-high", t=5, priority=5), at(5))
    e.submit(item("older-high", t=3, priority=5), at(5))
    assert offers(e.set_presence("a", "available", at(6))) == {"older-high": "a"}


def test_queue_priority_goes_before_item_priority(selector: str) -> None:
    e = engine(QueueConfig("vip", priority=10), QueueConfig("std"), selector=selector)
    with_agents(e, agent("a", presence="away", queues=["vip", "std"], units=1))
    e.submit(item("std-urgent", queue="std", priority=99, t=0), at(0))
    e.submit(item("vip-normal", queue="vip", t=10), at(10))
    assert offers(e.set_presence("a", "available", at(11))) == {"vip-normal": "a"}


def test_items_naming_the_agent_come_first(selector: str) -> None:
    e = with_agents(
        engine(selector=selector), agent("a", presence="away", units=1), agent("b", presence="away")
    )
    e.submit(item("urgent", priority=9, t=0), at(0))
    e.submit(item("mine", preferred=("a",), t=5), at(5))
    assert offers(e.set_presence("a", "available", at(6))) == {"mine": "a"}


def test_an_agent_with_room_takes_several_items_in_order(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away", units=2))
    for n in range(3):
        e.submit(item(f"i{n}", t=n), at(n))
    out = e.set_presence("a", "available", at(9))
    assert [d.item_id for d in out.offers] == ["i0", "i1"]


def test_agent_takes_only_work_it_qualifies_for(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", presence="away", units=1, skills={"es": 5}))
    e.submit(item("fr", skills={"fr": 1}, t=0), at(0))
    e.submit(item("es", skills={"es": 5}, t=1), at(1))
    assert offers(e.set_presence("a", "available", at(2))) == {"es": "a"}


def test_many_skill_groups_are_found_by_the_agents_skills(selector: str) -> None:
    """Enough distinct requirement sets that the indexed side looks groups up by skill subset."""
    e = with_agents(
        engine(selector=selector), agent("a", presence="away", units=1, skills={"s1": 5, "s7": 5})
    )
    for n in range(40):
        e.submit(item(f"i{n}", skills={f"s{n}": 1, f"s{n + 1}": 1}, t=n), at(n))
    e.submit(item("mine", skills={"s7": 5}, t=50), at(50))
    e.submit(item("both", skills={"s1": 2, "s7": 3}, t=60), at(60))
    assert offers(e.set_presence("a", "available", at(70))) == {"mine": "a"}

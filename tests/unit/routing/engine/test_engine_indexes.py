"""The indexes answer exactly like the scan in the cases that exercise their less common paths."""

from __future__ import annotations

import pytest
from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import AssignmentMethod, CapacityProfile, QueueConfig, RoutingEngine
from omniroute.routing.engine import pool as pool_module


def q(method: AssignmentMethod, **kwargs: object) -> QueueConfig:
    return QueueConfig("q", method=method, **kwargs)  # type: ignore[arg-type]


def test_most_skilled_over_several_skills_needs_room_for_the_item(selector: str) -> None:
    e = with_agents(
        engine(q(AssignmentMethod.MOST_SKILLED), selector=selector),
        agent("expert", skills={"es": 10, "tech": 10}, units=2),
        agent("good", skills={"es": 8, "tech": 9}, units=3),
        agent("fair", skills={"es": 8, "tech": 9}, units=3),
    )
    assert offers(e.submit(item("i1", skills={"es": 2, "tech": 2}, cost=3), at(1))) == {"i1": "good"}
    # Same total: the one idle longer (fair has not had work yet).
    assert offers(e.submit(item("i2", skills={"es": 2, "tech": 2}), at(2))) == {"i2": "expert"}
    assert offers(e.submit(item("i3", skills={"es": 2, "tech": 2}, cost=3), at(3))) == {"i3": "fair"}


def test_most_skilled_skips_totals_below_the_minimums(selector: str) -> None:
    e = with_agents(
        engine(q(AssignmentMethod.MOST_SKILLED), selector=selector),
        agent("lopsided", skills={"es": 10, "tech": 2}),
        agent("even", skills={"es": 5, "tech": 5}),
    )
    assert offers(e.submit(item("i1", skills={"es": 4, "tech": 4}), at(1))) == {"i1": "even"}


def test_round_robin_after_a_restart_follows_idle_order_then_rotates(selector: str) -> None:
    e = engine(q(AssignmentMethod.ROUND_ROBIN), selector=selector)
    e.restore(
        [agent("b", idle_since=at(-10)), agent("a", idle_since=at(-60)), agent("c", idle_since=None)],
        [],
        at(0),
    )
    got = [offers(e.submit(item(f"i{n}"), at(n)))[f"i{n}"] for n in range(4)]
    assert got == ["c", "a", "b", "c"]


def test_a_capacity_change_keeps_the_idle_order(selector: str) -> None:
    e = with_agents(engine(q(AssignmentMethod.LONGEST_IDLE), selector=selector), agent("a"), agent("b"))
    e.submit(item("i1"), at(1))  # a
    e.submit(item("i2"), at(2))  # b
    e.close("i1", at(3))  # a idle since 3, b since 2
    e.set_capacity("b", CapacityProfile(total_units=5), at(4))  # not a load change
    assert offers(e.submit(item("i3"), at(5))) == {"i3": "b"}


def test_limit_only_profiles_rank_by_free_slots(selector: str) -> None:
    e = with_agents(
        engine(q(AssignmentMethod.HIGHEST_CAPACITY), selector=selector),
        agent("two", units=None, limits={"chat": 2}),
        agent("three", units=None, limits={"chat": 3}),
    )
    got = [offers(e.submit(item(f"i{n}"), at(n)))[f"i{n}"] for n in range(4)]
    assert got == ["three", "two", "three", "two"]


@pytest.mark.parametrize("stale_after", [0, 1000], ids=["evicting", "scanning"])
def test_many_skill_sets_beyond_what_a_queue_indexes(
    selector: str, stale_after: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "MAX_INDEXES", 2)
    monkeypatch.setattr(pool_module, "STALE_WALKS", stale_after)
    skills = {s: 5 + n for n, s in enumerate("abcdef")}
    e = with_agents(
        engine(q(AssignmentMethod.MOST_SKILLED), selector=selector),
        agent("x", skills=skills, units=9),
        agent("y", skills={s: 15 - level for s, level in skills.items()}, units=9),
    )
    wanted = [("a", "b"), ("e", "f"), ("a", "f"), ("b", "c"), ("d", "e")]
    got = [
        offers(e.submit(item(f"i{n}", skills=dict.fromkeys(w, 1)), at(n)))[f"i{n}"]
        for n, w in enumerate(wanted)
    ]
    assert got == ["y", "x", "y", "y", "x"]


def test_an_item_walks_only_agents_with_its_skill() -> None:
    """Members without the item's skill never get in the way, however long they have been idle."""
    e: RoutingEngine = with_agents(
        engine(q(AssignmentMethod.LONGEST_IDLE)),
        *[agent(f"idle{n}", skills={"fr": 5}) for n in range(50)],
        agent("es", skills={"es": 5}),
    )
    e.submit(item("i1", skills={"es": 1}), at(1))
    step = e.trace("i1").steps[-1]
    assert (step.kind, step.agent_id, step.looked_at) == ("offered", "es", 1)


def test_the_sorted_group_order_stays_sorted_through_splits_and_removals() -> None:
    from random import Random

    from omniroute.routing.engine.waiting import SortedEntries

    rng = Random(7)  # noqa: S311 - a reproducible test sequence, not a secret
    entries = SortedEntries()
    expected: set[tuple[int, str]] = set()
    for n in range(6000):
        entry = (rng.randrange(100_000), f"g{n}")
        entries.add(entry)
        expected.add(entry)
        if rng.random() < 0.4:
            gone = rng.choice(sorted(expected)) if n % 97 == 0 else min(expected)
            entries.remove(gone)
            expected.discard(gone)
    assert list(entries) == sorted(expected)
    assert len(entries) == len(expected)
    assert len(entries.blocks) > 1

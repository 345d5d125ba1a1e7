"""Declined work comes last: an agent with room gets work it never declined before work it did."""

from __future__ import annotations

from engine_builders import agent, at, engine, item, offers, with_agents

from omniroute.routing.engine import ItemStatus, QueueConfig, RoutingEngine


def busy_agent_with_waiting_work(selector: str, decline_limit: int = 3) -> RoutingEngine:
    """Agent ``a`` (one unit) holds ``i0``; ``i1`` (older) and ``i2`` wait behind it."""
    queue = QueueConfig("q", decline_limit=decline_limit)
    e = with_agents(engine(queue, selector=selector), agent("a", units=1))
    e.submit(item("i0"), at(0))
    e.accept("i0", "a", at(0))
    e.submit(item("i1", t=1), at(1))
    e.submit(item("i2", t=2), at(2))
    return e


def test_a_rejected_item_gives_way_to_work_the_agent_has_not_declined(selector: str) -> None:
    e = busy_agent_with_waiting_work(selector)
    assert offers(e.close("i0", at(3))) == {"i1": "a"}  # the oldest first
    # Nobody else can take i1, but a has not declined i2: that comes first now.
    out = e.reject("i1", "a", at(4))
    assert offers(out) == {"i2": "a"}
    assert out.offers[0].why == "agent had room; best waiting item"
    assert e.item_status("i1") is ItemStatus.WAITING


def test_declined_work_waits_behind_newer_and_lower_priority_work(selector: str) -> None:
    e = busy_agent_with_waiting_work(selector)
    e.close("i0", at(3))
    e.reject("i1", "a", at(4))
    e.accept("i2", "a", at(5))
    e.submit(item("i3", t=6, priority=-1), at(6))  # newer and of lower priority than i1
    assert offers(e.close("i2", at(7))) == {"i3": "a"}
    e.accept("i3", "a", at(8))
    # Only declined work is left: it comes back to the agent, under the decline limit.
    assert offers(e.close("i3", at(9))) == {"i1": "a"}


def test_declined_items_keep_priority_then_age_among_themselves(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a", units=2))
    e.submit(item("old"), at(0))
    e.submit(item("urgent", priority=2, t=1), at(1))
    assert set(offers(e.reject("old", "a", at(2)))) == {"old"}  # nothing else waits: back to a
    e.reject("urgent", "a", at(3))
    e.reject("old", "a", at(4))
    e.set_presence("a", "offline", at(5))  # withdraws both offers (not a decline)
    e.submit(item("new", t=6), at(6))
    # Work a never declined first, then the declined items by priority: urgent before old.
    out = e.set_presence("a", "available", at(7))
    assert [o.item_id for o in out.offers] == ["new", "urgent"]


def test_the_decline_limit_still_excludes_the_agent(selector: str) -> None:
    e = busy_agent_with_waiting_work(selector, decline_limit=1)
    e.close("i0", at(3))
    e.reject("i1", "a", at(4))
    e.accept("i2", "a", at(5))
    assert offers(e.close("i2", at(6))) == {}
    assert e.item_status("i1") is ItemStatus.WAITING


def test_another_agent_who_never_declined_still_gets_it_first(selector: str) -> None:
    e = with_agents(engine(selector=selector), agent("a"), agent("b"))
    assert offers(e.submit(item("i1"), at(0))) == {"i1": "a"}
    assert offers(e.reject("i1", "a", at(1))) == {"i1": "b"}
